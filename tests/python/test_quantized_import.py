"""Pre-quantized ONNX models run in lwai as in ONNX Runtime: single quantized operators (QLinearConv
exactly, the com.microsoft operators within one quantization step), and whole networks that
onnxruntime.quantization writes in QDQ and QOperator form, which become int8 kernels (the QDQ
pairs folded, the weights kept int8)."""

import numpy as np
import onnx
import pytest
from conftest import ort_run, qlinear_conv_case
from onnx import TensorProto as T
from onnx import helper as h

import lwai

RNG = np.random.default_rng(7)


def run_lwai(model, feed, **session_args):
    outputs = lwai.Session(lwai.convert(model), **session_args).run(feed)
    return list(outputs.values()) if isinstance(outputs, dict) else outputs


def byte_array(np_type, shape):
    info = np.iinfo(np_type)
    return RNG.integers(info.min, info.max + 1, size=shape).astype(np_type)


def scalar(name, tensor_type, value):
    return h.make_tensor(name, tensor_type, [], [value])


def make_model(nodes, inputs, output_type, inits, ms_domain=False):
    graph = h.make_graph(
        nodes, "q", inputs, [h.make_tensor_value_info("y", output_type, None)], inits
    )
    opsets = [h.make_opsetid("", 17)]
    if ms_domain:
        opsets.append(h.make_opsetid("com.microsoft", 1))
    return h.make_model(graph, opset_imports=opsets)


@pytest.mark.parametrize(
    "x_type,per_channel,kernel,stride,group,channels",
    [
        (T.UINT8, True, 3, 1, 1, (16, 32)),
        (T.INT8, True, 3, 2, 1, (16, 32)),
        (T.UINT8, False, 1, 1, 1, (64, 48)),
        (T.UINT8, True, 7, 2, 1, (3, 16)),
        (T.UINT8, True, 3, 1, 16, (16, 16)),
        (T.INT8, True, 5, 2, 8, (8, 8)),
    ],
)
@pytest.mark.parametrize("threads", [1, 2])
def test_qlinearconv_matches_onnxruntime_exactly(
    x_type, per_channel, kernel, stride, group, channels, threads
):
    model, x = qlinear_conv_case(
        RNG, x_type, per_channel, kernel, stride, group, channels, kernel // 2
    )
    expected = ort_run(model, {"x": x})[0]
    got = run_lwai(model, {"x": x}, threads=threads)[0]
    np.testing.assert_array_equal(got, expected)


def ms_unary_model(op, x_type, shape, **attrs):
    inits = [
        scalar("xs", T.FLOAT, 0.05),
        scalar("xz", x_type, 9),
        scalar("ys", T.FLOAT, 0.011),
        scalar("yz", x_type, 4),
    ]
    node = h.make_node(op, ["x", "xs", "xz", "ys", "yz"], ["y"], domain="com.microsoft", **attrs)
    inputs = [h.make_tensor_value_info("x", x_type, shape)]
    return make_model([node], inputs, x_type, inits, ms_domain=True)


