"""int8 post-training quantization: lwai.quantize and `lwai quantize`.

    int8 = lwai.quantize("model.onnx", calibration=images)   # numpy array, feeds, or a folder
    int8.save("model_int8.lwai")
    dynamic = lwai.quantize("bert.onnx", mode="dynamic")    # MatMul/Gemm, no calibration
    small = lwai.quantize("model.onnx", mode="weight_only", weight_type="float16")

The float model runs on the calibration data, which is streamed (one feed at a time, never all
in memory); every activation that an int8 kernel will read or write gets a range (min-max,
percentile or entropy), and the graph is rewritten with int8 weights (per output channel) and
QuantizeLinear/DequantizeLinear pairs that lwai's optimizer folds into int8 operators.

Dynamic quantization needs no calibration: MatMul and Gemm with constant weights get int8
weights and quantize their float input at run time (DynamicQuantizeMatMul), for transformers and
recurrent networks whose activation ranges vary from input to input.

Weight-only compression stores the weights as int8 (per output channel) or float16 and computes
in float: sessions expand them when they are created. The file shrinks 4x or 2x; the results
move by the weights' rounding only.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np

from lwai import _lwai
from lwai.model import Model, as_model
from lwai.progress import progress
from lwai.session import Session

METHODS = ("minmax", "percentile", "entropy")
MODES = ("static", "dynamic", "weight_only")
WEIGHT_TYPES = ("int8", "int4", "float16")
_HISTOGRAM_BINS = 2048
_QUANTIZED_BINS = 128


def quantize(
    model,
    calibration=None,
    *,
    mode: str = "static",
    weight_type: str = "int8",
    method: str = "minmax",
    percentile: float = 99.999,
    activation_type: str = "uint8",
    per_channel: bool = True,
    exclude_nodes: Sequence[str] = (),
    exclude_ops: Sequence[str] = (),
    batch_size: int = 32,
    threads: int = 1,
    progress: bool = True,
    target: float | None = None,
    validation=None,
    bias_correction: bool = True,
    equalize: bool = False,
) -> Model:
    """Quantizes a float model to int8 and returns the new lwai.Model.

    model: an lwai.Model, a path to a .lwai or .onnx file, or an onnx.ModelProto.
    mode: "static" (activations quantized with calibrated ranges) or "dynamic" (MatMul and Gemm
      only, their inputs quantized at run time; `method`, `percentile` and `activation_type` do
      not apply; calibration is optional: with it, each weight matrix is rounded to int8 so as
      to minimize the error of its output on the calibration data (GPTQ, Frantar et al. 2022)
      instead of to the nearest value, which matters for small recurrent models that amplify
      rounding errors over time) or "weight_only" (weights stored as
      `weight_type`: "int8", "int4" (MatMul/Gemm weights in blocks of 32 along the reduction
      axis with a scale each, other weights int8) or "float16", expanded to float32 by
      sessions; no calibration).
    calibration: representative inputs (static mode; optional for dynamic), streamed: a numpy
      array (samples along axis 0, for a one-input model), a mapping of input names to arrays
      (one feed), an iterable of feeds (mappings, arrays or lists of arrays in input order), or
      a folder of .npy/.npz files (or one .npz file: arrays of all inputs by name, or one array
      per feed).
    method: "minmax" (the observed range), "percentile" (the `percentile`-th and
      (100 - `percentile`)-th percentiles, averaged over batches) or "entropy" (the clipping
      threshold minimizing the KL divergence of the 8-bit histogram, as TensorRT does).
    activation_type: "uint8" or "int8" (activations per tensor, asymmetric).
    per_channel: int8 weight scales per output channel (else per tensor).
    exclude_nodes, exclude_ops: nodes (by name) and operators kept in float.
    batch_size: samples per feed when `calibration` is one array with a dynamic batch dim.
    bias_correction: (static mode) shift each Conv and Gemm bias by what rounding its weights
      to int8 adds to its output on average (the weight error times the calibration mean of
      each input channel), as MindSpore Lite and NNCF do.
    equalize: (static mode) cross-layer equalization before calibration: each Conv feeding only
      another Conv through no activation or Relu (depthwise-separable pairs included) has its
      output channels rescaled and the next layer's input channels rescaled back (Nagel et al.,
      2019), so that one wide channel no longer sets a whole tensor's quantization range. The
      float function is unchanged. The scales balance each channel's activation range (a first
      pass over the calibration data) against the next layer's weights; for a one-shot
      iterator of feeds, the two layers' weight ranges (data-free). Pairs joined by Clip
      (ReLU6) are left alone. Off by default: on trained networks whose channels are already
      balanced it can cost accuracy (PP-OCR: character error rate 1.50% with, 0.86% without).
    target: (static mode) the lowest cosine similarity between the float and the int8 model's
      outputs (each float output, over the validation feeds) to accept. When full int8 misses
      it, lwai measures each layer's sensitivity (the cosine with only that layer int8), keeps
      the most sensitive layers in float, and finds the fewest that meet the target (a binary
      search). The returned model's `quantization_report` says which layers and why.
    validation: (with `target`) feeds to measure on, in any form `calibration` takes; None: the
      first 16 calibration feeds.

    Raises InvalidArgumentError for empty calibration data, inputs of the wrong name, shape or
    dtype, non-finite values, and a model with nothing to quantize.
    """
    if mode not in MODES:
        raise _lwai.InvalidArgumentError(
            f"quantize: mode must be one of {', '.join(MODES)}, got {mode!r}"
        )
    float_model = as_model(model, "quantize")
    options = {
        "per_channel": bool(per_channel),
        "exclude_nodes": [str(n) for n in exclude_nodes],
        "exclude_ops": [str(o) for o in exclude_ops],
    }
    if mode != "static":
        if mode == "dynamic":
            rounded = {}
            if calibration is not None:
                rounded = _error_minimizing_rounding(
                    float_model, options, calibration, batch_size, threads, progress
                )
            native, count = _lwai.quantize_dynamic(float_model._native, options, rounded)
            what = "MatMul or Gemm with constant 2-D float weights"
        else:
            if weight_type not in WEIGHT_TYPES:
                raise _lwai.InvalidArgumentError(
                    f"quantize: weight_type must be one of {', '.join(WEIGHT_TYPES)}, got "
                    f"{weight_type!r}"
                )
            native, count = _lwai.compress_weights(float_model._native, options, weight_type)
            what = "float weights of at least 1024 values in Conv, MatMul, Gemm, RNNs or Gather"
        if count == 0:
            raise _lwai.InvalidArgumentError(
                f"quantize: the model has nothing to quantize in {mode} mode ({what}), or all of "
                "it is excluded"
            )
        return Model(native)
    if calibration is None:
        raise _lwai.InvalidArgumentError(
            "quantize: static quantization needs calibration data (or use mode='dynamic')"
        )
    if method not in METHODS:
        raise _lwai.InvalidArgumentError(
            f"quantize: method must be one of {', '.join(METHODS)}, got {method!r}"
        )
    if activation_type not in ("uint8", "int8"):
        raise _lwai.InvalidArgumentError(
            f"quantize: activation_type must be 'uint8' or 'int8', got {activation_type!r}"
        )
    if method == "percentile" and not 50.0 < percentile <= 100.0:
        raise _lwai.InvalidArgumentError(
            f"quantize: percentile must be in (50, 100], got {percentile}"
        )
    options["activations_signed"] = activation_type == "int8"
    if equalize:
        float_model = _equalized(float_model, options, calibration, batch_size, threads)
    targets = _lwai.quantization_targets(float_model._native, options)
    if not targets:
        raise _lwai.InvalidArgumentError(
            "quantize: the model has nothing lwai quantizes (Conv, Gemm, MatMul by constant "
            "weights, or Add, Mul, BatchNormalization on float 4-D activations), or all of "
            "it is excluded"
        )
    if target is not None and not 0.0 < target <= 1.0:
        raise _lwai.InvalidArgumentError(f"quantize: target must be in (0, 1], got {target}")
    calibrating = Model(_lwai.with_outputs(float_model._native, targets))
    session = Session(calibrating, threads=threads)
    positions = {o.name: i for i, o in enumerate(calibrating.outputs)}
    observers = {name: _Observer(method, percentile) for name in targets}
    feeds = _feeds(calibration, float_model, batch_size)
    count = 0
    kept_feeds = []  # for `target` without validation data
    for feed in _progress(feeds, progress):
        if target is not None and validation is None and len(kept_feeds) < _VALIDATION_FEEDS:
            kept_feeds.append(feed)
        outputs = session.run(feed)
        for name, observer in observers.items():
            values = outputs[positions[name]]
            if values.size and not np.isfinite(values).all():
                raise _lwai.InvalidArgumentError(
                    f"quantize: tensor '{name}' has non-finite values on calibration feed "
                    f"{count} (NaN or infinity in the inputs?)"
                )
            observer.add(values)
        count += 1
    if count == 0:
        raise _lwai.InvalidArgumentError("quantize: the calibration data is empty")
    ranges = {name: observer.range() for name, observer in observers.items()}
    means = {}
    if bias_correction:
        means = {n: o.channel_means() for n, o in observers.items() if o.channel_sums is not None}
    if target is None:
        return Model(_lwai.quantize_model(float_model._native, ranges, options, means))
    if validation is not None:
        kept_feeds = list(_feeds(validation, float_model, batch_size))
        if not kept_feeds:
            raise _lwai.InvalidArgumentError("quantize: the validation data is empty")
    return _meet_target(float_model, ranges, means, options, target, kept_feeds, threads, progress)


_VALIDATION_FEEDS = 16


def _equalized(float_model: Model, options: dict, calibration, batch_size: int, threads: int):
    """The model after cross-layer equalization. With calibration data that can be read twice
    (not a one-shot iterator), the scales balance each pair tensor's per-channel activation
    ranges, measured in a first pass, against the next layer's weights; otherwise they balance
    the two layers' weights (data-free)."""
    ranges = {}
    tensors = _lwai.equalization_tensors(float_model._native, options)
    one_shot = isinstance(calibration, Iterator)
    if tensors and not one_shot:
        measuring = Model(_lwai.with_outputs(float_model._native, tensors))
        session = Session(measuring, threads=threads)
        positions = {o.name: i for i, o in enumerate(measuring.outputs)}
        for feed in _feeds(calibration, float_model, batch_size):
            outputs = session.run(feed)
            for name in tensors:
                values = np.abs(outputs[positions[name]])
                axes = (0, *range(2, values.ndim))
                channel_max = values.max(axis=axes) if values.size else None
                if channel_max is not None:
                    ranges[name] = np.maximum(ranges.get(name, channel_max), channel_max)
        ranges = {name: [float(v) for v in r] for name, r in ranges.items()}
    native, _ = _lwai.equalize_cross_layer(float_model._native, options, ranges)
    return Model(native)


