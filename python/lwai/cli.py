"""The `lwai` command: convert, inspect, run and benchmark models.

Exit codes: 0 on success, 1 on a model or input error, 2 on bad command-line usage.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import lwai


def _random_feed(session: lwai.Session, batch: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    feed = {}
    for info in session.inputs:
        if info.shape is None:
            raise lwai.InvalidArgumentError(f"input '{info.name}' has unknown rank: pass --input")
        shape = [d if isinstance(d, int) else batch for d in info.shape]
        if info.dtype.startswith("float"):
            feed[info.name] = rng.standard_normal(shape).astype(info.dtype)
        elif info.dtype == "bool":
            feed[info.name] = rng.integers(0, 2, shape).astype(bool)
        else:
            feed[info.name] = rng.integers(0, 10, shape).astype(info.dtype)
    return feed


def _parse_inputs(session: lwai.Session, specs: list[str], batch: int) -> dict[str, np.ndarray]:
    feed = _random_feed(session, batch) if not specs else {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            raise lwai.InvalidArgumentError(f"--input takes NAME=FILE.npy, got '{spec}'")
        try:
            feed[name] = np.load(path)
        except OSError as e:
            raise lwai.ModelNotFoundError(f"{path}: {e}") from e
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
    output = args.output or args.input.rsplit(".", 1)[0] + ".lwai"
    model.save(output)
    size = _format_bytes(model.parameter_bytes)
    print(f"wrote {output}: {len(model.nodes)} nodes, {size} parameters")


def cmd_info(args) -> None:
    model = lwai.load(args.model)
    session = lwai.Session(model)
    print(f"model:      {args.model}")
    print(f"producer:   {model.producer} (from {model.source_format} opset {model.source_opset})")
    print(f"optimized:  {model.optimized}")
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


def cmd_run(args) -> None:
    session = lwai.Session(args.model, threads=args.threads, backends=_backends(args.backends))
    feed = _parse_inputs(session, args.input, args.batch)
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
    start = time.perf_counter()
    session = lwai.Session(args.model, threads=args.threads, backends=_backends(args.backends))
    feed = _parse_inputs(session, args.input, args.batch)
    session.run(feed)
    init_ms = (time.perf_counter() - start) * 1e3
    for _ in range(args.warmup):
        session.run(feed)
    times = []
    for _ in range(args.runs):
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
            print(profile.table())
            print()
            print(profile.by_op_table())
        if args.trace:
            profile.to_chrome_trace(args.trace)
            print(f"wrote {args.trace}: {len(profile) * profile.runs} trace events")


def cmd_dump(args) -> None:
    model = lwai.load(args.model)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lwai", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"lwai {lwai.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("convert", help="convert an ONNX model to .lwai")
    p.add_argument("input")
    p.add_argument("-o", "--output", help="output path (.lwai, or .json)")
    p.add_argument("--no-optimize", action="store_true", help="skip graph optimizations")
    p.set_defaults(fn=cmd_convert)

    p = sub.add_parser("info", help="inputs, outputs, operators, sizes")
    p.add_argument("model")
    p.set_defaults(fn=cmd_info)

    built_in = ", ".join(lwai.available_backends())

    def add_run_options(p):
        p.add_argument("model")
        p.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy")
        p.add_argument("--threads", type=int, default=1)
        p.add_argument(
            "--batch", type=int, default=1, help="size of dynamic dims for random inputs"
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
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument(
        "--profile", action="store_true", help="also time every node and print the table"
    )
    p.add_argument("--trace", metavar="OUT.json", help="write a Chrome/Perfetto trace of the runs")
    p.set_defaults(fn=cmd_bench)

    p = sub.add_parser("dump", help="print the graph, or the whole model as JSON")
    p.add_argument("model")
    p.add_argument("--json", action="store_true")
    p.add_argument("-o", "--output")
    p.set_defaults(fn=cmd_dump)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.fn(args)
    except (lwai.LwaiError, OSError) as e:
        message = str(e).replace("\n", "; ")
        print(f"lwai {args.command}: error: {type(e).__name__}: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
