"""Session.run's output arrays (out=), byte order of inputs, and model metadata."""

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import lwai


def two_output_model() -> onnx.ModelProto:
    """y = x + 1 (float32, batch dynamic), n = shape of x (int64)."""
    one = onnx.numpy_helper.from_array(np.ones((1, 4), np.float32), "one")
    graph = h.make_graph(
        [h.make_node("Add", ["x", "one"], ["y"]), h.make_node("Shape", ["x"], ["n"])],
        "g",
        [h.make_tensor_value_info("x", T.FLOAT, ["batch", 4])],
        [
            h.make_tensor_value_info("y", T.FLOAT, None),
            h.make_tensor_value_info("n", T.INT64, None),
        ],
        [one],
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
    model.producer_name = "unit-test"
    model.model_version = 7
    h.set_model_props(model, {"labels": "cat\ndog", "author": "lwai"})
    return model


@pytest.fixture
def session() -> lwai.Session:
    return lwai.Session(lwai.convert(two_output_model()))


def test_out_list_receives_outputs_in_place(session):
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    y = np.full((2, 4), -1, np.float32)
    n = np.zeros(2, np.int64)
    got = session.run({"x": x}, out=[y, n])
    assert got[0] is y and got[1] is n
    np.testing.assert_array_equal(y, x + 1)
    np.testing.assert_array_equal(n, [2, 4])
    # The same arrays again, with new values.
    session.run({"x": x * 2}, out=[y, n])
    np.testing.assert_array_equal(y, x * 2 + 1)


def test_out_dict_and_output_names(session):
    x = np.ones((3, 4), np.float32)
    y = np.empty((3, 4), np.float32)
    got = session.run(x, out={"y": y})
    assert got[0] is y and got[1].tolist() == [3, 4]
    np.testing.assert_array_equal(y, 2)
    y2 = np.empty((3, 4), np.float32)
    got = session.run(x, ["y"], out=[y2])
    assert len(got) == 1 and got[0] is y2
    np.testing.assert_array_equal(y2, 2)


@pytest.mark.parametrize(
    "array, message",
    [
        (np.empty((2, 4), np.float64), "expected dtype float32, got float64"),
        (np.empty((2, 5), np.float32), "the output has shape [2, 4], the array (2, 5)"),
        (np.empty((4, 2), np.float32).T, "must be C-contiguous"),
        ([[0.0] * 4] * 2, "is not a numpy array"),
    ],
)
def test_out_mismatch_names_output_and_writes_nothing(session, array, message):
    n = np.full(2, -5, np.int64)
    with pytest.raises(lwai.InvalidArgumentError, match="output 'y'") as err:
        session.run(np.ones((2, 4), np.float32), out={"y": array, "n": n})
    assert message in str(err.value)
    assert n.tolist() == [-5, -5]


def test_out_read_only_and_wrong_count(session):
    y = np.empty((2, 4), np.float32)
    y.flags.writeable = False
    with pytest.raises(lwai.InvalidArgumentError, match="writeable"):
        session.run(np.ones((2, 4), np.float32), out={"y": y})
    with pytest.raises(lwai.InvalidArgumentError, match="1 array"):
        session.run(np.ones((2, 4), np.float32), out=[np.empty((2, 4), np.float32)])
    with pytest.raises(lwai.InvalidArgumentError, match=r"unknown output\(s\) \['z'\]"):
        session.run(np.ones((2, 4), np.float32), out={"z": y})


def test_new_output_arrays_are_written_by_the_kernels_and_kept_apart(session):
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    first, _ = session.run(x)
    second, _ = session.run(x * 3)
    # The kernels wrote each run's output into its own aligned array (no arena copy); a later
    # run never changes an array handed out earlier.
    for y in (first, second):
        assert y.ctypes.data % 64 == 0 and y.flags.writeable and y.flags.c_contiguous
    np.testing.assert_array_equal(first, x + 1)
    np.testing.assert_array_equal(second, x * 3 + 1)
    first[:] = 0
    np.testing.assert_array_equal(session.run(x)[0], x + 1)


def nonzero_model() -> onnx.ModelProto:
    """idx = NonZero(x) (its shape depends on the values), y = Relu(x)."""
    graph = h.make_graph(
        [h.make_node("NonZero", ["x"], ["idx"]), h.make_node("Relu", ["x"], ["y"])],
        "g",
        [h.make_tensor_value_info("x", T.FLOAT, [2, 3])],
        [
            h.make_tensor_value_info("idx", T.INT64, None),
            h.make_tensor_value_info("y", T.FLOAT, None),
        ],
    )
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])


def test_out_with_a_data_dependent_output():
    session = lwai.Session(lwai.convert(nonzero_model()))
    x = np.array([[0, 1, -2], [0, 0, 3]], np.float32)
    idx = np.empty((2, 3), np.int64)
    y = np.empty((2, 3), np.float32)
    got = session.run(x, out=[idx, y])
    assert got[0] is idx and got[1] is y
    assert idx.tolist() == [[0, 0, 1], [1, 2, 2]]
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    # Its shape is known only after the run, and checked then.
    with pytest.raises(lwai.InvalidArgumentError, match=r"output 'idx'.*\[2, 3\].*\(2, 4\)"):
        session.run(x, out={"idx": np.empty((2, 4), np.int64)})
    (new_idx, new_y) = session.run(x)
    assert new_idx.tolist() == idx.tolist() and new_y.tolist() == y.tolist()


def test_big_endian_input_is_read_by_value(session):
    x = np.arange(8, dtype=">f4").reshape(2, 4)
    (y, _) = session.run(x)
    np.testing.assert_array_equal(y, np.arange(8, dtype=np.float32).reshape(2, 4) + 1)


def test_metadata_survives_conversion_save_and_load(tmp_path):
    model = lwai.convert(two_output_model())
    expected = {
        "labels": "cat\ndog",
        "author": "lwai",
        "onnx.producer_name": "unit-test",
        "onnx.model_version": "7",
        "onnx.graph_name": "g",
    }
    assert model.metadata == expected
    path = tmp_path / "m.lwai"
    model.save(path)
    assert lwai.load(path).metadata == expected
    assert lwai.load(model.to_bytes()).metadata == expected
    json_path = tmp_path / "m.json"
    json_path.write_text(model.to_json())
    assert lwai.load(json_path).metadata == expected
    info = subprocess.run(
        [sys.executable, "-m", "lwai", "info", str(path)], capture_output=True, text=True
    )
    assert info.returncode == 0, info.stderr
    assert "metadata:   labels = cat\\ndog" in info.stdout
    assert "metadata:   onnx.producer_name = unit-test" in info.stdout


def test_metadata_survives_quantization(rng):
    w = onnx.numpy_helper.from_array(rng.standard_normal((16, 8)).astype(np.float32), "w")
    graph = h.make_graph(
        [h.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [h.make_tensor_value_info("x", T.FLOAT, [2, 16])],
        [h.make_tensor_value_info("y", T.FLOAT, [2, 8])],
        [w],
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
    h.set_model_props(model, {"labels": "cat\ndog"})
    quantized = lwai.quantize(lwai.convert(model), mode="dynamic", progress=False)
    assert quantized.metadata == {"labels": "cat\ndog", "onnx.graph_name": "g"}