class QuantizationReport:
    """What lwai.quantize(target=...) found: the cosine it reached, and the layers it kept in
    float with each one's sensitivity (the output cosine with only that layer in int8)."""

    def __init__(self, target: float, achieved: float, full_int8: float, int8_nodes: int):
        self.target = target
        self.achieved = achieved  # of the returned model
        self.full_int8 = full_int8  # with every quantizable layer in int8
        self.int8_nodes = int8_nodes
        self.float_nodes: list[tuple[str, str, float]] = []  # (name, op, cosine alone)
        self.evaluations = 1

    def __repr__(self) -> str:
        lines = [
            f"target cosine {self.target}: reached {self.achieved:.7f} with "
            f"{self.int8_nodes} int8 layer(s) (full int8: {self.full_int8:.7f}, "
            f"{self.evaluations} evaluations)"
        ]
        if self.float_nodes:
            lines.append("kept in float (the most sensitive layers; cosine with only it in int8):")
            lines += [f"  {name} ({op}): {alone:.7f}" for name, op, alone in self.float_nodes]
        return "\n".join(lines)


def _meet_target(float_model, ranges, means, options, target, feeds, threads, progress) -> Model:
    """The int8 model with the fewest layers in float whose outputs keep `target` cosine."""
    reference = Session(float_model, threads=threads)
    expected = [reference.run(feed) for feed in feeds]
    float_outputs = [
        i for i, value in enumerate(expected[0]) if np.issubdtype(value.dtype, np.floating)
    ]
    if not float_outputs:
        raise _lwai.InvalidArgumentError("quantize: target needs a model with a float output")

    def build(excluded) -> Model:
        choice = dict(options, exclude_nodes=[*options["exclude_nodes"], *excluded])
        return Model(_lwai.quantize_model(float_model._native, ranges, choice, means))

    def score(model: Model) -> float:
        session = Session(model, threads=threads)
        got = [session.run(feed) for feed in feeds]
        worst = 1.0
        for i in float_outputs:
            a = np.concatenate([g[i].reshape(-1) for g in got]).astype(np.float64)
            b = np.concatenate([e[i].reshape(-1) for e in expected]).astype(np.float64)
            norms = np.linalg.norm(a) * np.linalg.norm(b)
            cosine = float(a @ b / norms) if norms > 0 else float(np.array_equal(a, b))
            worst = min(worst, cosine)
        return worst

    nodes = _lwai.quantizable_nodes(float_model._native, options)
    full = build([])
    full_score = score(full)
    report = QuantizationReport(target, full_score, full_score, len(nodes))
    if full_score >= target:
        full.quantization_report = report
        return full
    names = [name for name, _ in nodes]
    alone = {}
    for name, _ in _progress(nodes, progress, "sensitivity"):
        alone[name] = score(build([other for other in names if other != name]))
    report.evaluations += len(nodes)
    ranked = sorted(nodes, key=lambda node: alone[node[0]])  # most sensitive first
    # The fewest most-sensitive layers in float that meet the target (all float meets it).
    lo, hi, best = 1, len(ranked) - 1, None
    while lo <= hi:
        count = (lo + hi) // 2
        candidate = build([name for name, _ in ranked[:count]])
        reached = score(candidate)
        report.evaluations += 1
        if reached >= target:
            best, hi = (count, candidate, reached), count - 1
        else:
            lo = count + 1
    if best is None:
        raise _lwai.InvalidArgumentError(
            f"quantize: no int8 layer keeps the output cosine >= {target} (the least sensitive "
            f"alone reaches {max(alone.values()):.7f}); lower the target"
        )
    count, model, reached = best
    report.achieved = reached
    report.int8_nodes = len(nodes) - count
    report.float_nodes = [(name, op, alone[name]) for name, op in ranked[:count]]
    model.quantization_report = report
    return model


