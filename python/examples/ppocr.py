"""PP-OCR text recognition (detect -> orient -> recognize) with lwai or onnxruntime.

The three PP-OCR models of rapidocr-onnxruntime (fetched by `make real-models` into
.cache/models/) run on numpy and PIL only: DB text detection, a 0/180 degree direction
classifier, and a CTC recognizer whose alphabet is stored in the recognizer's metadata.

    python3 python/examples/ppocr.py                 # renders "lwai reads 2026 text" and reads it
    python3 python/examples/ppocr.py photo.png       # reads an image file
    python3 python/examples/ppocr.py --engine onnxruntime
    python3 python/examples/ppocr.py --int8          # int8 models, calibrated on rendered lines

The same pre- and post-processing serves both engines, so their texts can be compared.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, ".cache", "models")
DET_THRESHOLD = 0.3  # probability above which a pixel is text (rapidocr's default)
UNCLIP_RATIO = 1.6  # DB's box expansion: distance = area * ratio / perimeter
CLS_THRESHOLD = 0.9
REC_HEIGHT = 48
CLS_SIZE = (48, 192)


class Engine:
    """Runs one ONNX model with lwai (converted once) or onnxruntime; with `record`, keeps every
    input it is given (calibration data for quantization)."""

    def __init__(self, path: str, engine: str, model=None, backends=None):
        self.engine = engine
        self.backends = backends
        self.recorded: list[np.ndarray] | None = None
        if engine == "lwai":
            import lwai

            self.model = model if model is not None else lwai.convert(path)
            self.session = lwai.Session(self.model, backends=backends)
        else:
            import onnxruntime as ort

            self.session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])

    def metadata(self) -> dict[str, str]:
        """The model's metadata: from the converted lwai model (kept in .lwai files) or from
        onnxruntime's view of the ONNX file."""
        if self.engine == "lwai":
            return self.model.metadata
        return self.session.get_modelmeta().custom_metadata_map

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.recorded is not None:
            self.recorded.append(x)
        if self.engine == "lwai":
            return self.session.run([x])[0]
        name = self.session.get_inputs()[0].name
        return self.session.run(None, {name: x})[0]


def normalize(image: Image.Image) -> np.ndarray:
    """HWC uint8 RGB -> NCHW float32 in [-1, 1], as PP-OCR was trained."""
    x = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return ((x - 0.5) / 0.5).transpose(2, 0, 1)[None].copy()


def detect(det: Engine, image: Image.Image) -> list[tuple[int, int, int, int]]:
    """Text line boxes (left, top, right, bottom) in image pixels, top to bottom."""
    width, height = image.size
    # The detector downsamples by 32: sizes must be multiples of it.
    det_w, det_h = max(32, round(width / 32) * 32), max(32, round(height / 32) * 32)
    prob = det(normalize(image.resize((det_w, det_h), Image.BILINEAR)))[0, 0]
    mask = prob > DET_THRESHOLD
    boxes = []
    rows = np.flatnonzero(mask.any(axis=1))
    # Bands of consecutive text rows are lines; within a line, runs of text columns separated
    # by wide gaps are separate boxes.
    for band in np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1) if rows.size else []:
        top, bottom = band[0], band[-1] + 1
        cols = np.flatnonzero(mask[top:bottom].any(axis=0))
        gap = max(2, bottom - top)
        for run in np.split(cols, np.flatnonzero(np.diff(cols) > gap) + 1):
            left, right = run[0], run[-1] + 1
            w, h = right - left, bottom - top
            d = w * h * UNCLIP_RATIO / (2 * (w + h))
            sx, sy = width / det_w, height / det_h
            boxes.append(
                (
                    max(0, int((left - d) * sx)),
                    max(0, int((top - d) * sy)),
                    min(width, int(np.ceil((right + d) * sx))),
                    min(height, int(np.ceil((bottom + d) * sy))),
                )
            )
    return boxes


def fit_height(image: Image.Image, height: int, min_width: int) -> np.ndarray:
    """Resizes to `height` keeping the aspect ratio and pads right (with 0) to min_width."""
    w = max(1, round(image.width * height / image.height))
    x = normalize(image.resize((w, height), Image.BILINEAR))
    if w < min_width:
        x = np.pad(x, ((0, 0), (0, 0), (0, 0), (0, min_width - w)))
    return x