@pytest.mark.parametrize("x_type", [T.UINT8, T.INT8])
@pytest.mark.parametrize(
    "op,shape,attrs",
    [
        ("QLinearSigmoid", (2, 3, 5), {}),
        ("QLinearLeakyRelu", (2, 3, 5), {"alpha": 0.1}),
        ("QLinearSoftmax", (3, 10), {"axis": -1, "opset": 13}),
        ("QLinearSoftmax", (2, 3, 4), {"axis": 1, "opset": 12}),
        ("QLinearGlobalAveragePool", (2, 6, 5, 7), {"channels_last": 0}),
        ("QLinearGlobalAveragePool", (2, 5, 7, 6), {"channels_last": 1}),
        ("QLinearAveragePool", (1, 4, 9, 9), {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
    ],
)
def test_microsoft_unary_operators_match_onnxruntime(x_type, op, shape, attrs):
    model = ms_unary_model(op, x_type, shape, **attrs)
    x = byte_array(np.uint8 if x_type == T.UINT8 else np.int8, shape)
    expected = ort_run(model, {"x": x})[0]
    got = run_lwai(model, {"x": x})[0]
    assert got.dtype == expected.dtype and got.shape == expected.shape
    # ONNX Runtime evaluates some of these through lookup tables or fixed-point paths: the
    # results may round to the neighbouring step.
    assert np.abs(got.astype(np.int32) - expected.astype(np.int32)).max() <= 1
    # Written as their definitions, they become int8 operators again.
    ops = lwai.convert(model).op_histogram()
    if op in ("QLinearSigmoid", "QLinearLeakyRelu"):
        assert ops == {"QuantizedLookup": 1}
    if op == "QLinearGlobalAveragePool" and not attrs["channels_last"]:
        assert ops == {"QLinearGlobalAveragePool": 1}


@pytest.mark.parametrize("op", ["QLinearAdd", "QLinearMul"])
@pytest.mark.parametrize("x_type", [T.UINT8, T.INT8])
@pytest.mark.parametrize("b_shape", [(2, 8, 5, 5), (1,), (2, 8, 1, 1)])
def test_qlinear_add_and_mul_match_onnxruntime(op, x_type, b_shape):
    np_type = np.uint8 if x_type == T.UINT8 else np.int8
    inits = [
        scalar("as", T.FLOAT, 0.03),
        scalar("az", x_type, 11),
        scalar("bs", T.FLOAT, 0.05),
        scalar("bz", x_type, -4 if x_type == T.INT8 else 140),
        scalar("cs", T.FLOAT, 0.06),
        scalar("cz", x_type, 2),
    ]
    node = h.make_node(
        op, ["a", "as", "az", "b", "bs", "bz", "cs", "cz"], ["y"], domain="com.microsoft"
    )
    inputs = [
        h.make_tensor_value_info("a", x_type, (2, 8, 5, 5)),
        h.make_tensor_value_info("b", x_type, b_shape),
    ]
    model = make_model([node], inputs, x_type, inits, ms_domain=True)
    feed = {"a": byte_array(np_type, (2, 8, 5, 5)), "b": byte_array(np_type, b_shape)}
    expected = ort_run(model, feed)[0]
    got = run_lwai(model, feed)[0]
    assert np.abs(got.astype(np.int32) - expected.astype(np.int32)).max() <= 1


def test_microsoft_matrix_operators_match_onnxruntime():
    a = byte_array(np.uint8, (5, 12))
    b = RNG.integers(-127, 128, size=(12, 7)).astype(np.int8)
    b_scale = RNG.uniform(0.001, 0.01, 7).astype(np.float32)
    bias_f = RNG.normal(size=7).astype(np.float32)
    inits = [
        scalar("as", T.FLOAT, 0.02),
        scalar("az", T.UINT8, 100),
        onnx.numpy_helper.from_array(b, "b"),
        onnx.numpy_helper.from_array(b_scale, "bs"),
        onnx.numpy_helper.from_array(np.zeros(7, np.int8), "bz"),
        onnx.numpy_helper.from_array(RNG.integers(-500, 500, 7).astype(np.int32), "c"),
        scalar("ys", T.FLOAT, 0.05),
        scalar("yz", T.UINT8, 128),
        onnx.numpy_helper.from_array(bias_f, "bias"),
    ]
    inputs = [h.make_tensor_value_info("a", T.UINT8, a.shape)]
    qgemm = h.make_node(
        "QGemm",
        ["a", "as", "az", "b", "bs", "bz", "c", "ys", "yz"],
        ["y"],
        domain="com.microsoft",
        alpha=0.75,
    )
    model = make_model([qgemm], inputs, T.UINT8, inits, ms_domain=True)
    got, expected = run_lwai(model, {"a": a})[0], ort_run(model, {"a": a})[0]
    assert np.abs(got.astype(np.int32) - expected.astype(np.int32)).max() <= 1

    to_float = h.make_node(
        "MatMulIntegerToFloat",
        ["a", "b", "as", "bs", "az", "bz", "bias"],
        ["y"],
        domain="com.microsoft",
    )
    model = make_model([to_float], inputs, T.FLOAT, inits, ms_domain=True)
    got, expected = run_lwai(model, {"a": a})[0], ort_run(model, {"a": a})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)

    x = RNG.normal(size=(5, 12)).astype(np.float32)
    dynamic = h.make_node(
        "DynamicQuantizeMatMul", ["x", "b", "bs", "bz", "bias"], ["y"], domain="com.microsoft"
    )
    model = make_model(
        [dynamic], [h.make_tensor_value_info("x", T.FLOAT, x.shape)], T.FLOAT, inits, True
    )
    got, expected = run_lwai(model, {"x": x})[0], ort_run(model, {"x": x})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_unknown_microsoft_operator_is_named(tmp_path):
    node = h.make_node("QAttention", ["x"], ["y"], domain="com.microsoft")
    model = make_model(
        [node], [h.make_tensor_value_info("x", T.FLOAT, (1,))], T.FLOAT, [], ms_domain=True
    )
    with pytest.raises(lwai.UnsupportedOperatorError, match="QAttention.*com.microsoft"):
        lwai.convert(model)


# --- Whole networks quantized by onnxruntime.quantization.


def quantized_digits(tmp_path, digits_onnx, quant_format, activation_type):
    from onnxruntime.quantization import CalibrationDataReader, QuantType, quantize_static

    from digits_data import load_split

    x_train, _, x_test, y_test = load_split()

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"input": x_train[i : i + 32]} for i in range(0, 256, 32)])

        def get_next(self):
            return next(self.batches, None)

    out = tmp_path / "digits_int8.onnx"
    quantize_static(
        str(digits_onnx),
        str(out),
        Reader(),
        quant_format=quant_format,
        per_channel=True,
        activation_type=activation_type,
        weight_type=QuantType.QInt8,
    )
    return out, x_test, y_test


