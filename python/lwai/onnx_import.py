"""ONNX -> lwai conversion.

Operators are mapped one to one onto lwai operators of the same name; older opset forms are
normalized here to the newest semantics (attributes that became inputs, Softmax's 2-D
coercion before opset 13), so kernels implement one semantics per operator. Every
unsupported construct in the model is reported at once, before any conversion work.

Hostile input: the model's structure (names, attribute types, input counts, tensor data sizes)
is checked before conversion, and every failure is an lwai.LwaiError naming the file, node or
tensor. ONNX's own shape inference, which can crash or hang on malformed models, runs in a
helper process (forked once, reused) with a time limit.
"""

from __future__ import annotations

import contextlib
import faulthandler
import math
import os
import pickle
import select
import signal
import threading
import time
import weakref

import numpy as np

from lwai import _lwai
from lwai._version import __version__
from lwai.errors import require
from lwai.model import Model
from lwai.progress import progress as progress_bar

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None

MIN_OPSET = 1
PRODUCER = f"lwai-onnx-import {__version__}"
# Conversions of models above these sizes show progress bars (lwai.progress).
_PROGRESS_NODES = 2000
_PROGRESS_BYTES = 64 << 20

# Operators that only move values: they run on float16/bfloat16 directly, or join the
# float32 island of their input when it has one (no Casts around a Concat between two
# Convs).
_MOVING_OPS = {
    "Compress",
    "Concat",
    "DepthToSpace",
    "Expand",
    "Flatten",
    "Gather",
    "GatherElements",
    "GatherND",
    "Identity",
    "Pad",
    "Reshape",
    "Slice",
    "SpaceToDepth",
    "Split",
    "Squeeze",
    "Tile",
    "Transpose",
    "Unsqueeze",
}
# Operators that run on float16/bfloat16 directly: those, and the ones that select,
# reinterpret or change dtype. All others compute on such inputs in float32.
_ANY_DTYPE_OPS = _MOVING_OPS | {
    "Cast",
    "CastLike",
    "Dropout",
    "If",
    "Loop",
    "ReverseSequence",
    "Scan",
    "Scatter",
    "ScatterElements",
    "ScatterND",
    "Shape",
    "Size",
    "Trilu",
}
# ONNX operators that become something else than the lwai operator of the same name.
_IMPORTER_HANDLED = {"Constant", "Upsample", "Scatter"}
# Operators of ONNX Runtime's com.microsoft domain that lwai runs (its quantization tools write
# them); each is an lwai operator of the same name with that domain's semantics.
_MICROSOFT_OPS = {
    "QLinearAdd",
    "QLinearMul",
    # Written as their definitions in standard operators (_Converter.microsoft_node), which the
    # quantized fusions then turn into int8 kernels where they can.
    "QLinearSigmoid",
    "QLinearLeakyRelu",
    "QLinearSoftmax",
    "QLinearGlobalAveragePool",
    "QLinearAveragePool",
    "QLinearConcat",
    "QGemm",
    "MatMulIntegerToFloat",
    "DynamicQuantizeLSTM",
    "DynamicQuantizeMatMul",
}
_MICROSOFT_NATIVE = {"QLinearAdd", "QLinearMul", "QGemm", "QLinearConcat", "DynamicQuantizeMatMul"}
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
    return require("onnx", "converting ONNX models", extra="onnx")


def _opset_of(model) -> int:
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx"):
            return opset.version
    return 1


def _attribute_value(onnx, attr, where: str):
    kind = onnx.AttributeProto
    if attr.type == kind.INT:
        return attr.i
    if attr.type == kind.FLOAT:
        return attr.f
    if attr.type == kind.STRING:
        return attr.s.decode("utf-8")  # checked by _Checker
    if attr.type == kind.INTS:
        return [int(v) for v in attr.ints]
    if attr.type == kind.FLOATS:
        return [float(v) for v in attr.floats]
    if attr.type == kind.STRINGS and attr.name == "activations":  # RNN/GRU/LSTM: "A,B,..."
        return ",".join(v.decode("utf-8") for v in attr.strings)
    if attr.type == kind.TENSOR:
        return _tensor_to_array(onnx, attr.t, f"{where}: attribute '{attr.name}'")
    return None


def _tensor_to_array(onnx, tensor, where: str) -> np.ndarray:
    """numpy_helper.to_array after checking what it trusts (_check_tensor)."""
    _check_tensor(onnx, tensor, where)
    if tensor.data_type == onnx.TensorProto.STRING:
        raise _lwai.UnsupportedOperatorError(f"{where}: string tensors are not supported")
    return onnx.numpy_helper.to_array(tensor)


