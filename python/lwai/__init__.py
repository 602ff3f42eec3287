"""lwai: a lightweight neural-network inference framework.

import lwai
model = lwai.convert("model.onnx")      # ONNX -> lwai.Model (optimized)
model.save("model.lwai")
session = lwai.Session("model.lwai", threads=2)
probabilities, = session.run({"input": x})
int8 = lwai.quantize(model, calibration=images)   # static int8 quantization
print(session.profile({"input": x}).table(top=10))
"""

from lwai import datasets
from lwai._lwai import (
    BackendNotFoundError,
    CancelledError,
    DeadlineExceededError,
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
from lwai._version import __version__
from lwai.compare import Comparison, TensorComparison, compare
from lwai.errors import MissingDependencyError
from lwai.frontends import convert
from lwai.model import Model, TensorInfo, load
from lwai.profile import NodeProfile, OpProfile, Profile
from lwai.quantize import quantize
from lwai.session import (
    NodeAssignment,
    Session,
    available_backends,
    example_plugin_path,
    installed_plugins,
)

__all__ = [
    "__version__",
    "BackendNotFoundError",
    "CancelledError",
    "Comparison",
    "DeadlineExceededError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidModelError",
    "LwaiError",
    "LwaiIOError",
    "MissingDependencyError",
    "Model",
    "ModelNotFoundError",
    "NodeAssignment",
    "NodeProfile",
    "OpProfile",
    "OutOfMemoryError",
    "Profile",
    "Session",
    "ShapeMismatchError",
    "TensorComparison",
    "TensorInfo",
    "UnsupportedOperatorError",
    "__version__",
    "available_backends",
    "compare",
    "datasets",
    "convert",
    "example_plugin_path",
    "installed_plugins",
    "load",
    "quantize",
    "supported_ops",
]
