"""lwai.quantize and `lwai quantize`: static int8 quantization of the trained digits CNN keeps its
accuracy, takes calibration data in every documented form, and rejects bad input clearly."""

import subprocess
import sys

import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper

import lwai
from digits_data import load_split


@pytest.fixture(scope="module")
def digits():
    x_train, _, x_test, y_test = load_split()
    return x_train[:256], x_test, y_test


def accuracy(model, x, y):
    return float((lwai.Session(model).run({"input": x})[0].argmax(1) == y).mean())


def ops(model):
    return [node["op"] for node in model.nodes]


def test_int8_digits_keeps_float_accuracy(digits_onnx, digits):
    calibration, x_test, y_test = digits
    float_model = lwai.convert(str(digits_onnx))
    int8 = lwai.quantize(float_model, calibration, progress=False)
    assert ops(int8).count("QLinearConv") == 2 and "Conv" not in ops(int8)
    assert ops(int8).count("QGemm") == 2 and "Gemm" not in ops(int8)
    # int8 weights: at most 0.27x the float file's parameters.
    assert int8.parameter_bytes <= 0.27 * float_model.parameter_bytes
    float_accuracy, int8_accuracy = (
        accuracy(float_model, x_test, y_test),
        accuracy(int8, x_test, y_test),
    )
    assert int8_accuracy >= float_accuracy - 0.005, (float_accuracy, int8_accuracy)


@pytest.mark.parametrize("method", ["percentile", "entropy"])
@pytest.mark.parametrize("activation_type", ["uint8", "int8"])
def test_range_methods_and_activation_types(digits_onnx, digits, method, activation_type):
    calibration, x_test, y_test = digits
    int8 = lwai.quantize(
        str(digits_onnx),
        calibration,
        method=method,
        activation_type=activation_type,
        progress=False,
    )
    assert "QLinearConv" in ops(int8)
    assert accuracy(int8, x_test, y_test) >= 0.9


def test_calibration_forms_give_the_same_model(digits_onnx, digits, tmp_path):
    calibration, x_test, _ = digits
    batches = [calibration[i : i + 32] for i in range(0, len(calibration), 32)]
    for i, batch in enumerate(batches):
        np.save(tmp_path / f"batch{i:02d}.npy", batch)
    np.savez(tmp_path / "all.npz", input=calibration)
    results = []
    for source in (
        calibration,  # one array, split into batches of 32
        iter({"input": b} for b in batches),  # a generator of feeds
        batches,  # a list of arrays
        tmp_path,  # a folder of .npy files
    ):
        model = lwai.quantize(str(digits_onnx), source, progress=False)
        results.append(lwai.Session(model).run({"input": x_test})[0])
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])
    # The .npz form is one feed of all samples: the same min-max ranges.
    model = lwai.quantize(str(digits_onnx), tmp_path / "all.npz", progress=False)
    np.testing.assert_array_equal(lwai.Session(model).run({"input": x_test})[0], results[0])


def test_excluded_nodes_stay_float(digits_onnx, digits):
    calibration, _, _ = digits
    float_model = lwai.convert(str(digits_onnx))
    first_conv = next(n["name"] for n in float_model.nodes if n["op"] == "Conv")
    int8 = lwai.quantize(float_model, calibration, exclude_nodes=[first_conv], progress=False)
    assert ops(int8).count("QLinearConv") == 1 and ops(int8).count("Conv") == 1
    with pytest.raises(lwai.InvalidArgumentError, match="nothing lwai quantizes"):
        lwai.quantize(float_model, calibration, exclude_ops=["Conv", "Gemm"], progress=False)


def test_bad_calibration_data_is_named(digits_onnx, digits):
    calibration, _, _ = digits
    model = lwai.convert(str(digits_onnx))
    with pytest.raises(lwai.InvalidArgumentError, match="empty"):
        lwai.quantize(model, [], progress=False)
    with pytest.raises(lwai.InvalidArgumentError, match="input 'input'"):
        lwai.quantize(model, np.zeros((4, 8, 8), np.float32), progress=False)
    with pytest.raises(lwai.LwaiError, match="input"):
        lwai.quantize(model, [np.zeros((4, 1, 9, 8), np.float32)], progress=False)
    with pytest.raises(lwai.LwaiError, match="dtype|float32"):
        lwai.quantize(model, [np.zeros((4, 1, 8, 8), np.int32)], progress=False)
    poisoned = calibration[:8].copy()
    poisoned[3, 0, 2, 2] = np.nan
    with pytest.raises(lwai.InvalidArgumentError, match="non-finite"):
        lwai.quantize(model, poisoned, progress=False)
    with pytest.raises(lwai.InvalidArgumentError, match="method"):
        lwai.quantize(model, calibration, method="kl", progress=False)


