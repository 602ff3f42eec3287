"""Each TFLite operator lwai converts, in one-operator models written with LiteRT's own schema
code, against LiteRT on the same inputs (its builtin kernels, not the XNNPACK delegate)."""

import numpy as np
import pytest

import lwai

schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
flatbuffers = pytest.importorskip("flatbuffers")
litert = pytest.importorskip("ai_edge_litert.interpreter")

S = schema
FLOAT32 = S.TensorType.FLOAT32


class Builder:
    """A one-subgraph TFLite model: tensors (activations or constants) and operators."""

    def __init__(self):
        self.model = S.ModelT()
        self.model.version = 3
        self.model.buffers = [S.BufferT()]
        self.graph = S.SubGraphT()
        self.graph.tensors, self.graph.operators = [], []
        self.graph.inputs, self.graph.outputs = [], []
        self.model.subgraphs = [self.graph]
        self.model.operatorCodes = []

    def tensor(
        self, shape, dtype=FLOAT32, data=None, name=None, scale=None, zero_point=None, axis=0
    ) -> int:
        t = S.TensorT()
        t.shape = list(shape)
        t.type = dtype
        t.name = name or f"t{len(self.graph.tensors)}"
        if scale is not None:
            q = S.QuantizationParametersT()
            q.scale = [float(v) for v in np.atleast_1d(scale)]
            zeros = np.zeros(len(q.scale), np.int64) if zero_point is None else zero_point
            q.zeroPoint = [int(v) for v in np.atleast_1d(zeros)]
            q.quantizedDimension = axis
            t.quantization = q
        if data is not None:
            buffer = S.BufferT()
            buffer.data = list(np.ascontiguousarray(data).tobytes())
            self.model.buffers.append(buffer)
            t.buffer = len(self.model.buffers) - 1
        self.graph.tensors.append(t)
        return len(self.graph.tensors) - 1

    def const(self, values, dtype=FLOAT32, **quantization):
        values = np.asarray(values)
        return self.tensor(values.shape, dtype, values, **quantization)

    def op(self, builtin, inputs, outputs, options_type=0, options=None):
        code = S.OperatorCodeT()
        code.builtinCode = builtin
        code.deprecatedBuiltinCode = min(builtin, 127)
        code.version = 1
        self.model.operatorCodes.append(code)
        op = S.OperatorT()
        op.opcodeIndex = len(self.model.operatorCodes) - 1
        op.inputs, op.outputs = list(inputs), list(outputs)
        op.builtinOptionsType, op.builtinOptions = options_type, options
        self.graph.operators.append(op)

    def conv2d(self, inputs, outputs, **fields):
        """A CONV_2D operator; `fields` set its Conv2DOptionsT (padding, strideW, ...)."""
        conv = options(S.Conv2DOptionsT, **fields)
        self.op(S.BuiltinOperator.CONV_2D, inputs, outputs, S.BuiltinOptions.Conv2DOptions, conv)

    def save(self, path, inputs, outputs):
        self.graph.inputs, self.graph.outputs = list(inputs), list(outputs)
        builder = flatbuffers.Builder(0)
        builder.Finish(self.model.Pack(builder), file_identifier=b"TFL3")
        path.write_bytes(bytes(builder.Output()))
        return path


def options(cls, **fields):
    o = cls()
    for key, value in fields.items():
        setattr(o, key, value)
    return o


def litert_outputs(path, feed) -> list[np.ndarray]:
    """LiteRT's outputs with its builtin kernels (reference, no XNNPACK delegate)."""
    interpreter = litert.Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    for detail, x in zip(interpreter.get_input_details(), feed, strict=True):
        interpreter.set_tensor(detail["index"], x)
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]


def check(path, feed, tolerance=1e-5):
    """lwai's outputs equal LiteRT's (builtin kernels) within `tolerance` of their range."""
    expected = litert_outputs(path, feed)
    got = lwai.Session(lwai.convert(path)).run(feed)
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape and g.dtype == e.dtype
        scale = float(np.abs(e).max()) or 1.0
        np.testing.assert_allclose(g, e, atol=tolerance * scale, rtol=0)


