"""lwai.Model: a converted or loaded model, and how to save, load and inspect it."""

from __future__ import annotations

import collections
import os
from typing import NamedTuple

from lwai import _lwai


class TensorInfo(NamedTuple):
    """A graph input or output: dims are ints, or a name/None where dynamic."""

    name: str
    dtype: str
    shape: tuple | None

    @classmethod
    def from_dict(cls, d: dict) -> TensorInfo:
        return cls(d["name"], d["dtype"], d["shape"])


class Model:
    """A model graph with its weights. Immutable; share it between sessions freely."""

    # What lwai.quantize(target=...) measured and chose (a QuantizationReport), else None.
    quantization_report = None

    def __init__(self, native: _lwai.Model):
        self._native = native

    @property
    def inputs(self) -> list[TensorInfo]:
        return [TensorInfo.from_dict(d) for d in self._native.inputs]

    @property
    def outputs(self) -> list[TensorInfo]:
        return [TensorInfo.from_dict(d) for d in self._native.outputs]

    @property
    def nodes(self) -> list[dict]:
        """Nodes in execution order: name, op, inputs, outputs, attributes."""
        return self._native.nodes

    @property
    def parameter_bytes(self) -> int:
        return self._native.parameter_bytes

    @property
    def producer(self) -> str:
        return self._native.producer

    @property
    def source_format(self) -> str:
        return self._native.source_format

    @property
    def source_opset(self) -> int:
        return self._native.source_opset

    @property
    def metadata(self) -> dict[str, str]:
        """Key-value metadata carried from the source model (ONNX metadata_props, and its header
        fields as "onnx.producer_name" and the like); saved in and loaded from .lwai files."""
        return dict(self._native.metadata)

    @property
    def optimized(self) -> bool:
        return self._native.optimized

    def operators(self) -> dict[str, list[str]]:
        """Every operator the model uses (subgraphs included), by name, with the dtypes its
        nodes read and write: what a selective runtime must register (`lwai ops`; CMake's
        LWAI_SELECTED_OPS takes the names, or the file `lwai ops` writes, whose dtypes then also
        limit the element types the kernels are compiled for)."""
        return dict(self._native.operators_used())

    def op_histogram(self) -> dict[str, int]:
        """How many nodes of each operator, most frequent first."""
        return dict(collections.Counter(n["op"] for n in self.nodes).most_common())

    def save(self, path: str | os.PathLike) -> None:
        """Writes the binary .lwai file (or JSON if the name ends in .json)."""
        path = _path(path, "Model.save()")
        if path.endswith(".json"):
            text = self.to_json()
            try:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
            except OSError as e:
                raise _lwai.LwaiIOError(f"{path}: cannot write: {e.strerror or e}") from e
        else:
            self._native.save(path)

    def to_bytes(self) -> bytes:
        return self._native.to_bytes()

    def to_json(self) -> str:
        return self._native.to_json()

    def __repr__(self) -> str:
        return (
            f"lwai.Model({len(self.nodes)} nodes, {self.parameter_bytes} parameter bytes, "
            f"inputs={[i.name for i in self.inputs]}, outputs={[o.name for o in self.outputs]})"
        )


def _path(path, what: str) -> str:
    if not isinstance(path, str | os.PathLike):
        raise _lwai.InvalidArgumentError(
            f"{what} takes a path (str or os.PathLike), got {type(path).__name__}"
        )
    path = os.fspath(path)
    return os.fsdecode(path) if isinstance(path, bytes) else path


def load(source: str | os.PathLike | bytes, *, verify_checksums: bool = True) -> Model:
    """Loads a .lwai file (memory-mapped), a .json model, or a .lwai image in bytes.

    Every weight's CRC-32C is checked against the one the writer stored: a corrupted file
    raises InvalidModelError naming the tensor. `verify_checksums=False` skips that (it reads
    every weight once), e.g. for models whose integrity is checked otherwise."""
    if isinstance(source, bytes | bytearray | memoryview):
        return Model(_lwai.Model.load_bytes(bytes(source), verify_checksums))
    return Model(_lwai.Model.load(_path(source, "lwai.load()"), verify_checksums))


def as_model(source, what: str) -> Model:
    """An lwai.Model from a Model, a .lwai/.json path, an .onnx/.tflite path or an
    onnx.ModelProto (converted); `what` names the caller in the error for anything else."""
    if isinstance(source, Model):
        return source
    if isinstance(source, str | os.PathLike):
        if os.fsdecode(source).lower().endswith((".onnx", ".tflite")):
            from lwai.frontends import convert

            return convert(os.fsdecode(source))
        return load(source)
    if type(source).__name__ == "ModelProto":
        from lwai.onnx_import import convert

        return convert(source)
    raise _lwai.InvalidArgumentError(
        f"{what}: a model must be an lwai.Model, a .lwai/.onnx/.tflite path or an onnx.ModelProto, "
        f"got {type(source).__name__}"
    )
