"""The oneDNN vendor backend (liblwai_onednn.so, a version-2 plugin running int8 partitions in
NHWC) against lwai's own kernels: single quantized operators and a whole network that
onnxruntime.quantization writes, claimed by the plugin, answering like the reference within one
quantization step (oneDNN adds the output zero point before rounding, which moves exact ties)."""

import numpy as np
import onnx
import pytest
from conftest import qlinear_conv_case
from onnx import TensorProto as T
from onnx import helper as h

import lwai

pytestmark = pytest.mark.skipif(
    "onednn" not in lwai.installed_plugins(),
    reason="lwai was built without libdnnl-dev (no liblwai_onednn.so)",
)

RNG = np.random.default_rng(11)
ONEDNN = ["onednn", *lwai.available_backends()]


def both(model, feed, threads=1):
    """Outputs of lwai's default backends and of the oneDNN plugin first, and the plugin
    session's node assignments."""
    model = lwai.convert(model) if isinstance(model, onnx.ModelProto) else model
    default = lwai.Session(model, threads=threads).run(feed)
    session = lwai.Session(model, threads=threads, backends=ONEDNN)
    return default, session.run(feed), session.node_assignments()


def assert_within_one_step(expected, got, max_share_differing=0.01):
    assert got.dtype == expected.dtype and got.shape == expected.shape
    diff = np.abs(got.astype(np.int64) - expected.astype(np.int64))
    assert diff.max() <= 1, diff.max()
    assert np.mean(diff > 0) <= max_share_differing, np.mean(diff > 0)


def scalar(name, tensor_type, value):
    return h.make_tensor(name, tensor_type, [], [value])


@pytest.mark.parametrize(
    "x_type,per_channel,kernel,stride,group,channels,pad",
    [
        (T.UINT8, True, 3, 1, 1, (16, 32), 1),
        (T.INT8, True, 3, 2, 1, (16, 32), 1),
        (T.UINT8, False, 1, 1, 1, (64, 48), 0),
        (T.UINT8, True, 7, 2, 1, (3, 16), 3),
        (T.UINT8, True, 3, 1, 16, (16, 16), 1),  # depthwise
        (T.UINT8, True, 3, 2, 32, (32, 32), 1),  # depthwise, strided
        (T.INT8, True, 5, 2, 8, (8, 8), 2),
        (T.UINT8, True, 3, 1, 4, (16, 24), 0),  # grouped, no padding
    ],
)
@pytest.mark.parametrize("threads", [1, 2])
def test_qlinearconv_matches_lwai_within_one_step(
    x_type, per_channel, kernel, stride, group, channels, pad, threads
):
    model, x = qlinear_conv_case(RNG, x_type, per_channel, kernel, stride, group, channels, pad)
    expected, got, assignments = both(model, {"x": x}, threads)
    assert assignments[0].backend == "onednn"
    assert_within_one_step(expected[0], got[0])


