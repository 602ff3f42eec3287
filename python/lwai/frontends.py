"""lwai.convert: one entry for every source format (ONNX, TFLite, PyTorch)."""

from __future__ import annotations

import os

from lwai import _lwai
from lwai.model import Model

TFLITE_IDENTIFIER = b"TFL3"  # flatbuffer file identifier, bytes 4..8 of a .tflite file


def source_format(path: str) -> str:
    """ "tflite" or "onnx" for a model file: by its extension, else by its first bytes."""
    lower = path.lower()
    if lower.endswith(".tflite"):
        return "tflite"
    if lower.endswith(".onnx"):
        return "onnx"
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return "onnx"  # the ONNX loader reports the missing or unreadable file
    return "tflite" if head[4:8] == TFLITE_IDENTIFIER else "onnx"


def convert(
    model, example_inputs=None, *, optimize: bool = True, progress: bool | None = None, **options
) -> Model:
    """Converts a model from another framework into an lwai.Model (optimized unless
    optimize=False).

    model:
      - a path to an .onnx or .tflite file (other names: by the file's contents), an
        onnx.ModelProto;
      - a PyTorch model (torch.nn.Module, ScriptModule) with
        `example_inputs` (a tensor or a tuple of them), exported through torch.onnx.export in
        memory; `options` go to it: input_names, output_names, dynamic_axes (e.g.
        {"x": {0: "batch"}} for a dynamic batch), opset.

    Raises UnsupportedOperatorError listing every unsupported operator at once (with node names
    or TFLite operator indices), InvalidModelError for malformed models, ModelNotFoundError and
    LwaiIOError for files; MissingDependencyError when the package a format needs (onnx, torch)
    is not installed. Errors name the file and the operator.
    """
    from lwai import onnx_import, torch_import

    if torch_import.is_torch_model(model):
        return torch_import.convert(
            model, example_inputs, optimize=optimize, progress=progress, **options
        )
    if example_inputs is not None or options:
        unexpected = ["example_inputs"] * (example_inputs is not None) + sorted(options)
        raise _lwai.InvalidArgumentError(
            f"{', '.join(unexpected)}: only for PyTorch models, not for {type(model).__name__}"
        )
    if isinstance(model, str | os.PathLike) and source_format(os.fsdecode(model)) == "tflite":
        from lwai import tflite_import

        return tflite_import.convert(os.fsdecode(model), optimize=optimize)
    return onnx_import.convert(model, optimize=optimize, progress=progress)
