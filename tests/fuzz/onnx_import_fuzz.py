#!/usr/bin/env python3
"""Fuzz harness for lwai's ONNX importer: mutated ONNX models -> lwai.convert -> Session.run.

Any exception other than an lwai.LwaiError is a crash, and so is a signal or a hang.

With atheris (pip install atheris), coverage-guided, libFuzzer flags accepted:

    python3 tests/fuzz/onnx_import_fuzz.py -max_total_time=60 tests/fuzz/corpus/onnx

Mutations are structure-aware (a protobuf field of the model: an attribute value or type, a
node input, a dimension, an element type, an opset, ... ) with byte-level libFuzzer mutations
mixed in. Crashes go to ./crash-* (libFuzzer's -artifact_prefix= moves them). libFuzzer's
-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 keeps going after a crash.

Without atheris (or with --plain), a plain-Python loop applies the same mutations from a fixed
seed, runs each case in a forked child (so crashes and hangs are caught, not fatal) and saves
crashing or hanging inputs:

    python3 tests/fuzz/onnx_import_fuzz.py --plain --seconds 600 --seed 1 \\
        --artifacts /tmp/onnx-fuzz tests/fuzz/corpus/onnx

A crash that corrupts the heap can keep libFuzzer from saving the input: --last-input FILE
writes each input to FILE before running it.

Reproduce one input: python3 tests/fuzz/onnx_import_fuzz.py --repro FILE.onnx
"""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import random
import signal
import sys
import time

import numpy as np
import onnx

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE / "corpus" / "onnx"
MAX_INPUT_ELEMENTS = 1 << 20  # larger declared inputs are converted but not run

_INTERESTING_INTS = [0, 1, -1, 2, 3, -2, 7, 255, 256, 2**31 - 1, -(2**31), 2**32, 2**62, 2**63 - 1]
_INTERESTING_INTS += [-(2**63), 1 << 40, 65536]
_INTERESTING_FLOATS = [0.0, -0.0, 1.0, -1.0, 1e-45, 1e38, -1e38, float("inf"), float("nan")]
_ATTRIBUTE_TYPES = list(range(0, 15))

lwai = None  # imported by main(), instrumented under atheris


def _import_lwai(instrument: bool):
    global lwai
    if instrument:
        import atheris

        with atheris.instrument_imports(include=["lwai"]):
            import lwai as module
    else:
        import lwai as module
    import lwai.onnx_import

    # Keep ONNX's (isolated) shape inference from stalling the fuzzer on hanging inputs.
    lwai.onnx_import.SHAPE_INFERENCE_TIMEOUT_S = 3.0
    lwai = module


# -- the target --------------------------------------------------------------------------------


def _zeros(info) -> np.ndarray | None:
    shape = [d if isinstance(d, int) else 1 for d in (info.shape or [])]
    if info.shape is None or any(d < 0 or d > MAX_INPUT_ELEMENTS for d in shape):
        return None
    if math.prod(shape) > MAX_INPUT_ELEMENTS:
        return None
    try:
        dtype = np.dtype(info.dtype)
    except TypeError:  # bfloat16, int4, ...: ml_dtypes (an onnx dependency) has them
        import ml_dtypes

        name = _ML_DTYPES_NAMES.get(info.dtype, info.dtype)
        if not hasattr(ml_dtypes, name):
            return None  # no numpy equivalent: lwai takes no input of this type
        dtype = np.dtype(getattr(ml_dtypes, name))
    return np.zeros(shape, dtype)


_ML_DTYPES_NAMES = {"float4e2m1": "float4_e2m1fn"}


def run_one(data: bytes) -> str:
    """Converts and runs one serialized model. Returns what happened; raises on a bug."""
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception:  # noqa: BLE001 - not a protobuf: uninteresting
        return "unparsable"
    try:
        converted = lwai.convert(model)
    except lwai.LwaiError:
        return "rejected"
    feed = {}
    for info in converted.inputs:
        array = _zeros(info)
        if array is None:
            return "converted"
        feed[info.name] = array
    try:
        session = lwai.Session(converted)
        session.run(feed)
    except lwai.LwaiError:
        return "run-error"
    return "ran"


# -- structure-aware mutations -----------------------------------------------------------------


def _graphs(graph):
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("g"):
                yield from _graphs(attr.g)
            for sub in attr.graphs:
                yield from _graphs(sub)


def _names(graph) -> list[str]:
    names = [i.name for i in graph.input] + [t.name for t in graph.initializer]
    names += [o for n in graph.node for o in n.output]
    return names or ["x"]


