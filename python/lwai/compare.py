"""The accuracy debugger: lwai.compare and `lwai compare`.

    report = lwai.compare("model.onnx", "model_int8.lwai", {"input": x})
    print(report.table())              # every shared tensor in graph order
    print(report.first_divergence())   # the first layer where they part

Runs two models on the same inputs (float vs int8, lwai vs ONNX Runtime, optimized vs not) and
compares every intermediate tensor they share: matched by name, an int8 tensor of the quantized
model standing for the float one it quantizes (`x_quantized` for `x`, dequantized with its
scale and zero point). Per tensor: cosine similarity, max and mean absolute error, SQNR.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from lwai import _lwai
from lwai.model import Model, as_model
from lwai.session import Session

# Operators that carry an 8-bit tensor's scale and zero point, by input position:
# (tensor position, scale position, zero point position); -1 is the output.
_QUANTIZATION_SLOTS = {
    "QuantizeLinear": [(-1, 1, 2)],
    "DequantizeLinear": [(0, 1, 2)],
    "QLinearConv": [(0, 1, 2), (-1, 6, 7)],
    "QLinearAdd": [(0, 1, 2), (3, 4, 5), (-1, 6, 7)],
    "QLinearMul": [(0, 1, 2), (3, 4, 5), (-1, 6, 7)],
    "QGemm": [(0, 1, 2), (-1, 7, 8)],
    "QLinearMatMul": [(0, 1, 2), (-1, 6, 7)],
}
_PASS_THROUGH = {"MaxPool", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose"}


@dataclass
class TensorComparison:
    """How one tensor differs between the two models (over all feeds)."""

    name: str
    op: str  # the operator producing it in model a
    shape: tuple
    cosine: float
    max_abs: float
    mean_abs: float
    sqnr_db: float  # 10 log10(sum a^2 / sum (a - b)^2); inf when equal


class Comparison:
    """The per-tensor comparison of two models, in model a's graph order."""

    def __init__(self, rows: list[TensorComparison]):
        self.rows = rows

    def first_divergence(self, min_cosine: float = 0.99, min_sqnr_db: float | None = None):
        """The first tensor (graph order) whose cosine similarity falls below min_cosine (or
        SQNR below min_sqnr_db), or None."""
        for row in self.rows:
            if row.cosine < min_cosine or (min_sqnr_db is not None and row.sqnr_db < min_sqnr_db):
                return row
        return None

    def table(self, top: int | None = None) -> str:
        header = (
            f"{'tensor':40} {'op':18} {'cosine':>9} {'max abs':>10} {'mean abs':>10} {'SQNR dB':>8}"
        )
        lines = [header]
        for row in self.rows[:top]:
            lines.append(
                f"{row.name[:40]:40} {row.op[:18]:18} {row.cosine:9.5f} {row.max_abs:10.4g} "
                f"{row.mean_abs:10.4g} {row.sqnr_db:8.2f}"
            )
        return "\n".join(lines)

    def plot(self, ax=None):
        """SQNR and 1 - cosine per tensor (matplotlib), in graph order; returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(10, 4))
        xs = range(len(self.rows))
        ax.plot(xs, [min(r.sqnr_db, 100.0) for r in self.rows], marker="o", label="SQNR (dB)")
        ax.set_xlabel("tensor (graph order)")
        ax.set_ylabel("SQNR (dB, capped at 100)")
        ax.set_xticks(list(xs))
        ax.set_xticklabels([r.name for r in self.rows], rotation=90, fontsize=6)
        first = self.first_divergence()
        if first is not None:
            ax.axvline(self.rows.index(first), color="red", linestyle="--", label=first.name)
        ax.legend()
        return ax

    def __repr__(self) -> str:
        return f"Comparison({len(self.rows)} tensors)\n{self.table()}"


def compare(
    a,
    b,
    feeds,
    *,
    b_engine: str = "lwai",
    threads: int = 1,
) -> Comparison:
    """Compares every intermediate tensor models a and b share on the same inputs.

    a, b: lwai.Model, .lwai or .onnx paths (ONNX is converted by lwai), or onnx.ModelProto.
    b_engine="onnxruntime" runs b (an ONNX path or ModelProto) in ONNX Runtime instead.
    feeds: one feed (a mapping of input names to arrays) or an iterable of feeds.
    """
    model_a = as_model(a, "compare")
    if isinstance(feeds, Mapping):
        feeds = [feeds]
    feeds = list(feeds)
    if not feeds:
        raise _lwai.InvalidArgumentError("compare: no feeds")
    order, producer_op = _float_tensors(model_a)
    if b_engine == "onnxruntime":
        run_b, names_b = _onnxruntime_runner(b, order, threads)
        quant_b = {}
    elif b_engine == "lwai":
        model_b = as_model(b, "compare")
        quant_b = _quantization_of(model_b)
        available = {o for n in model_b.nodes for o in n["outputs"] if o}
        available |= {i.name for i in model_b.inputs}
        names_b = {}
        for name in order:
            if name in available:
                names_b[name] = name
            elif f"{name}_quantized" in quant_b:
                names_b[name] = f"{name}_quantized"
        run_b = _lwai_runner(model_b, list(names_b.values()), threads)
    else:
        raise _lwai.InvalidArgumentError(
            f"compare: b_engine must be 'lwai' or 'onnxruntime', got {b_engine!r}"
        )
    shared = [name for name in order if name in names_b]
    if not shared:
        raise _lwai.InvalidArgumentError("compare: the models share no tensor names")
    run_a = _lwai_runner(model_a, shared, threads)
    sums = {name: np.zeros(5) for name in shared}  # a.b, a.a, b.b, sum|d|, count
    worst = dict.fromkeys(shared, 0.0)
    shapes = {}
    for feed in feeds:
        values_a = run_a(feed)
        values_b = run_b(feed)
        for name in shared:
            va = values_a[name].astype(np.float64)
            vb = values_b[names_b[name]]
            if names_b[name] in quant_b:
                scale, zero_point = quant_b[names_b[name]]
                vb = (vb.astype(np.float64) - zero_point) * scale
            vb = np.asarray(vb, np.float64)
            if va.shape != vb.shape:
                raise _lwai.ShapeMismatchError(
                    f"compare: tensor '{name}' is {va.shape} in a and {vb.shape} in b"
                )
            diff = va - vb
            shapes[name] = va.shape
            sums[name] += (
                float(np.sum(va * vb)),
                float(np.sum(va * va)),
                float(np.sum(vb * vb)),
                float(np.sum(np.abs(diff))),
                va.size,
            )
            worst[name] = max(worst[name], float(np.max(np.abs(diff), initial=0.0)))
    rows = []
    for name in shared:
        ab, aa, bb, abs_sum, count = sums[name]
        norm = math.sqrt(aa * bb)
        cosine = ab / norm if norm > 0 else (1.0 if aa == bb else 0.0)
        noise = aa + bb - 2 * ab  # sum (a - b)^2
        sqnr = math.inf if noise <= 0 else 10 * math.log10(aa / noise) if aa > 0 else -math.inf
        rows.append(
            TensorComparison(
                name,
                producer_op[name],
                shapes[name],
                cosine,
                worst[name],
                abs_sum / max(count, 1),
                sqnr,
            )  # fmt: skip
        )
    return Comparison(rows)


def _float_tensors(model: Model) -> tuple[list[str], dict[str, str]]:
    """Float outputs of model's nodes in graph order, and the operator producing each."""
    order, producer = [], {}
    floats = _lwai_float_names(model)
    for node in model.nodes:
        for name in node["outputs"]:
            if name and name in floats and name not in producer:
                order.append(name)
                producer[name] = node["op"]
    return order, producer