def _error_minimizing_rounding(
    float_model: Model, options: dict, calibration, batch_size: int, threads: int, progress: bool
) -> dict:
    """Int8 weights and scales per dynamically quantized node, rounded by GPTQ: the second
    moment of each node's input over the calibration data (X^T X) weighs the rounding errors,
    and each input row's error is spread over the rows not yet rounded. Nodes whose input
    cannot be observed (inside Loop and Scan bodies) keep the nearest rounding."""
    targets = [
        t
        for t in _lwai.dynamic_quantization_targets(float_model._native, options)
        if t["observable"]
    ]
    if not targets:
        return {}
    inputs = list(dict.fromkeys(t["input"] for t in targets))  # graph order
    observing = Model(_lwai.with_outputs(float_model._native, inputs))
    session = Session(observing, threads=threads)
    positions = {o.name: i for i, o in enumerate(observing.outputs)}
    depth = {t["input"]: t["weights"].shape[0] for t in targets}
    grams = {name: np.zeros((depth[name], depth[name])) for name in inputs}
    count = 0
    for feed in _progress(_feeds(calibration, float_model, batch_size), progress):
        outputs = session.run(feed)
        for name, gram in grams.items():
            values = outputs[positions[name]]
            if values.size == 0:  # an If branch that did not run
                continue
            if not np.isfinite(values).all():
                raise _lwai.InvalidArgumentError(
                    f"quantize: tensor '{name}' has non-finite values on calibration feed "
                    f"{count} (NaN or infinity in the inputs?)"
                )
            if values.shape[-1] != gram.shape[0]:
                continue  # broadcast or reshaped input: not the rows the weights multiply
            rows = values.reshape(-1, gram.shape[0]).astype(np.float32)
            gram += rows.T @ rows
        count += 1
    if count == 0:
        raise _lwai.InvalidArgumentError("quantize: the calibration data is empty")
    rounded = {}
    for target in _progress(targets, progress, "rounding"):
        gram = grams[target["input"]]
        weights = target["weights"]
        if np.trace(gram) > 0 and np.isfinite(weights).all():
            rounded[target["node"]] = _gptq(weights, gram, options["per_channel"])
    return rounded