def conv_size(size: int, kernel: int, stride: int, padding: int) -> int:
    if padding == S.Padding.SAME:
        return -(-size // stride)
    return -(-(size - kernel + 1) // stride)


@pytest.fixture
def x4(rng):
    return rng.standard_normal((1, 7, 6, 4)).astype(np.float32)


@pytest.fixture
def x_large(rng):
    return rng.standard_normal((1, 13, 11, 4)).astype(np.float32)


@pytest.mark.parametrize("padding", [S.Padding.SAME, S.Padding.VALID])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv_and_depthwise_conv_with_fused_activations(tmp_path, rng, x_large, padding, stride):
    b = Builder()
    x = b.tensor(x_large.shape)
    w = b.const(rng.standard_normal((5, 3, 3, 4)).astype(np.float32))
    bias = b.const(rng.standard_normal(5).astype(np.float32))
    h, w_ = conv_size(13, 3, stride, padding), conv_size(11, 3, stride, padding)
    y = b.tensor([1, h, w_, 5])
    b.conv2d(
        [x, w, bias],
        [y],
        padding=padding,
        strideW=stride,
        strideH=stride,
        fusedActivationFunction=S.ActivationFunctionType.RELU6,
    )
    dw = b.const(rng.standard_normal((1, 3, 3, 10)).astype(np.float32))
    z = b.tensor([1, conv_size(h, 3, stride, padding), conv_size(w_, 3, 1, padding), 10])
    depthwise = options(
        S.DepthwiseConv2DOptionsT,
        padding=padding,
        strideW=1,
        strideH=stride,
        depthMultiplier=2,
        fusedActivationFunction=S.ActivationFunctionType.RELU_N1_TO_1,
    )
    dw_bias = b.const(rng.standard_normal(10).astype(np.float32))
    b.op(
        S.BuiltinOperator.DEPTHWISE_CONV_2D,
        [y, dw, dw_bias],
        [z],
        S.BuiltinOptions.DepthwiseConv2DOptions,
        depthwise,
    )
    check(b.save(tmp_path / "conv.tflite", [x], [y, z]), [x_large])


@pytest.mark.parametrize("padding", [S.Padding.SAME, S.Padding.VALID])
def test_pools_average_only_inside_the_image(tmp_path, x4, padding):
    b = Builder()
    x = b.tensor(x4.shape)
    size = [conv_size(7, 3, 2, padding), conv_size(6, 2, 2, padding)]
    pool = options(
        S.Pool2DOptionsT, padding=padding, strideW=2, strideH=2, filterWidth=2, filterHeight=3
    )
    outs = []
    for op in (S.BuiltinOperator.AVERAGE_POOL_2D, S.BuiltinOperator.MAX_POOL_2D):
        outs.append(b.tensor([1, *size, 4]))
        b.op(op, [x], [outs[-1]], S.BuiltinOptions.Pool2DOptions, pool)
    check(b.save(tmp_path / "pool.tflite", [x], outs), [x4])


def test_elementwise_with_nhwc_broadcasts_after_a_conv(tmp_path, rng, x4):
    """Operands broadcast over TFLite's channel axis ([C], [1, 1, C]) against an activation the
    converter holds as NCHW."""
    b = Builder()
    x = b.tensor(x4.shape)
    w = b.const(rng.standard_normal((4, 1, 1, 4)).astype(np.float32))
    y = b.tensor(x4.shape)
    b.conv2d([x, w, b.const(np.zeros(4, np.float32))], [y], padding=1, strideW=1, strideH=1)
    current, outs = y, []
    steps = [
        (S.BuiltinOperator.ADD, rng.standard_normal(4)),
        (S.BuiltinOperator.MUL, rng.standard_normal((1, 1, 4))),
        (S.BuiltinOperator.SUB, rng.standard_normal((1, 6, 4))),
        (S.BuiltinOperator.MAXIMUM, rng.standard_normal(4)),
        (S.BuiltinOperator.MINIMUM, rng.standard_normal((1, 1, 1, 4))),
        (S.BuiltinOperator.PRELU, rng.uniform(0, 0.5, (1, 1, 4))),
    ]
    for builtin, operand in steps:
        out = b.tensor(x4.shape)
        b.op(builtin, [current, b.const(operand.astype(np.float32))], [out])
        current = out
    outs.append(current)
    for builtin in (
        S.BuiltinOperator.LOGISTIC,
        S.BuiltinOperator.TANH,
        S.BuiltinOperator.HARD_SWISH,
        S.BuiltinOperator.RELU,
    ):
        out = b.tensor(x4.shape)
        b.op(builtin, [current], [out])
        outs.append(out)
    leaky = b.tensor(x4.shape)
    b.op(
        S.BuiltinOperator.LEAKY_RELU,
        [y],
        [leaky],
        S.BuiltinOptions.LeakyReluOptions,
        options(S.LeakyReluOptionsT, alpha=0.2),
    )
    outs.append(leaky)
    check(b.save(tmp_path / "elementwise.tflite", [x], outs), [x4])


def test_layout_dependent_operators(tmp_path, rng, x4):
    """Concat over channels, Pad, Mean, Reshape, FullyConnected, Softmax with beta, DepthToSpace
    and resizes, mixing tensors held as NCHW and as NHWC."""
    b = Builder()
    x = b.tensor(x4.shape)
    w = b.const(rng.standard_normal((8, 1, 1, 4)).astype(np.float32))
    y = b.tensor([1, 7, 6, 8])
    b.conv2d([x, w, b.const(np.zeros(8, np.float32))], [y], padding=1, strideW=1, strideH=1)
    cat = b.tensor([1, 7, 6, 12])
    b.op(
        S.BuiltinOperator.CONCATENATION,
        [y, x],
        [cat],
        S.BuiltinOptions.ConcatenationOptions,
        options(S.ConcatenationOptionsT, axis=-1),
    )
    padded = b.tensor([1, 8, 9, 12])
    b.op(
        S.BuiltinOperator.PAD,
        [cat, b.const(np.array([[0, 0], [1, 0], [1, 2], [0, 0]], np.int32), S.TensorType.INT32)],
        [padded],
    )
    mean = b.tensor([1, 1, 1, 12])
    b.op(
        S.BuiltinOperator.MEAN,
        [padded, b.const(np.array([1, 2], np.int32), S.TensorType.INT32)],
        [mean],
        S.BuiltinOptions.ReducerOptions,
        options(S.ReducerOptionsT, keepDims=True),
    )
    flat = b.tensor([1, 12])
    b.op(
        S.BuiltinOperator.RESHAPE,
        [mean, b.const(np.array([1, 12], np.int32), S.TensorType.INT32)],
        [flat],
    )
    fc = b.tensor([1, 5])
    b.op(
        S.BuiltinOperator.FULLY_CONNECTED,
        [
            flat,
            b.const(rng.standard_normal((5, 12)).astype(np.float32)),
            b.const(rng.standard_normal(5).astype(np.float32)),
        ],
        [fc],
        S.BuiltinOptions.FullyConnectedOptions,
        options(S.FullyConnectedOptionsT, fusedActivationFunction=S.ActivationFunctionType.RELU),
    )
    soft = b.tensor([1, 5])
    b.op(
        S.BuiltinOperator.SOFTMAX,
        [fc],
        [soft],
        S.BuiltinOptions.SoftmaxOptions,
        options(S.SoftmaxOptionsT, beta=0.5),
    )
    d2s = b.tensor([1, 14, 12, 2])
    b.op(
        S.BuiltinOperator.DEPTH_TO_SPACE,
        [y],
        [d2s],
        S.BuiltinOptions.DepthToSpaceOptions,
        options(S.DepthToSpaceOptionsT, blockSize=2),
    )
    size = b.const(np.array([11, 9], np.int32), S.TensorType.INT32)
    outs = [soft, d2s]
    for align, half in ((False, False), (True, False), (False, True)):
        for builtin, opts, kind in (
            (
                S.BuiltinOperator.RESIZE_BILINEAR,
                S.ResizeBilinearOptionsT,
                S.BuiltinOptions.ResizeBilinearOptions,
            ),
            (
                S.BuiltinOperator.RESIZE_NEAREST_NEIGHBOR,
                S.ResizeNearestNeighborOptionsT,
                S.BuiltinOptions.ResizeNearestNeighborOptions,
            ),
        ):
            out = b.tensor([1, 11, 9, 8])
            b.op(
                builtin,
                [y, size],
                [out],
                kind,
                options(opts, alignCorners=align, halfPixelCenters=half),
            )
            outs.append(out)
    check(b.save(tmp_path / "layout.tflite", [x], outs), [x4])


def test_strided_slice_and_transpose_conv(tmp_path, rng, x4):
    b = Builder()
    x = b.tensor(x4.shape)
    sliced = b.tensor([3, 2])
    i32 = S.TensorType.INT32
    b.op(
        S.BuiltinOperator.STRIDED_SLICE,
        [
            x,
            b.const(np.array([0, 1, 0, 2], np.int32), i32),
            b.const(np.array([1, 7, 5, 3], np.int32), i32),
            b.const(np.array([1, 2, 3, 1], np.int32), i32),
        ],
        [sliced],
        S.BuiltinOptions.StridedSliceOptions,
        options(S.StridedSliceOptionsT, beginMask=0, endMask=2, shrinkAxisMask=0b1001),
    )
    outs = [sliced]
    for padding, shape in ((S.Padding.SAME, [1, 14, 12, 3]), (S.Padding.VALID, [1, 15, 13, 3])):
        out = b.tensor(shape)
        b.op(
            S.BuiltinOperator.TRANSPOSE_CONV,
            [
                b.const(np.array(shape, np.int32), i32),
                b.const(rng.standard_normal((3, 3, 3, 4)).astype(np.float32)),
                x,
                b.const(rng.standard_normal(3).astype(np.float32)),
            ],
            [out],
            S.BuiltinOptions.TransposeConvOptions,
            options(S.TransposeConvOptionsT, padding=padding, strideW=2, strideH=2),
        )
        outs.append(out)
    check(b.save(tmp_path / "slice.tflite", [x], outs), [x4])


def test_float16_and_int8_weights_behind_dequantize(tmp_path, rng, x4):
    b = Builder()
    x = b.tensor(x4.shape)
    half = b.const(rng.standard_normal((16, 3, 3, 4)).astype(np.float16), S.TensorType.FLOAT16)
    w = b.tensor([16, 3, 3, 4])
    b.op(S.BuiltinOperator.DEQUANTIZE, [half], [w])
    y = b.tensor([1, 7, 6, 16])
    b.conv2d([x, w, b.const(np.zeros(16, np.float32))], [y], padding=0, strideW=1, strideH=1)
    check(b.save(tmp_path / "half.tflite", [x], [y]), [x4])
    model = lwai.convert(tmp_path / "half.tflite")
    assert model.parameter_bytes <= 16 * 3 * 3 * 4 * 2 + 16 * 4  # weights stored as float16


def test_declared_shapes_that_contradict_the_operators_are_refused(tmp_path, rng, x4):
    b = Builder()
    x = b.tensor(x4.shape)
    w = b.const(rng.standard_normal((5, 3, 3, 4)).astype(np.float32))
    y = b.tensor([1, 7, 7, 5])  # SAME padding gives [1, 7, 6, 5]
    b.conv2d([x, w, b.const(np.zeros(5, np.float32))], [y], padding=0, strideW=1, strideH=1)
    path = b.save(tmp_path / "lying.tflite", [x], [y])
    with pytest.raises(
        lwai.InvalidModelError,
        match=r"declares shape \[1, 7, 7, 5\], its "
        r"operators compute \[1, 7, 6, 5\]",
    ):
        lwai.convert(path)


INT8 = S.TensorType.INT8


def test_int8_model_with_per_channel_weights(tmp_path, rng):
    """A fully int8 model as TFLite's converter writes one: int8 input and output, QUANTIZE-free
    int8 activations, per-channel int8 conv weights with int32 biases, a depthwise conv, an add,
    a pool and a fully connected layer. lwai fuses the dequantize/quantize chains into its int8
    kernels. Requantization rounds a few values one step apart (TFLite's fixed-point
    multipliers against lwai's float scales); the add then sums two tensors that can each be a
    step off: its output and what follows may be two steps apart, most values equal."""
    b = Builder()
    x = b.tensor([1, 9, 8, 4], INT8, scale=0.05, zero_point=-3)
    w_scale = rng.uniform(0.002, 0.01, 6).astype(np.float32)
    w = b.const(rng.integers(-127, 128, (6, 3, 3, 4)).astype(np.int8), INT8, scale=w_scale, axis=0)
    bias = b.const(
        rng.integers(-2000, 2000, 6).astype(np.int32),
        S.TensorType.INT32,
        scale=0.05 * w_scale,
        axis=0,
    )
    y = b.tensor([1, 9, 8, 6], INT8, scale=0.04, zero_point=-10)
    b.conv2d(
        [x, w, bias],
        [y],
        padding=0,
        strideW=1,
        strideH=1,
        fusedActivationFunction=S.ActivationFunctionType.RELU6,
    )
    dw_scale = rng.uniform(0.005, 0.02, 6).astype(np.float32)
    dw = b.const(
        rng.integers(-127, 128, (1, 3, 3, 6)).astype(np.int8), INT8, scale=dw_scale, axis=3
    )
    dw_bias = b.const(
        rng.integers(-500, 500, 6).astype(np.int32),
        S.TensorType.INT32,
        scale=0.04 * dw_scale,
        axis=0,
    )
    z = b.tensor([1, 9, 8, 6], INT8, scale=0.05, zero_point=2)
    b.op(
        S.BuiltinOperator.DEPTHWISE_CONV_2D,
        [y, dw, dw_bias],
        [z],
        S.BuiltinOptions.DepthwiseConv2DOptions,
        options(S.DepthwiseConv2DOptionsT, padding=0, strideW=1, strideH=1, depthMultiplier=1),
    )
    added = b.tensor([1, 9, 8, 6], INT8, scale=0.06, zero_point=0)
    b.op(
        S.BuiltinOperator.ADD, [y, z], [added], S.BuiltinOptions.AddOptions, options(S.AddOptionsT)
    )
    pooled = b.tensor([1, 5, 4, 6], INT8, scale=0.06, zero_point=0)
    b.op(
        S.BuiltinOperator.MAX_POOL_2D,
        [added],
        [pooled],
        S.BuiltinOptions.Pool2DOptions,
        options(S.Pool2DOptionsT, padding=0, strideW=2, strideH=2, filterWidth=2, filterHeight=2),
    )
    flat = b.tensor([1, 120], INT8, scale=0.06, zero_point=0)
    b.op(
        S.BuiltinOperator.RESHAPE,
        [pooled, b.const(np.array([1, 120], np.int32), S.TensorType.INT32)],
        [flat],
    )
    fc_scale = rng.uniform(0.002, 0.01, 10).astype(np.float32)
    fc = b.const(rng.integers(-127, 128, (10, 120)).astype(np.int8), INT8, scale=fc_scale, axis=0)
    fc_bias = b.const(
        rng.integers(-1000, 1000, 10).astype(np.int32),
        S.TensorType.INT32,
        scale=0.06 * fc_scale,
        axis=0,
    )
    logits = b.tensor([1, 10], INT8, scale=0.1, zero_point=5)
    b.op(
        S.BuiltinOperator.FULLY_CONNECTED,
        [flat, fc, fc_bias],
        [logits],
        S.BuiltinOptions.FullyConnectedOptions,
        options(S.FullyConnectedOptionsT),
    )
    path = b.save(tmp_path / "int8.tflite", [x], [logits, added])
    feed = [rng.integers(-128, 128, (1, 9, 8, 4)).astype(np.int8)]
    expected = litert_outputs(path, feed)
    model = lwai.convert(path)
    got = lwai.Session(model).run(feed)
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == np.int8 and g.shape == e.shape
        steps = np.abs(g.astype(np.int32) - e.astype(np.int32))
        assert steps.max() <= 2, steps.max()
        assert (steps == 0).mean() > 0.9
    ops = model.op_histogram()
    assert "QLinearConv" in ops and "Conv" not in ops, ops


def test_int8_model_with_float_inputs_and_outputs(tmp_path, rng):
    """QUANTIZE at the input, DEQUANTIZE at the output, as TFLite's converter writes a model
    quantized with float I/O."""
    b = Builder()
    x = b.tensor([1, 6, 6, 3])
    q = b.tensor([1, 6, 6, 3], INT8, scale=0.02, zero_point=4)
    b.op(S.BuiltinOperator.QUANTIZE, [x], [q])
    w_scale = rng.uniform(0.002, 0.01, 5).astype(np.float32)
    w = b.const(rng.integers(-127, 128, (5, 1, 1, 3)).astype(np.int8), INT8, scale=w_scale)
    bias = b.const(
        rng.integers(-300, 300, 5).astype(np.int32), S.TensorType.INT32, scale=0.02 * w_scale
    )
    y = b.tensor([1, 6, 6, 5], INT8, scale=0.01, zero_point=-7)
    b.conv2d([q, w, bias], [y], padding=1, strideW=1, strideH=1)
    out = b.tensor([1, 6, 6, 5])
    b.op(S.BuiltinOperator.DEQUANTIZE, [y], [out])
    path = b.save(tmp_path / "float_io.tflite", [x], [out])
    x_value = rng.uniform(-1, 1, (1, 6, 6, 3)).astype(np.float32)
    (expected,) = litert_outputs(path, [x_value])
    model = lwai.convert(path)
    (got,) = lwai.Session(model).run(x_value)
    assert got.dtype == np.float32
    assert np.abs(got - expected).max() <= 0.01 * 1.001  # one output step
    assert "QLinearConv" in model.op_histogram()


def test_malformed_operators_raise_lwai_errors(tmp_path, rng, x4):
    """Valid flatbuffers whose operators lwai cannot take or that contradict themselves: one
    LwaiError each, naming the problem, never another exception."""
    b = Builder()
    x = b.tensor([1, 12])
    w = b.tensor([5, 12])  # weights that are a graph input
    y = b.tensor([1, 5])
    b.op(S.BuiltinOperator.FULLY_CONNECTED, [x, w, -1], [y])
    with pytest.raises(lwai.UnsupportedOperatorError, match="weights computed by the graph"):
        lwai.convert(b.save(tmp_path / "input_weights.tflite", [x, w], [y]))

    b = Builder()
    x = b.tensor(x4.shape)
    y = b.tensor([1, 7, 6, 5])
    b.conv2d(
        [x, b.const(rng.standard_normal((5, 3, 3, 4)).astype(np.float32)), -1],
        [y],
        padding=0,
        strideW=0,
        strideH=1,
    )
    with pytest.raises(lwai.InvalidModelError, match=r"strides \[1, 0\] out of range"):
        lwai.convert(b.save(tmp_path / "stride0.tflite", [x], [y]))

    b = Builder()
    x = b.tensor([1, 8], S.TensorType.INT16, scale=0.01)
    y = b.tensor([1, 8])
    b.op(S.BuiltinOperator.DEQUANTIZE, [x], [y])
    with pytest.raises(lwai.UnsupportedOperatorError, match="16-bit quantization"):
        lwai.convert(b.save(tmp_path / "int16.tflite", [x], [y]))