def _check_tensor(onnx, tensor, where: str) -> None:
    """A known element type, dims >= 0 and exactly as much data as the dims need (a mismatch
    would otherwise allocate what the dims ask for, or fail deep inside numpy)."""
    proto = onnx.TensorProto
    if tensor.HasField("segment"):
        raise _lwai.UnsupportedOperatorError(f"{where}: segmented tensors are not supported")
    if tensor.data_location == proto.EXTERNAL or len(tensor.external_data):
        raise _lwai.InvalidModelError(
            f"{where}: the tensor's external data is not loaded (convert the model by path, "
            "or onnx.load it with load_external_data=True)"
        )
    dtype = tensor.data_type
    facts = _DTYPE_FACTS.get(dtype) or _dtype_facts(onnx, dtype)
    if facts is None:
        raise _lwai.InvalidModelError(f"{where}: unknown element type {dtype}")
    itemsize, field, per_element, packed = facts
    dims = list(tensor.dims)
    if any(d < 0 for d in dims):
        raise _lwai.InvalidModelError(f"{where}: negative dimension in dims {dims}")
    count = math.prod(dims)
    if tensor.HasField("raw_data") and dtype != proto.STRING:
        expected = (count + 1) // 2 if packed else count * itemsize
        got, unit = len(tensor.raw_data), "bytes of raw_data"
    else:
        expected = (count + 1) // 2 if packed else count * per_element
        got, unit = len(getattr(tensor, field)), f"values in {field}"
    if got != expected:
        type_name = onnx.helper.tensor_dtype_to_string(dtype).removeprefix("TensorProto.")
        raise _lwai.InvalidModelError(
            f"{where}: {type_name} dims {dims} need {expected} {unit}, got {got}"
        )


_DTYPE_FACTS: dict[int, tuple] = {}  # element type -> (itemsize, field, values per element, 4-bit)