def _gptq(weights: np.ndarray, gram: np.ndarray, per_channel: bool, block: int = 128):
    """(int8 [K, N], scales) for float weights [K, N] whose input rows have second moment
    `gram` [K, K] (Frantar et al., "GPTQ", 2022, with its 1% dampening). Scales are the
    nearest rounding's (largest |weight| / 127, per column or per tensor)."""
    w = weights.T.astype(np.float64)  # [N, K]: one row per output, rounded one input at a time
    depth = w.shape[1]
    largest = np.abs(w).max(axis=1) if per_channel else np.full(len(w), np.abs(w).max())
    scales = np.where(largest > 0, largest / 127.0, 1.0)
    hessian = gram.copy()
    unused = np.diag(hessian) <= 0
    hessian[unused, unused] = 1.0
    hessian += 0.01 * np.mean(np.diag(hessian)) * np.eye(depth)
    try:
        # Upper Cholesky factor U of the inverse (H^-1 = U^T U): row i spreads input i's error.
        spread = np.linalg.cholesky(np.linalg.inv(hessian)).T
    except np.linalg.LinAlgError:
        spread = np.eye(depth)  # nearest rounding
    values = np.empty(w.shape, np.int8)
    for start in range(0, depth, block):
        end = min(start + block, depth)
        part = w[:, start:end].copy()
        errors = np.empty_like(part)
        for i in range(end - start):
            q = np.clip(np.round(part[:, i] / scales), -127, 127)
            values[:, start + i] = q
            errors[:, i] = (part[:, i] - q * scales) / spread[start + i, start + i]
            part[:, i:] -= np.outer(errors[:, i], spread[start + i, start + i : end])
        w[:, end:] -= errors @ spread[start:end, end:]
    stored = scales if per_channel else scales[:1]
    return np.ascontiguousarray(values.T), stored.astype(np.float32)


