"""Per-node timing of a session: what Session.profile() returns.

profile = session.profile({"input": x}, runs=20)
print(profile.table(top=10))          # slowest nodes: op, backend, kernel, shapes, ms, %
print(profile.by_op())                # time per operator type
profile.to_chrome_trace("trace.json") # open in https://ui.perfetto.dev or chrome://tracing
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Iterator
from typing import NamedTuple


class NodeProfile(NamedTuple):
    """One node's timing. Shapes are tuples of dims (None for an omitted optional input);
    times_ms has one entry per timed run; share is the percentage of Profile.total_ms."""

    index: int  # position in the graph's execution order
    name: str
    op: str
    backend: str
    kernel: str
    input_shapes: tuple
    output_shapes: tuple
    times_ms: tuple
    median_ms: float = 0.0
    share: float = 0.0
    # For a node inside a control-flow subgraph: the path of the If/Loop/Scan node it runs
    # under ("" for main-graph nodes). Its name is then the whole path
    # ("If_0/then_branch/Conv_3"), and its times sum the subgraph's runs of one model run.
    parent: str = ""


class OpProfile(NamedTuple):
    """The nodes of one operator type together: count, summed median time, share in %."""

    op: str
    count: int
    ms: float
    share: float


def with_subgraph_nodes(nodes: list[NodeProfile], per_run_subgraphs: list[list[dict]]):
    """Adds the nodes inside control-flow subgraphs (the session's subgraph_profiles() of each
    timed run) after the node they run under, and leaves each control-flow node only its own
    time (its subgraphs' nodes now stand for the rest), so the times still add up to the run."""
    runs = len(per_run_subgraphs)
    inner: dict[str, dict] = {}
    for run, profiles in enumerate(per_run_subgraphs):
        for p in profiles:
            entry = inner.setdefault(p["path"], {"profile": p, "times": [0.0] * runs})
            entry["profile"] = p
            entry["times"][run] += p["time_ns"] / 1e6
    if not inner:
        return nodes
    children_ms: dict[str, list[float]] = {}
    for entry in inner.values():
        parent = entry["profile"]["parent"]
        sums = children_ms.setdefault(parent, [0.0] * runs)
        for run, t in enumerate(entry["times"]):
            sums[run] += t

    def own(name: str, times: tuple) -> tuple:
        sums = children_ms.get(name)
        if sums is None:
            return times
        return tuple(max(t - c, 0.0) for t, c in zip(times, sums, strict=True))

    by_parent: dict[str, list[dict]] = {}
    for entry in inner.values():
        by_parent.setdefault(entry["profile"]["parent"], []).append(entry)

    result: list[NodeProfile] = []

    def add(node: NodeProfile) -> None:
        result.append(node._replace(times_ms=own(node.name, node.times_ms)))
        for entry in by_parent.get(node.name, []):
            p = entry["profile"]
            add(
                NodeProfile(
                    index=node.index,
                    name=p["path"],
                    op=p["op"],
                    backend=p["backend"],
                    kernel=p["kernel"],
                    input_shapes=tuple(p["inputs"]),
                    output_shapes=tuple(p["outputs"]),
                    times_ms=tuple(entry["times"]),
                    parent=p["parent"],
                )
            )

    for node in nodes:
        add(node)
    return result


def _format_shape(shape) -> str:
    return "-" if shape is None else "[" + ",".join(str(d) for d in shape) + "]"


def format_shapes(node: NodeProfile) -> str:
    """ "[1,3,8,8] [4,3,3,3] -> [1,4,8,8]": inputs, then outputs."""
    inputs = " ".join(_format_shape(s) for s in node.input_shapes)
    outputs = " ".join(_format_shape(s) for s in node.output_shapes)
    return f"{inputs} -> {outputs}"


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[c]) for row in [header, *rows]) for c in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.rjust(widths[c]) if c in right else cell.ljust(widths[c])
            for c, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


