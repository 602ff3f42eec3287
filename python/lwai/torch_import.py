"""PyTorch front door: a torch.nn.Module and example inputs in, an lwai.Model out, through
torch.onnx.export in memory (nothing is written to disk)."""

from __future__ import annotations

import io
import sys
import warnings

import numpy as np

from lwai import _lwai
from lwai.errors import require
from lwai.model import Model


def is_torch_model(obj) -> bool:
    """True for a torch.nn.Module (a ScriptModule is one too). Does not import torch (a model
    object exists only if torch is loaded already). ExportedPrograms are not taken: torch sends
    them to its dynamo exporter, which needs onnxscript."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def _as_tuple(torch, example_inputs) -> tuple:
    if example_inputs is None:
        raise _lwai.InvalidArgumentError(
            "converting a PyTorch model needs example inputs: "
            "lwai.convert(module, example_inputs=(x,))"
        )
    if isinstance(example_inputs, torch.Tensor | np.ndarray):
        example_inputs = (example_inputs,)
    if isinstance(example_inputs, list):
        example_inputs = tuple(example_inputs)
    if not isinstance(example_inputs, tuple):
        raise _lwai.InvalidArgumentError(
            "example_inputs must be a tensor, an array, or a tuple of them, got "
            f"{type(example_inputs).__name__}"
        )
    return tuple(torch.from_numpy(x) if isinstance(x, np.ndarray) else x for x in example_inputs)


def export_to_onnx(
    module,
    example_inputs,
    *,
    input_names=None,
    output_names=None,
    dynamic_axes=None,
    opset: int | None = None,
):
    """The module as an onnx.ModelProto, exported by torch.onnx.export (its TorchScript-based
    exporter, which needs no package beyond torch and onnx). Export errors become lwai errors
    naming the module."""
    torch = require("torch", "converting a PyTorch model", "torch")
    onnx = require("onnx", "converting a PyTorch model", "onnx")
    args = _as_tuple(torch, example_inputs)
    what = type(module).__name__
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation and tracer warnings
            torch.onnx.export(
                module,
                args,
                buffer,
                input_names=input_names,
                output_names=output_names,
                dynamic_axes=dynamic_axes,
                opset_version=opset,
                dynamo=False,
            )
    except Exception as e:  # noqa: BLE001 - torch raises many types; one lwai error names it
        message = " ".join(str(e).split())
        if "Unsupported" in type(e).__name__ or "is not supported" in message:
            raise _lwai.UnsupportedOperatorError(
                f"PyTorch model {what}: torch.onnx.export cannot export it: {message}"
            ) from e
        raise _lwai.InvalidModelError(
            f"PyTorch model {what}: torch.onnx.export failed: {type(e).__name__}: {message}"
        ) from e
    model = onnx.load_from_string(buffer.getvalue())
    props = {p.key: p.value for p in model.metadata_props}
    props.setdefault("torch.module", f"{type(module).__module__}.{what}")
    props.setdefault("torch.version", str(torch.__version__))
    onnx.helper.set_model_props(model, props)
    return model


def convert(
    module, example_inputs, *, optimize: bool = True, progress: bool | None = None, **export_options
) -> Model:
    """Converts a PyTorch model (see export_to_onnx for the options) into an lwai.Model."""
    from lwai.onnx_import import convert as convert_onnx

    exported = export_to_onnx(module, example_inputs, **export_options)
    return convert_onnx(exported, optimize=optimize, progress=progress)
