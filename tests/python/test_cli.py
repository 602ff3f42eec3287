"""The `lwai` command as a build engineer scripts it: outputs, files and exit codes."""

import json
import os
import pathlib
import subprocess

import numpy as np
import pytest
from conftest import run_cli

REPO = pathlib.Path(__file__).resolve().parents[2]
LWAI_RUN = REPO / "build" / "lwai_run"


lwai = run_cli


@pytest.fixture(scope="module")
def converted(tmp_path_factory, digits_onnx):
    path = tmp_path_factory.mktemp("cli") / "digits.lwai"
    result = lwai("convert", digits_onnx, "-o", path)
    assert "wrote" in result.stdout and path.exists()
    return path


def test_info_lists_io_ops_and_sizes(converted):
    out = lwai("info", converted).stdout
    assert "input:      input float32 ['batch', 1, 8, 8]" in out
    assert "output:     probabilities float32 ['batch', 10]" in out
    assert "Conv" in out and "Gemm" in out
    assert "parameters: 53.54 KiB" in out
    assert "arena:" in out


def if_model(tmp_path) -> pathlib.Path:
    """y = If(flag, then: Cast(x to int64), else: Neg(x)) saved as .lwai: operators in branches."""
    from onnx import TensorProto as T
    from onnx import helper as h

    import lwai as api

    then_graph = h.make_graph(
        [h.make_node("Cast", ["x"], ["t"], to=T.INT64)],
        "then",
        [],
        [h.make_tensor_value_info("t", T.INT64, None)],
    )
    else_graph = h.make_graph(
        [h.make_node("Neg", ["x"], ["e"])],
        "else",
        [],
        [h.make_tensor_value_info("e", T.FLOAT, None)],
    )
    graph = h.make_graph(
        [h.make_node("If", ["flag"], ["y"], then_branch=then_graph, else_branch=else_graph)],
        "if_model",
        [h.make_tensor_value_info("x", T.FLOAT, [2]), h.make_tensor_value_info("flag", T.BOOL, [])],
        [h.make_tensor_value_info("y", T.UNDEFINED, None)],
    )
    path = tmp_path / "if_model.lwai"
    api.convert(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])).save(path)
    return path


def test_ops_lists_what_a_selective_runtime_needs(converted, tmp_path):
    """`lwai ops` (and Model.operators()): every operator of the models, subgraphs included, with
    the dtypes its nodes read and write; --cmake gives the selective build's flag for their
    union."""
    import lwai as api

    branches = if_model(tmp_path)
    assert api.load(branches).operators() == {
        "Cast": ["float32", "int64"],  # writes int64: a selective runtime needs that type too
        "If": ["float32", "bool"],  # x, captured by the branches, is an input of the If
        "Neg": ["float32"],
    }
    digits = api.load(converted).operators()
    assert "Conv" in digits and "Gemm" in digits and digits["Conv"] == ["float32"]
    lines = lwai("ops", converted).stdout.splitlines()
    assert [line.split()[0] for line in lines] == sorted(digits)
    assert all(line.split()[1:] == digits[line.split()[0]] for line in lines)
    flag = lwai("ops", converted, branches, "--cmake").stdout.strip()
    assert flag == f'-DLWAI_SELECTED_OPS="{";".join(sorted({*digits, "Cast", "If", "Neg"}))}"'


def test_info_ops_and_dump_read_onnx_files_too(converted, digits_onnx):
    """`lwai info|ops|dump model.onnx` convert in memory and show what the .lwai file shows."""
    from_lwai = lwai("info", converted).stdout.splitlines()
    from_onnx = lwai("info", digits_onnx).stdout.splitlines()
    assert from_onnx[0].endswith(str(digits_onnx)) and from_lwai[0].endswith(str(converted))
    assert from_onnx[1:] == from_lwai[1:]
    assert lwai("ops", digits_onnx).stdout == lwai("ops", converted).stdout
    assert lwai("dump", digits_onnx).stdout == lwai("dump", converted).stdout


