"""float16 ONNX models: they run end to end, match onnxruntime, keep half-size weights, and run
as float32 islands (a Cast in and out, not around every node)."""

import collections

import numpy as np
import onnx
import pytest
from conftest import ort_run
from onnx import TensorProto as T
from onnx import numpy_helper

import lwai


def to_float16(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with float32 initializers, inputs, outputs and value infos made float16 (what
    onnxconverter-common's float16 conversion does without keep_io_types)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    for i, init in enumerate(graph.initializer):
        if init.data_type == T.FLOAT:
            half = numpy_helper.to_array(init).astype(np.float16)
            graph.initializer[i].CopyFrom(numpy_helper.from_array(half, init.name))
    for value in [*graph.input, *graph.output, *graph.value_info]:
        if value.type.tensor_type.elem_type == T.FLOAT:
            value.type.tensor_type.elem_type = T.FLOAT16
    return model


@pytest.fixture(scope="module")
def digits_pair(digits_onnx):
    float32 = onnx.load(digits_onnx)
    return float32, to_float16(float32)


def test_float16_digits_matches_onnxruntime(digits_pair, rng):
    _, half = digits_pair
    x = rng.standard_normal((4, 1, 8, 8)).astype(np.float16)
    (got,) = lwai.Session(lwai.convert(half)).run(x)
    (expected,) = ort_run(half, {"input": x})
    assert got.dtype == np.float16 and got.shape == expected.shape
    # Softmax probabilities in float16: a few float16 ulps of 1.
    np.testing.assert_allclose(got.astype(np.float32), expected.astype(np.float32), atol=2e-3)
    np.testing.assert_array_equal(got.argmax(1), expected.argmax(1))


def test_float16_model_keeps_half_size_weights(digits_pair, tmp_path):
    float32, half = digits_pair
    full, small = lwai.convert(float32), lwai.convert(half)
    assert small.parameter_bytes <= full.parameter_bytes // 2 + 1024
    full.save(tmp_path / "full.lwai")
    small.save(tmp_path / "half.lwai")
    full_size = (tmp_path / "full.lwai").stat().st_size
    assert (tmp_path / "half.lwai").stat().st_size < 0.6 * full_size
    # The loaded file gives the same outputs as the converted model.
    x = np.full((1, 1, 8, 8), 0.5, np.float16)
    np.testing.assert_array_equal(
        lwai.Session(lwai.load(tmp_path / "half.lwai")).run(x)[0], lwai.Session(small).run(x)[0]
    )


def test_float16_model_runs_as_one_float32_island(digits_pair):
    _, half = digits_pair
    model = lwai.convert(half)
    session = lwai.Session(model)
    by_op = collections.Counter(a.op for a in session.node_assignments() if not a.folded)
    # One Cast for the input, one for the output; the weights' Casts run once, at creation.
    assert by_op["Cast"] == 2, by_op
    assert by_op["Conv"] == 2
    if "xnnpack" in lwai.available_backends():
        conv = [a for a in session.node_assignments() if a.op == "Conv"]
        assert all(a.backend == "xnnpack" for a in conv)


def test_float16_concat_between_convs_needs_no_casts(rng):
    """Concat (a data-movement operator lwai runs on any dtype) joins the float32 island."""
    from onnx import helper as h

    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float16), "w")
    w2 = numpy_helper.from_array(rng.standard_normal((2, 8, 1, 1)).astype(np.float16), "w2")
    graph = h.make_graph(
        [
            h.make_node("Conv", ["x", "w"], ["a"], pads=[1, 1, 1, 1]),
            h.make_node("Relu", ["a"], ["b"]),
            h.make_node("Concat", ["a", "b"], ["c"], axis=1),
            h.make_node("Conv", ["c", "w2"], ["y"]),
        ],
        "g",
        [h.make_tensor_value_info("x", T.FLOAT16, [1, 3, 6, 6])],
        [h.make_tensor_value_info("y", T.FLOAT16, [1, 2, 6, 6])],
        [w, w2],
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
    converted = lwai.convert(model)
    assert collections.Counter(n["op"] for n in converted.nodes)["Cast"] == 2
    x = rng.standard_normal((1, 3, 6, 6)).astype(np.float16)
    (got,) = lwai.Session(converted).run(x)
    (expected,) = ort_run(model, {"x": x})
    np.testing.assert_allclose(
        got.astype(np.float32), expected.astype(np.float32), rtol=5e-3, atol=2e-2
    )
