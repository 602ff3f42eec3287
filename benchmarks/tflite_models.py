"""TFLite versions of the seed networks, for the LiteRT column of benchmarks/compare.py.

The seed ONNX files (seed_models.py) cannot be turned into TFLite offline without an ONNX->TF
converter, so the same architectures are built again with TensorFlow/Keras instead:

    resnet_v2_50           keras.applications.ResNet50V2   (224)
    inception_v3           keras.applications.InceptionV3  (299)
    mobilenet_v1_1.0_224   keras.applications.MobileNet    (224)
    mobilenet_v2_1.0_224   keras.applications.MobileNetV2  (224)
    squeezenet1.0 / 1.1    written here in Keras layers, following seed_models.py

all with weights=None (seeded random init: nothing is downloaded), batch 1, float32, softmax
output, converted with tf.lite.TFLiteConverter (no quantization) and cached outside git in
$LWAI_TFLITE_CACHE or else <repo>/.cache/tflite as <name>.tflite plus <name>.json (MACs,
parameters, input shape, versions, and how the architecture differs from the seed network).

Needs TensorFlow (scripts/install_bench_deps.sh); exits with status 3 and one line on stderr
when it cannot be imported. CLI: python3 benchmarks/tflite_models.py [--out DIR] [names...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import sys
import tempfile
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
NO_TENSORFLOW = 3  # exit status when TensorFlow is missing
BUILDER_VERSION = 2  # bump when a network's Keras build changes: cached files are rebuilt

# name -> (input size, seed, how the Keras build differs from the seed ONNX network)
SPECS = {
    "squeezenet1.0": (224, 2000, "same layers as seed_models.py (ceil-mode pools as padding)"),
    "squeezenet1.1": (224, 2001, "same layers as seed_models.py (ceil-mode pools as padding)"),
    "inception_v3": (
        299,
        2002,
        "keras.applications.InceptionV3: average pools exclude the padding, BN without scale",
    ),
    "mobilenet_v1_1.0_224": (
        224,
        2003,
        "keras.applications.MobileNet: 1000 classes (seed: 1001), dropout before the 1x1 conv",
    ),
    "mobilenet_v2_1.0_224": (224, 2004, "keras.applications.MobileNetV2: same layout"),
    "resnet_v2_50": (
        224,
        2005,
        "keras.applications.ResNet50V2: stride 2 in the last unit of blocks 1-3 (TF-slim "
        "placement; seed: first unit of blocks 2-4), so MACs differ",
    ),
}
NAMES = tuple(SPECS)


def default_cache_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("LWAI_TFLITE_CACHE") or REPO_ROOT / ".cache" / "tflite")


def _squeezenet(keras, version: str, size: int):
    """SqueezeNet 1.0/1.1 as in seed_models.py (torchvision layout), NHWC."""
    layers = keras.layers
    stem_channels, stem_kernel = (96, 7) if version == "squeezenet1.0" else (64, 3)
    pools_after = (2, 6) if version == "squeezenet1.0" else (1, 3)  # fire indices 0..7
    fires = [(16, 64), (16, 64), (32, 128), (32, 128), (48, 192), (48, 192), (64, 256), (64, 256)]

    def conv(x, channels, kernel, name, stride=1, padding="same"):
        return layers.Conv2D(
            channels, kernel, strides=stride, padding=padding, activation="relu", name=name
        )(x)

    def ceil_maxpool(x, name):
        # 3x3/2 ceil-mode max pool: pad bottom/right so the last partial window counts; the
        # input is post-ReLU (>= 0), so zero padding cannot change a maximum.
        size = x.shape[1]
        extra = (-(size - 3)) % 2
        if extra:
            x = layers.ZeroPadding2D(((0, extra), (0, extra)), name=f"{name}_ceil")(x)
        return layers.MaxPooling2D(3, 2, name=name)(x)

    inputs = keras.Input((size, size, 3), batch_size=1, name="input")
    x = conv(inputs, stem_channels, stem_kernel, "conv1", stride=2, padding="valid")
    x = ceil_maxpool(x, "pool1")
    for i, (squeeze, expand) in enumerate(fires):
        s = conv(x, squeeze, 1, f"fire{i + 2}_squeeze1x1")
        e1 = conv(s, expand, 1, f"fire{i + 2}_expand1x1")
        e3 = conv(s, expand, 3, f"fire{i + 2}_expand3x3")
        x = layers.Concatenate(name=f"fire{i + 2}_concat")([e1, e3])
        if i in pools_after:
            x = ceil_maxpool(x, f"pool{i + 2}")
    x = layers.Dropout(0.5, name="drop9")(x)
    x = conv(x, 1000, 1, "conv10")
    x = layers.GlobalAveragePooling2D(name="pool10")(x)
    outputs = layers.Softmax(name="output")(x)
    return keras.Model(inputs, outputs, name=version.replace(".", "_"))


def build_keras(name: str):
    """The Keras model for `name` (random weights from the network's fixed seed)."""
    import keras

    size, seed, _ = SPECS[name]
    keras.utils.set_random_seed(seed)
    apps = keras.applications
    shape = (size, size, 3)
    if name.startswith("squeezenet"):
        return _squeezenet(keras, name, size)
    factory = {
        "inception_v3": apps.InceptionV3,
        "mobilenet_v1_1.0_224": apps.MobileNet,
        "mobilenet_v2_1.0_224": apps.MobileNetV2,
        "resnet_v2_50": apps.ResNet50V2,
    }[name]
    return factory(weights=None, input_shape=shape, classes=1000)


def keras_macs(model) -> int:
    """Multiply-accumulates of Conv2D, DepthwiseConv2D and Dense layers for batch 1."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            kh, kw = layer.kernel_size
            total += math.prod(layer.output.shape[1:]) * kh * kw
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw = layer.kernel_size
            cin = layer.input.shape[-1] // layer.groups
            total += math.prod(layer.output.shape[1:]) * kh * kw * cin
        elif isinstance(layer, keras.layers.Dense):
            total += layer.units * layer.input.shape[-1]
    return total


def convert(model) -> bytes:
    """float32 TFLite flatbuffer (batch 1), weights frozen into constants.

    from_keras_model freezes the weights; a tf.function traced with the model as its trackable
    object would keep them as resource variables (VAR_HANDLE/READ_VARIABLE ops), which XNNPACK
    cannot take as static weights.
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = []  # float32, no quantization
    return converter.convert()


def _write_atomic(path: pathlib.Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _cached(path: pathlib.Path) -> bool:
    meta_path = path.with_suffix(".json")
    if not (path.exists() and meta_path.exists()):
        return False
    try:
        return json.loads(meta_path.read_text()).get("builder_version") == BUILDER_VERSION
    except (OSError, ValueError):
        return False


def ensure(name: str, cache_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """Returns <cache_dir>/<name>.tflite (with <name>.json beside it), building it if missing."""
    if name not in SPECS:
        raise ValueError(f"unknown network {name!r}; expected one of {NAMES}")
    cache_dir = pathlib.Path(cache_dir) if cache_dir else default_cache_dir()
    path = cache_dir / f"{name}.tflite"
    meta_path = path.with_suffix(".json")
    if _cached(path):
        return path
    import keras
    import tensorflow as tf

    start = time.perf_counter()
    size, seed, note = SPECS[name]
    model = build_keras(name)
    flatbuffer = convert(model)
    meta = {
        "name": name,
        "keras_model": model.name,
        "input_shape": [1, size, size, 3],
        "macs": keras_macs(model),
        "params": int(model.count_params()),
        "seed": seed,
        "builder_version": BUILDER_VERSION,
        "difference": note,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "build_seconds": round(time.perf_counter() - start, 1),
    }
    cache_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, flatbuffer)
    _write_atomic(meta_path, (json.dumps(meta, indent=1) + "\n").encode())
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=default_cache_dir(), help="cache dir")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"default: all of {NAMES}")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in SPECS]
    if unknown:
        parser.error(f"unknown network(s) {unknown}; choose from {NAMES}")
    names = args.names or NAMES
    if not all(_cached(args.out / f"{n}.tflite") for n in names):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        try:
            import tensorflow  # noqa: F401
        except ImportError as e:
            print(f"TensorFlow is not installed ({e}); see scripts/install_bench_deps.sh",
                  file=sys.stderr)  # fmt: skip
            return NO_TENSORFLOW
    for name in names:
        path = ensure(name, args.out)
        meta = json.loads(path.with_suffix(".json").read_text())
        print(f"{name:<22}{meta['macs'] / 1e9:>8.3f} GMACs  {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