def test_run_with_npy_input_matches_python(converted, tmp_path):
    import lwai as api

    x = np.random.default_rng(0).random((2, 1, 8, 8), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    prefix = tmp_path / "out_"
    out = lwai("run", converted, "--input", f"input={tmp_path / 'x.npy'}", "--save", prefix).stdout
    assert "probabilities: float32 [2, 10]" in out
    saved = np.load(f"{prefix}probabilities.npy")
    np.testing.assert_array_equal(saved, api.Session(converted).run(x)[0])


def test_bench_reports_latency_statistics(converted):
    out = lwai("bench", converted, "--runs", "5", "--warmup", "1", "--threads", "2").stdout
    for word in ("init + first run", "min", "median", "mean", "p90", "max"):
        assert word in out


def test_run_takes_a_shape_per_input(tmp_path):
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h

    import lwai as api

    graph = h.make_graph(
        [h.make_node("Shape", ["a"], ["sa"]), h.make_node("Shape", ["b"], ["sb"])],
        "g",
        [
            h.make_tensor_value_info("a", T.FLOAT, ["n", 3, "h"]),
            h.make_tensor_value_info("b", T.INT64, ["m"]),
        ],
        [
            h.make_tensor_value_info("sa", T.INT64, [3]),
            h.make_tensor_value_info("sb", T.INT64, [1]),
        ],
    )
    path = tmp_path / "two.onnx"
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]), path)
    prefix = tmp_path / "o_"
    lwai("run", path, "--shape", "a=2x3x5", "--shape", "b=7", "--save", prefix)
    assert np.load(f"{prefix}sa.npy").tolist() == [2, 3, 5]
    assert np.load(f"{prefix}sb.npy").tolist() == [7]
    # Dimensions --shape leaves to --batch.
    lwai("run", path, "--shape", "a=2x3x5", "--batch", "4", "--save", prefix)
    assert np.load(f"{prefix}sb.npy").tolist() == [4]
    for shape, message in [
        ("a=2x4x5", "dimension 1 of input 'a' is fixed at 3, got 4"),
        ("a=2x3", "input 'a' has rank 3 ['n', 3, 'h'], got 2 dimensions"),
        ("c=1", "no input 'c'; the model's inputs are ['a', 'b']"),
        ("2x3x5", "the model has 2 inputs ['a', 'b']; write --shape NAME=DIMS"),
    ]:
        result = lwai("run", path, "--shape", shape, check=False)
        assert result.returncode == 1 and message in result.stderr, result.stderr
    result = lwai("bench", path, "--shape", "a=2xbx5", check=False)
    assert result.returncode == 2 and "expected NAME=DxDx..." in result.stderr
    assert api.convert(path)  # the model itself is fine


def test_bench_profile_top_limits_both_tables(converted):
    out = lwai("bench", converted, "--runs", "3", "--profile", "--top", "2").stdout
    node_table = out[out.index("node ") : out.index("\nop ")]
    assert len([line for line in node_table.splitlines() if " Conv " in line]) <= 2
    assert "(6 more)" in node_table
    op_table = out[out.index("\nop ") :]
    assert "(3 more)" in op_table
    result = lwai("bench", converted, "--top", "2", check=False)
    assert result.returncode == 1 and "--top limits the --profile tables" in result.stderr


def test_dump_json_is_loadable(converted, tmp_path):
    out = tmp_path / "digits.json"
    lwai("dump", converted, "--json", "-o", out)
    assert json.loads(out.read_text())["graph"]["nodes"][0]["op"] == "Conv"
    assert "Conv" in lwai("info", out).stdout


def test_errors_exit_nonzero_with_one_line(tmp_path):
    result = lwai("info", tmp_path / "missing.lwai", check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "ModelNotFoundError" in result.stderr and "missing.lwai" in result.stderr
    bad = tmp_path / "bad.lwai"
    bad.write_bytes(b"nonsense")
    result = lwai("run", bad, check=False)
    assert result.returncode == 1 and "InvalidModelError" in result.stderr
    assert lwai("frobnicate", check=False).returncode == 2


def test_unsupported_operators_error_lists_them_all(tmp_path):
    import onnx

    h = onnx.helper
    x = h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])
    y = h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])
    nodes = [
        h.make_node("Bernoulli", ["x"], ["a"], name="b1"),
        h.make_node("ImageDecoder", ["a"], ["y"], name="d1"),
    ]
    proto = h.make_model(h.make_graph(nodes, "g", [x], [y]), opset_imports=[h.make_opsetid("", 20)])
    path = tmp_path / "unsupported.onnx"
    onnx.save(proto, path)
    result = lwai("convert", path, check=False)
    assert result.returncode == 1
    assert "'b1' (Bernoulli" in result.stderr and "'d1' (ImageDecoder" in result.stderr


@pytest.mark.skipif(not LWAI_RUN.exists(), reason="C++ tools not built (make build)")
def test_plain_cpp_runner_matches_python(converted, tmp_path):
    import lwai as api

    x = np.random.default_rng(1).random((1, 1, 8, 8), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    result = subprocess.run(
        [LWAI_RUN, converted, "--input", f"input={tmp_path / 'x.npy'}", "--runs", "3"],
        capture_output=True,
        text=True,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stderr
    assert "probabilities: float32 [1, 10]" in result.stdout and "median" in result.stdout
    first_values = [float(v) for v in result.stdout.splitlines()[1].split()[:8]]
    expected = api.Session(converted).run(x)[0].ravel()[:8]
    np.testing.assert_allclose(first_values, expected, rtol=1e-5)
