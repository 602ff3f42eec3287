"""Architectures people deploy, exported from their own libraries with random weights by
scripts/export_arch_models.py (`make arch-models`), against onnxruntime at small inputs:
YOLOv8n at 160x160 and the BERTs at sequence 16 (their dims are dynamic), ViT-Ti at 224x224 and
Whisper-tiny's encoder at 80x3000 (fixed), the Hugging Face CNNs at 64-128 pixels, LeViT at 224,
wav2vec2 on a quarter second of audio."""

import subprocess
import sys

import export_arch_models
import numpy as np
import pytest
from conftest import REPO, assert_close_to_range, ort_run

import lwai

MODELS = REPO / ".cache" / "models"


def tokens(sequence: int) -> dict:
    return {n: (1, sequence) for n in ("input_ids", "attention_mask", "token_type_ids")}


SMALL_SHAPES = {
    "yolov8n": {"images": (1, 3, 160, 160)},
    "bert_base": tokens(16),
    "minilm_l6": tokens(16),
    "vit_tiny": None,
    "whisper_tiny_encoder": None,
    "hf_mobilenet_v2": {"pixel_values": (1, 3, 96, 96)},
    "segformer_b0": {"pixel_values": (1, 3, 128, 96)},
    "levit_128s": None,
    "poolformer_s12": {"pixel_values": (1, 3, 64, 64)},
    "wav2vec2_base": {"input_values": (1, 4000)},
}


def model_path(name: str):
    path = MODELS / f"{name}.onnx"
    if not path.exists():
        script = REPO / "scripts" / "export_arch_models.py"
        subprocess.run([sys.executable, str(script), name], check=True)
    return path


@pytest.mark.parametrize("name", export_arch_models.NAMES)
def test_exported_architecture_matches_onnxruntime(name):
    path = model_path(name)
    feed = export_arch_models.example_inputs(name, SMALL_SHAPES[name], seed=1)
    session = lwai.Session(lwai.convert(path))
    got = session.run(feed)
    expected = ort_run(path, feed)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert float(e.max() - e.min()) > 0.1  # a real signal, not a constant
        assert_close_to_range(g, e, 1e-4)


def test_dynamic_sequence_length_reprepares():
    """One session over two sequence lengths (dims that the file leaves dynamic): each run
    matches onnxruntime at its own shape."""
    path = model_path("minilm_l6")
    session = lwai.Session(lwai.convert(path))
    for sequence in (16, 7, 16):
        feed = export_arch_models.example_inputs("minilm_l6", tokens(sequence), seed=sequence)
        got = session.run(feed)
        expected = ort_run(path, feed)
        assert got[0].shape == (1, sequence, 384)
        for g, e in zip(got, expected, strict=True):
            assert_close_to_range(g, e, 1e-4)


def test_yolov8n_anchors_follow_the_image_size():
    """The Detect head computes its anchors from the input shape: 20x20 + 10x10 + 5x5 for
    160x160, 24x16 + 12x8 + 6x4 for 192x128."""
    path = model_path("yolov8n")
    session = lwai.Session(lwai.convert(path))
    for (h, w), anchors in (((160, 160), 525), ((128, 192), 504)):
        feed = export_arch_models.example_inputs("yolov8n", {"images": (1, 3, h, w)})
        (got,) = session.run(feed)
        assert got.shape == (1, 84, anchors)
        (expected,) = ort_run(path, feed)
        assert_close_to_range(got, expected, 1e-4)
        assert np.isfinite(got).all()