def test_model_without_quantizable_nodes_is_rejected():
    graph = h.make_graph(
        [h.make_node("Softmax", ["x"], ["y"])],
        "g",
        [h.make_tensor_value_info("x", T.FLOAT, [2, 5])],
        [h.make_tensor_value_info("y", T.FLOAT, [2, 5])],
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
    with pytest.raises(lwai.InvalidArgumentError, match="nothing lwai quantizes"):
        lwai.quantize(model, np.zeros((2, 5), np.float32), progress=False)


def test_cli_quantize(digits_onnx, digits, tmp_path):
    calibration, x_test, y_test = digits
    np.savez(tmp_path / "calib.npz", input=calibration)
    out = tmp_path / "digits_int8.lwai"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lwai",
            "quantize",
            str(digits_onnx),
            "--calib",
            str(tmp_path / "calib.npz"),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "4 int8 operators" in done.stdout  # two QLinearConv, two QGemm
    assert accuracy(lwai.load(out), x_test, y_test) >= 0.97
    done = subprocess.run(
        [sys.executable, "-m", "lwai", "quantize", str(digits_onnx), "--calib", "/nonexistent"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "does not exist" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "lwai", "quantize", str(digits_onnx), "--calib"]
        + [str(tmp_path / "calib.npz"), "-o", str(out), "--target", "0.5"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "target cosine 0.5: reached" in done.stdout


@pytest.mark.parametrize("bad", [0.0, -0.5, float("nan"), float("inf")])
def test_corrupted_scale_in_file_is_named(digits_onnx, digits, tmp_path, bad):
    import json
    import struct

    calibration, _, _ = digits
    model = lwai.quantize(str(digits_onnx), calibration, progress=False)
    doc = json.loads(model.to_json())
    tensor = next(t for t in doc["graph"]["tensors"] if t["name"].endswith(".weight_scale"))
    buffer = doc["buffers"][tensor["buffer"]]
    data = bytearray(buffer["data"])
    data[0:4] = struct.pack("<f", bad)
    buffer["data"] = list(data)
    buffer.pop("crc32c", None)
    buffer["has_crc32c"] = False
    path = tmp_path / "corrupted.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(lwai.InvalidModelError, match=f"scale tensor '{tensor['name']}' element 0"):
        lwai.load(path)


def digits_logits(digits_onnx):
    """The digits CNN without its Softmax: logits, whose cosine moves with every int8 layer."""
    import onnx

    model = onnx.load(str(digits_onnx))
    softmax = model.graph.node[-1]
    assert softmax.op_type == "Softmax"
    model.graph.node.remove(softmax)
    model.graph.output[0].name = softmax.input[0]
    return lwai.convert(model)


def cosine(a, b):
    a, b = a.reshape(-1).astype(np.float64), b.reshape(-1).astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_target_keeps_the_fewest_sensitive_layers_in_float(digits_onnx, digits):
    calibration, x_test, _ = digits
    float_model = digits_logits(digits_onnx)
    full = lwai.quantize(float_model, calibration, target=0.5, progress=False)
    report = full.quantization_report
    assert report.float_nodes == [] and report.int8_nodes == 4 and report.evaluations == 1
    # A target between full int8 and float: some layers stay float, the fewest that reach it.
    target = 1.0 - (1.0 - report.full_int8) / 2
    validation = x_test[:200]
    mixed = lwai.quantize(
        float_model, calibration, target=target, validation=validation, progress=False
    )
    report = mixed.quantization_report
    assert report.achieved >= target and report.full_int8 < target
    assert 1 <= len(report.float_nodes) < 4 and report.int8_nodes == 4 - len(report.float_nodes)
    assert report.evaluations > 4  # one per layer, then the search
    kept = {name for name, _, _ in report.float_nodes}
    float_ops = {n["name"]: n["op"] for n in mixed.nodes}
    assert all(float_ops.get(name) in ("Conv", "Gemm") for name in kept)
    # The reported cosine is what the model gives on the validation data.
    want = lwai.Session(float_model).run({"input": validation})[0]
    got = lwai.Session(mixed).run({"input": validation})[0]
    assert cosine(got, want) == pytest.approx(report.achieved, abs=1e-9)
    # Sensitivities are sorted, most sensitive (lowest cosine alone) first, and named in repr.
    alone = [value for _, _, value in report.float_nodes]
    assert alone == sorted(alone)
    assert all(name in repr(report) for name in kept)


def test_unreachable_target_is_explained(digits_onnx, digits):
    calibration, _, _ = digits
    with pytest.raises(lwai.InvalidArgumentError, match="no int8 layer keeps the output cosine"):
        lwai.quantize(digits_logits(digits_onnx), calibration, target=1.0, progress=False)
    with pytest.raises(lwai.InvalidArgumentError, match="target must be in"):
        lwai.quantize(digits_logits(digits_onnx), calibration, target=1.5, progress=False)


def test_bias_correction_removes_the_mean_weight_rounding_error(rng):
    """A convolution of an input with a large mean, weights rounded per tensor: without
    correction each output channel is off by a constant (the rounding error times the mean);
    bias correction removes most of it. The digits CNN: float accuracy kept exactly."""
    w = rng.normal(0, 0.2, (16, 8, 3, 3)).astype(np.float32)
    b = rng.normal(0, 0.1, 16).astype(np.float32)
    graph = h.make_graph(
        [h.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])],
        "conv",
        [h.make_tensor_value_info("x", T.FLOAT, [4, 8, 12, 12])],
        [h.make_tensor_value_info("y", T.FLOAT, None)],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = lwai.convert(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]))
    x = rng.uniform(2.0, 4.0, (16, 4, 8, 12, 12)).astype(np.float32)
    want = np.stack([lwai.Session(model).run([f])[0] for f in x[8:]])

    def channel_bias(correct: bool) -> float:
        int8 = lwai.quantize(
            model, list(x[:8]), per_channel=False, bias_correction=correct, progress=False
        )
        got = np.stack([lwai.Session(int8).run([f])[0] for f in x[8:]])
        # Away from the zero-padded border, where the input mean holds.
        error = (got - want)[..., 1:-1, 1:-1].mean(axis=(0, 1, 3, 4))
        return float(np.sqrt((error**2).mean()))

    assert channel_bias(True) < 0.5 * channel_bias(False)


