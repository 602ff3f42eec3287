"""Graph shapes that exporters write for models lwai's benchmarks never saw (Hugging Face vision
models, TensorFlow-style padding, segmentation decoders): they convert, match ONNX Runtime and
stay on the fast backends."""

import numpy as np
import onnx
import pytest
from conftest import ort_run
from onnx import TensorProto, helper, numpy_helper

import lwai

HAS_XNNPACK = "xnnpack" in lwai.available_backends()


def _save(tmp_path, name, nodes, inputs, outputs, inits, opset=18):
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    path = tmp_path / f"{name}.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), path)
    return path


def _float_input(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _output(name):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, None)


def test_zero_pads_fold_into_the_convolutions_they_feed(tmp_path):
    """Hugging Face's MobileNet (tf_padding) and tf2onnx write Pad -> Conv for SAME padding: the
    zero pads become the convolution's own, asymmetric ones; a Pad by another value or mode
    stays (folding it would change results)."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 1, 3, 3)).astype(np.float32), "w2"),
        numpy_helper.from_array(rng.normal(0, 0.3, (4, 8, 3, 3)).astype(np.float32), "w3"),
        numpy_helper.from_array(np.array([0, 0, 1, 0, 0, 0, 2, 1], np.int64), "pads_a"),
        numpy_helper.from_array(np.array([0, 0, 0, 0, 0, 0, 1, 1], np.int64), "pads_b"),
        numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads_c"),
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
    ]
    nodes = [
        helper.make_node("Pad", ["x", "pads_a"], ["p1"]),
        helper.make_node("Conv", ["p1", "w1"], ["c1"], strides=[2, 2], pads=[0, 1, 0, 0]),
        helper.make_node("Pad", ["c1", "pads_b"], ["p2"], mode="constant"),
        helper.make_node("Conv", ["p2", "w2"], ["c2"], group=8, strides=[2, 2]),
        helper.make_node("Pad", ["c2", "pads_c", "half"], ["p3"]),
        helper.make_node("Conv", ["p3", "w3"], ["c3"]),
        helper.make_node("Pad", ["c3", "pads_c"], ["p4"], mode="reflect"),
        helper.make_node("Relu", ["p4"], ["y"]),
    ]
    path = _save(
        tmp_path, "tf_padding", nodes, [_float_input("x", [1, 3, 17, 16])], [_output("y")], inits
    )
    session = lwai.Session(lwai.convert(path))
    ops = [a.op for a in session.node_assignments()]
    assert ops.count("Pad") == 2, ops  # the Pad by 0.5 and the reflecting one stay
    assert ops.count("Conv") == 3
    x = rng.normal(0, 1, (1, 3, 17, 16)).astype(np.float32)
    (got,) = session.run({"x": x})
    (want,) = ort_run(path, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("op", ["AveragePool", "MaxPool"])
@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_pooling_window_larger_than_the_input_in_ceil_mode(tmp_path, op, count_include_pad):
    """Hugging Face's EfficientNet pools its last 7x7 map with AvgPool2d(2560, ceil_mode=True):
    ONNX's ceil((7 - 2560) / 2560 + 1) = 1 output per axis, over the valid values."""
    attrs = {"kernel_shape": [9, 11], "strides": [9, 11], "ceil_mode": 1}
    if op == "AveragePool":
        attrs["count_include_pad"] = count_include_pad
    elif count_include_pad:
        pytest.skip("MaxPool has no count_include_pad")
    nodes = [helper.make_node(op, ["x"], ["y"], **attrs)]
    path = _save(
        tmp_path, "big_window", nodes, [_float_input("x", [2, 5, 7, 7])], [_output("y")], []
    )
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (2, 5, 7, 7)).astype(np.float32)
    (got,) = lwai.Session(lwai.convert(path)).run({"x": x})
    (want,) = ort_run(path, {"x": x})
    assert got.shape == (2, 5, 1, 1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_pooling_window_larger_than_the_input_without_ceil_mode_is_an_error(tmp_path):
    nodes = [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[9, 9], strides=[9, 9])]
    path = _save(
        tmp_path, "no_output", nodes, [_float_input("x", [1, 2, 7, 7])], [_output("y")], []
    )
    with pytest.raises(lwai.ShapeMismatchError, match="window of extent 9"):
        lwai.Session(lwai.convert(path)).run({"x": np.zeros((1, 2, 7, 7), np.float32)})


def test_segmentation_decoder_upsamples_into_one_concat(tmp_path):
    """SegFormer's and FPN decoders: features of several scales, each resized (linear, sizes
    computed from shapes) to the largest, concatenated, fused by a 1x1 convolution. The resizes
    write their slices of the concatenation in NHWC, in the partition of the convolution that
    reads it, even where the graph's node order interleaves them with the encoder."""
    rng = np.random.default_rng(2)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.3, (6, 3, 3, 3)).astype(np.float32), "w_s1"),
        numpy_helper.from_array(rng.normal(0, 0.3, (6, 6, 3, 3)).astype(np.float32), "w_s2"),
        numpy_helper.from_array(rng.normal(0, 0.3, (4, 12, 1, 1)).astype(np.float32), "w_fuse"),
        numpy_helper.from_array(np.array([0], np.int64), "zero"),
        numpy_helper.from_array(np.array([2], np.int64), "two"),
        numpy_helper.from_array(np.array([4], np.int64), "four"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w_s1"], ["s1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["s1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w_s2"], ["s2"], pads=[1, 1, 1, 1], strides=[2, 2]),
        # Sizes: N and C of each feature, H and W of the input's first stage.
        helper.make_node("Shape", ["r1"], ["shape1"]),
        helper.make_node("Slice", ["shape1", "two", "four"], ["hw"]),
        helper.make_node("Shape", ["s2"], ["shape2"]),
        helper.make_node("Slice", ["shape2", "zero", "two"], ["nc2"]),
        helper.make_node("Concat", ["nc2", "hw"], ["sizes2"], axis=0),
        helper.make_node("Resize", ["s2", "", "", "sizes2"], ["up2"], mode="linear"),
        helper.make_node("Concat", ["r1", "up2"], ["cat"], axis=1),
        helper.make_node("Conv", ["cat", "w_fuse"], ["y"]),
    ]
    path = _save(
        tmp_path, "decoder", nodes, [_float_input("x", [1, 3, 32, 24])], [_output("y")], inits
    )
    session = lwai.Session(lwai.convert(path))
    x = rng.normal(0, 1, (1, 3, 32, 24)).astype(np.float32)
    (got,) = session.run({"x": x})
    (want,) = ort_run(path, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    if HAS_XNNPACK:
        by_op = {a.op: a for a in session.node_assignments() if not a.folded}
        assert by_op["Resize"].backend == "xnnpack"
        # The first stage's output, which the second stage reads too, is copied; the resize
        # writes its slice itself.
        assert by_op["Concat"].kernel == "1 strided copies"
