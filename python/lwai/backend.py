"""lwai as an ONNX backend (onnx.backend.base.Backend).

    import lwai.backend
    rep = lwai.backend.prepare(onnx_model)        # converts and creates a Session
    outputs = rep.run([x])                        # numpy arrays, in graph output order

This is the interface ONNX's own test suite drives (`onnx.backend.test.BackendTest`); see
tests/conformance/ and docs/conformance.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lwai import _lwai
from lwai.onnx_import import _onnx, convert
from lwai.session import Session

_onnx()  # a clear ImportError when onnx is missing
import onnx.backend.base as _base  # noqa: E402


class LwaiRep(_base.BackendRep):
    """A prepared model: run(inputs) takes arrays in graph input order (or a name->array
    mapping, or one array) and returns a list of arrays in graph output order."""

    def __init__(self, session: Session):
        self.session = session

    def run(self, inputs, **kwargs) -> list[np.ndarray]:
        return self.session.run(inputs)


class LwaiBackend(_base.Backend):
    """Runs ONNX models on CPU through lwai.convert + lwai.Session."""

    @classmethod
    def prepare(cls, model, device: str = "CPU", threads: int = 1, **kwargs) -> LwaiRep:
        super().prepare(model, device, **kwargs)
        if not cls.supports_device(device):
            raise _lwai.InvalidArgumentError(f"lwai runs on CPU only, not on device {device!r}")
        return LwaiRep(Session(convert(model), threads=threads))

    @classmethod
    def run_model(cls, model, inputs, device: str = "CPU", **kwargs) -> list[np.ndarray]:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(
        cls, node, inputs: Sequence[np.ndarray], device: str = "CPU", outputs_info=None, **kwargs
    ) -> list[np.ndarray]:
        """Runs one NodeProto on `inputs` (arrays in the node's input order)."""
        if not cls.supports_device(device):
            raise _lwai.InvalidArgumentError(f"lwai runs on CPU only, not on device {device!r}")
        onnx = _onnx()
        helper = onnx.helper
        feed = {name: np.asarray(a) for name, a in zip(node.input, inputs, strict=False) if name}
        graph_inputs = []
        for name, a in feed.items():
            try:
                dtype = helper.np_dtype_to_tensor_dtype(a.dtype)
            except (KeyError, TypeError, ValueError):
                raise _lwai.InvalidArgumentError(
                    f"input '{name}' of node '{node.name}' ({node.op_type}): numpy dtype "
                    f"{a.dtype} has no ONNX equivalent"
                ) from None
            graph_inputs.append(helper.make_tensor_value_info(name, dtype, list(a.shape)))
        # Output types are left to inference: the node alone is not a checkable model.
        graph_outputs = [helper.make_empty_tensor_value_info(name) for name in node.output if name]
        graph = helper.make_graph([node], f"{node.op_type}_node", graph_inputs, graph_outputs)
        opset = kwargs.pop("opset_version", onnx.defs.onnx_opset_version())
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        return Session(convert(model), **kwargs).run(feed)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return str(device).upper() == "CPU"


prepare = LwaiBackend.prepare
run_model = LwaiBackend.run_model
run_node = LwaiBackend.run_node
supports_device = LwaiBackend.supports_device