def separable_network(rng, activation="Relu", imbalance=True):
    """conv 3x3 -> depthwise 3x3 -> pointwise 1x1 -> depthwise 3x3 -> pointwise 1x1, each with
    `activation`. With `imbalance`, each channel's weights are scaled by a factor in
    [0.02, 20] and the next layer's weights for that channel by its inverse: with Relu the same
    function, but one wide channel sets a per-tensor weight range (trained MobileNets have
    such channels, Nagel et al. 2019)."""
    shapes = [(16, 3, 3, 1), (16, 1, 3, 16), (32, 16, 1, 1), (32, 1, 3, 32), (10, 32, 1, 1)]
    weights = [
        rng.normal(0, np.sqrt(2 / (cin * k * k)), (cout, cin, k, k)) for cout, cin, k, _ in shapes
    ]
    if imbalance:
        for i in range(len(weights) - 1):
            factors = np.exp(rng.uniform(np.log(0.02), np.log(20), weights[i].shape[0]))
            weights[i] *= factors[:, None, None, None]
            if shapes[i + 1][3] == 1:  # a pointwise reader: input channels
                weights[i + 1] /= factors[None, :, None, None]
            else:  # a depthwise reader: its own channels
                weights[i + 1] /= factors[:, None, None, None]
    nodes, inits, x = [], [], "x"
    for i, ((cout, _, k, group), w) in enumerate(zip(shapes, weights, strict=True)):
        inits += [
            numpy_helper.from_array(w.astype(np.float32), f"w{i}"),
            numpy_helper.from_array(rng.normal(0, 0.05, cout).astype(np.float32), f"b{i}"),
        ]
        nodes.append(
            h.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], pads=[k // 2] * 4, group=group)
        )
        x = f"c{i}"
        if i < len(shapes) - 1:
            if activation == "Relu":
                nodes.append(h.make_node("Relu", [x], [f"a{i}"]))
            else:
                nodes.append(h.make_node("Clip", [x, "lo", "hi"], [f"a{i}"]))
            x = f"a{i}"
    inits += [
        numpy_helper.from_array(np.array(0, np.float32), "lo"),
        numpy_helper.from_array(np.array(6, np.float32), "hi"),
    ]
    graph = h.make_graph(
        nodes,
        "separable",
        [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 16, 16])],
        [h.make_tensor_value_info(x, T.FLOAT, None)],
        inits,
    )
    return lwai.convert(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]))


