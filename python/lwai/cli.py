"""The `lwai` command: convert, inspect, run and benchmark models.

Every error is one line on stderr ("lwai COMMAND: error: ..."), never a traceback, and ends the
command with one of these exit codes:

  0    success
  1    model or input error: a missing, unreadable, malformed or unsupported model, an --input
       file that is not a .npy array, inputs of the wrong name, shape or dtype, an output file
       that cannot be written
  2    usage error: unknown command or option, a bad option value (--runs 0, --threads 0, ...)
  3    internal error: a bug in lwai (the line says so; please report it with the command line)
  130  interrupted (Ctrl-C)
  141  stdout closed early (e.g. `lwai info model.lwai | head`): the command stops quietly
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time

import numpy as np

import lwai
from lwai.progress import progress

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE


class _UsageError(Exception):
    """A bad command line, reported as one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (no usage dump) and exit code 2."""

    def error(self, message: str):
        raise _UsageError(f"{self.prog}: usage error: {message} (see {self.prog} --help)")


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got '{text}'") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = "int"  # argparse names the type in its messages
    return parse


def _input_spec(text: str) -> str:
    if "=" not in text or text.startswith("="):
        raise argparse.ArgumentTypeError(f"expected NAME=FILE.npy, got '{text}'")
    return text


def _shape_spec(text: str) -> tuple[str | None, list[int]]:
    """--shape NAME=1x3x640x640 (or 1x3x640x640 for a one-input model) -> (name, dims)."""
    name, _, dims = text.rpartition("=")
    try:
        shape = [int(d) for d in dims.lower().split("x")] if dims else None
    except ValueError:
        shape = None
    if shape is None or any(d < 0 for d in shape) or (name == "" and "=" in text):
        raise argparse.ArgumentTypeError(
            f"expected NAME=DxDx... (e.g. images=1x3x640x640), got '{text}'"
        )
    return (name or None, shape)


def _load_npy(name: str, path: str) -> np.ndarray:
    """One --input array; LwaiErrors naming the file when it is missing or not a .npy array."""
    what = f"--input {name}={path}"
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except FileNotFoundError:
        raise lwai.InvalidArgumentError(f"{what}: no such file") from None
    except IsADirectoryError:
        raise lwai.InvalidArgumentError(f"{what}: is a directory, not a .npy file") from None
    except OSError as e:
        raise lwai.LwaiIOError(f"{what}: cannot read: {e.strerror or e}") from None
    if magic.startswith(b"PK"):
        raise lwai.InvalidArgumentError(f"{what}: an .npz archive; --input takes one .npy array")
    if magic != b"\x93NUMPY":
        raise lwai.InvalidArgumentError(f"{what}: not a .npy file (no NUMPY header)")
    try:
        return np.load(path, allow_pickle=False)
    except OSError as e:
        raise lwai.LwaiIOError(f"{what}: cannot read: {e.strerror or e}") from None
    except (ValueError, EOFError, pickle.UnpicklingError) as e:
        raise lwai.InvalidArgumentError(f"{what}: not a valid .npy array ({e})") from None


def _input_shapes(session: lwai.Session, specs: list, batch: int) -> dict[str, list[int]]:
    """The shape of each input for random data: --shape where given, else the declared shape
    with --batch for its dynamic dimensions. Errors name the input and the dimension."""
    declared = {info.name: info.shape for info in session.inputs}
    given: dict[str, list[int]] = {}
    for name, dims in specs:
        if name is None:
            if len(declared) != 1:
                raise lwai.InvalidArgumentError(
                    f"--shape {'x'.join(map(str, dims))}: the model has {len(declared)} inputs "
                    f"{list(declared)}; write --shape NAME=DIMS"
                )
            name = next(iter(declared))
        if name not in declared:
            raise lwai.InvalidArgumentError(
                f"--shape {name}=...: no input '{name}'; the model's inputs are {list(declared)}"
            )
        shape = declared[name]
        if shape is not None:
            if len(dims) != len(shape):
                raise lwai.InvalidArgumentError(
                    f"--shape {name}: input '{name}' has rank {len(shape)} {list(shape)}, "
                    f"got {len(dims)} dimensions"
                )
            for axis, (want, got) in enumerate(zip(shape, dims, strict=True)):
                if isinstance(want, int) and want != got:
                    raise lwai.InvalidArgumentError(
                        f"--shape {name}: dimension {axis} of input '{name}' is fixed at {want}, "
                        f"got {got}"
                    )
        given[name] = dims
    shapes = {}
    for name, shape in declared.items():
        if name in given:
            shapes[name] = given[name]
        elif shape is None:
            raise lwai.InvalidArgumentError(
                f"input '{name}' has unknown rank: pass --shape {name}=DIMS or --input"
            )
        else:
            shapes[name] = [d if isinstance(d, int) else batch for d in shape]
    return shapes


def _random_feed(session: lwai.Session, shapes: dict[str, list[int]]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    feed = {}
    for info in session.inputs:
        shape = shapes[info.name]
        if info.dtype.startswith("float"):
            feed[info.name] = rng.standard_normal(shape).astype(info.dtype)
        elif info.dtype == "bool":
            feed[info.name] = rng.integers(0, 2, shape).astype(bool)
        else:
            feed[info.name] = rng.integers(0, 10, shape).astype(info.dtype)
    return feed


def _parse_inputs(session: lwai.Session, args) -> dict[str, np.ndarray]:
    if args.input and args.shape:
        raise lwai.InvalidArgumentError("--shape sets random inputs' shapes: not with --input")
    if not args.input:
        return _random_feed(session, _input_shapes(session, args.shape, args.batch))
    feed = {}
    for spec in args.input:
        name, _, path = spec.partition("=")
        feed[name] = _load_npy(name, path)
    return feed


def _backends(spec: str | None) -> list[str] | None:
    """--backends a,b -> ["a", "b"]; not given -> None (every built-in backend)."""
    if spec is None:
        return None
    return [name.strip() for name in spec.split(",") if name.strip()]


def _format_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return str(n)


def cmd_convert(args) -> None:
    model = lwai.convert(args.input, optimize=not args.no_optimize)
    output = args.output or os.path.splitext(args.input)[0] + ".lwai"
    model.save(output)
    size = _format_bytes(model.parameter_bytes)
    print(f"wrote {output}: {len(model.nodes)} nodes, {size} parameters")


def cmd_quantize(args) -> None:
    if args.mode == "static" and args.calib is None:
        raise lwai.InvalidArgumentError(
            "quantize: static quantization needs --calib DIR_OR_NPZ (or use --mode dynamic)"
        )
    model = lwai.quantize(
        args.input,
        args.calib,
        mode=args.mode,
        weight_type=args.weight_type,
        method=args.method,
        percentile=args.percentile,
        activation_type=args.activation_type,
        per_channel=not args.per_tensor,
        exclude_nodes=args.exclude_node,
        exclude_ops=args.exclude_op,
        batch_size=args.batch_size,
        threads=args.threads,
        target=args.target,
        equalize=args.equalize,
    )
    if model.quantization_report is not None:
        print(model.quantization_report)
    output = args.output or os.path.splitext(args.input)[0] + "_int8.lwai"
    model.save(output)
    counts = model.op_histogram()
    int8_ops = sum(
        n
        for op, n in counts.items()
        if op.startswith("QLinear") or op in ("QGemm", "DynamicQuantizeMatMul")
    )
    print(
        f"wrote {output}: {len(model.nodes)} nodes ({int8_ops} int8 operators), "
        f"{_format_bytes(model.parameter_bytes)} parameters"
    )


def cmd_compare(args) -> None:
    if not args.input:
        raise lwai.InvalidArgumentError("compare: give the inputs with --input NAME=FILE.npy")
    feed = {}
    for spec in args.input:
        name, _, path = spec.partition("=")
        feed[name] = _load_npy(name, path)
    report = lwai.compare(
        args.a,
        args.b,
        feed,
        b_engine="onnxruntime" if args.onnxruntime else "lwai",
        threads=args.threads,
    )
    print(report.table(top=args.top))
    first = report.first_divergence(min_cosine=args.min_cosine)
    if first is None:
        print(f"no tensor below cosine {args.min_cosine}")
    else:
        print(
            f"first divergence: {first.name} ({first.op}): cosine {first.cosine:.5f}, "
            f"SQNR {first.sqnr_db:.2f} dB"
        )


def _load_model(path: str) -> lwai.Model:
    """A .lwai/.json model, or an .onnx/.tflite one converted in memory (as `lwai convert`
    would)."""
    if path.lower().endswith((".onnx", ".tflite")):
        return lwai.convert(path)
    return lwai.load(path)


def _shortened(text: str, limit: int = 60) -> str:
    """`text` on one line, cut to `limit` characters with a note of the full length."""
    flat = text.replace("\n", "\\n")
    return flat if len(flat) <= limit else f"{flat[:limit]}... ({len(text)} characters)"


def cmd_info(args) -> None:
    model = _load_model(args.model)
    session = lwai.Session(model)
    print(f"model:      {args.model}")
    print(f"producer:   {model.producer} (from {model.source_format} opset {model.source_opset})")
    print(f"optimized:  {model.optimized}")
    for key, value in model.metadata.items():
        print(f"metadata:   {key} = {_shortened(value)}")
    for label, infos in (("input", model.inputs), ("output", model.outputs)):
        for info in infos:
            print(f"{label + ':':11} {info.name} {info.dtype} {list(info.shape or [])}")
    print(f"nodes:      {len(model.nodes)}")
    for op, count in model.op_histogram().items():
        print(f"  {op:24} {count}")
    print(f"parameters: {_format_bytes(model.parameter_bytes)}")
    print(
        f"arena:      {_format_bytes(session.arena_bytes)} "
        f"(without reuse {_format_bytes(session.unshared_bytes)}, dynamic dims as 1)"
    )
    print(f"backends:   {', '.join(session.backends)}")
    assignments = session.node_assignments()
    rows = [("node", "op", "backend", "kernel", "")] + [
        (a.name, a.op, a.backend, a.kernel or "-", "folded" if a.folded else "")
        for a in assignments
    ]
    widths = [max(len(row[c]) for row in rows) for c in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print(("  " + "  ".join([*cells, row[4]])).rstrip())


def cmd_ops(args) -> None:
    used: dict[str, set[str]] = {}
    for path in args.models:
        for op, dtypes in _load_model(path).operators().items():
            used.setdefault(op, set()).update(dtypes)
    if args.cmake:
        print(f'-DLWAI_SELECTED_OPS="{";".join(sorted(used))}"')
        return
    for op in sorted(used):
        print(f"{op:28} {' '.join(sorted(used[op]))}".rstrip())


def cmd_run(args) -> None:
    session = lwai.Session(
        _load_model(args.model), threads=args.threads, backends=_backends(args.backends)
    )
    feed = _parse_inputs(session, args)
    outputs = session.run(feed)
    np.set_printoptions(threshold=20, edgeitems=3, precision=5)
    for info, value in zip(session.outputs, outputs, strict=True):
        print(f"{info.name}: {value.dtype} {list(value.shape)}")
        print(value)
        if args.save:
            path = f"{args.save}{info.name}.npy"
            np.save(path, value)
            print(f"saved {path}")


def cmd_bench(args) -> None:
    if args.top is not None and not args.profile:
        raise lwai.InvalidArgumentError("--top limits the --profile tables: add --profile")
    start = time.perf_counter()
    session = lwai.Session(
        _load_model(args.model), threads=args.threads, backends=_backends(args.backends)
    )
    feed = _parse_inputs(session, args)
    session.run(feed)
    init_ms = (time.perf_counter() - start) * 1e3
    interactive = sys.stderr.isatty()
    for _ in progress(range(args.warmup), interactive, "warm-up", "run"):
        session.run(feed)
    times = []
    for _ in progress(range(args.runs), interactive, "timing", "run"):
        t0 = time.perf_counter()
        session.run(feed)
        times.append((time.perf_counter() - t0) * 1e3)
    t = np.array(times)
    print(f"model: {args.model}  threads: {args.threads}  runs: {args.runs}")
    print(f"backends: {', '.join(session.backends)}")
    print(f"init + first run: {init_ms:.2f} ms")
    print(
        f"latency ms: min {t.min():.3f}  median {np.median(t):.3f}  mean {t.mean():.3f}  "
        f"p90 {np.percentile(t, 90):.3f}  max {t.max():.3f}"
    )
    if args.profile or args.trace:
        profile = session.profile(feed, runs=args.runs, warmup=0)
        if args.profile:
            print()
            print(profile.table(top=args.top))
            print()
            print(profile.by_op_table(top=args.top))
            print()
            print(profile.by_backend_line())
        if args.trace:
            profile.to_chrome_trace(args.trace)
            print(f"wrote {args.trace}: {len(profile) * profile.runs} trace events")


def cmd_dump(args) -> None:
    model = _load_model(args.model)
    if args.json:
        text = model.to_json()
    else:
        lines = []
        for node in model.nodes:
            ins = ", ".join(i or "-" for i in node["inputs"])
            outs = ", ".join(o or "-" for o in node["outputs"])
            lines.append(f"{node['name']}: {node['op']}({ins}) -> {outs} {node['attributes']}")
        text = "\n".join(lines)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text)


def _add_threads_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--threads", type=_int_at_least(1), default=1, help="threads; default %(default)s"
    )


def _add_input_option(p: argparse.ArgumentParser, note: str) -> None:
    p.add_argument(
        "--input",
        action="append",
        default=[],
        type=_input_spec,
        metavar="NAME=FILE.npy",
        help=f"an input from a .npy file (repeatable; {note})",
    )


def build_parser() -> argparse.ArgumentParser:
    exit_codes = __doc__[__doc__.index("  0    success") :].rstrip()
    parser = _Parser(
        prog="lwai",
        description=__doc__.splitlines()[0],
        epilog="exit codes:\n" + exit_codes,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"lwai {lwai.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("convert", help="convert an ONNX or TFLite model to .lwai")
    p.add_argument("input", help="the model (.onnx or .tflite)")
    p.add_argument("-o", "--output", help="output path (.lwai, or .json)")
    p.add_argument("--no-optimize", action="store_true", help="skip graph optimizations")
    p.set_defaults(fn=cmd_convert)

    p = sub.add_parser(
        "quantize",
        help="int8 quantization of an ONNX or .lwai model: static (from calibration data) or "
        "dynamic (MatMul/Gemm, inputs quantized at run time)",
    )
    p.add_argument("input", help="float model (.onnx or .lwai)")
    p.add_argument("-o", "--output", help="output path (default: INPUT_int8.lwai)")
    p.add_argument(
        "--mode",
        choices=("static", "dynamic", "weight_only"),
        default="static",
        help="static: activations from calibrated ranges (needs --calib); dynamic: MatMul and "
        "Gemm with int8 weights, their inputs quantized at run time; weight_only: weights "
        "stored as --weight-type, computed in float",
    )
    p.add_argument(
        "--weight-type",
        choices=("int8", "int4", "float16"),
        default="int8",
        help="how weights are stored (int4 and float16: --mode weight_only); default %(default)s",
    )
    p.add_argument(
        "--calib",
        metavar="DIR_OR_NPZ",
        help="calibration inputs: a folder of .npy/.npz files or one .npz file (static mode; "
        "optional with --mode dynamic: weights then rounded to minimize the error on them)",
    )
    p.add_argument(
        "--method",
        choices=("minmax", "percentile", "entropy"),
        default="minmax",
        help="how calibration picks activation ranges; default %(default)s",
    )
    p.add_argument("--percentile", type=float, default=99.999, help="for --method percentile")
    p.add_argument(
        "--activation-type",
        choices=("uint8", "int8"),
        default="uint8",
        help="element type of quantized activations; default %(default)s",
    )
    p.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor")
    p.add_argument(
        "--equalize",
        action="store_true",
        help="static mode: cross-layer equalization of Conv pairs joined by no activation or "
        "Relu before calibrating (helps depthwise-separable nets, most with --per-tensor)",
    )
    p.add_argument(
        "--exclude-node",
        action="append",
        default=[],
        metavar="NAME",
        help="keep this node in float (repeatable)",
    )
    p.add_argument(
        "--exclude-op",
        action="append",
        default=[],
        metavar="OP",
        help="keep every node of this operator in float (repeatable)",
    )
    p.add_argument(
        "--batch-size",
        type=_int_at_least(1),
        default=32,
        help="calibration inputs run per batch; default %(default)s",
    )
    _add_threads_option(p)
    p.add_argument(
        "--target",
        type=float,
        metavar="COSINE",
        help="static mode: keep the fewest, most sensitive layers in float so that every output "
        "keeps at least this cosine similarity to the float model's (e.g. 0.999)",
    )
    p.set_defaults(fn=cmd_quantize)

    p = sub.add_parser(
        "compare", help="compare two models tensor by tensor (float vs int8, lwai vs ORT)"
    )
    p.add_argument("a", help="model a (.lwai or .onnx)")
    p.add_argument("b", help="model b (.lwai or .onnx)")
    _add_input_option(p, "every input is needed")
    p.add_argument("--onnxruntime", action="store_true", help="run model b in ONNX Runtime")
    p.add_argument("--min-cosine", type=float, default=0.99, help="divergence threshold")
    p.add_argument("--top", type=_int_at_least(1), help="print only the first N tensors")
    _add_threads_option(p)
    p.set_defaults(fn=cmd_compare)

    p = sub.add_parser("info", help="inputs, outputs, operators, sizes")
    p.add_argument(
        "model",
        help=".lwai, .json, .onnx or .tflite model (ONNX and TFLite are converted in memory)",
    )
    p.set_defaults(fn=cmd_info)

    p = sub.add_parser(
        "ops",
        help="the operators (and dtypes) that models need, for a selective build",
        description="Lists every operator the models use, subgraphs included, one per line with "
        "the dtypes its nodes read and write. The lines (or --cmake's flag) select the kernels "
        "of a selective runtime: cmake -DLWAI_SELECTED_OPS=FILE_OR_LIST (a file also limits the "
        "dtypes kernels are compiled for).",
    )
    p.add_argument(
        "models", nargs="+", metavar="model", help=".lwai, .json, .onnx or .tflite models"
    )
    p.add_argument("--cmake", action="store_true", help="print the CMake flag instead of the list")
    p.set_defaults(fn=cmd_ops)

    built_in = ", ".join(lwai.available_backends() + lwai.installed_plugins())

    def add_run_options(p):
        p.add_argument(
            "model",
            help=".lwai, .json, .onnx or .tflite model (ONNX and TFLite are converted in memory)",
        )
        _add_input_option(p, "without any, random inputs")
        _add_threads_option(p)
        p.add_argument(
            "--shape",
            action="append",
            default=[],
            type=_shape_spec,
            metavar="NAME=DIMS",
            help="shape of a random input, e.g. images=1x3x640x640 (repeatable; NAME= may be "
            "left out for a one-input model)",
        )
        p.add_argument(
            "--batch",
            type=_int_at_least(1),
            default=1,
            help="size of dynamic dims of random inputs that --shape does not set; "
            "default %(default)s",
        )
        p.add_argument(
            "--backends",
            metavar="A,B",
            help=f"backends in priority order: names ({built_in}) or plugin .so paths",
        )

    p = sub.add_parser("run", help="run once and print outputs (random inputs by default)")
    add_run_options(p)
    p.add_argument("--save", metavar="PREFIX", help="save outputs as PREFIX<name>.npy")
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("bench", help="measure init time and latency")
    add_run_options(p)
    p.add_argument(
        "--runs", type=_int_at_least(1), default=50, help="timed runs; default %(default)s"
    )
    p.add_argument(
        "--warmup",
        type=_int_at_least(0),
        default=5,
        help="untimed runs first; default %(default)s",
    )
    p.add_argument(
        "--profile", action="store_true", help="also time every node and print the table"
    )
    p.add_argument(
        "--top",
        type=_int_at_least(1),
        metavar="N",
        help="with --profile: only the N slowest nodes and operators",
    )
    p.add_argument("--trace", metavar="OUT.json", help="write a Chrome/Perfetto trace of the runs")
    p.set_defaults(fn=cmd_bench)

    p = sub.add_parser("dump", help="print the graph, or the whole model as JSON")
    p.add_argument(
        "model",
        help=".lwai, .json, .onnx or .tflite model (ONNX and TFLite are converted in memory)",
    )
    p.add_argument("--json", action="store_true", help="the whole model as JSON, weights included")
    p.add_argument("-o", "--output", help="write to this file instead of standard output")
    p.set_defaults(fn=cmd_dump)
    return parser


def _one_line(text: str) -> str:
    return " ".join(str(text).split("\n")).strip()


def _report(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except OSError:  # stderr closed too: nothing left to tell
        pass


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit code (see the module docstring)."""
    prefix = "lwai"
    try:
        args = build_parser().parse_args(argv)
        prefix = f"lwai {args.command}"
        args.fn(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except SystemExit as e:  # --help, --version
        if e.code is None:
            return EXIT_OK
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    except _UsageError as e:
        _report(_one_line(e))
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining
        # about the unflushed stdout at exit (as the Python docs on SIGPIPE recommend).
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        _report(f"{prefix}: interrupted")
        return EXIT_INTERRUPTED
    except lwai.LwaiError as e:
        _report(f"{prefix}: error: {type(e).__name__}: {_one_line(e)}")
        return EXIT_ERROR
    except OSError as e:  # an output file that cannot be written, ...
        where = f"{e.filename}: " if e.filename else ""
        _report(f"{prefix}: error: {type(e).__name__}: {where}{e.strerror or _one_line(e)}")
        return EXIT_ERROR
    except Exception as e:  # noqa: BLE001 - a bug: one line, not a traceback
        _report(
            f"{prefix}: internal error: {type(e).__name__}: {_one_line(e)} "
            "(a bug in lwai: please report it with this command line)"
        )
        return EXIT_INTERNAL
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