def _feeds(calibration, model: Model, batch_size: int) -> Iterator:
    """Yields feeds (dicts, arrays or lists) from any form `calibration` may take."""
    inputs = model.inputs
    if isinstance(calibration, str | os.PathLike):
        yield from _files(pathlib.Path(calibration), [i.name for i in inputs])
        return
    if isinstance(calibration, np.ndarray):
        if len(inputs) != 1:
            raise _lwai.InvalidArgumentError(
                f"quantize: one array calibrates a one-input model; this one has "
                f"{len(inputs)} inputs ({', '.join(i.name for i in inputs)}): pass feeds"
            )
        yield from _batches(calibration, inputs[0], batch_size)
        return
    if isinstance(calibration, Mapping):
        yield dict(calibration)
        return
    if isinstance(calibration, Iterable):
        yield from calibration
        return
    raise _lwai.InvalidArgumentError(
        f"quantize: calibration must be an array, a mapping of input arrays, an iterable of "
        f"feeds or a folder of .npy/.npz files, got {type(calibration).__name__}"
    )


def _batches(array: np.ndarray, info, batch_size: int) -> Iterator[np.ndarray]:
    """Splits samples along axis 0 into the feeds the input takes: its static batch size, or
    up to batch_size samples when the batch dim is dynamic. An array of exactly the input's
    rank and static shape is one feed."""
    shape = info.shape
    if array.ndim != len(shape):
        raise _lwai.InvalidArgumentError(
            f"quantize: calibration array of shape {array.shape} does not match input "
            f"'{info.name}' of shape {list(shape)}"
        )
    batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else batch_size
    if len(array) == 0:
        return
    for start in range(0, len(array), batch):
        chunk = array[start : start + batch]
        if isinstance(shape[0], int) and shape[0] > 0 and len(chunk) != shape[0]:
            break  # a last partial batch of a static-batch model
        yield chunk


def _files(path: pathlib.Path, names: list[str]) -> Iterator:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".npy", ".npz"))
    elif path.exists():
        files = [path]
    else:
        raise _lwai.ModelNotFoundError(f"quantize: calibration path '{path}' does not exist")
    for file in files:
        if file.suffix == ".npy":
            yield np.load(file)
            continue
        with np.load(file) as data:
            if set(names) <= set(data.files):
                yield {name: data[name] for name in names}
            else:
                for key in data.files:  # one feed per array (a one-input model)
                    yield data[key]


def _progress(items, enabled: bool, what: str = "calibrating") -> Iterator:
    unit = "batch" if what == "calibrating" else "layer"
    return progress(items, enabled, desc=what, unit=unit)


