"""The `lwai` command on user errors: one line on stderr, a documented exit code, never a
traceback (issue 9). Every case runs the real command in a subprocess."""

import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import run_cli

import lwai.cli

HOSTILE = pathlib.Path(__file__).resolve().parents[1] / "data" / "hostile" / "onnx"


def _assert_one_line_error(result, code: int, *fragments: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.fixture(scope="module")
def model(tmp_path_factory, digits_onnx):
    path = tmp_path_factory.mktemp("cli_errors") / "digits.lwai"
    run_cli("convert", digits_onnx, "-o", path)
    return path


def test_help_describes_every_argument():
    """Every argument of every command has a --help text."""
    import argparse

    undocumented = []
    for action in lwai.cli.build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, parser in action.choices.items():
                for argument in parser._actions:
                    if not argument.help and not isinstance(argument, argparse._HelpAction):
                        undocumented.append(f"{command} {argument.option_strings or argument.dest}")
    assert not undocumented, undocumented


def test_exit_codes_are_documented_in_help():
    out = run_cli("--help").stdout
    assert "exit codes:" in out
    for code in (lwai.cli.EXIT_OK, 1, 2, 3, 130, 141):
        assert f"\n  {code} " in out, code
    assert (lwai.cli.EXIT_ERROR, lwai.cli.EXIT_USAGE, lwai.cli.EXIT_INTERNAL) == (1, 2, 3)
    assert (lwai.cli.EXIT_INTERRUPTED, lwai.cli.EXIT_BROKEN_PIPE) == (130, 141)


def test_convert_errors(tmp_path):
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    _assert_one_line_error(run_cli("convert", empty, check=False), 1, "empty file")
    assert not (tmp_path / "empty.lwai").exists()
    missing = tmp_path / "missing.onnx"
    _assert_one_line_error(
        run_cli("convert", missing, check=False), 1, "ModelNotFoundError", "missing.onnx"
    )
    _assert_one_line_error(run_cli("convert", tmp_path, check=False), 1, "is a directory")
    _assert_one_line_error(
        run_cli("convert", HOSTILE / "case02158_UnicodeDecodeError.onnx", check=False),
        1,
        "InvalidModelError",
        "case02158_UnicodeDecodeError.onnx: node #0 (RoiAlign): attribute",
    )


def test_convert_survives_models_that_crash_onnx_shape_inference(tmp_path):
    result = run_cli(
        "convert", HOSTILE / "case01829_crash_SIGSEGV.onnx", "-o", tmp_path / "m.lwai", check=False
    )
    _assert_one_line_error(result, 1, "case01829_crash_SIGSEGV.onnx: ", "'EyeLike_0'")


def test_input_file_errors(model, tmp_path):
    text = tmp_path / "x.txt"
    text.write_text("1 2 3\n")
    _assert_one_line_error(
        run_cli("run", model, "--input", f"input={text}", check=False),
        1,
        "x.txt: not a .npy file",
    )
    _assert_one_line_error(
        run_cli("run", model, "--input", f"input={tmp_path / 'nope.npy'}", check=False),
        1,
        "nope.npy: no such file",
    )
    np.savez(tmp_path / "x.npz", input=np.zeros((1, 1, 8, 8), np.float32))
    _assert_one_line_error(
        run_cli("run", model, "--input", f"input={tmp_path / 'x.npz'}", check=False),
        1,
        "an .npz archive",
    )
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}], dtype=object))
    _assert_one_line_error(
        run_cli("run", model, "--input", f"input={objects}", check=False),
        1,
        "objects.npy: not a valid .npy array",
    )
    np.save(tmp_path / "wrong.npy", np.zeros((1, 1, 9, 8), np.float32))
    _assert_one_line_error(
        run_cli("run", model, "--input", f"input={tmp_path / 'wrong.npy'}", check=False),
        1,
        "ShapeMismatchError",
    )


