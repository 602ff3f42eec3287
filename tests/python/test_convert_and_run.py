"""Conversion, sessions, save/load and parity with onnxruntime on the digits model."""

import numpy as np
import onnx
import pytest
from conftest import assert_close_to_range, ort_run

import lwai


def test_digits_model_matches_onnxruntime(digits_onnx, rng):
    model = lwai.convert(digits_onnx)
    assert model.optimized
    assert model.source_format == "onnx" and model.source_opset == 13
    # BatchNormalization folded into Conv; Relus fused into Conv/Gemm.
    histogram = model.op_histogram()
    assert "BatchNormalization" not in histogram and "Relu" not in histogram
    session = lwai.Session(model)
    assert session.inputs[0] == lwai.TensorInfo("input", "float32", ("batch", 1, 8, 8))
    assert session.outputs[0].shape == ("batch", 10)
    for batch in (1, 7, 32):
        x = rng.random((batch, 1, 8, 8), dtype=np.float32)
        (got,) = session.run({"input": x})
        (expected,) = ort_run(digits_onnx, {"input": x})
        assert_close_to_range(got, expected)


def test_unoptimized_conversion_gives_the_same_results(digits_onnx, rng):
    x = rng.random((5, 1, 8, 8), dtype=np.float32)
    plain = lwai.Session(lwai.convert(digits_onnx, optimize=False))
    fast = lwai.Session(lwai.convert(digits_onnx))
    assert "BatchNormalization" in plain.model.op_histogram()
    np.testing.assert_allclose(plain.run(x)[0], fast.run(x)[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("suffix", [".lwai", ".json"])
def test_save_and_load_round_trip(digits_onnx, tmp_path, rng, suffix):
    model = lwai.convert(digits_onnx)
    path = tmp_path / f"digits{suffix}"
    model.save(path)
    loaded = lwai.load(path)
    assert [n["op"] for n in loaded.nodes] == [n["op"] for n in model.nodes]
    assert loaded.parameter_bytes == model.parameter_bytes
    x = rng.random((3, 1, 8, 8), dtype=np.float32)
    np.testing.assert_array_equal(lwai.Session(path).run(x)[0], lwai.Session(model).run(x)[0])


def test_bytes_round_trip_and_session_from_path(digits_onnx, tmp_path, rng):
    model = lwai.convert(digits_onnx)
    image = model.to_bytes()
    assert image[4:8] == b"LWAI"
    x = rng.random((2, 1, 8, 8), dtype=np.float32)
    np.testing.assert_array_equal(
        lwai.Session(lwai.load(image)).run(x)[0], lwai.Session(model).run(x)[0]
    )


def test_threads_give_the_same_results(digits_onnx, rng):
    model = lwai.convert(digits_onnx)
    x = rng.random((16, 1, 8, 8), dtype=np.float32)
    one = lwai.Session(model, threads=1).run(x)[0]
    two = lwai.Session(model, threads=2).run(x)[0]
    np.testing.assert_allclose(one, two, rtol=1e-6, atol=1e-7)


def test_feed_by_position_and_output_names(digits_onnx, rng):
    session = lwai.Session(lwai.convert(digits_onnx))
    x = rng.random((1, 1, 8, 8), dtype=np.float32)
    by_name = session.run({"input": x})[0]
    np.testing.assert_array_equal(session.run([x])[0], by_name)
    np.testing.assert_array_equal(session.run(x, output_names=["probabilities"])[0], by_name)


def test_dynamic_shapes_arena_grows_with_batch(digits_onnx):
    session = lwai.Session(lwai.convert(digits_onnx))
    small = session.arena_bytes
    session.run(np.zeros((64, 1, 8, 8), np.float32))
    assert session.arena_bytes > small


def test_legacy_opsets_are_normalized(rng):
    """Softmax (opset 11 2-D coercion), Clip/Squeeze/Unsqueeze/Pad with attribute forms."""
    h = onnx.helper
    x = h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3, 4])
    y = h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
    nodes = [
        h.make_node("Unsqueeze", ["x"], ["u"], axes=[0], name="unsqueeze"),
        h.make_node("Squeeze", ["u"], ["s"], axes=[0], name="squeeze"),
        h.make_node("Clip", ["s"], ["c"], min=-0.5, max=0.7, name="clip"),
        h.make_node("Pad", ["c"], ["p"], pads=[0, 1, 0, 0, 0, 2], value=0.25, name="pad"),
        h.make_node("Softmax", ["p"], ["y"], axis=1, name="softmax"),
    ]
    graph = h.make_graph(nodes, "legacy", [x], [y])
    proto = h.make_model(graph, opset_imports=[h.make_opsetid("", 10)])
    proto.ir_version = 6
    feed = {"x": rng.standard_normal((2, 3, 4)).astype(np.float32)}
    (got,) = lwai.Session(lwai.convert(proto)).run(feed)
    (expected,) = ort_run(proto, feed)
    assert_close_to_range(got, expected, 1e-6)


def test_shape_arithmetic_with_dynamic_batch_runs_at_prepare(rng):
    """Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as exported by PyTorch."""
    h = onnx.helper
    t = onnx.TensorProto
    x = h.make_tensor_value_info("x", t.FLOAT, ["n", 2, 3])
    y = h.make_tensor_value_info("y", t.FLOAT, ["n", 6])
    inits = [
        h.make_tensor("zero", t.INT64, [], [0]),
        h.make_tensor("axes", t.INT64, [1], [0]),
        h.make_tensor("minus_one", t.INT64, [1], [-1]),
    ]
    nodes = [
        h.make_node("Shape", ["x"], ["shape"], name="shape"),
        h.make_node("Gather", ["shape", "zero"], ["n"], axis=0, name="gather"),
        h.make_node("Unsqueeze", ["n", "axes"], ["n1"], name="unsqueeze"),
        h.make_node("Concat", ["n1", "minus_one"], ["target"], axis=0, name="concat"),
        h.make_node("Reshape", ["x", "target"], ["y"], name="reshape"),
    ]
    proto = h.make_model(
        h.make_graph(nodes, "dyn", [x], [y], inits), opset_imports=[h.make_opsetid("", 13)]
    )
    session = lwai.Session(lwai.convert(proto))
    for n in (1, 4):
        data = rng.standard_normal((n, 2, 3)).astype(np.float32)
        np.testing.assert_array_equal(session.run(data)[0], data.reshape(n, 6))