class _Observer:
    """Collects what a range method needs of one tensor across calibration feeds."""

    def __init__(self, method: str, percentile: float):
        self.method = method
        self.percentile = percentile
        self.min = np.inf
        self.max = -np.inf
        self.percentile_sums = np.zeros(2)
        self.batches = 0
        self.histogram = None  # of |x| over [0, self.edge]
        self.edge = 0.0
        self.channel_sums = None  # per channel (axis 1), for bias correction
        self.channel_count = 0

    def add(self, values: np.ndarray) -> None:
        flat = values.reshape(-1).astype(np.float32, copy=False)
        if flat.size == 0:
            return
        self.min = min(self.min, float(flat.min()))
        self.max = max(self.max, float(flat.max()))
        self.batches += 1
        if values.ndim >= 2:
            axes = (0, *range(2, values.ndim))
            sums = values.sum(axis=axes, dtype=np.float64)
            if self.channel_sums is None:
                self.channel_sums = sums
            elif self.channel_sums.shape == sums.shape:
                self.channel_sums += sums
            self.channel_count += values.size // values.shape[1]
        if self.method == "percentile":
            lo, hi = np.percentile(flat, [100.0 - self.percentile, self.percentile])
            self.percentile_sums += (lo, hi)
        elif self.method == "entropy":
            self._add_histogram(np.abs(flat))

    def _add_histogram(self, magnitudes: np.ndarray) -> None:
        top = float(magnitudes.max())
        if self.histogram is None:
            self.edge = top if top > 0 else 1.0
            self.histogram = np.zeros(_HISTOGRAM_BINS)
        elif top > self.edge:
            # Re-bin what was collected onto the wider range (each old bin into the new bin
            # holding its centre).
            centres = (np.arange(_HISTOGRAM_BINS) + 0.5) * (self.edge / _HISTOGRAM_BINS)
            new_bins = np.minimum(
                (centres / top * _HISTOGRAM_BINS).astype(int), _HISTOGRAM_BINS - 1
            )
            rebinned = np.zeros(_HISTOGRAM_BINS)
            np.add.at(rebinned, new_bins, self.histogram)
            self.histogram, self.edge = rebinned, top
        counts, _ = np.histogram(magnitudes, bins=_HISTOGRAM_BINS, range=(0.0, self.edge))
        self.histogram += counts

    def channel_means(self) -> list[float]:
        return (self.channel_sums / max(self.channel_count, 1)).astype(np.float32).tolist()

    def range(self) -> tuple[float, float]:
        if self.method == "percentile":
            lo, hi = self.percentile_sums / self.batches
            return float(max(lo, self.min)), float(min(hi, self.max))
        if self.method == "entropy":
            threshold = _entropy_threshold(self.histogram, self.edge)
            lo = 0.0 if self.min >= 0 else max(self.min, -threshold)
            return float(lo), float(min(self.max, threshold))
        return float(self.min), float(self.max)


def _entropy_threshold(histogram: np.ndarray, edge: float) -> float:
    """The clipping threshold of |x| whose 128-level quantization loses the least information
    (smallest KL divergence between the clipped distribution and its quantized version)."""
    total = histogram.sum()
    if total == 0:
        return edge
    best_kl, best_bins = np.inf, _HISTOGRAM_BINS
    for bins in range(_QUANTIZED_BINS, _HISTOGRAM_BINS + 1, 16):
        reference = histogram[:bins].copy()
        reference[-1] += histogram[bins:].sum()  # clipped values land in the last bin
        # Quantize the first `bins` bins into 128 levels, spreading each level's count evenly
        # over its nonzero source bins.
        groups = np.array_split(np.arange(bins), _QUANTIZED_BINS)
        candidate = np.zeros(bins)
        source = histogram[:bins]
        for group in groups:
            nonzero = source[group] > 0
            if nonzero.any():
                candidate[group[nonzero]] = source[group].sum() / nonzero.sum()
        p = reference / reference.sum()
        q_total = candidate.sum()
        if q_total == 0:
            continue
        q = candidate / q_total
        mask = p > 0
        if (q[mask] == 0).any():
            continue
        kl = float(np.sum(p[mask] * np.log(p[mask] / q[mask])))
        if kl < best_kl:
            best_kl, best_bins = kl, bins
    return edge * best_bins / _HISTOGRAM_BINS