@pytest.mark.parametrize(
    "form,activation", [("QDQ", "QUInt8"), ("QDQ", "QInt8"), ("QOperator", "QUInt8")]
)
def test_onnxruntime_quantized_digits_runs_as_int8(tmp_path, digits_onnx, form, activation):
    from onnxruntime.quantization import QuantFormat, QuantType

    path, x_test, y_test = quantized_digits(
        tmp_path, digits_onnx, getattr(QuantFormat, form), getattr(QuantType, activation)
    )
    model = lwai.convert(str(path))
    ops = [node["op"] for node in model.nodes]
    assert "QLinearConv" in ops and "Conv" not in ops, ops
    expected = ort_run(str(path), {"input": x_test})[0]
    got = lwai.Session(model).run({"input": x_test})
    got = list(got.values())[0] if isinstance(got, dict) else got[0]
    # The same predictions, and probabilities within a few quantization steps of the output.
    assert (got.argmax(1) == expected.argmax(1)).mean() >= 0.995
    assert np.abs(got - expected).max() <= 0.05
    assert (got.argmax(1) == y_test).mean() >= 0.9


@pytest.mark.parametrize("x_type", [T.UINT8, T.INT8])
def test_qlinear_concat_matches_onnxruntime(x_type):
    np_type = np.uint8 if x_type == T.UINT8 else np.int8
    inits = [
        scalar("ys", T.FLOAT, 0.05),
        scalar("yz", x_type, 10),
        scalar("as", T.FLOAT, 0.05),  # the output's parameters: copied
        scalar("az", x_type, 10),
        scalar("bs", T.FLOAT, 0.0173),  # requantized
        scalar("bz", x_type, -3 if x_type == T.INT8 else 140),
    ]
    node = h.make_node(
        "QLinearConcat",
        ["ys", "yz", "a", "as", "az", "b", "bs", "bz"],
        ["y"],
        domain="com.microsoft",
        axis=1,
    )
    inputs = [
        h.make_tensor_value_info("a", x_type, (2, 3, 4, 5)),
        h.make_tensor_value_info("b", x_type, (2, 6, 4, 5)),
    ]
    model = make_model([node], inputs, x_type, inits, ms_domain=True)
    feed = {"a": byte_array(np_type, (2, 3, 4, 5)), "b": byte_array(np_type, (2, 6, 4, 5))}
    expected = ort_run(model, feed)[0]
    got = run_lwai(model, feed)[0]
    assert got.shape == expected.shape
    assert np.abs(got.astype(np.int32) - expected.astype(np.int32)).max() <= 1


