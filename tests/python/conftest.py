import pathlib
import subprocess
import sys

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "scripts"))

DIGITS_ONNX = REPO / "tests" / "data" / "digits_cnn.onnx"


@pytest.fixture(scope="session")
def digits_onnx() -> pathlib.Path:
    return DIGITS_ONNX


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def ort_run(model_or_path, feed: dict) -> list:
    import onnxruntime as ort

    source = model_or_path if isinstance(model_or_path, str | pathlib.Path) else None
    if source is None:
        source = model_or_path.SerializeToString()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        str(source) if not isinstance(source, bytes) else source, options
    )
    return session.run(None, feed)


def assert_close_to_range(got: np.ndarray, expected: np.ndarray, tolerance: float = 1e-4):
    """Max abs error <= tolerance x the range of the expected output."""
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    value_range = float(expected.max() - expected.min()) or 1.0
    error = float(np.abs(got.astype(np.float64) - expected).max())
    assert error <= tolerance * value_range, f"max abs error {error:.3g}, range {value_range:.3g}"


def run_cli(*args, check=True) -> subprocess.CompletedProcess:
    """Runs `python -m lwai ARGS`; with check, asserts exit code 0 (showing stderr)."""
    result = subprocess.run(
        [sys.executable, "-m", "lwai", *map(str, args)], capture_output=True, text=True
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result
