"""Patterns exporters spell out of several nodes become one fused node."""

import numpy as np
import onnx
import pytest
from conftest import ort_run
from onnx import TensorProto, helper, numpy_helper

import lwai


@pytest.mark.parametrize("scale_op", ["Div", "Mul"])
def test_hard_swish_of_four_nodes_becomes_one(tmp_path, scale_op):
    """x * Clip(x + 3, 0, 6) / 6 after a Conv, as paddle2onnx and torch export hard-swish."""
    rng = np.random.default_rng(0)
    scale = 6.0 if scale_op == "Div" else 1.0 / 6.0
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.5, (8, 3, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(np.array(3.0, np.float32), "three"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(6.0, np.float32), "six"),
        numpy_helper.from_array(np.array(scale, np.float32), "scale"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c", "three"], ["a"]),
        helper.make_node("Clip", ["a", "zero", "six"], ["r"]),
        helper.make_node("Mul", ["c", "r"], ["m"]),
        helper.make_node(scale_op, ["m", "scale"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 10, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 10, 10])],
        inits,
    )
    path = tmp_path / "hswish.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    session = lwai.Session(lwai.convert(path))
    ops = [a.op for a in session.node_assignments()]
    assert ops == ["Conv", "HardSwish"]
    x = rng.normal(0, 2, (1, 3, 10, 10)).astype(np.float32)
    (got,) = session.run({"x": x})
    (want,) = ort_run(path, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("half_first", [False, True])
def test_gelu_from_erf_becomes_one_node(tmp_path, half_first):
    """0.5 * x * (1 + Erf(x / sqrt(2))) after a MatMul, as torch exports nn.GELU at opset 18."""
    rng = np.random.default_rng(1)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.5, (16, 32)).astype(np.float32), "w"),
        numpy_helper.from_array(np.array(1.4142135381698608, np.float32), "sqrt2"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"]),
        helper.make_node("Div", ["h", "sqrt2"], ["s"]),
        helper.make_node("Erf", ["s"], ["e"]),
        helper.make_node("Add", ["e", "one"], ["a"]),
    ]
    if half_first:
        nodes += [
            helper.make_node("Mul", ["h", "half"], ["hh"]),
            helper.make_node("Mul", ["hh", "a"], ["y"]),
        ]
    else:
        nodes += [
            helper.make_node("Mul", ["h", "a"], ["m"]),
            helper.make_node("Mul", ["m", "half"], ["y"]),
        ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 32])],
        inits,
    )
    path = tmp_path / "gelu.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    session = lwai.Session(lwai.convert(path))
    assert [a.op for a in session.node_assignments()] == ["MatMul", "Gelu"]
    x = rng.normal(0, 2, (4, 16)).astype(np.float32)
    (got,) = session.run({"x": x})
    (want,) = ort_run(path, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_silu_becomes_swish_and_runs_in_the_conv_partition(tmp_path):
    """x * Sigmoid(x) between convolutions, as YOLOv8 and EfficientNet export SiLU."""
    rng = np.random.default_rng(2)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.5, (16, 3, 3, 3)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(0, 0.5, (8, 16, 1, 1)).astype(np.float32), "w2"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["c"], ["s"]),
        helper.make_node("Mul", ["c", "s"], ["m"]),
        helper.make_node("Conv", ["m", "w2"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 12, 12])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 12, 12])],
        inits,
    )
    path = tmp_path / "silu.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    session = lwai.Session(lwai.convert(path))
    assignments = session.node_assignments()
    assert [a.op for a in assignments] == ["Conv", "Swish", "Conv"]
    if "xnnpack" in session.backends:
        assert {a.backend for a in assignments} == {"xnnpack"}
    x = rng.normal(0, 3, (1, 3, 12, 12)).astype(np.float32)
    (got,) = session.run({"x": x})
    (want,) = ort_run(path, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_pow_by_two_becomes_mul(tmp_path):
    inits = [numpy_helper.from_array(np.array(2.0, np.float32), "two")]
    nodes = [helper.make_node("Pow", ["x", "two"], ["y"])]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 129])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 129])],
        inits,
    )
    path = tmp_path / "pow.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    session = lwai.Session(lwai.convert(path))
    assert [a.op for a in session.node_assignments()] == ["Mul"]
    x = np.random.default_rng(3).normal(0, 3, (3, 129)).astype(np.float32)
    x[0, :3] = [np.nan, np.inf, -np.inf]
    (got,) = session.run({"x": x})
    (want,) = ort_run(path, {"x": x})
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("op", "one_first", "one_shape", "kept"),
    [
        ("Mul", False, [], False),
        ("Mul", True, [1], False),
        ("Div", False, [1, 1], False),
        ("Div", True, [], True),  # 1 / x is not x
        ("Mul", False, [1, 1, 1], True),  # broadcasts x to rank 3
    ],
)
def test_scale_by_one_is_dropped(tmp_path, op, one_first, one_shape, kept):
    # Attention exported with a scale of 1 after the scores (Whisper) multiplies a
    # [heads, seq, seq] tensor by 1.0: the node goes, exactly.
    inits = [numpy_helper.from_array(np.ones(one_shape, np.float32), "one")]
    inputs = ["one", "t"] if one_first else ["t", "one"]
    nodes = [
        helper.make_node("Tanh", ["x"], ["t"]),
        helper.make_node(op, inputs, ["s"]),
        helper.make_node("Softmax", ["s"], ["y"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 17])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    path = tmp_path / "scale.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    session = lwai.Session(lwai.convert(path))
    ops = [a.op for a in session.node_assignments()]
    assert ops == (["Tanh", op, "Softmax"] if kept else ["Tanh", "Softmax"])
    x = np.random.default_rng(4).normal(0, 3, (3, 17)).astype(np.float32)
    x[0, :4] = [np.nan, np.inf, -np.inf, -0.0]
    (got,) = session.run({"x": x})
    (want,) = ort_run(path, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("next_pads", [0, 1])
def test_affine_around_convs_folds_into_their_weights(tmp_path, next_pads):
    # PP-LCNet's learnable affine blocks: Conv -> Mul(s) -> Add(b) -> HardSwish -> Mul(s) ->
    # Add(b) -> Conv; per-channel scales after a conv fold too. The affine after the activation
    # folds into the next conv only when it has no padding (padding zeros are not scaled).
    rng = np.random.default_rng(6)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.3, (16, 8, 3, 3)).astype(np.float32), "w1"),
        numpy_helper.from_array(
            rng.normal(0, 0.3, (12, 16, 1 + 2 * next_pads, 1 + 2 * next_pads)).astype(np.float32),
            "w2",
        ),
        numpy_helper.from_array(rng.normal(0, 0.3, (12,)).astype(np.float32), "b2"),
        numpy_helper.from_array(np.array([1.7], np.float32), "s1"),
        numpy_helper.from_array(np.array([-0.3], np.float32), "t1"),
        numpy_helper.from_array(np.array(0.8, np.float32), "s2"),
        numpy_helper.from_array(np.array([0.25], np.float32), "t2"),
        numpy_helper.from_array(rng.normal(1, 0.2, (1, 12, 1, 1)).astype(np.float32), "s3"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["s1", "c1"], ["m1"]),
        helper.make_node("Add", ["m1", "t1"], ["a1"]),
        helper.make_node("HardSwish", ["a1"], ["h"]),
        helper.make_node("Mul", ["h", "s2"], ["m2"]),
        helper.make_node("Add", ["m2", "t2"], ["a2"]),
        helper.make_node("Conv", ["a2", "w2", "b2"], ["c2"], pads=[next_pads] * 4),
        helper.make_node("Mul", ["c2", "s3"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 10, 12])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 12, 10, 12])],
        inits,
    )
    path = tmp_path / "affine.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    session = lwai.Session(lwai.convert(path))
    ops = [a.op for a in session.node_assignments()]
    if next_pads:
        assert ops == ["Conv", "HardSwish", "Mul", "Add", "Conv"], ops
    else:
        assert ops == ["Conv", "HardSwish", "Conv"], ops
    x = rng.normal(0, 1, (1, 8, 10, 12)).astype(np.float32)
    (got,) = session.run({"x": x})
    (want,) = ort_run(path, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("bias_shape", "bias_first", "activation", "fused"),
    [
        ([24], False, "Relu", True),
        ([1, 1, 24], True, "Clip", True),
        ([24], False, None, True),
        ([5, 24], False, "Relu", False),  # one bias per row and column: not a bias
    ],
)
def test_matmul_bias_and_activation_fold_into_the_matmul(
    tmp_path, bias_shape, bias_first, activation, fused
):
    rng = np.random.default_rng(7)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.3, (16, 24)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.normal(0, 0.3, bias_shape).astype(np.float32), "b"),
        numpy_helper.from_array(np.array(-0.1, np.float32), "lo"),
        numpy_helper.from_array(np.array(0.4, np.float32), "hi"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["mm"]),
        helper.make_node("Add", ["b", "mm"] if bias_first else ["mm", "b"], ["biased"]),
    ]
    last = "biased"
    if activation == "Relu":
        nodes.append(helper.make_node("Relu", ["biased"], ["y"]))
        last = "y"
    elif activation == "Clip":
        nodes.append(helper.make_node("Clip", ["biased", "lo", "hi"], ["y"]))
        last = "y"
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, 16])],
        [helper.make_tensor_value_info(last, TensorProto.FLOAT, [2, 5, 24])],
        inits,
    )
    path = tmp_path / "linear.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    session = lwai.Session(lwai.convert(path))
    ops = [a.op for a in session.node_assignments()]
    if fused:
        assert ops == ["MatMul"], ops
    else:
        assert "Add" in ops, ops
    x = rng.normal(0, 1, (2, 5, 16)).astype(np.float32)
    x[0, 0, :2] = [np.nan, np.inf]
    (got,) = session.run({"x": x})
    (want,) = ort_run(path, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def _attention_model(path, scale_op, mask, extra_reader=False, k_from_transpose=True):
    """Attention as exporters write it: Q [1, 2, 20, 8], K as [1, 30, 2, 8] transposed to
    K^T by one Transpose (or given as K^T), scores scaled, masked, Softmax, times V."""
    nodes, inits = [], [numpy_helper.from_array(np.array(8.0**0.5, np.float32), "c")]
    inputs = [
        helper.make_tensor_value_info("q", TensorProto.FLOAT, [1, 2, 20, 8]),
        helper.make_tensor_value_info("v", TensorProto.FLOAT, [1, 2, 30, 8]),
    ]
    if k_from_transpose:
        inputs.append(helper.make_tensor_value_info("k", TensorProto.FLOAT, [1, 30, 2, 8]))
        nodes.append(helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 3, 1]))
    else:
        inputs.append(helper.make_tensor_value_info("kt", TensorProto.FLOAT, [1, 2, 8, 30]))
    nodes.append(helper.make_node("MatMul", ["q", "kt"], ["scores"]))
    logits = "scores"
    if scale_op:
        nodes.append(helper.make_node(scale_op, ["scores", "c"], ["scaled"]))
        logits = "scaled"
    if mask:
        inputs.append(helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, 1, 30]))
        nodes.append(helper.make_node("Add", [logits, "mask"], ["masked"]))
        logits = "masked"
    nodes.append(helper.make_node("Softmax", [logits], ["probs"], axis=-1))
    # Casts to float32 of float32, as autocast exports leave them: no-ops.
    nodes.append(helper.make_node("Cast", ["probs"], ["probs32"], to=TensorProto.FLOAT))
    nodes.append(helper.make_node("MatMul", ["probs32", "v"], ["y"]))
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 20, 8])]
    if extra_reader:
        outputs.append(helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 2, 20, 30]))
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


