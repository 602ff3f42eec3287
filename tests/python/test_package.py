"""The installed distribution: one version everywhere, the license inside it."""

import importlib.metadata
import pathlib
import re

import numpy as np
import pytest

import lwai

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_one_version_defined_once():
    """python/lwai/_version.py defines it; the wheel's metadata, the ONNX producer string and
    CMake's project version (which reads the same file) agree."""
    assert lwai.__version__ == importlib.metadata.version("lwai")
    assert re.fullmatch(r"\d+\.\d+\.\d+", lwai.__version__)
    from lwai.onnx_import import PRODUCER

    assert PRODUCER.endswith(" " + lwai.__version__)
    for name in ("pyproject.toml", "CMakeLists.txt", "python/lwai/__init__.py"):
        text = (ROOT / name).read_text()
        assert not re.search(r'(?m)^\s*(__version__|version)\s*=\s*"\d', text), name
        assert not re.search(r"project\(lwai VERSION \d", text), name
    cmake = (ROOT / "CMakeLists.txt").read_text()
    assert "python/lwai/_version.py" in cmake and "project(lwai VERSION ${LWAI_VERSION}" in cmake


def test_license_is_apache_2_and_ships_with_the_package():
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    files = importlib.metadata.distribution("lwai").files or []
    assert any(f.name == "LICENSE" for f in files), "the installed package carries no LICENSE"


def test_conversion_shows_progress_when_asked_or_large(digits_onnx, capfd):
    pytest.importorskip("tqdm")
    lwai.convert(digits_onnx, progress=True)
    assert "converting" in capfd.readouterr().err
    lwai.convert(digits_onnx)  # small: no bars unless asked
    assert capfd.readouterr().err == ""
    lwai.quantize(digits_onnx, np.zeros((4, 1, 8, 8), np.float32), progress=True, batch_size=1)
    assert "calibrating" in capfd.readouterr().err