def _pick_int(rng: random.Random, old: int) -> int:
    choice = rng.random()
    if choice < 0.5:
        return rng.choice(_INTERESTING_INTS)
    if choice < 0.8:
        return old + rng.choice([-2, -1, 1, 2])
    return rng.randint(-1000, 1000)


def mutate_model(model: onnx.ModelProto, rng: random.Random) -> None:
    """Applies one random structural mutation to `model` in place."""
    graph = rng.choice(list(_graphs(model.graph)))
    nodes = graph.node
    node = rng.choice(nodes) if len(nodes) else None
    kind = rng.choice(
        [
            "attr_value",
            "attr_value",
            "attr_retype",
            "attr_delete",
            "attr_add",
            "input",
            "input_drop",
            "output",
            "node_swap",
            "node_delete",
            "node_dup",
            "op_type",
            "dim",
            "elem_type",
            "init_dims",
            "init_type",
            "init_data",
            "opset",
        ]
    )
    A = onnx.AttributeProto
    if kind.startswith("attr") and node is not None:
        if kind == "attr_add" or not len(node.attribute):
            attr = node.attribute.add()
            attr.name = rng.choice(["axis", "axes", "perm", "to", "k", "mode", "value", "pads"])
            attr.type = A.INT
            attr.i = _pick_int(rng, 0)
            return
        attr = rng.choice(node.attribute)
        if kind == "attr_delete":
            node.attribute.remove(attr)
        elif kind == "attr_retype":
            attr.type = rng.choice(_ATTRIBUTE_TYPES)
        elif attr.type == A.INT:
            attr.i = _pick_int(rng, attr.i)
        elif attr.type == A.FLOAT:
            attr.f = rng.choice(_INTERESTING_FLOATS)
        elif attr.type == A.INTS:
            _mutate_ints(attr.ints, rng, lambda: _pick_int(rng, 0))
        elif attr.type == A.FLOATS and len(attr.floats):
            attr.floats[rng.randrange(len(attr.floats))] = rng.choice(_INTERESTING_FLOATS)
        elif attr.type == A.STRING:
            attr.s = rng.choice([b"", b"\xff\xfe", b"linear", b"nearest", b"cubic", b"x" * 300])
        elif attr.type == A.TENSOR:
            _mutate_tensor(attr.t, rng)
    elif kind == "input" and node is not None:
        names = _names(graph) + ["", "dangling"]
        if len(node.input) and rng.random() < 0.7:
            node.input[rng.randrange(len(node.input))] = rng.choice(names)
        else:
            node.input.append(rng.choice(names))
    elif kind == "input_drop" and node is not None and len(node.input):
        del node.input[rng.randrange(len(node.input))]
    elif kind == "output" and node is not None:
        if len(node.output) and rng.random() < 0.5:
            node.output[rng.randrange(len(node.output))] = rng.choice(_names(graph) + [""])
        elif len(node.output) and rng.random() < 0.5:
            del node.output[rng.randrange(len(node.output))]
        else:
            node.output.append(f"extra{rng.randrange(100)}")
    elif kind == "node_swap" and len(nodes) >= 2:
        i, j = rng.sample(range(len(nodes)), 2)
        a, b = onnx.NodeProto(), onnx.NodeProto()
        a.CopyFrom(nodes[i])
        b.CopyFrom(nodes[j])
        nodes[i].CopyFrom(b)
        nodes[j].CopyFrom(a)
    elif kind == "node_delete" and node is not None:
        nodes.remove(node)
    elif kind == "node_dup" and node is not None:
        nodes.add().CopyFrom(node)
    elif kind == "op_type" and node is not None:
        node.op_type = rng.choice(_OP_TYPES)
    elif kind == "dim":
        values = list(graph.input) + list(graph.output) + list(graph.value_info)
        if values:
            shape = rng.choice(values).type.tensor_type.shape
            if len(shape.dim) and rng.random() < 0.8:
                dim = rng.choice(shape.dim)
                if rng.random() < 0.2:
                    dim.dim_param = rng.choice(["N", "", "\u00e9"])
                else:
                    dim.dim_value = _pick_int(rng, dim.dim_value)
            else:
                shape.dim.add().dim_value = rng.choice([0, 1, 2, 5])
    elif kind == "elem_type":
        values = list(graph.input) + list(graph.output) + list(graph.value_info)
        if values:
            rng.choice(values).type.tensor_type.elem_type = rng.randrange(0, 26)
    elif kind.startswith("init") and len(graph.initializer):
        _mutate_tensor(rng.choice(graph.initializer), rng, kind)
    elif kind == "opset" and len(model.opset_import):
        opset = rng.choice(model.opset_import)
        opset.version = rng.choice([1, 6, 7, 9, 10, 11, 12, 13, 17, 18, 21, 24, 30, 2**40])