def upright(cls: Engine, crop: Image.Image) -> Image.Image:
    h, w = CLS_SIZE
    x = fit_height(crop, h, w)[..., :w]
    scores = cls(np.ascontiguousarray(x))[0]
    if scores.argmax() == 1 and scores[1] > CLS_THRESHOLD:
        return crop.rotate(180)
    return crop


def recognize(rec: Engine, alphabet: list[str], crop: Image.Image) -> str:
    """Greedy CTC decoding: best class per step, repeats merged, blanks (class 0) dropped."""
    probs = rec(fit_height(crop, REC_HEIGHT, 320))[0]
    best = probs.argmax(axis=1)
    text, previous = [], 0
    for c in best:
        if c != previous and c != 0:
            text.append(alphabet[c])
        previous = c
    return "".join(text)


class PPOCR:
    def __init__(self, engine: str = "lwai", models: str = MODELS):
        paths = {k: os.path.join(models, f"ppocr_{k}.onnx") for k in ("det", "cls", "rec")}
        missing = [p for p in paths.values() if not os.path.exists(p)]
        if missing:
            raise FileNotFoundError(f"{missing}: run `make real-models` first")
        self.det, self.cls, self.rec = (Engine(paths[k], engine) for k in ("det", "cls", "rec"))
        self.alphabet = ["<blank>"] + self.rec.metadata()["character"].splitlines() + [" "]

    def __call__(self, image: Image.Image) -> list[str]:
        lines = []
        for box in detect(self.det, image):
            crop = upright(self.cls, image.crop(box))
            lines.append(recognize(self.rec, self.alphabet, crop))
        return lines

    def quantize(self, images, backends=None, **options) -> PPOCR:
        """A reader with int8 copies of the three models (lwai.quantize), each calibrated on
        the inputs it gets while this reader reads `images`, run on `backends` (e.g.
        ["onednn", *lwai.available_backends()]; default: lwai's). Ranges: 99.999th percentiles
        (min-max ranges let a few outliers coarsen the recognizer's steps); `options` go to
        lwai.quantize."""
        options = {"method": "percentile", "progress": False, **options}
        import lwai

        engines = (self.det, self.cls, self.rec)
        for engine in engines:
            engine.recorded = []
        try:
            for image in images:
                self(image)
            int8 = copy.copy(self)
            int8.det, int8.cls, int8.rec = (
                Engine("", "lwai", lwai.quantize(e.model, e.recorded, **options), backends)
                for e in engines
            )
        finally:
            for engine in engines:
                engine.recorded = None
        return int8


def sample_lines() -> list[Image.Image]:
    """Calibration images: pangram lines in the DejaVu faces (they ship with matplotlib, else
    Pillow's built-in font) at several sizes."""
    text = [
        "The quick brown fox jumps over the lazy dog",
        "Invoice 4815 total 162.42 EUR due 30 days",
        "lwai runs neural networks on every CPU",
    ]
    faces = [None]
    try:
        import matplotlib

        fonts = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf")
        faces += [
            os.path.join(fonts, f"DejaVu{face}.ttf") for face in ("Sans", "Serif", "SansMono")
        ]
    except ImportError:
        pass
    return [render(t, size, face) for t in text for size in (24, 40) for face in faces]


def render(text: str, size: int = 32, font_path: str | None = None) -> Image.Image:
    """Black text on white, with a margin, in a TrueType font file (default: Pillow's
    built-in font)."""
    if font_path is None:
        font = ImageFont.load_default(size=size)
    else:
        font = ImageFont.truetype(font_path, size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("RGB", (right - left + 2 * size, bottom - top + 2 * size), "white")
    ImageDraw.Draw(image).text((size - left, size - top), text, font=font, fill="black")
    return image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", help="image file (default: render sample text)")
    parser.add_argument("--engine", choices=("lwai", "onnxruntime"), default="lwai")
    parser.add_argument("--text", default="lwai reads 2026 text", help="text to render")
    parser.add_argument(
        "--int8", action="store_true", help="lwai int8 models, calibrated on rendered lines"
    )
    parser.add_argument(
        "--backends",
        metavar="A,B",
        help="lwai int8 backends in priority order, e.g. onednn,xnnpack,int8,eigen,reference",
    )
    args = parser.parse_args()
    image = Image.open(args.image) if args.image else render(args.text)
    reader = PPOCR("lwai" if args.int8 else args.engine)
    if args.int8:
        backends = args.backends.split(",") if args.backends else None
        reader = reader.quantize(sample_lines(), backends=backends)
    for line in reader(image):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
