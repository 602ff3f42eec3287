"""lwai.backend: the onnx.backend.base.Backend interface that ONNX's test suite drives."""

import numpy as np
import onnx
import pytest
from onnx import helper

import lwai.backend


def test_prepare_and_run_a_model(digits_onnx, rng):
    model = onnx.load(digits_onnx)
    x = rng.standard_normal((3, 1, 8, 8)).astype(np.float32)
    rep = lwai.backend.prepare(model)
    assert isinstance(rep, onnx.backend.base.BackendRep)
    (probabilities,) = rep.run([x])
    assert probabilities.shape == (3, 10)
    (by_name,) = rep.run({model.graph.input[0].name: x})
    np.testing.assert_array_equal(by_name, probabilities)
    (again,) = lwai.backend.run_model(model, [x])
    np.testing.assert_array_equal(again, probabilities)


def test_run_node():
    node = helper.make_node("TopK", ["x", "k"], ["values", "indices"], axis=1)
    x = np.array([[3.0, 1.0, 4.0, 1.5]], np.float32)
    values, indices = lwai.backend.run_node(node, [x, np.array([2], np.int64)])
    np.testing.assert_array_equal(values, [[4.0, 3.0]])
    np.testing.assert_array_equal(indices, [[2, 0]])


def test_devices():
    assert lwai.backend.supports_device("CPU")
    assert not lwai.backend.supports_device("CUDA")
    node = helper.make_node("Relu", ["x"], ["y"])
    with pytest.raises(ValueError, match="CPU only"):
        lwai.backend.run_node(node, [np.zeros(2, np.float32)], device="CUDA")