def _mutate_ints(values, rng: random.Random, new_value) -> None:
    """Changes one value (70%), else drops one or appends new_value()."""
    if len(values) and rng.random() < 0.7:
        i = rng.randrange(len(values))
        values[i] = _pick_int(rng, values[i])
    elif len(values) and rng.random() < 0.5:
        del values[rng.randrange(len(values))]
    else:
        values.append(new_value())


def _mutate_tensor(tensor: onnx.TensorProto, rng: random.Random, kind: str = "") -> None:
    kind = kind or rng.choice(["init_dims", "init_type", "init_data"])
    if kind == "init_dims":
        _mutate_ints(tensor.dims, rng, lambda: rng.choice([0, 1, 2, 3]))
    elif kind == "init_type":
        tensor.data_type = rng.randrange(0, 26)
    elif tensor.HasField("raw_data"):
        raw = bytearray(tensor.raw_data)
        if raw and rng.random() < 0.5:
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        else:
            raw = raw[: rng.randrange(len(raw) + 1)]
        tensor.raw_data = bytes(raw)
    else:
        tensor.float_data.append(rng.choice(_INTERESTING_FLOATS))


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if not data or choice < 0.1:
            data += bytes([rng.randrange(256)])
        elif choice < 0.6:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice < 0.8:
            del data[rng.randrange(len(data))]
        else:
            start = rng.randrange(len(data))
            data[start:start] = data[start : start + rng.randint(1, 16)]
    return bytes(data)


def mutate(data: bytes, rng: random.Random, atheris_mutate=None, max_size: int = 1 << 20) -> bytes:
    """A structural mutation (usually), or a byte-level one."""
    if rng.random() < 0.85:
        model = onnx.ModelProto()
        try:
            model.ParseFromString(data)
            if model.HasField("graph"):
                for _ in range(rng.choice([1, 1, 1, 2, 3])):
                    mutate_model(model, rng)
                out = model.SerializeToString()
                if len(out) <= max_size:
                    return out
        except Exception:  # noqa: BLE001, S110 - fall back to a byte mutation
            pass
    if atheris_mutate is not None:
        return atheris_mutate(data, max_size)
    return mutate_bytes(data, rng)


_OP_TYPES = [
    "Add",
    "Relu",
    "Conv",
    "Reshape",
    "Slice",
    "Gather",
    "Concat",
    "Transpose",
    "Resize",
    "Loop",
    "If",
    "Scan",
    "MatMul",
    "Gemm",
    "Split",
    "Squeeze",
    "Unsqueeze",
    "Pad",
    "Tile",
    "Expand",
    "TopK",
    "Cast",
    "ConstantOfShape",
    "Range",
    "OneHot",
    "NonZero",
    "Where",
    "LSTM",
    "Einsum",
    "DepthToSpace",
    "EyeLike",
    "ScatterND",
    "GatherND",
    "CumSum",
    "DFT",
    "Attention",
    "LayerNormalization",
    "Shape",
    "Size",
]


def load_corpus(paths: list[str]) -> list[bytes]:
    seeds = []
    for path in paths or [str(DEFAULT_CORPUS)]:
        p = pathlib.Path(path)
        files = sorted(p.iterdir()) if p.is_dir() else [p]
        seeds += [f.read_bytes() for f in files if f.is_file() and f.stat().st_size < 1 << 20]
    if not seeds:
        sys.exit(f"no seed files in {paths}")
    return seeds


# -- atheris (libFuzzer) mode ------------------------------------------------------------------