def _dtype_facts(onnx, dtype: int) -> tuple | None:
    proto = onnx.TensorProto
    try:
        itemsize = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(dtype)).itemsize
        field = onnx.helper.tensor_dtype_to_field(dtype)
    except (KeyError, TypeError, ValueError):
        return None
    per_element = 2 if dtype in (proto.COMPLEX64, proto.COMPLEX128) else 1
    packed = dtype in (proto.INT4, proto.UINT4, getattr(proto, "FLOAT4E2M1", -1))
    _DTYPE_FACTS[dtype] = (itemsize, field, per_element, packed)
    return _DTYPE_FACTS[dtype]


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
        if node.domain in ("", "ai.onnx") and node.op_type in _MICROSOFT_OPS:
            problems.append(f"{where}): {node.op_type} is an operator of domain 'com.microsoft'")
            continue
        if node.domain == "com.microsoft" and node.op_type not in _MICROSOFT_OPS:
            problems.append(
                f"{where}, domain 'com.microsoft'): operator not supported (from that domain lwai "
                f"runs {', '.join(sorted(_MICROSOFT_OPS))})"
            )
            continue
        if node.domain not in ("", "ai.onnx", "com.microsoft"):
            problems.append(f"{where}, domain '{node.domain}'): custom domains are not supported")
            continue
        if node.op_type not in supported and node.domain != "com.microsoft":
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
        # float16/bfloat16 tensor -> the float32 tensor it was narrowed from or widened to, so
        # that consecutive half-precision nodes run as one float32 island (one Cast in, one
        # out, as onnxruntime's CPU provider does) instead of rounding between every two nodes.
        self.widened: dict[str, str] = {}
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
                if dim.HasField("dim_value") and dim.dim_value >= 0:
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

    def convert(self, optimize: bool, show_progress: bool | None = None) -> Model:
        graph = self.model.graph
        if show_progress is None:  # large models only: a small one converts in a blink
            weight_bytes = sum(init.ByteSize() for init in graph.initializer)
            show_progress = len(graph.node) > _PROGRESS_NODES or weight_bytes > _PROGRESS_BYTES
        self.show_progress = show_progress
        initializers = progress_bar(graph.initializer, show_progress, "reading weights", "tensor")
        for init in initializers:
            self.constant(
                init.name, _tensor_to_array(self.onnx, init, f"initializer '{init.name}'")
            )
        inputs = [self.value_info(i) for i in graph.input if i.name not in self.tensors]
        # Outputs get their declared dtypes; intermediate dtypes come from shape inference.
        self.convert_nodes(graph)
        outputs = [self.tensor(o.name) for o in graph.output]
        for _ in progress_bar([0], show_progress and optimize, "optimizing", "graph"):
            native = self.builder.finish(
                PRODUCER, "onnx", self.opset, optimize, inputs, outputs, _metadata_of(self.model)
            )
        return Model(native)

    def convert_nodes(self, graph) -> None:
        """Converts every node; an unexpected Python error becomes an InvalidModelError naming
        the node (the structure checks before conversion should leave none)."""
        nodes = graph.node
        if getattr(self, "show_progress", False) and graph is self.model.graph:
            nodes = progress_bar(nodes, True, "converting", "node")
        for node_index, node in enumerate(nodes):
            name = node.name or f"{node.op_type}_{node_index}"
            try:
                self.convert_node(node, name)
            except _lwai.LwaiError:
                raise
            except MemoryError as e:
                raise _lwai.OutOfMemoryError(
                    f"node '{name}' ({node.op_type}): out of memory"
                ) from e
            except RecursionError as e:
                raise _lwai.InvalidModelError(
                    f"node '{name}' ({node.op_type}): subgraphs nested too deeply"
                ) from e
            except Exception as e:  # noqa: BLE001 - any other failure is a malformed node
                raise _lwai.InvalidModelError(
                    f"node '{name}' ({node.op_type}): {type(e).__name__}: {e}"
                ) from e

    def convert_node(self, node, name: str):
        where = f"node '{name}' ({node.op_type})"
        attrs = {a.name: _attribute_value(self.onnx, a, where) for a in node.attribute}
        inputs = list(node.input)
        outputs = list(node.output)
        op = node.op_type
        if op == "Scatter":  # deprecated (opset 9-10), the same as ScatterElements
            op = "ScatterElements"
        if node.domain == "com.microsoft" and op not in _MICROSOFT_NATIVE:
            self.microsoft_node(name, op, inputs, outputs, attrs)
            return
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
        # Every outer value any of the subgraphs reads, once (a value read by several nested
        # subgraphs, or by both branches of an If, is still one captured input).
        captured = list(dict.fromkeys(x for g in graphs.values() for x in _outer_names(g)))
        for attr_name, graph in graphs.items():
            attrs[attr_name] = self.convert_subgraph(graph, captured)
        attrs["captured_inputs"] = len(captured)
        return captured

    def convert_subgraph(self, graph, captured: list[str]):
        sub = _Converter.__new__(_Converter)
        sub.onnx, sub.model, sub.opset, sub.types = self.onnx, self.model, self.opset, self.types
        sub.builder = _lwai.GraphBuilder()
        sub.tensors = {}
        sub.widened = {}  # this graph's float32 tensors are not visible in the subgraph
        sub.counter = self.counter
        for init in graph.initializer:
            where = f"subgraph '{graph.name}' initializer '{init.name}'"
            sub.constant(init.name, _tensor_to_array(self.onnx, init, where))
        # Shapes of subgraph inputs are known only when it runs.
        inputs = [
            sub.builder.add_tensor(i.name, i.type.tensor_type.elem_type, None, None)
            for i in graph.input
        ]
        for i, x in zip(graph.input, inputs, strict=True):
            sub.tensors[i.name] = x
        # A captured value that this subgraph defines itself (read by a sibling subgraph only)
        # fills its input slot under a fresh name: this subgraph never reads it.
        local = _defined_names(graph)
        for x in captured:
            slot = x if x not in local else sub.fresh_name(f"{x}/unused")
            index = sub.builder.add_tensor(slot, self.types.get(x, 0), None, None)
            sub.tensors[slot] = index
            inputs.append(index)
        sub.convert_nodes(graph)
        outputs = [sub.tensor(o.name) for o in graph.output]
        self.counter = sub.counter
        return sub.builder.finish_subgraph(inputs, outputs)

    def float_node(self, name: str, op: str, inputs: list[str], outputs: list[str], attrs: dict):
        """Adds the node; float16/bfloat16 inputs and outputs of an operator that computes on
        values go through float32 (Casts around the node), as lwai has no half-precision math.
        An input that is already available as float32 (the output of an earlier such node) is
        read as that; a Cast that nothing reads any more is removed by the optimizer."""
        half = (self.onnx.TensorProto.FLOAT16, self.onnx.TensorProto.BFLOAT16)
        float32 = self.onnx.TensorProto.FLOAT
        joins_island = op in _MOVING_OPS and any(x in self.widened for x in inputs)
        if op in _ANY_DTYPE_OPS and not joins_island:
            self.node(name, op, inputs, outputs, attrs)
            return
        wide_inputs = []
        for i, x in enumerate(inputs):
            if x and self.types.get(x) in half:
                wide = self.widened.get(x)
                if wide is None:
                    wide = self.fresh_name(f"{x}/float32")
                    self.types[wide] = float32
                    self.node(f"{name}/cast_in{i}", "Cast", [x], [wide], {"to": float32})
                    self.widened[x] = wide
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
            self.widened[y] = wide

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

    def microsoft_node(self, name: str, op: str, inputs: list[str], outputs: list[str], attrs):
        """A com.microsoft quantized operator written as its definition: DequantizeLinear of the
        inputs, the float operator, QuantizeLinear of the result (the integer products of
        QGemm and MatMulIntegerToFloat as MatMulInteger and a scale, DynamicQuantizeLSTM as an
        LSTM of its dequantized weights)."""
        if op == "DynamicQuantizeLSTM":
            self.dynamic_quantize_lstm(name, inputs, outputs, attrs)
            return
        inputs = inputs + [""] * (9 - len(inputs)) if op != "QLinearConcat" else inputs

        def temp(what: str) -> str:
            return self.fresh_name(f"{name}/{what}")

        def dequantize(x: str, scale: str, zero_point: str, axis: int | None = None) -> str:
            y = temp("dequantized")
            self.node(
                f"{y}/DequantizeLinear",
                "DequantizeLinear",
                [x, scale, zero_point],
                [y],
                {} if axis is None else {"axis": axis},
            )
            return y

        def quantize(x: str, scale: str, zero_point: str, y: str) -> None:
            self.node(f"{name}/QuantizeLinear", "QuantizeLinear", [x, scale, zero_point], [y], {})

        def channels_first(x: str, attrs: dict, rank: int | None) -> tuple[str, list[int] | None]:
            if not attrs.pop("channels_last", 0):
                return x, None
            if rank is None:
                raise _lwai.UnsupportedOperatorError(
                    f"node '{name}' ({op}): channels_last needs the input's rank"
                )
            perm = [0, rank - 1, *range(1, rank - 1)]
            y = temp("channels_first")
            self.node(f"{y}/Transpose", "Transpose", [x], [y], {"perm": perm})
            return y, [0, *range(2, rank), 1]

        def rank_of(x: str) -> int | None:
            for info in [*self.model.graph.input, *self.model.graph.value_info]:
                if info.name == x and info.type.tensor_type.HasField("shape"):
                    return len(info.type.tensor_type.shape.dim)
            return None

        if op in ("QLinearSigmoid", "QLinearLeakyRelu", "QLinearSoftmax"):
            x = dequantize(inputs[0], inputs[1], inputs[2])
            y = temp("float")
            if op == "QLinearSoftmax":
                if attrs.get("opset", 13) < 13:
                    self.legacy_softmax(name, attrs.get("axis", 1), x, y)
                else:
                    self.node(name, "Softmax", [x], [y], {"axis": attrs.get("axis", -1)})
            elif op == "QLinearSigmoid":
                self.node(name, "Sigmoid", [x], [y], {})
            else:
                self.node(name, "LeakyRelu", [x], [y], {"alpha": attrs.get("alpha", 0.01)})
            quantize(y, inputs[3], inputs[4], outputs[0])
        elif op in ("QLinearGlobalAveragePool", "QLinearAveragePool"):
            x = dequantize(inputs[0], inputs[1], inputs[2])
            x, back = channels_first(x, attrs, rank_of(inputs[0]))
            pooled = temp("pooled")
            self.node(name, op[len("QLinear") :], [x], [pooled], attrs)
            if back is not None:
                restored = temp("channels_last")
                self.node(
                    f"{restored}/Transpose", "Transpose", [pooled], [restored], {"perm": back}
                )
                pooled = restored
            quantize(pooled, inputs[3], inputs[4], outputs[0])
        elif op == "QLinearConcat":
            parts = [
                dequantize(inputs[i], inputs[i + 1], inputs[i + 2])
                for i in range(2, len(inputs) - 2, 3)
            ]
            y = temp("float")
            self.node(name, "Concat", parts, [y], {"axis": attrs.get("axis", 1)})
            quantize(y, inputs[0], inputs[1], outputs[0])
        elif op == "QGemm":
            a = dequantize(inputs[0], inputs[1], inputs[2])
            # b_scale per column of the product: axis 1 of B [K, N], axis 0 of B^T [N, K].
            b = dequantize(inputs[3], inputs[4], inputs[5], axis=0 if attrs.get("transB", 0) else 1)
            gemm_inputs = [a, b]
            if inputs[6]:
                unit = temp("bias_scale")
                self.node(f"{unit}/Mul", "Mul", [inputs[1], inputs[4]], [unit], {})
                gemm_inputs.append(dequantize(inputs[6], unit, "", axis=0))
            gemm_attrs = {k: attrs[k] for k in ("alpha", "transA", "transB") if k in attrs}
            if inputs[7]:
                y = temp("float")
                self.node(name, "Gemm", gemm_inputs, [y], gemm_attrs)
                quantize(y, inputs[7], inputs[8], outputs[0])
            else:
                self.node(name, "Gemm", gemm_inputs, [outputs[0]], gemm_attrs)
        else:  # MatMulIntegerToFloat
            a, b, a_scale, b_scale = inputs[0], inputs[1], inputs[2], inputs[3]
            a_zero_point, b_zero_point, bias = inputs[4], inputs[5], inputs[6]
            product, as_float, scale = temp("product"), temp("product_float"), temp("scale")
            self.node(
                f"{name}/MatMulInteger",
                "MatMulInteger",
                [a, b, a_zero_point, b_zero_point],
                [product],
                {},
            )
            self.node(f"{name}/Cast", "Cast", [product], [as_float], {"to": 1})
            self.node(f"{scale}/Mul", "Mul", [a_scale, b_scale], [scale], {})
            if bias:
                scaled = temp("scaled")
                self.node(name, "Mul", [as_float, scale], [scaled], {})
                self.node(f"{name}/bias", "Add", [scaled, bias], [outputs[0]], {})
            else:
                self.node(name, "Mul", [as_float, scale], [outputs[0]], {})

    def dynamic_quantize_lstm(self, name: str, inputs: list[str], outputs: list[str], attrs):
        """DynamicQuantizeLSTM as LSTM: W [D, input, 4H] and R [D, H, 4H] (int8/uint8, scales
        and zero points per direction or per direction and gate column) dequantized and
        transposed to LSTM's [D, 4H, input] and [D, 4H, H]; constant folding makes them float
        weights."""
        inputs = inputs + [""] * (12 - len(inputs))
        weights = []
        for x, scale, zero_point in (
            (inputs[1], inputs[8], inputs[9]),
            (inputs[2], inputs[10], inputs[11]),
        ):
            dims = self.initializer_dims(scale)
            if dims is None or len(dims) not in (1, 2):
                raise _lwai.UnsupportedOperatorError(
                    f"node '{name}' (DynamicQuantizeLSTM): scale '{scale}' must be a constant of "
                    "shape [num_directions] or [num_directions, 4 * hidden_size]"
                )
            target = [dims[0], 1, 1] if len(dims) == 1 else [dims[0], 1, dims[1]]
            shape = self.fresh_name(f"{name}/scale_shape")
            self.constant(shape, np.array(target, dtype=np.int64))

            def step(op: str, operands: list[str], what: str, attributes=None) -> str:
                y = self.fresh_name(f"{name}/{what}")
                self.node(f"{y}/{op}", op, operands, [y], attributes or {})
                return y

            values = step("Cast", [x], "weights_float", {"to": 1})
            if zero_point:
                zp = step("Cast", [zero_point], "zero_point_float", {"to": 1})
                values = step(
                    "Sub", [values, step("Reshape", [zp, shape], "zero_point")], "centered"
                )
            values = step("Mul", [values, step("Reshape", [scale, shape], "scale")], "dequantized")
            weights.append(step("Transpose", [values], "weights", {"perm": [0, 2, 1]}))
        lstm_inputs = [inputs[0], weights[0], weights[1], *inputs[3:8]]
        while lstm_inputs and lstm_inputs[-1] == "":
            lstm_inputs.pop()
        self.node(name, "LSTM", lstm_inputs, outputs, attrs)

    def initializer_dims(self, name: str) -> list[int] | None:
        for init in self.model.graph.initializer:
            if init.name == name:
                return list(init.dims)
        return None

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