def _lwai_float_names(model: Model) -> set[str]:
    names = set()
    for node in model.nodes:
        for name in node["outputs"]:
            info = model._native.tensor_info(name) if name else None
            if info is not None and info["dtype"] == "float32":
                names.add(name)
    return names


def _quantization_of(model: Model) -> dict[str, tuple[float, int]]:
    """Scale and zero point of each 8-bit activation whose parameters are constant scalars."""
    params: dict[str, tuple[float, int]] = {}
    for node in model.nodes:
        for tensor, scale, zero_point in _QUANTIZATION_SLOTS.get(node["op"], []):
            names = node["outputs"] if tensor == -1 else node["inputs"]
            name = names[0] if tensor == -1 else (names[tensor] if tensor < len(names) else None)
            inputs = node["inputs"]
            if not name or scale >= len(inputs) or not inputs[scale]:
                continue
            s = model._native.constant(inputs[scale])
            z = model._native.constant(inputs[zero_point]) if zero_point < len(inputs) else None
            if s is None or s.size != 1 or (z is not None and z.size != 1):
                continue
            params.setdefault(
                name, (float(s.reshape(-1)[0]), int(z.reshape(-1)[0]) if z is not None else 0)
            )
    for node in model.nodes:  # operators that move quantized values keep their parameters
        if node["op"] in _PASS_THROUGH and node["inputs"] and node["inputs"][0] in params:
            params.setdefault(node["outputs"][0], params[node["inputs"][0]])
    return params


def _lwai_runner(model: Model, names: list[str], threads: int):
    extended = Model(_lwai.with_outputs(model._native, names))
    session = Session(extended, threads=threads)
    positions = {o.name: i for i, o in enumerate(extended.outputs)}

    def run(feed):
        outputs = session.run(feed)
        return {name: outputs[positions[name]] for name in names}

    return run


def _onnxruntime_runner(model, names: Iterable[str], threads: int):
    import onnx
    import onnxruntime as ort

    proto = onnx.load(str(model)) if isinstance(model, str | os.PathLike) else model
    proto = onnx.ModelProto.FromString(proto.SerializeToString())
    produced = {o for n in proto.graph.node for o in n.output}
    existing = {o.name for o in proto.graph.output}
    names = [n for n in names if n in produced]
    for name in names:
        if name not in existing:
            proto.graph.output.append(onnx.ValueInfoProto(name=name))
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        proto.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    output_names = [o.name for o in session.get_outputs()]

    def run(feed):
        return dict(zip(output_names, session.run(None, feed), strict=True))

    return run, {n: n for n in names}
