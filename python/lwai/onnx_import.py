"""ONNX -> lwai conversion.

Operators are mapped one to one onto lwai operators of the same name; older opset forms are
normalized here to the newest semantics (attributes that became inputs, Softmax's 2-D
coercion before opset 13), so kernels implement one semantics per operator. Every
unsupported construct in the model is reported at once, before any conversion work.
"""

from __future__ import annotations

import os

import numpy as np

from lwai import _lwai
from lwai.model import Model

MIN_OPSET = 7
PRODUCER = "lwai-onnx-import 0.1.0"

# ONNX operators that become something else than the lwai operator of the same name.
_IMPORTER_HANDLED = {"Constant"}
# Attributes that later opsets turned into inputs: op -> (first opset with inputs, names).
_ATTRIBUTES_TO_INPUTS = {
    "Clip": (11, ("min", "max")),
    "Squeeze": (13, ("axes",)),
    "Unsqueeze": (13, ("axes",)),
    "Pad": (11, ("pads", "value")),
    "Reshape": (5, ("shape",)),
}


def _onnx():
    try:
        import onnx
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("lwai.convert needs the 'onnx' package: pip install onnx") from e
    return onnx


def _opset_of(model) -> int:
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx"):
            return opset.version
    return 1


def _attribute_value(onnx, attr):
    kind = onnx.AttributeProto
    if attr.type == kind.INT:
        return attr.i
    if attr.type == kind.FLOAT:
        return attr.f
    if attr.type == kind.STRING:
        return attr.s.decode("utf-8")
    if attr.type == kind.INTS:
        return [int(v) for v in attr.ints]
    if attr.type == kind.FLOATS:
        return [float(v) for v in attr.floats]
    if attr.type == kind.TENSOR:
        return onnx.numpy_helper.to_array(attr.t)
    return None


def find_unsupported(model) -> list[str]:
    """Every node lwai cannot convert, as 'name (op, domain, opset N): reason'."""
    onnx = _onnx()
    opset = _opset_of(model)
    supported = set(_lwai.supported_ops()) | _IMPORTER_HANDLED
    problems = []
    if opset < MIN_OPSET:
        problems.append(f"model opset {opset} is older than the oldest supported ({MIN_OPSET})")
    for index, node in enumerate(model.graph.node):
        where = f"node '{node.name or f'#{index}'}' ({node.op_type}, opset {opset}"
        if node.domain not in ("", "ai.onnx"):
            problems.append(f"{where}, domain '{node.domain}'): custom domains are not supported")
            continue
        if node.op_type not in supported:
            problems.append(f"{where}): operator not supported")
            continue
        for attr in node.attribute:
            if attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                problems.append(f"{where}): subgraph attribute '{attr.name}' is not supported")
            if attr.type in (onnx.AttributeProto.STRINGS, onnx.AttributeProto.TENSORS):
                problems.append(f"{where}): attribute '{attr.name}' of this type is not supported")
        if node.op_type in ("Add", "Sub", "Mul", "Div") and any(
            a.name == "axis" for a in node.attribute
        ):
            problems.append(f"{where}): legacy broadcast with 'axis' is not supported")
    return problems