def _defined_names(graph) -> set[str]:
    """Names a graph defines itself: inputs, initializers, node outputs."""
    defined = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    return defined | {o for node in graph.node for o in node.output if o}


def _outer_names(graph) -> list[str]:
    """Names a subgraph (or its nested subgraphs) reads from enclosing graphs, each once, in
    first-use order."""
    defined = _defined_names(graph)
    used: dict[str, None] = {}  # ordered set
    for node in graph.node:
        names = list(node.input)
        for attr in node.attribute:
            if attr.HasField("g"):
                names += _outer_names(attr.g)
        used.update((x, None) for x in names if x and x not in defined)
    used.update((o.name, None) for o in graph.output if o.name and o.name not in defined)
    return list(used)


# ONNX shape inference runs in a helper process and may take this long (plus 1 s per 10 MB of
# model) before the helper is stopped and conversion goes on without its element types.
SHAPE_INFERENCE_TIMEOUT_S = 10.0
# A helper process exits after this long without requests (it holds a copy-on-write snapshot of
# the memory this process had when it started).
HELPER_IDLE_EXIT_S = 30.0
_CRASH_SIGNALS = ("SIGSEGV", "SIGFPE", "SIGBUS", "SIGILL", "SIGABRT")
_HEADER = 8  # bytes of little-endian length before every message