@pytest.mark.parametrize(
    ("scale_op", "mask", "k_from_transpose"),
    [("Div", True, True), ("Mul", False, True), (None, True, False)],
)
def test_attention_becomes_one_node(tmp_path, scale_op, mask, k_from_transpose):
    path = tmp_path / "attention.onnx"
    _attention_model(path, scale_op, mask, k_from_transpose=k_from_transpose)
    session = lwai.Session(lwai.convert(path))
    ops = [a.op for a in session.node_assignments()]
    assert ops == ["Transpose", "Attention"], ops
    rng = np.random.default_rng(5)
    feeds = {
        "q": rng.normal(0, 1, (1, 2, 20, 8)).astype(np.float32),
        "v": rng.normal(0, 1, (1, 2, 30, 8)).astype(np.float32),
    }
    if k_from_transpose:
        feeds["k"] = rng.normal(0, 1, (1, 30, 2, 8)).astype(np.float32)
    else:
        feeds["kt"] = rng.normal(0, 1, (1, 2, 8, 30)).astype(np.float32)
    if mask:
        feeds["mask"] = np.where(rng.random((1, 1, 1, 30)) < 0.3, -1e4, 0).astype(np.float32)
    (got,) = session.run(feeds)
    (want,) = ort_run(path, feeds)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_attention_fusion_names_its_key_tensor_uniquely(tmp_path):
    # A graph that already has a tensor named like the one the fusion adds ("<node>/key").
    path = tmp_path / "attention.onnx"
    _attention_model(path, "Div", True)
    model = onnx.load(path)
    model.graph.node[-1].name = "ctx"
    model.graph.node.append(helper.make_node("Identity", ["q"], ["ctx/key"]))
    model.graph.output.append(
        helper.make_tensor_value_info("ctx/key", TensorProto.FLOAT, [1, 2, 20, 8])
    )
    onnx.save(model, path)
    session = lwai.Session(lwai.convert(path))
    assert "Attention" in [a.op for a in session.node_assignments()]