@pytest.mark.parametrize("x_type", [T.UINT8, T.INT8])
def test_elementwise_chains_between_qdq_become_lookup_tables(x_type):
    """DequantizeLinear -> HardSwish -> Mul(scalar) -> Add(scalar) -> QuantizeLinear (PP-OCR's
    learnable activation) and DequantizeLinear -> Sigmoid -> QuantizeLinear each become one
    QuantizedLookup of the 256 input bytes; values as ONNX Runtime's float path gives them."""
    np_type = np.uint8 if x_type == T.UINT8 else np.int8
    zero = 128 if x_type == T.UINT8 else 0
    inits = [
        scalar("xs", T.FLOAT, 0.05),
        scalar("xz", x_type, zero + 3),
        scalar("ys", T.FLOAT, 0.04),
        scalar("yz", x_type, zero - 5),
        # One step of the first chain's output moves the Sigmoid by at most one of its steps.
        scalar("ss", T.FLOAT, 0.01),
        scalar("sz", x_type, zero - 128 if x_type == T.UINT8 else -100),
        onnx.numpy_helper.from_array(np.array([0.75], np.float32), "w"),
        onnx.numpy_helper.from_array(np.array([-0.2], np.float32), "b"),
    ]
    nodes = [
        h.make_node("DequantizeLinear", ["x", "xs", "xz"], ["xf"]),
        h.make_node("HardSwish", ["xf"], ["hs"]),
        h.make_node("Mul", ["w", "hs"], ["scaled"]),
        h.make_node("Add", ["scaled", "b"], ["shifted"]),
        h.make_node("QuantizeLinear", ["shifted", "ys", "yz"], ["yq"]),
        h.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["yf"]),
        h.make_node("Sigmoid", ["yf"], ["sig"]),
        h.make_node("QuantizeLinear", ["sig", "ss", "sz"], ["y"]),
    ]
    x = byte_array(np_type, (2, 8, 9, 9))
    model = make_model(nodes, [h.make_tensor_value_info("x", x_type, x.shape)], x_type, inits)
    converted = lwai.convert(model)
    assert converted.op_histogram() == {"QuantizedLookup": 2}
    got = lwai.Session(converted).run([x])[0]
    expected = ort_run(model, {"x": x})[0]
    difference = np.abs(got.astype(np.int32) - expected.astype(np.int32))
    assert difference.max() <= 1 and (difference == 0).mean() > 0.99