class _IsolatedHelper:
    """Runs fn(bytes) -> picklable value in a helper process, so that a crash or a hang in
    native code cannot take this process down.

    The helper is forked on first use and serves requests until it crashes, times out (then it
    is killed), sits idle for HELPER_IDLE_EXIT_S, or this process exits; the next request forks
    a fresh one. One request at a time (a lock); a process forked from this one starts its own
    helper. call() returns ("ok", value), ("error", "Type: message") for a Python exception,
    ("crashed", "SIGSEGV"), ("timeout", seconds), or ("unavailable", why) when no helper
    process can be started."""

    def __init__(self, fn):
        self.fn = fn
        self.lock = threading.Lock()
        self.helper: tuple[int, int, int] | None = None  # pid, request fd, response fd
        if hasattr(os, "register_at_fork"):
            ref = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: ref() is not None and ref()._forget())

    def _forget(self) -> None:
        """In a forked child: the helper and the lock belong to the parent."""
        if self.helper is not None:
            for fd in self.helper[1:]:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.helper = None
        self.lock = threading.Lock()

    def call(self, data: bytes, timeout: float) -> tuple[str, object]:
        if not hasattr(os, "fork"):  # pragma: no cover - Windows
            return _call_inline(self.fn, data)
        with self.lock:
            for attempt in range(2):
                if self.helper is not None and self._exited():
                    self.helper = None  # idle exit, or killed with the thread that forked it
                if self.helper is None:
                    try:
                        self._start()
                    except OSError as e:  # pragma: no cover - out of processes or memory
                        return "unavailable", f"no helper process: {e}"
                outcome = self._request(data, timeout)
                if outcome != ("retry", None) or attempt:
                    return outcome if outcome[0] != "retry" else ("crashed", "exit status 0")
            raise AssertionError("unreachable")

    def stop(self) -> int | None:
        """Kills the helper (if any); returns its wait status."""
        if self.helper is None:
            return None
        pid, request_fd, response_fd = self.helper
        self.helper = None
        for fd in (request_fd, response_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        try:
            return os.waitpid(pid, 0)[1]
        except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored)
            return None

    def _exited(self) -> bool:
        pid = self.helper[0]
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored)
            done = pid
        if done:
            for fd in self.helper[1:]:
                with contextlib.suppress(OSError):
                    os.close(fd)
        return bool(done)

    def _start(self) -> None:
        request_r, request_w = os.pipe()
        response_r, response_w = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(request_w)
                os.close(response_r)
                self._serve(request_r, response_w, parent)
            finally:
                os._exit(0)
        os.close(request_r)
        os.close(response_w)
        os.set_blocking(request_w, False)
        self.helper = (pid, request_w, response_r)

    def _serve(self, request_fd: int, response_fd: int, parent: int) -> None:
        """The helper's loop (in the forked child)."""
        _die_quietly_on_crash()
        with contextlib.suppress(Exception):
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
        with contextlib.suppress(Exception):  # die with the parent, even while hanging
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            return
        with contextlib.suppress(OSError):  # hold none of the parent's files or pipes open
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            keep = sorted((request_fd, response_fd))
            os.closerange(3, keep[0])
            os.closerange(keep[0] + 1, keep[1])
            os.closerange(keep[1] + 1, 1 << 16)
        while True:
            if not select.select([request_fd], [], [], HELPER_IDLE_EXIT_S)[0]:
                return
            header = _read_exactly(request_fd, _HEADER)
            data = header and _read_exactly(request_fd, int.from_bytes(header, "little"))
            if data is None:
                return  # the parent is gone
            try:
                payload = pickle.dumps(_call_inline(self.fn, data), protocol=4)
            except Exception as e:  # noqa: BLE001 - an unpicklable value
                payload = pickle.dumps(("error", f"{type(e).__name__}: {e}"))
            os.write(response_fd, len(payload).to_bytes(_HEADER, "little"))
            view = memoryview(payload)
            while view:
                view = view[os.write(response_fd, view) :]

    def _request(self, data: bytes, timeout: float) -> tuple[str, object]:
        pid, request_fd, response_fd = self.helper
        deadline = time.monotonic() + timeout
        answered = False
        try:
            try:
                message = memoryview(len(data).to_bytes(_HEADER, "little") + data)
                while message:
                    if not _wait(request_fd, deadline, write=True):
                        return "timeout", timeout
                    with contextlib.suppress(BlockingIOError):
                        message = message[os.write(request_fd, message) :]
                header = _read_exactly(response_fd, _HEADER, deadline)
                payload = header and _read_exactly(
                    response_fd, int.from_bytes(header, "little"), deadline
                )
            except BrokenPipeError:
                payload = None
            except TimeoutError:
                return "timeout", timeout
            if payload is not None:
                answered = True
                return pickle.loads(payload)
        finally:
            if not answered:  # dead, hung, or interrupted mid-request: the helper goes
                status = self.stop()
        if status is None:
            return "crashed", "unknown exit status"
        if os.WIFSIGNALED(status):
            try:
                return "crashed", signal.Signals(os.WTERMSIG(status)).name
            except ValueError:
                return "crashed", f"signal {os.WTERMSIG(status)}"
        if os.waitstatus_to_exitcode(status) == 0:
            return "retry", None  # it exited when idle just as this request came
        return "crashed", f"exit status {os.waitstatus_to_exitcode(status)}"