def small_network():
    """A float network with every operator the plugin runs once quantized: convolutions with
    Relu and Clip (fused), MaxPool, a residual Add, a channel Concat of differently scaled
    inputs, AveragePool, GlobalAveragePool, then Flatten and Gemm (left to lwai)."""

    def conv(name, x, cin, cout, k, act=None):
        w = onnx.numpy_helper.from_array(
            (RNG.standard_normal((cout, cin, k, k)) * np.sqrt(2 / (cin * k * k))).astype(
                np.float32
            ),
            name + "_w",
        )
        b = onnx.numpy_helper.from_array(
            (RNG.standard_normal(cout) * 0.1).astype(np.float32), name + "_b"
        )
        nodes = [h.make_node("Conv", [x, w.name, b.name], [name], pads=[k // 2] * 4)]
        out = name
        if act == "relu":
            nodes.append(h.make_node("Relu", [name], [name + "_r"]))
            out = name + "_r"
        elif act == "clip":
            nodes.append(h.make_node("Clip", [name, "zero", "six"], [name + "_c"]))
            out = name + "_c"
        return nodes, [w, b], out

    nodes, inits = (
        [],
        [
            onnx.numpy_helper.from_array(np.array(0, np.float32), "zero"),
            onnx.numpy_helper.from_array(np.array(6, np.float32), "six"),
            onnx.numpy_helper.from_array(
                (RNG.standard_normal((10, 24)) * 0.2).astype(np.float32), "fc_w"
            ),
            onnx.numpy_helper.from_array(np.zeros(10, np.float32), "fc_b"),
        ],
    )

    def add(parts):
        nodes.extend(parts[0])
        inits.extend(parts[1])
        return parts[2]

    c1 = add(conv("c1", "x", 3, 16, 3, "relu"))
    nodes.append(h.make_node("MaxPool", [c1], ["p1"], kernel_shape=[2, 2], strides=[2, 2]))
    a = add(conv("a", "p1", 16, 16, 1))
    b = add(conv("b", "p1", 16, 16, 3, "clip"))
    nodes.append(h.make_node("Add", [a, b], ["sum"]))
    c = add(conv("c", "sum", 16, 8, 3, "relu"))
    nodes.append(h.make_node("Concat", ["sum", c], ["cat"], axis=1))
    nodes.append(
        h.make_node("AveragePool", ["cat"], ["avg"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    )
    nodes.append(h.make_node("GlobalAveragePool", ["avg"], ["gap"]))
    nodes.append(h.make_node("Flatten", ["gap"], ["flat"]))
    nodes.append(h.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["y"], transB=1))
    graph = h.make_graph(
        nodes,
        "small",
        [h.make_tensor_value_info("x", T.FLOAT, ["N", 3, 20, 20])],
        [h.make_tensor_value_info("y", T.FLOAT, ["N", 10])],
        inits,
    )
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])


@pytest.fixture(scope="module")
def quantized_network(tmp_path_factory):
    from onnxruntime.quantization import CalibrationDataReader, QuantType, quantize_static

    folder = tmp_path_factory.mktemp("onednn")
    source, target = folder / "small.onnx", folder / "small_qdq.onnx"
    onnx.save(small_network(), source)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.feeds = iter(
                [{"x": RNG.standard_normal((1, 3, 20, 20)).astype(np.float32)} for _ in range(8)]
            )

        def get_next(self):
            return next(self.feeds, None)

    quantize_static(
        str(source),
        str(target),
        Reader(),
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    return lwai.convert(str(target))


def test_quantized_network_runs_as_one_onednn_partition(quantized_network):
    x = RNG.standard_normal((2, 3, 20, 20)).astype(np.float32)
    expected, got, assignments = both(quantized_network, {"x": x})
    on_plugin = {a.op for a in assignments if a.backend == "onednn"}
    assert {
        "QuantizeLinear",
        "QLinearConv",
        "MaxPool",
        "QLinearAdd",
        "QLinearConcat",
        "AveragePool",
        "QLinearGlobalAveragePool",
    } <= on_plugin, on_plugin
    # Node assignments (and the profiler) name oneDNN's kernel for each convolution.
    assert all(a.kernel for a in assignments if a.op == "QLinearConv"), assignments
    # The float outputs: differences only from one-step ties inside, a few output steps.
    np.testing.assert_allclose(got[0], expected[0], atol=0.05 * np.abs(expected[0]).max())
    assert np.mean(np.argmax(got[0], 1) == np.argmax(expected[0], 1)) == 1.0


def test_threads_and_batch_sizes_give_the_same_answer(quantized_network):
    single = lwai.Session(quantized_network, threads=1, backends=ONEDNN)
    double = lwai.Session(quantized_network, threads=2, backends=ONEDNN)
    for batch in (1, 3, 2):  # each new shape re-creates the partition
        x = RNG.standard_normal((batch, 3, 20, 20)).astype(np.float32)
        np.testing.assert_array_equal(single.run({"x": x})[0], double.run({"x": x})[0])


def test_nan_inputs_run_on_the_reference_kernels(quantized_network):
    x = RNG.standard_normal((1, 3, 20, 20)).astype(np.float32)
    x[0, 1, 3:9, 4] = np.nan
    reference = lwai.Session(quantized_network, backends=["reference"]).run({"x": x})[0]
    plugin = lwai.Session(quantized_network, backends=ONEDNN).run({"x": x})[0]
    np.testing.assert_array_equal(plugin, reference)


def test_profile_reports_each_plugin_node(quantized_network):
    session = lwai.Session(quantized_network, backends=ONEDNN)
    profile = session.profile({"x": RNG.standard_normal((1, 3, 20, 20)).astype(np.float32)})
    rows = [r for r in profile.nodes if r.backend == "onednn" and r.op == "QLinearConv"]
    assert rows and all(r.median_ms > 0 for r in rows)


def test_unknown_and_missing_named_plugins_are_clear_errors():
    with pytest.raises(lwai.BackendNotFoundError, match="onednn"):
        lwai.Session(lwai.convert(small_network()), backends=["onednnx"])


def _run_in_child(model_bytes, x, reuse):
    """In a forked child: a new session's answer, or the parent's session's error."""
    if reuse:
        try:
            _PARENT_SESSION.run({"x": x})
        except lwai.LwaiError as error:
            return str(error)
        return "no error"
    return lwai.Session(lwai.load(model_bytes), threads=2, backends=ONEDNN).run({"x": x})[0]


_PARENT_SESSION = None


def test_forked_children_run_their_own_sessions(quantized_network, tmp_path):
    import multiprocessing

    global _PARENT_SESSION
    path = tmp_path / "small_qdq.lwai"
    quantized_network.save(path)
    x = RNG.standard_normal((1, 3, 20, 20)).astype(np.float32)
    _PARENT_SESSION = lwai.Session(quantized_network, threads=2, backends=ONEDNN)
    expected = _PARENT_SESSION.run({"x": x})[0]  # the parent's OpenMP threads exist now
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        got = pool.apply_async(_run_in_child, (path.read_bytes(), x, False)).get(timeout=60)
        message = pool.apply_async(_run_in_child, (b"", x, True)).get(timeout=60)
    np.testing.assert_array_equal(got, expected)
    assert "before the process forked" in message and "spawn" in message


def test_float_models_stay_on_lwai_kernels_unless_asked(monkeypatch):
    """Without LWAI_ONEDNN_FLOAT32=1 the plugin claims no float convolution, and the poolings it
    could run alone are not worth a partition: lwai's kernels run everything. With it, oneDNN
    runs the float convolutions, Add, Concat and poolings as one partition."""
    model = lwai.convert(small_network())
    x = RNG.standard_normal((2, 3, 20, 20)).astype(np.float32)
    monkeypatch.delenv("LWAI_ONEDNN_FLOAT32", raising=False)
    expected, got, assignments = both(model, {"x": x})
    assert not [a for a in assignments if a.backend == "onednn"]
    np.testing.assert_array_equal(got[0], expected[0])
    monkeypatch.setenv("LWAI_ONEDNN_FLOAT32", "1")
    expected, got, assignments = both(model, {"x": x})
    on_plugin = {a.op for a in assignments if a.backend == "onednn"}
    assert {"Conv", "MaxPool", "Add", "Concat", "AveragePool", "GlobalAveragePool"} <= on_plugin
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-4, atol=1e-4)


def test_the_plugins_memory_counts_against_the_session_limit(quantized_network):
    """The plugin's own buffers and packed weights count against max_memory: a limit below
    them is a clear error naming the plugin and the tensor, never an unbounded allocation."""
    lwai.Session(quantized_network, backends=ONEDNN, max_memory=64 << 20)
    with pytest.raises(lwai.OutOfMemoryError, match=r"plugin 'onednn'.*over the session's limit"):
        lwai.Session(quantized_network, backends=ONEDNN, max_memory=20_000)


def test_an_add_that_broadcasts_at_run_time_declines_to_the_reference():
    """QLinearAdd of two inputs whose batch dims are both dynamic looks same-shape when claimed;
    fed batches 3 and 1 it broadcasts: the partition is declined (the reference kernels run it)
    instead of reading past the smaller input."""

    def q(name, shape):
        return h.make_tensor_value_info(name, T.UINT8, shape)

    w = RNG.integers(-127, 128, size=(4, 4, 3, 3)).astype(np.int8)
    inits = [
        scalar("s", T.FLOAT, 0.05),
        scalar("z", T.UINT8, 128),
        onnx.numpy_helper.from_array(w, "w"),
        onnx.numpy_helper.from_array(np.full(4, 0.01, np.float32), "ws"),
        onnx.numpy_helper.from_array(np.zeros(4, np.int8), "wz"),
    ]
    nodes = [
        h.make_node("QLinearConv", ["x", "s", "z", "w", "ws", "wz", "s", "z"], ["c"], pads=[1] * 4),
        h.make_node(
            "QLinearAdd", ["c", "s", "z", "b", "s", "z", "s", "z"], ["y"], domain="com.microsoft"
        ),
    ]
    graph = h.make_graph(
        nodes, "g", [q("x", ["N", 4, 6, 6]), q("b", ["M", 4, 6, 6])], [q("y", None)], inits
    )
    model = lwai.convert(
        h.make_model(
            graph, opset_imports=[h.make_opsetid("", 17), h.make_opsetid("com.microsoft", 1)]
        )
    )
    feed = {
        "x": RNG.integers(0, 256, (3, 4, 6, 6)).astype(np.uint8),
        "b": RNG.integers(0, 256, (1, 4, 6, 6)).astype(np.uint8),
    }
    want = lwai.Session(model, backends=["reference"]).run(feed)[0]
    got = lwai.Session(model, backends=ONEDNN).run(feed)[0]
    np.testing.assert_array_equal(got, want)


def test_output_scales_that_overflow_run_on_the_reference():
    """Valid but extreme scales whose product overflows float32: the plugin declines, and the
    reference kernels define the result (NaN and overflow saturate as they document)."""
    model, x = qlinear_conv_case(RNG, T.UINT8, True, 3, 1, 1, (8, 16), 1)
    for init in model.graph.initializer:
        if init.name in ("xs", "ys"):
            value = 1e30 if init.name == "xs" else 1e-30
            init.CopyFrom(h.make_tensor(init.name, T.FLOAT, [], [value]))
    model = lwai.convert(model)
    want = lwai.Session(model, backends=["reference"]).run({"x": x})[0]
    session = lwai.Session(model, backends=ONEDNN)
    np.testing.assert_array_equal(session.run({"x": x})[0], want)