def test_attention_whose_probabilities_are_read_stays_unfused(tmp_path):
    path = tmp_path / "attention.onnx"
    _attention_model(path, "Div", True, extra_reader=True)
    ops = [a.op for a in lwai.Session(lwai.convert(path)).node_assignments()]
    assert "Attention" not in ops and "Softmax" in ops


@pytest.mark.parametrize("cube", ["pow", "mul_square_first", "mul_square_last"])
def test_gelu_tanh_form_becomes_one_gelu(tmp_path, cube):
    """0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))), as GPT-2-style models export
    their "new GELU", with the cube written three ways."""
    rng = np.random.default_rng(3)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.5, (16, 32)).astype(np.float32), "w"),
        numpy_helper.from_array(np.array(3.0, np.float32), "three"),
        numpy_helper.from_array(np.array(0.044715, np.float32), "c"),
        numpy_helper.from_array(np.array(np.sqrt(2 / np.pi), np.float32), "k"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
    ]
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"])]
    if cube == "pow":
        nodes.append(helper.make_node("Pow", ["h", "three"], ["cube"]))
    elif cube == "mul_square_first":
        nodes += [
            helper.make_node("Mul", ["h", "h"], ["sq"]),
            helper.make_node("Mul", ["sq", "h"], ["cube"]),
        ]
    else:
        nodes += [
            helper.make_node("Mul", ["h", "h"], ["sq"]),
            helper.make_node("Mul", ["h", "sq"], ["cube"]),
        ]
    nodes += [
        helper.make_node("Mul", ["c", "cube"], ["cc"]),
        helper.make_node("Add", ["h", "cc"], ["inner"]),
        helper.make_node("Mul", ["inner", "k"], ["arg"]),
        helper.make_node("Tanh", ["arg"], ["t"]),
        helper.make_node("Add", ["t", "one"], ["a"]),
        helper.make_node("Mul", ["h", "a"], ["m"]),
        helper.make_node("Mul", ["m", "half"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 32])],
        inits,
    )
    path = tmp_path / "gelu_tanh.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    model = lwai.convert(path)
    assert [n["op"] for n in model.nodes] == ["MatMul", "Gelu"]
    assert model.nodes[1]["attributes"]["approximate"] == "tanh"
    session = lwai.Session(model)
    x = rng.normal(0, 2, (4, 16)).astype(np.float32)
    (got,) = session.run({"x": x})
    (want,) = ort_run(path, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_gelu_tanh_form_with_another_reader_stays_unfused(tmp_path):
    """The inner sum is also a graph output: fusing would lose it."""
    inits = [
        numpy_helper.from_array(np.array(0.044715, np.float32), "c"),
        numpy_helper.from_array(np.array(np.sqrt(2 / np.pi), np.float32), "k"),
        numpy_helper.from_array(np.array(3.0, np.float32), "three"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
    ]
    nodes = [
        helper.make_node("Pow", ["x", "three"], ["cube"]),
        helper.make_node("Mul", ["cube", "c"], ["cc"]),
        helper.make_node("Add", ["x", "cc"], ["inner"]),
        helper.make_node("Mul", ["k", "inner"], ["arg"]),
        helper.make_node("Tanh", ["arg"], ["t"]),
        helper.make_node("Add", ["one", "t"], ["a"]),
        helper.make_node("Mul", ["x", "half"], ["hx"]),
        helper.make_node("Mul", ["hx", "a"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 8]),
            helper.make_tensor_value_info("inner", TensorProto.FLOAT, [4, 8]),
        ],
        inits,
    )
    path = tmp_path / "gelu_tanh_shared.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    model = lwai.convert(path)
    assert "Gelu" not in [n["op"] for n in model.nodes]
    x = np.random.default_rng(4).normal(0, 2, (4, 8)).astype(np.float32)
    got = lwai.Session(model).run({"x": x})
    want = ort_run(path, {"x": x})
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("softplus", ["op", "log_exp"])
def test_mish_becomes_one_node_on_the_fast_backend(tmp_path, softplus):
    """x * tanh(softplus(x)) after a convolution, as YOLOv4-style models export Mish."""
    rng = np.random.default_rng(5)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.5, (8, 3, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
    ]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1])]
    if softplus == "op":
        nodes.append(helper.make_node("Softplus", ["c"], ["sp"]))
    else:
        nodes += [
            helper.make_node("Exp", ["c"], ["e"]),
            helper.make_node("Add", ["e", "one"], ["e1"]),
            helper.make_node("Log", ["e1"], ["sp"]),
        ]
    nodes += [
        helper.make_node("Tanh", ["sp"], ["t"]),
        helper.make_node("Mul", ["c", "t"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 10, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 10, 10])],
        inits,
    )
    path = tmp_path / "mish.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    session = lwai.Session(lwai.convert(path))
    assignments = session.node_assignments()
    assert [a.op for a in assignments] == ["Conv", "Mish"]
    if "eigen" in session.backends:
        assert assignments[1].backend == "eigen"
    x = rng.normal(0, 3, (1, 3, 10, 10)).astype(np.float32)
    x[0, 0, 0, :3] = [np.nan, 40.0, -40.0]
    (got,) = session.run({"x": x})
    (want,) = ort_run(path, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def decomposed_layer_norm(path, opset, square, affine, axes=(-1,)):
    """LayerNorm as torch exports it before opset 17, after a MatMul; x [2, 5, 16]."""
    rng = np.random.default_rng(6)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.5, (16, 16)).astype(np.float32), "w"),
        numpy_helper.from_array(np.array(2.0, np.float32), "two"),
        numpy_helper.from_array(np.array(1e-5, np.float32), "eps"),
        numpy_helper.from_array(rng.normal(1, 0.1, 16).astype(np.float32), "gamma"),
        numpy_helper.from_array(rng.normal(0, 0.1, 16).astype(np.float32), "beta"),
    ]

    def mean(src, dst):
        if opset >= 18:
            return helper.make_node("ReduceMean", [src, "axes"], [dst])
        return helper.make_node("ReduceMean", [src], [dst], axes=list(axes))

    if opset >= 18:
        inits.append(numpy_helper.from_array(np.array(axes, np.int64), "axes"))
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"]),
        mean("h", "mu"),
        helper.make_node("Sub", ["h", "mu"], ["d"]),
        helper.make_node("Pow", ["d", "two"], ["sq"])
        if square == "pow"
        else helper.make_node("Mul", ["d", "d"], ["sq"]),
        mean("sq", "var"),
        helper.make_node("Add", ["var", "eps"], ["ve"]),
        helper.make_node("Sqrt", ["ve"], ["std"]),
        helper.make_node("Div", ["d", "std"], ["n" if affine else "y"]),
    ]
    if affine:
        nodes += [
            helper.make_node("Mul", ["n", "gamma"], ["g"]),
            helper.make_node("Add", ["g", "beta"], ["y"]),
        ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5, 16])],
        inits,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), path)
    return path


