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

MIN_OPSET = 1
PRODUCER = "lwai-onnx-import 0.1.0"

# Operators that only move, select or reinterpret elements (or change dtype): they run on
# float16/bfloat16 directly. All others compute on such inputs in float32.
_ANY_DTYPE_OPS = {
    "Cast",
    "CastLike",
    "Compress",
    "Concat",
    "DepthToSpace",
    "Dropout",
    "Expand",
    "Flatten",
    "Gather",
    "GatherElements",
    "GatherND",
    "Identity",
    "If",
    "Loop",
    "Pad",
    "Reshape",
    "ReverseSequence",
    "Scan",
    "Scatter",
    "ScatterElements",
    "ScatterND",
    "Shape",
    "Size",
    "Slice",
    "SpaceToDepth",
    "Split",
    "Squeeze",
    "Tile",
    "Transpose",
    "Trilu",
    "Unsqueeze",
}
# ONNX operators that become something else than the lwai operator of the same name.
_IMPORTER_HANDLED = {"Constant", "Upsample", "Scatter"}
# Attributes that later opsets turned into inputs: op -> (first opset with inputs, names).
_ATTRIBUTES_TO_INPUTS = {
    "Clip": (11, ("min", "max")),
    "Squeeze": (13, ("axes",)),
    "Unsqueeze": (13, ("axes",)),
    "Pad": (11, ("pads", "value")),
    "Reshape": (5, ("shape",)),
    "Slice": (10, ("starts", "ends", "axes")),
    "Split": (13, ("split",)),
    "ReduceSum": (13, ("axes",)),
    "ReduceMean": (18, ("axes",)),
    "ReduceMax": (18, ("axes",)),
    "ReduceMin": (18, ("axes",)),
    "ReduceProd": (18, ("axes",)),
    "ReduceL1": (18, ("axes",)),
    "ReduceL2": (18, ("axes",)),
    "ReduceLogSum": (18, ("axes",)),
    "ReduceLogSumExp": (18, ("axes",)),
    "ReduceSumSquare": (18, ("axes",)),
    "TopK": (10, ("k",)),
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
    if attr.type == kind.STRINGS and attr.name == "activations":  # RNN/GRU/LSTM: "A,B,..."
        return ",".join(v.decode("utf-8") for v in attr.strings)
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
    _find_unsupported_in(onnx, model.graph, opset, supported, "", problems)
    return problems


def _find_unsupported_in(onnx, graph, opset, supported, prefix, problems) -> None:
    for index, node in enumerate(graph.node):
        where = f"{prefix}node '{node.name or f'#{index}'}' ({node.op_type}, opset {opset}"
        if node.domain not in ("", "ai.onnx"):
            problems.append(f"{where}, domain '{node.domain}'): custom domains are not supported")
            continue
        if node.op_type not in supported:
            problems.append(f"{where}): operator not supported")
            continue
        if node.op_type == "Scan" and opset < 9:
            problems.append(f"{where}): Scan before opset 9 (batched form) is not supported")
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                inner = f"{where.split(' (')[0]} / {attr.name}: "
                _find_unsupported_in(onnx, attr.g, opset, supported, inner, problems)
            if attr.type == onnx.AttributeProto.GRAPHS:
                problems.append(f"{where}): subgraph list attribute '{attr.name}' is not supported")
            if attr.type in (onnx.AttributeProto.STRINGS, onnx.AttributeProto.TENSORS) and not (
                attr.name == "activations" and node.op_type in ("RNN", "GRU", "LSTM")
            ):
                problems.append(f"{where}): attribute '{attr.name}' of this type is not supported")
        if node.op_type in ("Add", "Sub", "Mul", "Div") and any(
            a.name == "axis" for a in node.attribute
        ):
            problems.append(f"{where}): legacy broadcast with 'axis' is not supported")


class _Converter:
    def __init__(self, model):
        self.onnx = _onnx()
        self.model = model
        self.opset = _opset_of(model)
        self.builder = _lwai.GraphBuilder()
        self.tensors: dict[str, int] = {}
        self.counter = 0
        self.types = _inferred_element_types(self.onnx, model)

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
            self.tensors[name] = self.builder.add_tensor(name, self.types.get(name, 0), None, None)
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
        if op == "Scatter":  # deprecated (opset 9-10), the same as ScatterElements
            op = "ScatterElements"
        if op in ("If", "Loop", "Scan"):
            inputs += self.convert_subgraphs(node, attrs)
        if op == "Constant":
            self.convert_constant(name, attrs, outputs[0])
            return
        first_with_inputs, moved = _ATTRIBUTES_TO_INPUTS.get(op, (0, ()))
        if self.opset < first_with_inputs:
            inputs = self.attributes_to_inputs(name, op, attrs, inputs, moved)
        if op in ("Softmax", "LogSoftmax", "Hardmax") and self.opset < 13:
            self.legacy_softmax(name, attrs.get("axis", 1), inputs[0], outputs[0], op)
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
        if op == "DFT" and self.opset < 20:  # attribute axis (default 1) became input 2
            axis = self.fresh_name(f"{name}/axis")
            self.constant(axis, np.array(attrs.pop("axis", 1), dtype=np.int64))
            inputs = (inputs + [""])[:2] + [axis]
        if op == "ConstantOfShape" and "value" in attrs:
            # The 1-element value tensor becomes "dtype" plus "value" (float) or "value_int".
            value = np.asarray(attrs.pop("value")).reshape(-1)
            attrs["dtype"] = int(self.onnx.helper.np_dtype_to_tensor_dtype(value.dtype))
            if value.dtype.kind in "biu":
                attrs["value_int"] = int(value[0])
            else:
                attrs["value"] = float(value[0])
        if op == "Upsample" or (op == "Resize" and self.opset < 11):
            # Upsample (scales attribute before opset 9) and Resize-10: asymmetric coordinates,
            # nearest rounds down.
            if "scales" in attrs:
                scales = np.array(attrs.pop("scales"), dtype=np.float32)
                inputs = [inputs[0], self.fresh_name(f"{name}/scales")]
                self.constant(inputs[1], scales)
            op, inputs = "Resize", [inputs[0], "", inputs[1]]
            mode = attrs.get("mode", "nearest")
            attrs["mode"] = "linear" if mode == "bilinear" else mode
            attrs["coordinate_transformation_mode"] = "asymmetric"
            attrs["nearest_mode"] = "floor"
        self.float_node(name, op, inputs, outputs, attrs)

    def convert_subgraphs(self, node, attrs: dict) -> list[str]:
        """Converts the subgraph attributes of `node` in place in `attrs`; returns the outer
        values they read, which become extra inputs of the node (and of each subgraph)."""
        graphs = {a.name: a.g for a in node.attribute if a.type == self.onnx.AttributeProto.GRAPH}
        captured: list[str] = []
        for graph in graphs.values():
            captured += [x for x in _outer_names(graph) if x not in captured]
        for attr_name, graph in graphs.items():
            attrs[attr_name] = self.convert_subgraph(graph, captured)
        attrs["captured_inputs"] = len(captured)
        return captured

    def convert_subgraph(self, graph, captured: list[str]):
        sub = _Converter.__new__(_Converter)
        sub.onnx, sub.model, sub.opset, sub.types = self.onnx, self.model, self.opset, self.types
        sub.builder = _lwai.GraphBuilder()
        sub.tensors = {}
        sub.counter = self.counter
        numpy_helper = self.onnx.numpy_helper
        for init in graph.initializer:
            sub.constant(init.name, numpy_helper.to_array(init))
        # Shapes of subgraph inputs are known only when it runs.
        inputs = [
            sub.builder.add_tensor(i.name, i.type.tensor_type.elem_type, None, None)
            for i in graph.input
        ]
        for i, x in zip(graph.input, inputs, strict=True):
            sub.tensors[i.name] = x
        for x in captured:
            sub.tensors[x] = sub.builder.add_tensor(x, self.types.get(x, 0), None, None)
        inputs += [sub.tensors[x] for x in captured]
        for node_index, node in enumerate(graph.node):
            sub.convert_node(node, node.name or f"{node.op_type}_{node_index}")
        outputs = [sub.tensor(o.name) for o in graph.output]
        self.counter = sub.counter
        return sub.builder.finish_subgraph(inputs, outputs)

    def float_node(self, name: str, op: str, inputs: list[str], outputs: list[str], attrs: dict):
        """Adds the node; float16/bfloat16 inputs and outputs of an operator that computes on
        values go through float32 (Casts around the node), as lwai has no half-precision math."""
        if op in _ANY_DTYPE_OPS:
            self.node(name, op, inputs, outputs, attrs)
            return
        half = (self.onnx.TensorProto.FLOAT16, self.onnx.TensorProto.BFLOAT16)
        float32 = self.onnx.TensorProto.FLOAT
        wide_inputs = []
        for i, x in enumerate(inputs):
            if x and self.types.get(x) in half:
                wide = self.fresh_name(f"{x}/float32")
                self.types[wide] = float32
                self.node(f"{name}/cast_in{i}", "Cast", [x], [wide], {"to": float32})
                x = wide
            wide_inputs.append(x)
        wide_outputs, narrow = [], []
        for y in outputs:
            if y and self.types.get(y) in half:
                wide = self.fresh_name(f"{y}/float32")
                self.types[wide] = float32
                narrow.append((wide, y))
                y = wide
            wide_outputs.append(y)
        self.node(name, op, wide_inputs, wide_outputs, attrs)
        for i, (wide, y) in enumerate(narrow):
            self.node(f"{name}/cast_out{i}", "Cast", [wide], [y], {"to": self.types[y]})

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

    def legacy_softmax(self, name: str, axis: int, x: str, y: str, op: str = "Softmax"):
        """Opset < 13 Softmax (LogSoftmax, Hardmax) coerces the input to 2-D at `axis`: Flatten,
        the operator on the last axis, Reshape."""
        shape = self.fresh_name(f"{name}/shape")
        flat = self.fresh_name(f"{name}/flat")
        soft = self.fresh_name(f"{name}/softmax")
        self.node(f"{name}/Shape", "Shape", [x], [shape], {})
        self.node(f"{name}/Flatten", "Flatten", [x], [flat], {"axis": axis})
        self.node(name, op, [flat], [soft], {"axis": -1})
        self.node(f"{name}/Reshape", "Reshape", [soft, shape], [y], {})


def _outer_names(graph) -> list[str]:
    """Names a subgraph reads from enclosing graphs, in first-use order."""
    defined = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    defined |= {o for node in graph.node for o in node.output}
    used: list[str] = []
    for node in graph.node:
        names = list(node.input)
        for attr in node.attribute:
            if attr.HasField("g"):
                names += _outer_names(attr.g)
        used += [x for x in names if x and x not in defined and x not in used]
    used += [o.name for o in graph.output if o.name not in defined and o.name not in used]
    return used


def _inferred_element_types(onnx, model) -> dict[str, int]:
    """Element type of every named value ONNX shape inference can type (empty on failure:
    lwai's own inference then types what it can)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - inference is a best effort
        inferred = model
    types = {}

    def visit(graph):
        for value in list(graph.input) + list(graph.value_info) + list(graph.output):
            tensor_type = value.type.tensor_type
            if value.type.WhichOneof("value") == "tensor_type" and tensor_type.elem_type:
                types[value.name] = tensor_type.elem_type
        for init in graph.initializer:
            types[init.name] = init.data_type
        for node in graph.node:
            for attr in node.attribute:
                if attr.HasField("g"):
                    visit(attr.g)

    visit(inferred.graph)
    return types


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