def quantize_with_onnxruntime(tmp_path, model, feeds, weight_type="QInt8", per_channel=True):
    """`model` quantized by onnxruntime.quantization.quantize_static (QDQ, uint8 activations)
    calibrated on `feeds`; returns its path."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.feeds = iter(feeds)

        def get_next(self):
            return next(self.feeds, None)

    source, out = tmp_path / "float.onnx", tmp_path / "int8.onnx"
    onnx.save(model, source)
    quantize_static(
        str(source),
        str(out),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=per_channel,
        activation_type=QuantType.QUInt8,
        weight_type=getattr(QuantType, weight_type),
    )
    return str(out)


def quantized_graph(tmp_path, nodes, inits, shape, name="graph"):
    """A float graph of `nodes` (input x of `shape`, output y) quantized by ONNX Runtime on four
    random feeds: (its path, the feeds)."""
    graph = h.make_graph(
        nodes,
        name,
        [h.make_tensor_value_info("x", T.FLOAT, list(shape))],
        [h.make_tensor_value_info("y", T.FLOAT, None)],
        inits,
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
    feeds = [{"x": RNG.normal(0, 1, shape).astype(np.float32)} for _ in range(4)]
    return quantize_with_onnxruntime(tmp_path, model, feeds), feeds


def output_step(path, output="y"):
    """The quantization step of the model's output: the scale of the DequantizeLinear that
    writes it."""
    model = onnx.load(path)
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    (dq,) = [n for n in model.graph.node if output in n.output]
    assert dq.op_type == "DequantizeLinear", dq.op_type
    return float(inits[dq.input[1]])


@pytest.mark.parametrize("weight_type", ["QInt8", "QUInt8"])
def test_onnxruntime_quantized_matmuls_of_rank3_run_as_int8_gemms(tmp_path, weight_type):
    """A transformer's projections (MatMul of [batch, sequence, features] by constant weights,
    a bias Add) quantized by ONNX Runtime become QGemm on the int8 backend, with int8 or uint8
    weights, and give ONNX Runtime's results."""
    w1 = RNG.normal(0, 0.2, (48, 96)).astype(np.float32)
    w2 = RNG.normal(0, 0.2, (96, 32)).astype(np.float32)
    b1 = RNG.normal(0, 0.1, 96).astype(np.float32)
    nodes = [
        h.make_node("MatMul", ["x", "w1"], ["h"]),
        h.make_node("Add", ["h", "b1"], ["hb"]),
        h.make_node("Relu", ["hb"], ["r"]),
        h.make_node("MatMul", ["r", "w2"], ["y"]),
    ]
    inits = [
        onnx.numpy_helper.from_array(w1, "w1"),
        onnx.numpy_helper.from_array(w2, "w2"),
        onnx.numpy_helper.from_array(b1, "b1"),
    ]
    graph = h.make_graph(
        nodes,
        "mlp",
        [h.make_tensor_value_info("x", T.FLOAT, [2, "sequence", 48])],
        [h.make_tensor_value_info("y", T.FLOAT, None)],
        inits,
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
    feeds = [{"x": RNG.normal(0, 1, (2, 9, 48)).astype(np.float32)} for _ in range(4)]
    path = quantize_with_onnxruntime(tmp_path, model, feeds, weight_type)
    converted = lwai.convert(path)
    ops = converted.op_histogram()
    assert ops.get("QGemm", 0) == 2 and "MatMul" not in ops, ops
    session = lwai.Session(converted)
    gemms = [a for a in session.node_assignments() if a.op == "QGemm"]
    assert all(a.backend == "int8" and "fallback" not in a.kernel for a in gemms), gemms
    x = RNG.normal(0, 1, (2, 13, 48)).astype(np.float32)
    expected = ort_run(path, {"x": x})[0]
    got = session.run({"x": x})[0]
    assert got.shape == expected.shape == (2, 13, 32)
    # Within a step of the output's quantization (ties may round apart).
    assert np.abs(got - expected).max() <= output_step(path) * 1.001
    reference = lwai.Session(converted, backends=["reference"]).run({"x": x})[0]
    np.testing.assert_array_equal(got, reference)


def test_onnxruntime_quantized_weight_normed_grouped_conv1d_runs_as_int8(tmp_path):
    """wav2vec2's positional convolution: a 1-D grouped convolution whose weight is computed by
    a weight norm (g * v / ||v||). ONNX Runtime quantizes the computed weight as an activation
    (uint8, per tensor); lwai folds the norm, keeps the weight quantized and runs a grouped int8
    GEMM exactly as its reference."""
    v = RNG.normal(0, 1, (12, 4, 7)).astype(np.float32)
    g = RNG.uniform(0.5, 1.5, (12, 1, 1)).astype(np.float32)
    nodes = [
        h.make_node("ReduceL2", ["v", "axes"], ["norm"], keepdims=1),
        h.make_node("Div", ["v", "norm"], ["direction"]),
        h.make_node("Mul", ["g", "direction"], ["w"]),
        h.make_node("Conv", ["x", "w"], ["c"], group=4, pads=[3, 3]),
        h.make_node("Relu", ["c"], ["y"]),
    ]
    inits = [
        onnx.numpy_helper.from_array(v, "v"),
        onnx.numpy_helper.from_array(g, "g"),
        onnx.numpy_helper.from_array(np.array([1, 2], np.int64), "axes"),
    ]
    graph = h.make_graph(
        nodes,
        "pos_conv",
        [h.make_tensor_value_info("x", T.FLOAT, [1, 16, "time"])],
        [h.make_tensor_value_info("y", T.FLOAT, None)],
        inits,
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 18)])
    feeds = [{"x": RNG.normal(0, 1, (1, 16, 50)).astype(np.float32)} for _ in range(4)]
    path = quantize_with_onnxruntime(tmp_path, model, feeds)
    converted = lwai.convert(path)
    ops = converted.op_histogram()
    assert ops.get("QLinearConv", 0) == 1 and "Conv" not in ops, ops
    session = lwai.Session(converted)
    conv = [a for a in session.node_assignments() if a.op == "QLinearConv"]
    assert conv[0].backend == "int8" and conv[0].kernel.startswith("grouped gemm"), conv
    x = RNG.normal(0, 1, (1, 16, 61)).astype(np.float32)
    got = session.run({"x": x})[0]
    np.testing.assert_array_equal(got, lwai.Session(converted, backends=["reference"]).run([x])[0])
    expected = ort_run(path, {"x": x})[0]
    assert np.abs(got - expected).max() <= output_step(path) * 1.001