class Profile:
    """Per-node timing of `runs` runs. Nodes that prepare evaluated (constant inputs) never run
    and are not listed. Times are medians over the runs; total_ms is their sum (the model's
    compute time, without the binding's overhead that wall_ms includes)."""

    def __init__(self, nodes: list[NodeProfile], wall_ms: list[float]):
        medians = [statistics.median(n.times_ms) if n.times_ms else 0.0 for n in nodes]
        total = sum(medians)
        self.nodes: list[NodeProfile] = [
            n._replace(median_ms=m, share=100.0 * m / total if total > 0 else 0.0)
            for n, m in zip(nodes, medians, strict=True)
        ]
        self.wall_ms: list[float] = list(wall_ms)
        self.runs: int = len(wall_ms)
        self.total_ms: float = total

    @property
    def median_wall_ms(self) -> float:
        """Median time of one whole run as seen from Python."""
        return statistics.median(self.wall_ms) if self.wall_ms else 0.0

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[NodeProfile]:
        return iter(self.nodes)

    def sorted(self) -> list[NodeProfile]:
        """Nodes, slowest first."""
        return sorted(self.nodes, key=lambda n: (-n.median_ms, n.index))

    def table(self, top: int | None = None) -> str:
        """A text table of the nodes, slowest first (only the `top` slowest when given)."""
        nodes = self.sorted()
        shown = nodes if top is None else nodes[: max(top, 0)]
        rows = []
        for n in shown:
            shapes = format_shapes(n)
            if len(shapes) > 60:
                shapes = shapes[:57] + "..."
            rows.append(
                [
                    n.name,
                    n.op,
                    n.backend,
                    n.kernel or "-",
                    shapes,
                    f"{n.median_ms:.4f}",
                    f"{n.share:.1f}",
                ]
            )
        hidden = nodes[len(shown) :]
        if hidden:
            ms = sum(n.median_ms for n in hidden)
            share = sum(n.share for n in hidden)
            rows.append([f"({len(hidden)} more)", "", "", "", "", f"{ms:.4f}", f"{share:.1f}"])
        rows.append(["total", "", "", "", "", f"{self.total_ms:.4f}", "100.0"])
        header = ["node", "op", "backend", "kernel", "shapes (inputs -> outputs)", "ms", "%"]
        lines = _table(header, rows, right={5, 6})
        lines.append(
            f"{len(self.nodes)} nodes, median of {self.runs} run(s); "
            f"wall time per run {self.median_wall_ms:.4f} ms"
        )
        return "\n".join(lines)

    def by_op(self) -> list[OpProfile]:
        """Time per operator type, slowest first."""
        groups: dict[str, list[NodeProfile]] = {}
        for n in self.nodes:
            groups.setdefault(n.op, []).append(n)
        ops = [
            OpProfile(op, len(ns), sum(n.median_ms for n in ns), sum(n.share for n in ns))
            for op, ns in groups.items()
        ]
        return sorted(ops, key=lambda o: -o.ms)

    def by_op_table(self, top: int | None = None) -> str:
        """A text table of the time per operator type, slowest first (the `top` slowest when
        given)."""
        ops = self.by_op()
        shown = ops if top is None else ops[: max(top, 0)]
        rows = [[o.op, str(o.count), f"{o.ms:.4f}", f"{o.share:.1f}"] for o in shown]
        hidden = ops[len(shown) :]
        if hidden:
            rows.append(
                [
                    f"({len(hidden)} more)",
                    str(sum(o.count for o in hidden)),
                    f"{sum(o.ms for o in hidden):.4f}",
                    f"{sum(o.share for o in hidden):.1f}",
                ]
            )
        return "\n".join(_table(["op", "nodes", "ms", "%"], rows, right={1, 2, 3}))

    def by_backend(self) -> dict[str, float]:
        """Share of the compute time (in %) per backend, largest first. Aliasing nodes
        (Reshape and friends) do no work and count under the backend they were assigned to."""
        shares: dict[str, float] = {}
        for n in self.nodes:
            shares[n.backend] = shares.get(n.backend, 0.0) + n.share
        return dict(sorted(shares.items(), key=lambda kv: -kv[1]))

    def by_backend_line(self) -> str:
        """'time by backend: xnnpack 81.2%, eigen 17.9%, reference 0.9%'."""
        parts = [f"{b} {share:.1f}%" for b, share in self.by_backend().items()]
        return "time by backend: " + ", ".join(parts)

    def chrome_trace(self) -> dict:
        """The Chrome trace event format (as a dict): one complete ("X") event per node and
        run, laid out back to back in execution order, runs one after another; ts and dur in
        microseconds."""
        events = []
        clock_us = 0.0
        for run in range(self.runs):
            for n in self.nodes:
                duration_us = n.times_ms[run] * 1e3
                events.append(
                    {
                        "name": n.name,
                        "cat": n.op,
                        "ph": "X",
                        "ts": round(clock_us, 3),
                        "dur": round(duration_us, 3),
                        "pid": 1,
                        "tid": 1,
                        "args": {
                            "op": n.op,
                            "backend": n.backend,
                            "kernel": n.kernel,
                            "inputs": [list(s) if s is not None else None for s in n.input_shapes],
                            "outputs": [list(s) for s in n.output_shapes if s is not None],
                            "run": run,
                        },
                    }
                )
                clock_us += duration_us
        return {"traceEvents": events, "displayTimeUnit": "ms"}

    def to_chrome_trace(self, path: str | os.PathLike) -> None:
        """Writes chrome_trace() as JSON, loadable in Perfetto (ui.perfetto.dev) and
        chrome://tracing."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.chrome_trace(), f)

    def __repr__(self) -> str:
        return (
            f"<lwai.Profile {len(self.nodes)} nodes, {self.runs} run(s), "
            f"total {self.total_ms:.4f} ms>"
        )
