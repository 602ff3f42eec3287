"""Every notebook under notebooks/ runs top to bottom from a clean kernel, outside the
repository (a copied notebook must work), with real output: no error, plots that render, and the
result each notebook is about."""

import os

import pytest
from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
# Text each notebook's output must contain.
EXPECTED = {
    "quickstart.ipynb": ["accuracy 0.9", "max abs difference vs onnxruntime", "wrote "],
    "quantization.ipynb": ["int8  accuracy 0.9", "first divergence"],
    "ocr.ipynb": ["recognized: lwai reads 2026 text", "onnxruntime reads: 'lwai reads 2026 text'"],
}


def _text(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    return output.get("data", {}).get("text/plain", "")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    # The OCR notebook finds PP-OCR's recognizer here (`make real-models`) instead of PyPI.
    monkeypatch.setenv("LWAI_MODELS", str(REPO / ".cache" / "models"))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    notebook = nbformat.read(path, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells), "outputs are not committed"
    nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, "no plot rendered"
    text = "".join(_text(o) for o in outputs)
    for expected in EXPECTED[path.name]:
        assert expected in text, expected
    assert os.getcwd() != str(tmp_path)  # the kernel ran in tmp_path, not here