@pytest.mark.parametrize("pad_value", [0.0, 0.5])
def test_onnxruntime_quantized_tf_padding_runs_on_quantized_values(tmp_path, pad_value):
    """Hugging Face's tf_padding: an asymmetric constant Pad before each Conv. Quantized by ONNX
    Runtime (the Pad between a DequantizeLinear and a QuantizeLinear, its value itself
    dequantized from a byte), the Pad runs on the quantized bytes, and a Pad by the zero point
    (value 0) disappears into the QLinearConv's padding."""
    w = RNG.normal(0, 0.3, (8, 4, 3, 3)).astype(np.float32)
    nodes = [
        h.make_node("Pad", ["x", "pads", "value"], ["p"], mode="constant"),
        h.make_node("Conv", ["p", "w"], ["c"], strides=[2, 2]),
        h.make_node("Relu", ["c"], ["y"]),
    ]
    inits = [
        onnx.numpy_helper.from_array(w, "w"),
        onnx.numpy_helper.from_array(np.array([0, 0, 0, 0, 0, 0, 1, 1], np.int64), "pads"),
        onnx.numpy_helper.from_array(np.array(pad_value, np.float32), "value"),
    ]
    path, feeds = quantized_graph(tmp_path, nodes, inits, (1, 4, 15, 15), "tf_padding")
    converted = lwai.convert(path)
    ops = converted.op_histogram()
    assert ops.get("QLinearConv", 0) == 1 and ops.get("DequantizeLinear", 0) == 1, ops
    assert ("Pad" in ops) == (pad_value != 0.0), ops
    x = feeds[0]["x"]
    got = lwai.Session(converted).run([x])[0]
    np.testing.assert_array_equal(got, lwai.Session(converted, backends=["reference"]).run([x])[0])
    expected = ort_run(path, {"x": x})[0]
    assert np.abs(got - expected).max() <= output_step(path) * 1.001


@pytest.mark.parametrize(
    "attrs, fused",
    [
        ({"pads": [1, 1, 1, 1], "count_include_pad": 1}, True),  # Inception v3's pools
        ({"strides": [2, 2]}, True),
        ({"pads": [1, 1, 1, 1]}, False),  # padding not counted: border divisors differ
        ({"ceil_mode": 1, "strides": [2, 2]}, False),
    ],
)
def test_onnxruntime_quantized_average_pool_runs_as_int8_depthwise(tmp_path, attrs, fused):
    """An AveragePool between a DequantizeLinear and a QuantizeLinear whose every window divides
    by its full size is a depthwise QLinearConv with weights of one: it runs on the int8
    depthwise kernels, within one output step of ONNX Runtime; other pools stay float."""
    w = RNG.normal(0, 0.3, (8, 4, 3, 3)).astype(np.float32)
    nodes = [
        h.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        h.make_node("Relu", ["c"], ["r"]),
        h.make_node("AveragePool", ["r"], ["a"], kernel_shape=[3, 3], **attrs),
        h.make_node("Conv", ["a", "w2"], ["y"]),
    ]
    inits = [
        onnx.numpy_helper.from_array(w, "w"),
        onnx.numpy_helper.from_array(RNG.normal(0, 0.3, (6, 8, 1, 1)).astype(np.float32), "w2"),
    ]
    path, feeds = quantized_graph(tmp_path, nodes, inits, (1, 4, 17, 17), "avgpool")
    converted = lwai.convert(path)
    ops = converted.op_histogram()
    assert ("AveragePool" in ops) != fused, ops
    session = lwai.Session(converted)
    if fused:
        assert ops.get("QLinearConv") == 3, ops
        kernels = [a.kernel for a in session.node_assignments() if a.op == "QLinearConv"]
        assert "depthwise bytes" in kernels, kernels
    x = feeds[0]["x"]
    got = session.run([x])[0]
    if fused:  # integer arithmetic: the int8 kernels equal the reference kernels
        reference = lwai.Session(converted, backends=["reference"]).run([x])[0]
        np.testing.assert_array_equal(got, reference)
    expected = ort_run(path, {"x": x})[0]
    # Unfused, ONNX Runtime's integer QLinearAveragePool and lwai's float pool may round a pool
    # output a step apart, which the next convolution carries as up to two output steps.
    steps = 1 if fused else 2
    assert np.abs(got - expected).max() <= steps * output_step(path) * 1.001