def test_output_file_errors(model, tmp_path):
    _assert_one_line_error(
        run_cli("run", model, "--save", tmp_path / "no" / "such" / "dir_", check=False),
        1,
        "dir_probabilities.npy",
    )


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("bench", "{model}", "--runs", "0"), "--runs: must be at least 1, got 0"),
        (("bench", "{model}", "--batch", "-3"), "--batch: must be at least 1, got -3"),
        (("bench", "{model}", "--threads", "0"), "--threads: must be at least 1, got 0"),
        (("run", "{model}", "--threads", "-2"), "--threads: must be at least 1, got -2"),
        (("run", "{model}", "--threads", "two"), "expected an integer, got 'two'"),
        (("bench", "{model}", "--warmup", "-1"), "--warmup: must be at least 0"),
        (("run", "{model}", "--input", "x.npy"), "expected NAME=FILE.npy, got 'x.npy'"),
        (("frobnicate",), "invalid choice: 'frobnicate'"),
        ((), "required: command"),
        (("info",), "required: model"),
    ],
)
def test_usage_errors_exit_2_with_one_line(model, args, fragment):
    result = run_cli(*[a.format(model=model) for a in args], check=False)
    _assert_one_line_error(result, 2, "usage error", fragment)


def _lwai_process(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "lwai", *map(str, args)],
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_closed_stdout_stops_quietly(model):
    # `lwai info model | head -0`: the reader is gone before lwai writes anything.
    process = _lwai_process("info", model, stdout=subprocess.PIPE)
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == lwai.cli.EXIT_BROKEN_PIPE
    assert stderr == ""


def test_broken_pipe_in_a_shell_pipeline(model):
    command = f"{sys.executable} -m lwai dump {model} --json | head -c 10"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=60
    )
    assert len(result.stdout) == 10 and result.stdout.startswith("{")
    assert result.returncode in (0, lwai.cli.EXIT_BROKEN_PIPE)
    assert result.stderr == ""


def test_ctrl_c_exits_130_with_one_line(model, tmp_path):
    fifo = tmp_path / "input.npy"
    os.mkfifo(fifo)
    process = _lwai_process("run", model, "--input", f"input={fifo}", stdout=subprocess.DEVNULL)
    # lwai opens the FIFO once it reads its inputs: by then it is inside the command.
    deadline = time.monotonic() + 60
    while True:
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:  # no reader yet
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    try:
        # A SIGINT that lands after the open returned but before the read starts is handled,
        # yet the read then blocks with nothing to interrupt it: signal until lwai is gone.
        deadline = time.monotonic() + 60
        while process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                assert time.monotonic() < deadline
        stderr = process.stderr.read()
        assert process.returncode == lwai.cli.EXIT_INTERRUPTED
    finally:
        os.close(writer)
    assert stderr == "lwai run: interrupted\n"


def test_unexpected_exceptions_are_one_line_internal_errors(model):
    code = (
        "import sys, lwai, lwai.cli\n"
        "def broken(*args, **kwargs):\n"
        "    raise ZeroDivisionError('division by zero')\n"
        "lwai.load = broken\n"
        f"sys.exit(lwai.cli.main(['info', {str(model)!r}]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    _assert_one_line_error(
        result,
        lwai.cli.EXIT_INTERNAL,
        "lwai info: internal error: ZeroDivisionError: division by zero",
        "please report",
    )


def test_convert_without_onnx_says_how_to_get_it(digits_onnx, tmp_path):
    """`lwai convert` where the optional onnx package is missing (hidden here from the import
    system): one line naming `pip install lwai[onnx]`, no traceback."""
    hide_onnx = (
        "import sys; sys.modules['onnx'] = None; from lwai.cli import main; "
        f"sys.exit(main(['convert', {str(digits_onnx)!r}, '-o', {str(tmp_path / 'x.lwai')!r}]))"
    )
    result = subprocess.run([sys.executable, "-c", hide_onnx], capture_output=True, text=True)
    _assert_one_line_error(
        result, lwai.cli.EXIT_ERROR, "MissingDependencyError", "pip install lwai[onnx]"
    )
    with pytest.raises(ImportError):  # also an ImportError, for code that tests for features
        raise lwai.MissingDependencyError("x")