class _Converter:
    def __init__(self, model):
        self.onnx = _onnx()
        self.model = model
        self.opset = _opset_of(model)
        self.builder = _lwai.GraphBuilder()
        self.tensors: dict[str, int] = {}
        self.counter = 0

    def fresh_name(self, base: str) -> str:
        self.counter += 1
        name = f"{base}__lwai{self.counter}"
        while name in self.tensors:
            self.counter += 1
            name = f"{base}__lwai{self.counter}"
        return name

    def constant(self, name: str, array: np.ndarray) -> int:
        array = np.asarray(array, order="C")  # not ascontiguousarray: it makes scalars 1-D
        if array.dtype == object or array.dtype.kind in "USO":
            raise _lwai.UnsupportedOperatorError(
                f"tensor '{name}': string tensors are not supported"
            )
        dtype = self.onnx.helper.np_dtype_to_tensor_dtype(array.dtype)
        index = self.builder.add_tensor(
            name, dtype, list(array.shape), array.reshape(-1).view(np.uint8)
        )
        self.tensors[name] = index
        return index

    def tensor(self, name: str) -> int:
        """Index of `name`, creating an intermediate tensor (shape inferred later) if new."""
        if name == "":
            return -1
        if name not in self.tensors:
            self.tensors[name] = self.builder.add_tensor(name, 0, None, None)
        return self.tensors[name]

    def value_info(self, info) -> int:
        tensor_type = info.type.tensor_type
        shape = None
        if tensor_type.HasField("shape"):
            shape = []
            for dim in tensor_type.shape.dim:
                if dim.HasField("dim_value"):
                    shape.append(int(dim.dim_value))
                else:
                    shape.append(dim.dim_param or None)
        index = self.builder.add_tensor(info.name, tensor_type.elem_type, shape, None)
        self.tensors[info.name] = index
        return index

    def node(self, name: str, op: str, inputs: list[str], outputs: list[str], attrs: dict):
        self.builder.add_node(
            name, op, [self.tensor(i) for i in inputs], [self.tensor(o) for o in outputs], attrs
        )

    def convert(self, optimize: bool) -> Model:
        graph = self.model.graph
        numpy_helper = self.onnx.numpy_helper
        for init in graph.initializer:
            self.constant(init.name, numpy_helper.to_array(init))
        inputs = [self.value_info(i) for i in graph.input if i.name not in self.tensors]
        # Outputs get their declared dtypes; intermediate dtypes come from shape inference.
        for node_index, node in enumerate(graph.node):
            self.convert_node(node, node.name or f"{node.op_type}_{node_index}")
        outputs = [self.tensor(o.name) for o in graph.output]
        native = self.builder.finish(PRODUCER, "onnx", self.opset, optimize, inputs, outputs)
        return Model(native)

    def convert_node(self, node, name: str):
        attrs = {a.name: _attribute_value(self.onnx, a) for a in node.attribute}
        inputs = list(node.input)
        outputs = list(node.output)
        op = node.op_type
        if op == "Constant":
            self.convert_constant(name, attrs, outputs[0])
            return
        first_with_inputs, moved = _ATTRIBUTES_TO_INPUTS.get(op, (0, ()))
        if self.opset < first_with_inputs:
            inputs = self.attributes_to_inputs(name, op, attrs, inputs, moved)
        if op == "Softmax" and self.opset < 13:
            self.legacy_softmax(name, attrs.get("axis", 1), inputs[0], outputs[0])
            return
        if op == "Concat" and "axis" not in attrs:
            attrs["axis"] = 1
        if op == "Dropout":
            attrs.pop("ratio", None)
            attrs.pop("is_test", None)
        if op == "BatchNormalization":
            for legacy in ("spatial", "consumed_inputs", "is_test", "momentum"):
                attrs.pop(legacy, None)
        if op in ("Gemm", "Add", "Sub", "Mul", "Div"):
            attrs.pop("broadcast", None)
        if op == "Cast" and isinstance(attrs.get("to"), str):
            attrs["to"] = int(getattr(self.onnx.TensorProto, attrs["to"].upper()))
        self.node(name, op, inputs, outputs, attrs)

    def convert_constant(self, name: str, attrs: dict, output: str):
        if "value" in attrs:
            array = attrs["value"]
        elif "value_float" in attrs:
            array = np.array(attrs["value_float"], dtype=np.float32)
        elif "value_floats" in attrs:
            array = np.array(attrs["value_floats"], dtype=np.float32)
        elif "value_int" in attrs:
            array = np.array(attrs["value_int"], dtype=np.int64)
        elif "value_ints" in attrs:
            array = np.array(attrs["value_ints"], dtype=np.int64)
        else:
            raise _lwai.UnsupportedOperatorError(
                f"node '{name}' (Constant): unsupported value attribute {sorted(attrs)}"
            )
        self.constant(output, np.asarray(array))

    def attributes_to_inputs(self, name, op, attrs, inputs, moved) -> list[str]:
        """Rewrites the attribute form of `op` into its input form."""
        inputs = inputs[:1]
        for attr_name in moved:
            if attr_name not in attrs:
                inputs.append("")
                continue
            value = attrs.pop(attr_name)
            is_float = attr_name in ("min", "max", "value")
            array = np.array(value, dtype=np.float32 if is_float else np.int64)
            const_name = self.fresh_name(f"{name}/{attr_name}")
            self.constant(const_name, array)
            inputs.append(const_name)
        if op == "Clip":
            inputs += [""] * (3 - len(inputs))
        while inputs and inputs[-1] == "":
            inputs.pop()
        return inputs

    def legacy_softmax(self, name: str, axis: int, x: str, y: str):
        """Opset < 13 Softmax coerces the input to 2-D at `axis`: Flatten, Softmax, Reshape."""
        shape = self.fresh_name(f"{name}/shape")
        flat = self.fresh_name(f"{name}/flat")
        soft = self.fresh_name(f"{name}/softmax")
        self.node(f"{name}/Shape", "Shape", [x], [shape], {})
        self.node(f"{name}/Flatten", "Flatten", [x], [flat], {"axis": axis})
        self.node(name, "Softmax", [flat], [soft], {"axis": -1})
        self.node(f"{name}/Reshape", "Reshape", [soft, shape], [y], {})


def convert(model, *, optimize: bool = True) -> Model:
    """Converts an ONNX model (a path or an onnx.ModelProto) into a lwai.Model.

    Raises UnsupportedOperatorError listing every unsupported node at once, InvalidModelError
    for malformed graphs, ModelNotFoundError for missing files.
    """
    onnx = _onnx()
    if isinstance(model, str | os.PathLike):
        path = os.fspath(model)
        if not os.path.exists(path):
            raise _lwai.ModelNotFoundError(f"{path}: no such file")
        try:
            model = onnx.load(path)
        except Exception as e:  # onnx raises DecodeError and friends
            raise _lwai.InvalidModelError(f"{path}: not a readable ONNX model: {e}") from e
    if not isinstance(model, onnx.ModelProto):
        raise _lwai.InvalidArgumentError(
            f"convert() takes a path or an onnx.ModelProto, got {type(model).__name__}"
        )
    problems = find_unsupported(model)
    if problems:
        raise _lwai.UnsupportedOperatorError(
            f"{len(problems)} unsupported construct(s) in the model:\n  " + "\n  ".join(problems)
        )
    return _Converter(model).convert(optimize)
