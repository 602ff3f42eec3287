"""Session.profile(), the Profile object, Chrome traces, and the CLI's --profile/--trace."""

import json

import numpy as np
import pytest
from conftest import run_cli

import lwai


@pytest.fixture(scope="module")
def digits(digits_onnx) -> lwai.Model:
    return lwai.convert(digits_onnx)


@pytest.fixture(scope="module")
def shape_model(tmp_path_factory) -> lwai.Model:
    """x[batch, 6] -> Shape -> Reshape(Relu(x), shape) -> Add with a constant: the Shape
    node is evaluated at prepare time (folded), the rest runs."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Shape", ["x"], ["s"], name="shape_of_x"),
        helper.make_node("Reshape", ["r", "s"], ["y"], name="reshape"),
        helper.make_node("Add", ["y", "bias"], ["z"], name="add_bias"),
    ]
    bias = numpy_helper.from_array(np.arange(6, dtype=np.float32), "bias")
    graph = helper.make_graph(
        nodes,
        "shape_model",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 6])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 6])],
        [bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path_factory.mktemp("profile") / "shape_model.onnx"
    onnx.save(model, path)
    return lwai.convert(path, optimize=False)


def _digits_input(rng, batch=2) -> np.ndarray:
    return rng.standard_normal((batch, 1, 8, 8)).astype(np.float32)


def test_profile_has_one_entry_per_running_node(digits, rng):
    session = lwai.Session(digits, backends=["reference"])
    profile = session.profile(_digits_input(rng), runs=5, warmup=1)
    assert profile.runs == 5 and len(profile.wall_ms) == 5
    assert [n.name for n in profile] == [n["name"] for n in digits.nodes]
    for n in profile:
        assert n.backend == "reference"
        assert len(n.times_ms) == 5
        if n.kernel.startswith("in place"):
            # A Flatten/Reshape whose output aliases its input's buffer does no work.
            assert n.op in ("Flatten", "Reshape") and all(t == 0 for t in n.times_ms)
            continue
        assert n.median_ms > 0 and all(t > 0 for t in n.times_ms)
        assert n.median_ms == pytest.approx(float(np.median(n.times_ms)))
    assert sum(n.share for n in profile) == pytest.approx(100.0)
    assert profile.total_ms == pytest.approx(sum(n.median_ms for n in profile))
    assert profile.total_ms > 0 and profile.median_wall_ms > 0
    conv1 = profile.nodes[0]
    assert conv1.op == "Conv"
    assert conv1.input_shapes[0] == (2, 1, 8, 8)
    assert conv1.output_shapes == ((2, 16, 8, 8),)


def test_folded_nodes_are_left_out(shape_model, rng):
    session = lwai.Session(shape_model, backends=["reference"])
    folded = {a.name for a in session.node_assignments() if a.folded}
    assert folded == {"shape_of_x"}
    x = rng.standard_normal((3, 6)).astype(np.float32)
    profile = session.profile({"x": x}, runs=3)
    assert [n.name for n in profile] == ["relu", "reshape", "add_bias"]
    reshape = profile.nodes[1]
    assert reshape.input_shapes == ((3, 6), (2,)) and reshape.output_shapes == ((3, 6),)
    # Profiling does not change results, and turns itself off afterwards.
    (z,) = session.run(x)
    np.testing.assert_array_equal(z, np.maximum(x, 0) + np.arange(6, dtype=np.float32))


def test_profile_with_default_backends_is_consistent(digits, rng):
    session = lwai.Session(digits)
    profile = session.profile(_digits_input(rng), runs=3)
    running = [a for a in session.node_assignments() if not a.folded]
    assert [(n.name, n.backend, n.kernel) for n in profile] == [
        (a.name, a.backend, a.kernel) for a in running
    ]
    assert profile.total_ms > 0
    assert sum(n.share for n in profile) == pytest.approx(100.0)


def test_table_and_by_op(digits, rng):
    profile = lwai.Session(digits, backends=["reference"]).profile(_digits_input(rng), runs=3)
    table = profile.table()
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["node", "op", "backend", "kernel"]
    for node in digits.nodes:
        assert any(line.startswith(node["name"] + " ") for line in lines)
    assert "[2,1,8,8]" in table and "total" in table
    # Sorted slowest first.
    ms = [float(line.split()[-2]) for line in lines[1 : 1 + len(profile)]]
    assert ms == sorted(ms, reverse=True)
    top = profile.table(top=2).splitlines()
    assert any(line.startswith(f"({len(profile) - 2} more)") for line in top)
    ops = profile.by_op()
    assert sum(o.count for o in ops) == len(profile)
    assert {o.op for o in ops} == {n.op for n in profile}
    assert sum(o.ms for o in ops) == pytest.approx(profile.total_ms)
    assert sum(o.share for o in ops) == pytest.approx(100.0)
    assert [o.ms for o in ops] == sorted((o.ms for o in ops), reverse=True)


def test_chrome_trace_is_valid_and_sequential(digits, rng, tmp_path):
    profile = lwai.Session(digits, backends=["reference"]).profile(_digits_input(rng), runs=4)
    path = tmp_path / "trace.json"
    profile.to_chrome_trace(path)
    trace = json.loads(path.read_text())
    events = trace["traceEvents"]
    assert len(events) == len(profile) * 4
    assert all(e["ph"] == "X" and e["dur"] >= 0 for e in events)
    assert [e["name"] for e in events[: len(profile)]] == [n.name for n in profile]
    for before, after in zip(events, events[1:], strict=False):
        assert after["ts"] >= before["ts"] + before["dur"] - 1e-3
    first = events[0]
    assert first["args"]["op"] == "Conv" and first["args"]["backend"] == "reference"
    assert first["args"]["inputs"][0] == [2, 1, 8, 8]
    assert {e["args"]["run"] for e in events} == {0, 1, 2, 3}
    span_us = events[-1]["ts"] + events[-1]["dur"]
    assert span_us == pytest.approx(sum(sum(n.times_ms) for n in profile) * 1e3, rel=1e-3)


def test_profile_rejects_bad_run_counts(digits, rng):
    session = lwai.Session(digits)
    with pytest.raises(lwai.InvalidArgumentError):
        session.profile(_digits_input(rng), runs=0)
    with pytest.raises(lwai.InvalidArgumentError):
        session.profile(_digits_input(rng), warmup=-1)


@pytest.fixture(scope="module")
def digits_file(digits, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli_profile") / "digits.lwai"
    digits.save(path)
    return path


def test_cli_bench_profile_and_trace(digits, digits_file, tmp_path):
    trace = tmp_path / "out.json"
    out = run_cli(
        "bench", digits_file, "--runs", "3", "--warmup", "1", "--backends", "reference",
        "--profile", "--trace", trace,
    ).stdout  # fmt: skip
    assert "median" in out and "backends: reference" in out
    for node in digits.nodes:
        assert node["name"] in out
    assert "shapes (inputs -> outputs)" in out and "total" in out
    events = json.loads(trace.read_text())["traceEvents"]
    assert len(events) == 3 * len(digits.nodes)


def test_cli_bench_with_plugin_and_bad_backend(digits_file):
    out = run_cli("bench", digits_file, "--runs", "2", "--backends", lwai.example_plugin_path())
    assert "backends: example, reference" in out.stdout
    result = run_cli("bench", digits_file, "--runs", "2", "--backends", "nope", check=False)
    assert result.returncode == 1
    assert "BackendNotFoundError" in result.stderr and "'nope'" in result.stderr
    assert result.stderr.count("\n") == 1


def test_cli_info_shows_backend_per_node(digits, digits_file):
    out = run_cli("info", digits_file).stdout
    session = lwai.Session(digits)
    assert f"backends:   {', '.join(session.backends)}" in out
    lines = out.splitlines()
    header = next(
        i for i, line in enumerate(lines) if line.split()[:3] == ["node", "op", "backend"]
    )
    for a, line in zip(session.node_assignments(), lines[header + 1 :], strict=False):
        assert line.split()[:3] == [a.name, a.op, a.backend]


def test_cli_info_with_dynamic_rank_model(shape_model, tmp_path):
    path = tmp_path / "shape_model.lwai"
    shape_model.save(path)
    out = run_cli("info", path).stdout
    assert "shape_of_x" in out and "folded" in out


def control_flow_model(path):
    """y = If(cond, Loop(3 times: acc += x) from acc = x, x * 2): a loop inside a branch."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    f32 = TensorProto.FLOAT
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"], name="keep_going"),
            helper.make_node("Add", ["acc_in", "x"], ["acc_out"], name="accumulate"),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", f32, [2, 3]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", f32, [2, 3]),
        ],
    )
    then_graph = helper.make_graph(
        [
            helper.make_node(
                "Constant",
                [],
                ["trips"],
                value=helper.make_tensor("trips", TensorProto.INT64, [], [3]),
            ),
            helper.make_node("Loop", ["trips", "", "x"], ["sum"], body=body, name="loop"),
        ],
        "then",
        [],
        [helper.make_tensor_value_info("sum", f32, [2, 3])],
    )
    else_graph = helper.make_graph(
        [helper.make_node("Add", ["x", "x"], ["twice"], name="double")],
        "else",
        [],
        [helper.make_tensor_value_info("twice", f32, [2, 3])],
    )
    graph = helper.make_graph(
        [
            helper.make_node(
                "If", ["cond"], ["y"], then_branch=then_graph, else_branch=else_graph, name="if"
            )
        ],
        "control_flow",
        [
            helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
            helper.make_tensor_value_info("x", f32, [2, 3]),
        ],
        [helper.make_tensor_value_info("y", f32, [2, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, path)
    return lwai.convert(path, optimize=False)


def test_profile_lists_the_nodes_inside_control_flow(tmp_path, rng):
    session = lwai.Session(control_flow_model(tmp_path / "cf.onnx"), threads=1)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    profile = session.profile({"cond": np.array(True), "x": x}, runs=4)
    by_name = {n.name: n for n in profile}
    # The branch's Loop, and the loop body's nodes under it, each named by its path.
    assert by_name["if/then_branch/loop"].op == "Loop"
    assert by_name["if/then_branch/loop"].parent == "if"
    add = by_name["if/then_branch/loop/body/accumulate"]
    assert (add.op, add.parent) == ("Add", "if/then_branch/loop")
    assert add.backend in session.backends
    assert add.input_shapes == ((2, 3), (2, 3)) and add.output_shapes == ((2, 3),)
    assert all(t > 0 for t in add.times_ms)
    assert not any(name.startswith("if/else_branch") for name in by_name)
    # Parents keep only their own time: the rows still add up to the total, in order.
    assert abs(sum(n.share for n in profile) - 100.0) < 1e-6
    names = [n.name for n in profile]
    assert names.index("if") < names.index("if/then_branch/loop") < names.index(add.name)
    assert sum(profile.by_backend().values()) == pytest.approx(100.0)
    assert "time by backend:" in profile.by_backend_line()
    # The other branch, in a later profile: only its nodes are listed.
    other = session.profile({"cond": np.array(False), "x": x}, runs=2)
    other_names = {n.name for n in other}
    assert "if/else_branch/double" in other_names
    assert not any(name.startswith("if/then_branch") for name in other_names)
    np.testing.assert_allclose(session.run({"cond": np.array(True), "x": x})[0], 4 * x, rtol=1e-6)