@pytest.mark.parametrize(
    "opset,square,affine", [(13, "pow", True), (18, "mul", True), (13, "mul", False)]
)
def test_decomposed_layer_norm_becomes_one_node(tmp_path, opset, square, affine):
    path = decomposed_layer_norm(tmp_path / "ln.onnx", opset, square, affine)
    session = lwai.Session(lwai.convert(path))
    assignments = session.node_assignments()
    assert [a.op for a in assignments] == ["MatMul", "LayerNormalization"]
    if "eigen" in session.backends:
        assert assignments[1].backend == "eigen"
    x = np.random.default_rng(7).normal(0, 3, (2, 5, 16)).astype(np.float32)
    (got,) = session.run({"x": x})
    (want,) = ort_run(path, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_mean_over_two_axes_is_not_a_layer_norm(tmp_path):
    path = decomposed_layer_norm(tmp_path / "ln2.onnx", 13, "pow", True, axes=(-2, -1))
    model = lwai.convert(path)
    assert "LayerNormalization" not in [n["op"] for n in model.nodes]
    x = np.random.default_rng(8).normal(0, 3, (2, 5, 16)).astype(np.float32)
    (got,) = lwai.Session(model).run({"x": x})
    (want,) = ort_run(path, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_group_norm_as_pytorch_exports_it_becomes_one_node(tmp_path):
    """torch.nn.GroupNorm at opset < 18: Reshape to [N, G, -1], InstanceNormalization with
    ones and zeros, Reshape back to Shape(x), then Mul and Add per channel (PoolFormer, GN
    detection heads, diffusion U-Nets)."""
    rng = np.random.default_rng(7)
    channels, groups = 12, 3
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.5, (channels, 3, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(np.array([0, groups, -1], np.int64), "rows"),
        numpy_helper.from_array(np.ones(groups, np.float32), "ones"),
        numpy_helper.from_array(np.zeros(groups, np.float32), "zeros"),
        numpy_helper.from_array(rng.normal(1, 0.2, (channels, 1, 1)).astype(np.float32), "gamma"),
        numpy_helper.from_array(rng.normal(0, 0.2, (channels, 1, 1)).astype(np.float32), "beta"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Reshape", ["c", "rows"], ["r"]),
        helper.make_node("InstanceNormalization", ["r", "ones", "zeros"], ["n"], epsilon=1e-5),
        helper.make_node("Shape", ["c"], ["shape"]),
        helper.make_node("Reshape", ["n", "shape"], ["back"]),
        helper.make_node("Mul", ["back", "gamma"], ["scaled"]),
        helper.make_node("Add", ["scaled", "beta"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 10, 9])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, 10, 9])],
        inits,
    )
    path = tmp_path / "group_norm.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    session = lwai.Session(lwai.convert(path))
    ops = [a.op for a in session.node_assignments() if not a.folded]
    assert ops == ["Conv", "GroupNormalization"]
    x = rng.normal(0, 2, (1, 3, 10, 9)).astype(np.float32)
    (got,) = session.run({"x": x})
    (want,) = ort_run(path, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
