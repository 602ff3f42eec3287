"""Dynamic regions: only nodes whose shapes depend on run-time values (and their descendants)
are prepared per run; everything upstream keeps its backend. If nodes whose branches agree on
shapes stay static and run their branch on the session's backends."""

import numpy as np
import onnx
import pytest
from conftest import ort_run
from onnx import TensorProto, helper, numpy_helper

import lwai


def conv_then_runtime_reshape_model(path):
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.normal(0, 0.1, (8,)).astype(np.float32), "b")
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Reshape", ["r", "shape"], ["y"], name="reshape"),
        helper.make_node("Sigmoid", ["y"], ["z"], name="sigmoid"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8]),
            helper.make_tensor_value_info("shape", TensorProto.INT64, [2]),
        ],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
        [w, b],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def test_nodes_before_a_runtime_reshape_keep_their_backend(tmp_path):
    path = tmp_path / "m.onnx"
    conv_then_runtime_reshape_model(path)
    session = lwai.Session(lwai.convert(path))
    by_name = {a.name: a for a in session.node_assignments()}
    assert by_name["reshape"].kernel == "dynamic region"
    assert by_name["sigmoid"].kernel == "dynamic region"
    assert by_name["conv"].kernel != "dynamic region"
    if "xnnpack" in session.backends:
        assert by_name["conv"].backend == "xnnpack"
    x = np.random.default_rng(1).normal(size=(1, 3, 8, 8)).astype(np.float32)
    for shape in ([8, 64], [16, 32], [512, 1]):
        feed = {"x": x, "shape": np.array(shape, np.int64)}
        (got,) = session.run(feed)
        (want,) = ort_run(path, feed)
        assert got.shape == tuple(shape)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def if_model(path, same_shapes: bool):
    """y = If(cond, x + 1, x * 2) (same shapes), or else-branch x[:, :2] (different shapes)."""
    one = numpy_helper.from_array(np.array(1.0, np.float32), "one")
    two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    then_graph = helper.make_graph(
        [helper.make_node("Add", ["x", "one"], ["t"])],
        "then",
        [],
        [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)],
    )
    if same_shapes:
        else_nodes = [helper.make_node("Mul", ["x", "two"], ["e"])]
        inits = []
    else:
        starts = numpy_helper.from_array(np.array([0], np.int64), "starts")
        ends = numpy_helper.from_array(np.array([2], np.int64), "ends")
        axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
        else_nodes = [helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["e"])]
        inits = [starts, ends, axes]
    else_graph = helper.make_graph(
        else_nodes,
        "else",
        [],
        [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)],
    )
    nodes = [
        helper.make_node("Relu", ["x_in"], ["x"], name="relu"),
        helper.make_node(
            "If", ["cond"], ["y"], then_branch=then_graph, else_branch=else_graph, name="if"
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("x_in", TensorProto.FLOAT, [2, 4]),
            helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [one, two] + inits,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


@pytest.mark.parametrize("same_shapes", [True, False])
def test_if_runs_either_branch_static_when_shapes_agree(tmp_path, same_shapes):
    path = tmp_path / "if.onnx"
    if_model(path, same_shapes)
    session = lwai.Session(lwai.convert(path))
    kernel = {a.name: a.kernel for a in session.node_assignments()}["if"]
    assert kernel.startswith("dynamic region") == (not same_shapes)
    x = np.random.default_rng(2).normal(size=(2, 4)).astype(np.float32)
    for cond in (True, False, True):
        feed = {"x_in": x, "cond": np.array(cond)}
        (got,) = session.run(feed)
        (want,) = ort_run(path, feed)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6)
    # What ran inside: the branches' nodes per backend.
    kernel = {a.name: a.kernel for a in session.node_assignments()}["if"]
    assert "then_branch:" in kernel and "else_branch:" in kernel


def test_reshape_aliases_its_input_in_the_arena(tmp_path):
    """Relu -> Reshape -> Relu, with the Reshape's output also a graph output: the Reshape does
    no work (its output is the Relu's buffer) and both outputs stay right run after run."""
    shape = numpy_helper.from_array(np.array([8, 32], np.int64), "shape")
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Reshape", ["r", "shape"], ["y"], name="reshape"),
        helper.make_node("Neg", ["y"], ["z"], name="neg"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 64])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 32]),
            helper.make_tensor_value_info("z", TensorProto.FLOAT, [8, 32]),
        ],
        [shape],
    )
    path = tmp_path / "alias.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    session = lwai.Session(lwai.convert(path))
    kernels = {a.name: a.kernel for a in session.node_assignments()}
    assert kernels["reshape"].startswith("in place")
    rng = np.random.default_rng(4)
    for _ in range(2):
        x = rng.normal(size=(4, 64)).astype(np.float32)
        y, z = session.run({"x": x})
        np.testing.assert_array_equal(y, np.maximum(x, 0).reshape(8, 32))
        np.testing.assert_array_equal(z, -np.maximum(x, 0).reshape(8, 32))