def _wait(fd: int, deadline: float | None, write: bool = False) -> bool:
    """Waits until fd is readable (writable); False at the deadline."""
    left = None if deadline is None else deadline - time.monotonic()
    if left is not None and left <= 0:
        return False
    sets = ([], [fd], []) if write else ([fd], [], [])
    return bool(any(select.select(*sets, left)))


def _read_exactly(fd: int, size: int, deadline: float | None = None) -> bytes | None:
    """`size` bytes from fd; None at end of file; TimeoutError at the deadline."""
    chunks, left = [], size
    while left:
        if deadline is not None and not _wait(fd, deadline):
            raise TimeoutError
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _call_inline(fn, *args) -> tuple[str, object]:
    try:
        return "ok", fn(*args)
    except Exception as e:  # noqa: BLE001 - reported to the caller
        return "error", f"{type(e).__name__}: {e}"


def _die_quietly_on_crash() -> None:
    """In the forked child: a crash ends it by its signal (no faulthandler dump, no fuzzer or
    sanitizer crash report, no core file)."""
    with contextlib.suppress(Exception):
        faulthandler.disable()
    for name in _CRASH_SIGNALS:
        with contextlib.suppress(Exception):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    if resource is not None:
        with contextlib.suppress(Exception):
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _element_types(graph, types: dict[str, int] | None = None) -> dict[str, int]:
    """name -> declared element type of the values of `graph` and its subgraphs."""
    types = {} if types is None else types
    for value in list(graph.input) + list(graph.value_info) + list(graph.output):
        tensor_type = value.type.tensor_type
        if value.type.WhichOneof("value") == "tensor_type" and tensor_type.elem_type:
            types[value.name] = tensor_type.elem_type
    for init in graph.initializer:
        types[init.name] = init.data_type
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("g"):
                _element_types(attr.g, types)
    return types


def _inferred_element_types(onnx, model) -> dict[str, int]:
    """Element type of every named value ONNX shape inference can type. Inference is a best
    effort: where it fails, declared types only (lwai's own inference then types what it can).
    It runs in a helper process: it crashes (SIGSEGV, SIGFPE) or hangs on some malformed models.
    """
    try:
        data = _without_large_tensor_data(onnx, model).SerializeToString()
    except Exception:  # noqa: BLE001 - over protobuf's 2 GB: ONNX cannot infer it either
        return _element_types(model.graph)
    timeout = SHAPE_INFERENCE_TIMEOUT_S + len(data) / 10e6
    outcome, value = _SHAPE_INFERENCE.call(data, timeout)
    if outcome == "ok":
        return value
    if outcome != "error" and _mentions_half(onnx, model.graph):
        if outcome == "timeout":
            what = f"did not finish in {value:.0f} s"
        else:
            what = f"crashed ({value})" if outcome == "crashed" else f"could not run ({value})"
        raise _lwai.InvalidModelError(
            f"ONNX shape inference {what} on this model (is it malformed?); lwai needs the "
            "element types it infers to compute float16/bfloat16 values in float32"
        )
    return _element_types(model.graph)


# Tensors over this many bytes go to ONNX shape inference without their data: it needs their
# element types and dims only (values matter for shape-like inputs, which are small).
_INFERENCE_DATA_LIMIT = 1 << 16


