"""Exports architectures people deploy, built offline by their own libraries with random
weights (fixed seeds), to ONNX with torch's TorchScript exporter (dynamo=False, as ultralytics
and most published ONNX files use), into .cache/models/. Idempotent; `make arch-models`.

  yolov8n               ultralytics DetectionModel("yolov8n.yaml"), fused and in export mode as
                        ultralytics' own ONNX export leaves it; images [1,3,H,W] (H, W dynamic,
                        multiples of 32; benchmarked at 640x640) -> output0 [1,84,anchors]
  bert_base             transformers BertModel, BERT-base sizes (768 hidden, 12 layers, 12
                        heads); input_ids, attention_mask, token_type_ids [1,S] int64 (S dynamic,
                        benchmarked at 128) -> last_hidden_state, pooler_output
  minilm_l6             the same at all-MiniLM-L6-v2 sizes (384 hidden, 6 layers, 12 heads)
  vit_tiny              transformers ViTForImageClassification, ViT-Ti/16 (192 hidden, 12
                        layers, 3 heads), pixel_values [1,3,224,224] -> logits [1,1000]
  whisper_tiny_encoder  transformers WhisperModel's encoder at whisper-tiny sizes (384, 4
                        layers, 6 heads), input_features [1,80,3000] -> [1,1500,384]
  hf_mobilenet_v2       transformers MobileNetV2Model (tf_padding: Pad before strided convs),
                        pixel_values [1,3,H,W] (benchmarked at 224) -> [1,1280,H/32,W/32]
  segformer_b0          transformers SegformerForSemanticSegmentation, B0 sizes, 19 classes,
                        pixel_values [1,3,H,W] (benchmarked at 512) -> logits [1,19,H/4,W/4]
  levit_128s            transformers LevitModel, LeViT-128S, [1,3,224,224] -> [1,16,384]
  poolformer_s12        transformers PoolFormerModel, S12, [1,3,H,W] (224) -> [1,512,H/32,W/32]
  wav2vec2_base         transformers Wav2Vec2Model, base sizes with 4 of its 12 transformer
                        layers, input_values [1,samples] (16000) -> [1,frames,768]

The convolutional Hugging Face models get He-normal weights (their default init lets the
signal vanish over depth; the parity tests need one).

Needs torch, ultralytics and transformers (scripts/install_model_deps.sh); downloads nothing:
ultralytics and Hugging Face are put offline before they are imported. Each export is checked
against the PyTorch model with ONNX Runtime.

    python3 scripts/export_arch_models.py [--dest .cache/models] [--force] [name ...]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]
OPSET = 18  # ultralytics' choice for torch >= 2.4
SEED = 0

# Input shapes the benchmark runs (the dynamic dims of yolov8n and the BERTs at their usual
# value); token ids, masks and types are int64, the rest float32.
TOKENS = {"input_ids": (1, 128), "attention_mask": (1, 128), "token_type_ids": (1, 128)}
BENCH_INPUTS = {
    "yolov8n": {"images": (1, 3, 640, 640)},
    "bert_base": TOKENS,
    "minilm_l6": TOKENS,
    "vit_tiny": {"pixel_values": (1, 3, 224, 224)},
    "whisper_tiny_encoder": {"input_features": (1, 80, 3000)},
    "hf_mobilenet_v2": {"pixel_values": (1, 3, 224, 224)},
    "segformer_b0": {"pixel_values": (1, 3, 512, 512)},
    "levit_128s": {"pixel_values": (1, 3, 224, 224)},
    "poolformer_s12": {"pixel_values": (1, 3, 224, 224)},
    "wav2vec2_base": {"input_values": (1, 16000)},
}
NAMES = (
    "yolov8n",
    "bert_base",
    "minilm_l6",
    "vit_tiny",
    "whisper_tiny_encoder",
    "hf_mobilenet_v2",
    "segformer_b0",
    "levit_128s",
    "poolformer_s12",
    "wav2vec2_base",
)
VOCAB_SIZE = 30522  # BERT's WordPiece vocabulary


def _offline() -> None:
    """No network: ultralytics skips its online checks, settings live under .cache, and
    Hugging Face libraries read no hub. torchvision is hidden from imports: PyPI's build links
    CUDA torch and fails to load beside the CPU torch 2.13.0 wheel ("operator torchvision::nms
    does not exist"), which breaks transformers' imports; ultralytics only reads its version,
    and none of these models or their export use a torchvision op."""
    sys.modules["torchvision"] = None  # type: ignore[assignment]  # import -> ImportError
    config_dir = ROOT / ".cache" / "ultralytics"
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("YOLO_CONFIG_DIR", str(config_dir))
    os.environ.update(
        YOLO_OFFLINE="1",
        YOLO_VERBOSE="False",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
    )


def example_inputs(name: str, shapes: dict | None = None, seed: int = SEED) -> dict:
    """Inputs for `name` (numpy, keyed by ONNX input name): standard normal floats, token ids
    in BERT's vocabulary, an attention mask with the last quarter padded, token type 0 then 1.
    `shapes` overrides BENCH_INPUTS's shapes per input name."""
    import numpy as np

    rng = np.random.default_rng(seed)
    feed = {}
    for input_name, shape in BENCH_INPUTS[name].items():
        shape = tuple((shapes or {}).get(input_name, shape))
        if input_name == "input_ids":
            feed[input_name] = rng.integers(0, VOCAB_SIZE, shape, dtype=np.int64)
        elif input_name == "attention_mask":
            mask = np.ones(shape, np.int64)
            mask[..., shape[-1] - shape[-1] // 4 :] = 0
            feed[input_name] = mask
        elif input_name == "token_type_ids":
            types = np.zeros(shape, np.int64)
            types[..., shape[-1] // 2 :] = 1
            feed[input_name] = types
        else:
            feed[input_name] = rng.standard_normal(shape, dtype=np.float32)
    return feed


# -- builders: (module, input names, output names, dynamic axes) ------------------------------


def _yolov8n():
    import torch
    from ultralytics.nn.modules import C2f, Detect
    from ultralytics.nn.tasks import DetectionModel

    model = DetectionModel("yolov8n.yaml", nc=80, verbose=False)
    # The steps of ultralytics' Exporter for ONNX: eval, fuse Conv+BN, the Detect head in
    # export mode with anchors computed from the input shape, C2f with split instead of chunk.
    for p in model.parameters():
        p.requires_grad = False
    model = model.eval().float().fuse(verbose=False)
    for m in model.modules():
        if isinstance(m, Detect):
            m.dynamic, m.export, m.format, m.shape = True, True, "onnx", None
        elif isinstance(m, C2f):
            m.forward = m.forward_split

    class Yolo(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, images):
            y = self.model(images)
            return y[0] if isinstance(y, list | tuple) else y

    dynamic = {"images": {2: "height", 3: "width"}, "output0": {2: "anchors"}}
    return Yolo(), ["images"], ["output0"], dynamic


def _bert(hidden: int, layers: int, heads: int):
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden,
        max_position_embeddings=512,
    )
    config._attn_implementation = "eager"  # MatMul/Softmax attention, as most BERT ONNX files
    bert = BertModel(config).eval()

    class Bert(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                return_dict=True,
            )
            return out.last_hidden_state, out.pooler_output

    inputs = ["input_ids", "attention_mask", "token_type_ids"]
    dynamic = {n: {1: "sequence"} for n in inputs} | {"last_hidden_state": {1: "sequence"}}
    return Bert(), inputs, ["last_hidden_state", "pooler_output"], dynamic


def _vit_tiny():
    import torch
    from transformers import ViTConfig, ViTForImageClassification

    config = ViTConfig(
        hidden_size=192,
        num_hidden_layers=12,
        num_attention_heads=3,
        intermediate_size=768,
        image_size=224,
        patch_size=16,
        num_labels=1000,
    )
    config._attn_implementation = "eager"
    vit = ViTForImageClassification(config).eval()

    class Vit(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.vit = vit

        def forward(self, pixel_values):
            return self.vit(pixel_values=pixel_values, return_dict=True).logits

    return Vit(), ["pixel_values"], ["logits"], None


def _whisper_tiny_encoder():
    import torch
    from transformers import WhisperConfig, WhisperModel

    config = WhisperConfig(
        vocab_size=51865,
        num_mel_bins=80,
        d_model=384,
        encoder_layers=4,
        encoder_attention_heads=6,
        encoder_ffn_dim=1536,
        decoder_layers=4,
        decoder_attention_heads=6,
        decoder_ffn_dim=1536,
        max_source_positions=1500,
    )
    config._attn_implementation = "eager"
    encoder = WhisperModel(config).get_encoder().eval()

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_features):
            return self.encoder(input_features=input_features, return_dict=True).last_hidden_state

    return Encoder(), ["input_features"], ["last_hidden_state"], None


def _keep_signal(module, gain: float = 2.0) -> None:
    """He-normal convolution and linear weights, zero biases: Hugging Face's default init
    (normal, std 0.02) lets activations die out over deep CNNs, and a parity test needs a real
    signal at the output."""
    import torch

    for m in module.modules():
        if isinstance(m, torch.nn.Conv1d | torch.nn.Conv2d | torch.nn.Linear):
            fan_in = m.weight[0].numel()
            torch.nn.init.normal_(m.weight, 0.0, (gain / fan_in) ** 0.5)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)


def _hf_vision(model_name: str, config_name: str, dynamic_hw: bool, gain: float = 2.0, **config):
    """A transformers vision backbone: pixel_values [1, 3, H, W] -> its first output."""
    import torch
    import transformers

    cfg = getattr(transformers, config_name)(**config)
    backbone = getattr(transformers, model_name)(cfg).eval()
    _keep_signal(backbone, gain)

    class Backbone(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone

        def forward(self, pixel_values):
            return self.backbone(pixel_values=pixel_values, return_dict=False)[0]

    dynamic = {"pixel_values": {2: "height", 3: "width"}, "output": {2: "h", 3: "w"}}
    return Backbone(), ["pixel_values"], ["output"], dynamic if dynamic_hw else None


def _wav2vec2_base():
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    # wav2vec2-base's convolutional feature encoder and sizes, 4 of its 12 transformer layers.
    model = Wav2Vec2Model(Wav2Vec2Config(num_hidden_layers=4)).eval()

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_values):
            return self.model(input_values=input_values, return_dict=False)[0]

    dynamic = {"input_values": {1: "samples"}, "last_hidden_state": {1: "frames"}}
    return Encoder(), ["input_values"], ["last_hidden_state"], dynamic


BUILDERS = {
    "yolov8n": _yolov8n,
    "bert_base": lambda: _bert(768, 12, 12),
    "minilm_l6": lambda: _bert(384, 6, 12),
    "vit_tiny": _vit_tiny,
    "whisper_tiny_encoder": _whisper_tiny_encoder,
    # Hugging Face MobileNetV2 (tf_padding: a Pad before each strided convolution).
    "hf_mobilenet_v2": lambda: _hf_vision(
        "MobileNetV2Model", "MobileNetV2Config", True, image_size=224
    ),
    # SegFormer-B0: attention with reduced keys, an all-MLP decoder upsampling four scales.
    "segformer_b0": lambda: _hf_vision(
        "SegformerForSemanticSegmentation", "SegformerConfig", True, num_labels=19
    ),
    # LeViT-128S: convolution stem, attention with biases, BatchNorm on linear layers.
    # (gain 1: with He-normal weights its attention saturates and ONNX Runtime's float
    # rounding differs from PyTorch's by a tenth of the range)
    "levit_128s": lambda: _hf_vision("LevitModel", "LevitConfig", False, gain=1.0),
    # PoolFormer-S12: pooling token mixers, GroupNorm(1) as InstanceNormalization.
    "poolformer_s12": lambda: _hf_vision("PoolFormerModel", "PoolFormerConfig", True),
    "wav2vec2_base": _wav2vec2_base,
}


def export(name: str, path: pathlib.Path) -> dict:
    """Builds `name` with seeded weights, exports it to `path` and checks the file with ONNX
    Runtime against PyTorch on the benchmark inputs; returns timings and the difference."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch

    # dynamo=False is deliberate (see the docstring); the warning says it is deprecated.
    warnings.filterwarnings("ignore", message="You are using the legacy TorchScript-based")
    torch.manual_seed(SEED)
    started = time.perf_counter()
    module, input_names, output_names, dynamic = BUILDERS[name]()
    built = time.perf_counter()
    feed = example_inputs(name)
    args = tuple(torch.from_numpy(feed[n]) for n in input_names)
    with torch.no_grad():
        expected = module(*args)
    expected = [t.numpy() for t in (expected if isinstance(expected, tuple) else (expected,))]
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written next to the destination and renamed: an interrupted export leaves no partial file.
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        tmp_path = pathlib.Path(tmp) / path.name
        with torch.no_grad():
            torch.onnx.export(
                module,
                args,
                str(tmp_path),
                input_names=input_names,
                output_names=output_names,
                dynamic_axes=dynamic,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        model = onnx.load(str(tmp_path))
        onnx.checker.check_model(model)
        # One file (no external data): every model here is below 2 GB.
        onnx.save(model, str(tmp_path))
        exported = time.perf_counter()
        session = ort.InferenceSession(str(tmp_path), providers=["CPUExecutionProvider"])
        got = session.run(None, feed)
        diffs = []
        for g, e in zip(got, expected, strict=True):
            value_range = float(e.max() - e.min()) or 1.0
            diffs.append(float(np.abs(g.astype(np.float64) - e).max()) / value_range)
        if max(diffs) > 1e-3:
            raise RuntimeError(f"{name}: ONNX Runtime differs from PyTorch by {max(diffs):.2g}")
        os.replace(tmp_path, path)
    return {
        "build_s": built - started,
        "export_s": exported - built,
        "nodes": len(model.graph.node),
        "params_m": sum(int(np.prod(t.dims)) for t in model.graph.initializer) / 1e6,
        "ort_vs_torch": max(diffs),
    }


def ensure(name: str, dest: pathlib.Path | None = None, force: bool = False) -> pathlib.Path:
    """The path of `name`'s ONNX file, exported first if missing (or with force)."""
    path = (dest or ROOT / ".cache" / "models") / f"{name}.onnx"
    if force or not path.exists():
        _offline()
        info = export(name, path)
        print(
            f"exported {path.name}: {info['nodes']} nodes, {info['params_m']:.1f} M parameters, "
            f"build {info['build_s']:.1f} s, export {info['export_s']:.1f} s, "
            f"max |ORT - torch| / range {info['ort_vs_torch']:.1e}",
            flush=True,
        )
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(NAMES), help=", ".join(NAMES))
    parser.add_argument("--dest", type=pathlib.Path, default=ROOT / ".cache" / "models")
    parser.add_argument("--force", action="store_true", help="export again even if present")
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in BUILDERS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {', '.join(NAMES)}")
    started = time.perf_counter()
    for name in args.names:
        ensure(name, args.dest, args.force)
    seconds = time.perf_counter() - started
    print(f"export_arch_models: {len(args.names)} model(s) present ({seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
