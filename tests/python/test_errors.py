"""Bad input gets a clear error naming the problem, never a crash."""

import numpy as np
import onnx
import pytest

import lwai


@pytest.fixture(scope="module")
def session(digits_onnx):
    return lwai.Session(lwai.convert(digits_onnx))


def test_missing_file():
    with pytest.raises(lwai.ModelNotFoundError, match="nope.lwai"):
        lwai.load("/nonexistent/nope.lwai")
    with pytest.raises(lwai.ModelNotFoundError, match="nope.onnx"):
        lwai.convert("/nonexistent/nope.onnx")


def test_garbage_file_names_the_file(tmp_path):
    path = tmp_path / "garbage.lwai"
    path.write_bytes(b"\x00" * 3 + b"definitely not a model" * 10)
    with pytest.raises(lwai.InvalidModelError, match="garbage.lwai.*LWAI"):
        lwai.load(path)


def test_truncated_and_corrupted_models_are_rejected(digits_onnx, tmp_path):
    image = lwai.convert(digits_onnx).to_bytes()
    for size in (0, 7, 64, len(image) // 3, len(image) // 2):
        with pytest.raises(lwai.InvalidModelError):
            lwai.load(image[:size])
    rng = np.random.default_rng(0)
    for _ in range(300):
        corrupted = bytearray(image)
        flat_index = rng.integers(0, 2000, size=4)
        corrupted_positions = flat_index % min(len(image), 2000)
        for p in corrupted_positions:
            corrupted[p] = rng.integers(0, 256)
        try:
            lwai.Session(lwai.load(bytes(corrupted))).run(np.zeros((1, 1, 8, 8), np.float32))
        except lwai.LwaiError:
            pass  # any lwai error is fine; a crash or another exception type is not


def test_wrong_shape(session):
    with pytest.raises(
        lwai.ShapeMismatchError, match=r"'input'.*\[batch, 1, 8, 8\].*\[1, 1, 9, 8\]"
    ):
        session.run(np.zeros((1, 1, 9, 8), np.float32))
    with pytest.raises(lwai.ShapeMismatchError, match="'input'"):
        session.run(np.zeros((1, 8, 8), np.float32))


def test_wrong_dtype(session):
    with pytest.raises(lwai.InvalidArgumentError, match="'input'.*float32.*float64"):
        session.run(np.zeros((1, 1, 8, 8), np.float64))


def test_missing_and_unknown_inputs(session):
    with pytest.raises(lwai.InvalidArgumentError, match=r"missing input\(s\) \['input'\]"):
        session.run({})
    with pytest.raises(lwai.InvalidArgumentError, match=r"unknown input\(s\) \['image'\]"):
        session.run({"input": np.zeros((1, 1, 8, 8), np.float32), "image": np.zeros(1)})
    with pytest.raises(lwai.InvalidArgumentError, match="1 input"):
        session.run([])


def test_all_unsupported_operators_are_listed_at_once():
    h = onnx.helper
    x = h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])
    y = h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])
    out = h.make_tensor_value_info("out", onnx.TensorProto.FLOAT, [1, 4])
    then_branch = h.make_graph(
        [h.make_node("Bernoulli", ["c"], ["out"], name="inner_bad")], "then", [], [out]
    )
    else_branch = h.make_graph([h.make_node("Relu", ["c"], ["out"])], "else", [], [out])
    nodes = [
        h.make_node("Relu", ["x"], ["a"], name="fine"),
        h.make_node("Bernoulli", ["a"], ["b"], name="first_bad"),
        h.make_node("Relu", ["b"], ["c"], name="also_fine"),
        h.make_node("ReduceMax", ["c"], ["cond_f"], keepdims=0, name="reduce"),
        h.make_node("Cast", ["cond_f"], ["cond"], to=onnx.TensorProto.BOOL),
        h.make_node(
            "If", ["cond"], ["d"], then_branch=then_branch, else_branch=else_branch, name="branch"
        ),
        h.make_node("MyOp", ["d"], ["y"], domain="com.example", name="custom"),
    ]
    proto = h.make_model(
        h.make_graph(nodes, "g", [x], [y]),
        opset_imports=[h.make_opsetid("", 18), h.make_opsetid("com.example", 1)],
    )
    with pytest.raises(lwai.UnsupportedOperatorError) as info:
        lwai.convert(proto)
    message = str(info.value)
    assert "3 unsupported" in message
    assert "'first_bad' (Bernoulli, opset 18)" in message
    assert "node 'branch' / then_branch: node 'inner_bad' (Bernoulli, opset 18)" in message
    assert "'custom' (MyOp, opset 18, domain 'com.example')" in message


def test_bad_attribute_names_the_node():
    h = onnx.helper
    x = h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2, 3])
    y = h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
    node = h.make_node("Transpose", ["x"], ["y"], perm=[0, 0, 1], name="bad_transpose")
    proto = h.make_model(
        h.make_graph([node], "g", [x], [y]), opset_imports=[h.make_opsetid("", 13)]
    )
    with pytest.raises(lwai.InvalidModelError, match="bad_transpose"):
        lwai.convert(proto)


def test_not_an_onnx_file(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(lwai.InvalidModelError, match="broken.onnx"):
        lwai.convert(path)


def test_errors_share_a_base_class_and_python_bases():
    assert issubclass(lwai.ShapeMismatchError, lwai.LwaiError)
    assert issubclass(lwai.ShapeMismatchError, ValueError)
    assert issubclass(lwai.ModelNotFoundError, FileNotFoundError)
    assert issubclass(lwai.UnsupportedOperatorError, NotImplementedError)