def run_atheris(argv: list[str], last_input: str | None = None) -> None:
    import atheris

    _import_lwai(instrument=True)

    def test_one_input(data: bytes) -> None:
        if last_input:  # survives a crash that corrupts the heap before libFuzzer saves it
            with open(last_input, "wb") as f:
                f.write(data)
        run_one(data)  # an exception other than LwaiError propagates: atheris reports a crash

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        return mutate(data, random.Random(seed), atheris.Mutate, max_size)

    if not any(a.startswith("-max_len=") for a in argv):
        argv = [*argv, "-max_len=100000"]
    if not any(a.startswith("-timeout=") for a in argv):
        argv = [*argv, "-timeout=30"]
    atheris.Setup(argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


# -- plain-Python mode -------------------------------------------------------------------------


def _run_forked(data: bytes, timeout: float) -> tuple[str, str]:
    """Runs run_one in a forked child: ("ok", outcome) | ("bug", traceback) | ("crash", signal)
    | ("hang", "")."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(read_fd)
            try:
                message = "ok " + run_one(data)
            except Exception:  # noqa: BLE001 - the bug being looked for
                import traceback

                message = "bug " + traceback.format_exc()
                code = 1
            os.write(write_fd, message.encode()[:60000])
        finally:
            os._exit(code)
    os.close(write_fd)
    deadline = time.monotonic() + timeout
    chunks, finished = [], False
    while time.monotonic() < deadline:
        import select

        if not select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            break
        chunk = os.read(read_fd, 65536)
        if not chunk:
            finished = True
            break
        chunks.append(chunk)
    os.close(read_fd)
    if not finished:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if not finished:
        return "hang", ""
    if os.WIFSIGNALED(status):
        return "crash", signal.Signals(os.WTERMSIG(status)).name
    text = b"".join(chunks).decode(errors="replace")
    kind, _, detail = text.partition(" ")
    if kind not in ("ok", "bug"):
        return "crash", f"exit status {os.waitstatus_to_exitcode(status)}"
    return kind, detail


def run_plain(args) -> int:
    import hashlib

    _import_lwai(instrument=False)
    seeds = load_corpus(args.corpus)
    rng = random.Random(args.seed)
    artifacts = pathlib.Path(args.artifacts)
    artifacts.mkdir(parents=True, exist_ok=True)
    pool = list(seeds)  # seeds and mutants that converted, to mutate further
    stats: dict[str, int] = {}
    found = 0
    start = time.monotonic()
    execs = 0
    while time.monotonic() - start < args.seconds and (not args.runs or execs < args.runs):
        data = rng.choice(pool)
        for _ in range(rng.randint(1, 3)):
            data = mutate(data, rng)
        kind, detail = _run_forked(data, args.timeout)
        execs += 1
        outcome = detail.strip() if kind == "ok" else kind
        stats[outcome] = stats.get(outcome, 0) + 1
        if kind == "ok" and outcome in ("converted", "ran") and len(pool) < 2000:
            pool.append(data)
        if kind != "ok":
            found += 1
            digest = hashlib.sha1(data).hexdigest()[:16]
            path = artifacts / f"{kind}-{digest}.onnx"
            path.write_bytes(data)
            first = detail.strip().splitlines()[-1] if detail.strip() else detail
            print(f"[{execs}] {kind} {first} -> {path}", flush=True)
        if execs % 500 == 0:
            rate = execs / (time.monotonic() - start)
            print(f"#{execs} {rate:.1f} exec/s {stats}", flush=True)
    elapsed = time.monotonic() - start
    print(f"done: {execs} execs in {elapsed:.0f} s, {found} crash/hang/bug inputs, {stats}")
    return 1 if found else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Other arguments (-flag=value, corpus dirs) go to libFuzzer in atheris mode.",
    )
    parser.add_argument("--plain", action="store_true", help="plain-Python mode (no atheris)")
    parser.add_argument("--seconds", type=float, default=60.0, help="plain mode: time budget")
    parser.add_argument("--runs", type=int, default=0, help="plain mode: max executions")
    parser.add_argument("--seed", type=int, default=0, help="plain mode: random seed")
    parser.add_argument("--timeout", type=float, default=30.0, help="plain mode: s per input")
    parser.add_argument("--artifacts", default="fuzz-artifacts", help="plain mode: output dir")
    parser.add_argument("--repro", metavar="FILE", help="run one input and print the outcome")
    parser.add_argument(
        "--last-input", metavar="FILE", help="atheris mode: write each input here before running"
    )
    args, rest = parser.parse_known_args()
    if args.repro:
        _import_lwai(instrument=False)
        print(run_one(pathlib.Path(args.repro).read_bytes()))
        return 0
    try:
        import atheris  # noqa: F401
    except ImportError:
        if not args.plain:
            print("atheris is not installed: running the plain-Python fuzzer", file=sys.stderr)
        args.plain = True
    if args.plain:
        args.corpus = [a for a in rest if not a.startswith("-")]
        return run_plain(args)
    run_atheris([sys.argv[0], *rest], args.last_input)
    return 0


if __name__ == "__main__":
    sys.exit(main())
