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


def qlinear_conv_case(rng, x_type, per_channel, kernel, stride, group, channels, pad):
    """A one-node QLinearConv ONNX model (batch 2, 17x15 input, per-channel or per-tensor int8
    weights, int32 bias) and an input for it: (model, x)."""
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h

    cin, cout = channels
    np_type = np.uint8 if x_type == T.UINT8 else np.int8
    info = np.iinfo(np_type)
    x = rng.integers(info.min, info.max + 1, size=(2, cin, 17, 15)).astype(np_type)
    w = rng.integers(-127, 128, size=(cout, cin // group, kernel, kernel)).astype(np.int8)
    w_scale = (rng.uniform(0.5, 2, cout if per_channel else 1) / 127 / kernel).astype(np.float32)
    inits = [
        h.make_tensor("xs", T.FLOAT, [], [0.02]),
        h.make_tensor("xz", x_type, [], [7]),
        onnx.numpy_helper.from_array(w, "w"),
        onnx.numpy_helper.from_array(w_scale, "ws"),
        onnx.numpy_helper.from_array(np.zeros(w_scale.shape, np.int8), "wz"),
        h.make_tensor("ys", T.FLOAT, [], [0.037]),
        h.make_tensor("yz", x_type, [], [3]),
        onnx.numpy_helper.from_array(rng.integers(-3000, 3000, cout).astype(np.int32), "b"),
    ]
    node = h.make_node(
        "QLinearConv",
        ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"],
        ["y"],
        pads=[pad] * 4,
        strides=[stride] * 2,
        group=group,
    )
    graph = h.make_graph(
        [node],
        "q",
        [h.make_tensor_value_info("x", x_type, x.shape)],
        [h.make_tensor_value_info("y", x_type, None)],
        inits,
    )
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]), x


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
