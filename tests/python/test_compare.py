"""The accuracy debugger (lwai.compare, `lwai compare`): float vs int8 and lwai vs ONNX Runtime
tensor by tensor, and a deliberately broken layer found first."""

import json
import struct
import subprocess
import sys

import numpy as np
import pytest

import lwai
from digits_data import load_split


@pytest.fixture(scope="module")
def digits(digits_onnx):
    x_train, _, x_test, _ = load_split()
    float_model = lwai.convert(str(digits_onnx))
    int8 = lwai.quantize(float_model, x_train[:128], progress=False)
    return float_model, int8, x_test[:64]


def test_float_vs_int8_shares_every_layer(digits):
    float_model, int8, x = digits
    report = lwai.compare(float_model, int8, {"input": x})
    names = [row.name for row in report.rows]
    assert names[:4] == ["relu1", "pool1", "relu2", "pool2"], names
    assert names[-1] == "probabilities"
    assert all(row.cosine > 0.999 and row.sqnr_db > 30 for row in report.rows), report.table()
    assert report.first_divergence() is None
    assert "relu1" in report.table()


def test_lwai_vs_onnxruntime(digits, digits_onnx):
    float_model, _, x = digits
    report = lwai.compare(float_model, str(digits_onnx), [{"input": x}], b_engine="onnxruntime")
    assert len(report.rows) >= 6
    assert all(row.sqnr_db > 80 for row in report.rows), report.table()


def test_broken_layer_is_named_first(digits, tmp_path):
    float_model, int8, x = digits
    # Corrupt the second convolution's weight scales (x8): still a valid file, wrong values.
    doc = json.loads(int8.to_json())
    tensor = next(
        t for t in doc["graph"]["tensors"] if "conv2" in t["name"] and t["name"].endswith("_scale")
    )
    buffer = doc["buffers"][tensor["buffer"]]
    data = bytearray(buffer["data"])
    for i in range(0, len(data), 4):
        data[i : i + 4] = struct.pack("<f", 8 * struct.unpack("<f", bytes(data[i : i + 4]))[0])
    buffer["data"] = list(data)
    buffer["has_crc32c"] = False
    buffer.pop("crc32c", None)
    broken_path = tmp_path / "broken.json"
    broken_path.write_text(json.dumps(doc))
    report = lwai.compare(float_model, lwai.load(broken_path), {"input": x})
    first = report.first_divergence()
    assert first is not None and first.name == "relu2", report.table()
    assert report.rows[0].cosine > 0.999  # the layer before is intact


def test_cli_compare(digits, digits_onnx, tmp_path):
    _, int8, x = digits
    int8.save(tmp_path / "int8.lwai")
    np.save(tmp_path / "x.npy", x)
    done = subprocess.run(
        [sys.executable, "-m", "lwai", "compare", str(digits_onnx), str(tmp_path / "int8.lwai"),
         "--input", f"input={tmp_path / 'x.npy'}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "relu2" in done.stdout and "no tensor below cosine" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "lwai", "compare", str(digits_onnx), str(tmp_path / "int8.lwai")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr and "--input" in done.stderr