def _without_large_tensor_data(onnx, model):
    """A copy of `model` whose large initializers and tensor attributes have no data (the
    helper process gets less to copy and parse)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    tensor_kind = onnx.AttributeProto.TENSOR

    def strip(tensor) -> None:
        facts = _DTYPE_FACTS.get(tensor.data_type) or _dtype_facts(onnx, tensor.data_type)
        if facts is not None and math.prod(tensor.dims) * facts[0] > _INFERENCE_DATA_LIMIT:
            tensor.ClearField("raw_data")
            tensor.ClearField(facts[1])

    def visit(graph) -> None:
        for init in graph.initializer:
            strip(init)
        for node in graph.node:
            for attr in node.attribute:
                if attr.type == tensor_kind:
                    strip(attr.t)
                elif attr.HasField("g"):
                    visit(attr.g)

    visit(copy.graph)
    return copy


def _infer_element_types(data: bytes) -> dict[str, int]:
    """(In the helper process.) ONNX shape inference on a serialized model."""
    return _element_types(_onnx().shape_inference.infer_shapes(data).graph)


_SHAPE_INFERENCE = _IsolatedHelper(_infer_element_types)


def _mentions_half(onnx, graph) -> bool:
    """Whether float16/bfloat16 values appear anywhere in `graph` or its subgraphs."""
    half = (onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16)
    if any(t in half for t in _element_types(graph).values()):
        return True
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.INT and attr.name == "to" and attr.i in half:
                return True
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type in half:
                return True
            if attr.HasField("g") and _mentions_half(onnx, attr.g):
                return True
    return False


def _load(onnx, path: str):
    """Reads an ONNX file (and its external data) into a ModelProto; LwaiErrors otherwise."""
    if not os.path.exists(path):
        raise _lwai.ModelNotFoundError(f"{path}: no such file")
    if os.path.isdir(path):
        raise _lwai.LwaiIOError(f"{path}: is a directory, not an ONNX file")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise _lwai.LwaiIOError(f"{path}: cannot read: {e.strerror or e}") from e
    if not data:
        raise _lwai.InvalidModelError(f"{path}: empty file (0 bytes), not an ONNX model")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as e:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise _lwai.InvalidModelError(f"{path}: not a readable ONNX model: {e}") from e
    helper = onnx.external_data_helper
    try:
        if any(helper.uses_external_data(t) for t in helper._get_all_tensors(model)):
            helper.load_external_data_for_model(model, os.path.dirname(path))
    except OSError as e:
        raise _lwai.LwaiIOError(f"{path}: cannot read external data: {e}") from e
    except Exception as e:  # noqa: BLE001 - a bad location, offset or length
        raise _lwai.InvalidModelError(f"{path}: bad external data reference: {e}") from e
    return model


class _Checker:
    """Checks what the converter relies on before it converts: names are UTF-8, attributes
    have the type their schema gives them and decodable strings, nodes have as many inputs and
    outputs as their schema allows. Raises InvalidModelError naming the node. (Messages are
    built only on failure: this runs on every node of every model.)"""

    def __init__(self, onnx, opset: int):
        self.onnx = onnx
        self.opset = opset
        self.kind = onnx.AttributeProto
        self.known_types = frozenset(self.kind.AttributeType.values()) - {self.kind.UNDEFINED}
        # op -> (min inputs, max inputs, min outputs, max outputs, {attribute: type}) or None
        self.schemas: dict[str, tuple | None] = {}

    def schema(self, op: str) -> tuple | None:
        if op not in self.schemas:
            try:
                schema = self.onnx.defs.get_schema(op, self.opset, "")
                types = {name: int(a.type) for name, a in schema.attributes.items()}
                self.schemas[op] = (
                    schema.min_input,
                    schema.max_input,
                    schema.min_output,
                    schema.max_output,
                    types,
                )
            except Exception:  # noqa: BLE001 - not an ONNX operator at this opset
                self.schemas[op] = None
        return self.schemas[op]

    @staticmethod
    def name(value, what) -> None:
        """`what` is a string, or a function making it (called only on failure)."""
        if not isinstance(value, str):  # protobuf gives invalid UTF-8 strings as bytes
            what = what() if callable(what) else what
            raise _lwai.InvalidModelError(f"{what} {value!r} is not valid UTF-8")

    def value_info(self, info, what: str) -> None:
        self.name(info.name, what)
        if info.type.WhichOneof("value") != "tensor_type":
            return
        for dim in info.type.tensor_type.shape.dim:
            self.name(dim.dim_param, lambda: f"{what} '{info.name}': dimension name")

    def graph(self, graph, prefix: str = "") -> None:
        self.name(graph.name, f"{prefix}graph name")
        for label, values in (
            ("graph input", graph.input),
            ("graph output", graph.output),
            ("value_info", graph.value_info),
        ):
            for info in values:
                self.value_info(info, f"{prefix}{label}")
        for init in graph.initializer:
            self.name(init.name, f"{prefix}initializer name")
            _check_tensor(self.onnx, init, f"{prefix}initializer '{init.name}'")
        if len(graph.sparse_initializer):
            raise _lwai.UnsupportedOperatorError(
                f"{prefix}sparse initializers are not supported "
                f"('{graph.sparse_initializer[0].values.name}')"
            )
        for index, node in enumerate(graph.node):
            self.node(node, index, prefix)

    def node(self, node, index: int, prefix: str) -> None:
        def where() -> str:
            label = f"'{node.name}'" if isinstance(node.name, str) and node.name else f"#{index}"
            return f"{prefix}node {label} ({node.op_type})"

        op, domain = node.op_type, node.domain
        if not (isinstance(node.name, str) and isinstance(op, str) and isinstance(domain, str)):
            self.name(node.name, f"{prefix}node #{index}: name")
            self.name(op, f"{prefix}node #{index}: op_type")
            self.name(domain, f"{where()}: domain")
        for label, names in (("input", node.input), ("output", node.output)):
            if not all(isinstance(name, str) for name in names):
                for name in names:
                    self.name(name, f"{where()}: {label} name")
        schema = self.schema(op) if domain in ("", "ai.onnx") else None
        if schema is not None:
            low_in, high_in, low_out, high_out, _ = schema
            for label, count, low, high in (
                ("inputs", len(node.input), low_in, high_in),
                ("outputs", len(node.output), low_out, high_out),
            ):
                if not low <= count <= high:
                    expected = f"at least {low}" if high >= 2**31 - 1 else f"{low} to {high}"
                    if low == high:
                        expected = str(low)
                    raise _lwai.InvalidModelError(
                        f"{where()}: has {count} {label}, opset {self.opset} expects {expected}"
                    )
        if len(node.attribute):
            seen: set[str] = set()
            for attr in node.attribute:
                self.attribute(attr, schema, where, seen)

    def attribute(self, attr, schema, where, seen: set[str]) -> None:
        kind = self.kind
        name = attr.name
        if not isinstance(name, str):
            self.name(name, f"{where()}: attribute name")

        def what() -> str:
            return f"{where()}: attribute '{name}'"

        if name in seen:
            raise _lwai.InvalidModelError(f"{what()} is given twice")
        seen.add(name)
        if attr.ref_attr_name:
            raise _lwai.InvalidModelError(f"{what()} refers to a function attribute outside one")
        if attr.type not in self.known_types:
            raise _lwai.InvalidModelError(f"{what()} has no valid type ({attr.type})")
        expected = schema[4].get(name) if schema is not None else None
        if expected is not None and expected != attr.type:
            raise _lwai.InvalidModelError(
                f"{what()} must be {kind.AttributeType.Name(expected)}, "
                f"got {kind.AttributeType.Name(attr.type)}"
            )
        if attr.type == kind.STRING or attr.type == kind.STRINGS:
            for value in [attr.s] if attr.type == kind.STRING else attr.strings:
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError:
                    raise _lwai.InvalidModelError(
                        f"{what()}: {value!r} is not valid UTF-8"
                    ) from None
        elif attr.type == kind.TENSOR:
            _check_tensor(self.onnx, attr.t, what())
        elif attr.type == kind.GRAPH:
            self.graph(attr.g, f"{where()} / {name}: ")
        elif attr.type == kind.GRAPHS:
            for graph in attr.graphs:
                self.graph(graph, f"{where()} / {name}: ")


def _check_model(onnx, model) -> None:
    """Rejects models that are empty or malformed in ways the converter would trip over."""
    if not model.HasField("graph"):
        raise _lwai.InvalidModelError("has no graph: not an ONNX model, or an empty one")
    graph = model.graph
    if not len(graph.node) and not len(graph.output):
        raise _lwai.InvalidModelError("the graph has no nodes and no outputs")
    for opset in model.opset_import:
        _Checker.name(opset.domain, "opset_import domain")
        if opset.domain in ("", "ai.onnx") and not 0 <= opset.version < 2**31:
            raise _lwai.InvalidModelError(f"opset version {opset.version} is not valid")
    _Checker(onnx, _opset_of(model)).graph(graph)


def _metadata_of(model) -> list[tuple[str, str]]:
    """The model's metadata_props under their own keys, then the non-empty header fields of the
    ONNX file as "onnx.<field>" (what onnxruntime's ModelMetadata shows)."""
    pairs = [(p.key, p.value) for p in model.metadata_props]
    header = {
        "onnx.producer_name": model.producer_name,
        "onnx.producer_version": model.producer_version,
        "onnx.domain": model.domain,
        "onnx.model_version": str(model.model_version) if model.model_version else "",
        "onnx.doc_string": model.doc_string,
        "onnx.graph_name": model.graph.name,
    }
    return pairs + [(k, v) for k, v in header.items() if v]


def convert(model, *, optimize: bool = True, progress: bool | None = None) -> Model:
    """Converts an ONNX model (a path or an onnx.ModelProto) into a lwai.Model.

    Raises UnsupportedOperatorError listing every unsupported node at once, InvalidModelError
    for malformed graphs (empty files included), ModelNotFoundError for missing files,
    LwaiIOError for unreadable ones. Errors name the file (when given a path) and the node or
    tensor; no other exception type escapes.
    """
    onnx = _onnx()
    path = None
    if isinstance(model, str | os.PathLike):
        path = os.fsdecode(model)
        model = _load(onnx, path)
    if not isinstance(model, onnx.ModelProto):
        raise _lwai.InvalidArgumentError(
            f"convert() takes a path or an onnx.ModelProto, got {type(model).__name__}"
        )
    prefix = f"{path}: " if path is not None else ""
    try:
        _check_model(onnx, model)
        problems = find_unsupported(model)
        if problems:
            raise _lwai.UnsupportedOperatorError(
                f"{len(problems)} unsupported construct(s) in the model:\n  "
                + "\n  ".join(problems)
            )
        return _Converter(model).convert(optimize, progress)
    except _lwai.LwaiError as e:
        if path is None or str(e).startswith(path):
            raise
        raise type(e)(f"{prefix}{e}") from e
    except MemoryError as e:
        raise _lwai.OutOfMemoryError(f"{prefix}out of memory while converting") from e
    except RecursionError as e:
        raise _lwai.InvalidModelError(f"{prefix}subgraphs nested too deeply") from e
    except Exception as e:  # noqa: BLE001 - a malformed model the checks above missed
        raise _lwai.InvalidModelError(f"{prefix}{type(e).__name__}: {e}") from e
