"""lwai: a lightweight neural-network inference framework.

import lwai
model = lwai.convert("model.onnx")      # ONNX -> lwai.Model (optimized)
model.save("model.lwai")
session = lwai.Session("model.lwai", threads=2)
probabilities, = session.run({"input": x})
"""

from lwai._lwai import (
    InternalError,
    InvalidArgumentError,
    InvalidModelError,
    LwaiError,
    LwaiIOError,
    ModelNotFoundError,
    OutOfMemoryError,
    ShapeMismatchError,
    UnsupportedOperatorError,
    supported_ops,
)
from lwai.model import Model, TensorInfo, load
from lwai.onnx_import import convert
from lwai.session import Session

__version__ = "0.1.0"

__all__ = [
    "InternalError",
    "InvalidArgumentError",
    "InvalidModelError",
    "LwaiError",
    "LwaiIOError",
    "Model",
    "ModelNotFoundError",
    "OutOfMemoryError",
    "Session",
    "ShapeMismatchError",
    "TensorInfo",
    "UnsupportedOperatorError",
    "__version__",
    "convert",
    "load",
    "supported_ops",
]