def test_cross_layer_equalization_rescues_imbalanced_channels(rng, tmp_path):
    model = separable_network(rng)
    images = rng.normal(0, 1, (24, 1, 3, 16, 16)).astype(np.float32)
    want = np.stack([lwai.Session(model).run([f])[0] for f in images[16:]])

    equalized, pairs = lwai._lwai.equalize_cross_layer(model._native, {})
    assert pairs == 4
    same = np.stack([lwai.Session(lwai.Model(equalized)).run([f])[0] for f in images[16:]])
    np.testing.assert_allclose(same, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())

    def error(one_shot=False, **options) -> float:
        feeds = list(images[:16])
        int8 = lwai.quantize(model, iter(feeds) if one_shot else feeds, progress=False, **options)
        got = np.stack([lwai.Session(int8).run([f])[0] for f in images[16:]])
        return 1.0 - cosine(got, want)

    plain, equal = error(per_channel=False), error(per_channel=False, equalize=True)
    assert equal < 0.2 * plain, (plain, equal)
    assert error(per_channel=True, equalize=True) < 1e-3
    # A one-shot iterator cannot be read twice: the data-free (weight) criterion.
    assert error(per_channel=False, equalize=True, one_shot=True) < 0.2 * plain

    # ReLU6 (Clip) does not commute with per-channel scaling: those pairs stay as they are.
    _, clip_pairs = lwai._lwai.equalize_cross_layer(separable_network(rng, "Clip")._native, {})
    assert clip_pairs == 0

    calib = tmp_path / "calib"
    calib.mkdir()
    for i, image in enumerate(images[:16]):
        np.save(calib / f"{i:02d}.npy", image)
    out = tmp_path / "eq.lwai"
    source = tmp_path / "separable.lwai"
    model.save(source)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "lwai",
            "quantize",
            str(source),
            "-o",
            str(out),
            "--calib",
            str(calib),
            "--per-tensor",
            "--equalize",
        ],
        check=True,
        capture_output=True,
    )
    got = np.stack([lwai.Session(str(out)).run([f])[0] for f in images[16:]])
    assert 1.0 - cosine(got, want) < 0.2 * plain


def test_transformer_projections_quantize_to_int8_gemms(rng):
    """Static quantization of a transformer's feed-forward block: MatMuls of [batch, sequence,
    features] by constant weights (with their bias Adds) become QGemm on the int8 backend, and
    the output stays close to float."""
    w1 = rng.normal(0, 0.15, (64, 128)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 128).astype(np.float32)
    w2 = rng.normal(0, 0.1, (128, 64)).astype(np.float32)
    nodes = [
        h.make_node("MatMul", ["x", "w1"], ["h"]),
        h.make_node("Add", ["h", "b1"], ["hb"]),
        h.make_node("Relu", ["hb"], ["r"]),
        h.make_node("MatMul", ["r", "w2"], ["y"]),
    ]
    graph = h.make_graph(
        nodes,
        "ffn",
        [h.make_tensor_value_info("x", T.FLOAT, [1, "sequence", 64])],
        [h.make_tensor_value_info("y", T.FLOAT, None)],
        [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"))],
    )
    model = lwai.convert(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]))
    calibration = [rng.normal(0, 1, (1, 20, 64)).astype(np.float32) for _ in range(8)]
    quantized = lwai.quantize(model, calibration, progress=False)
    assert ops(quantized).count("QGemm") == 2 and "MatMul" not in ops(quantized)
    session = lwai.Session(quantized)
    gemms = [a for a in session.node_assignments() if a.op == "QGemm"]
    assert all(a.backend == "int8" and "fallback" not in a.kernel for a in gemms), gemms
    x = rng.normal(0, 1, (1, 33, 64)).astype(np.float32)
    assert cosine(session.run([x])[0], lwai.Session(model).run([x])[0]) > 0.999
