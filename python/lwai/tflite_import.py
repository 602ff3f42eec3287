"""TFLite front door: a .tflite flatbuffer in, an lwai.Model out.

TFLite graphs are NHWC; lwai's operators follow ONNX (NCHW). Rather than a Transpose around
every node, each 4-D activation is held in one of two layouts: "nhwc" (TFLite's own) or "nchw"
(permuted). Convolutions and pools produce and want nchw, elementwise operators follow their
input, operators whose meaning depends on the layout (Reshape, FullyConnected, ...) want nhwc.
A Transpose is inserted only where a tensor is read in the other layout (once per tensor), so a
CNN has one at its input and one at each 4-D output. Graph inputs and outputs keep TFLite's
shapes: callers feed the same NHWC arrays as to LiteRT.

Weights stay as stored: float16 weights behind DEQUANTIZE stay float16 in the .lwai file (the
session expands them once), sparse weights (DENSIFY) are made dense at conversion.

Quantized (int8/uint8) tensors become DequantizeLinear/QuantizeLinear pairs around float
operators, weights and int32 biases DequantizeLinear of their constants (per axis where the
file says so): the optimizer's quantized fusions turn those chains into lwai's int8 kernels
(QLinearConv, QGemm, ...), as for ONNX models in QDQ form.
"""

from __future__ import annotations

import os
import struct

import numpy as np

from lwai import _lwai
from lwai._version import __version__
from lwai.frontends import TFLITE_IDENTIFIER
from lwai.model import Model

PRODUCER = f"lwai-tflite-import {__version__}"

# BuiltinOperator codes (TFLite schema) of the operators converted here.
_OPS = {
    0: "ADD",
    1: "AVERAGE_POOL_2D",
    2: "CONCATENATION",
    3: "CONV_2D",
    4: "DEPTHWISE_CONV_2D",
    5: "DEPTH_TO_SPACE",
    6: "DEQUANTIZE",
    9: "FULLY_CONNECTED",
    14: "LOGISTIC",
    17: "MAX_POOL_2D",
    18: "MUL",
    19: "RELU",
    20: "RELU_N1_TO_1",
    21: "RELU6",
    22: "RESHAPE",
    23: "RESIZE_BILINEAR",
    25: "SOFTMAX",
    28: "TANH",
    34: "PAD",
    40: "MEAN",
    41: "SUB",
    42: "DIV",
    45: "STRIDED_SLICE",
    54: "PRELU",
    55: "MAXIMUM",
    57: "MINIMUM",
    67: "TRANSPOSE_CONV",
    97: "RESIZE_NEAREST_NEIGHBOR",
    98: "LEAKY_RELU",
    114: "QUANTIZE",
    117: "HARD_SWISH",
    124: "DENSIFY",
}
# Names of the other builtin codes, for error messages (TFLite schema).
_OTHER_OPS = (
    "ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE "
    "EMBEDDING_LOOKUP FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D "
    "LOCAL_RESPONSE_NORMALIZATION LOGISTIC LSH_PROJECTION LSTM MAX_POOL_2D MUL RELU RELU_N1_TO_1 "
    "RELU6 RESHAPE RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH SVDF TANH CONCAT_EMBEDDINGS "
    "SKIP_GRAM CALL CUSTOM EMBEDDING_LOOKUP_SPARSE PAD UNIDIRECTIONAL_SEQUENCE_RNN GATHER "
    "BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND TRANSPOSE MEAN SUB DIV SQUEEZE "
    "UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE BIDIRECTIONAL_SEQUENCE_RNN EXP TOPK_V2 SPLIT "
    "LOG_SOFTMAX DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM ARG_MAX MINIMUM LESS NEG "
    "PADV2 GREATER GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN TRANSPOSE_CONV SPARSE_TO_DENSE TILE "
    "EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW ARG_MIN FAKE_QUANT REDUCE_PROD "
    "REDUCE_MAX PACK LOGICAL_OR ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK REDUCE_MIN FLOOR_DIV "
    "REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD RANGE RESIZE_NEAREST_NEIGHBOR LEAKY_RELU "
    "SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V UNIQUE CEIL REVERSE_V2 ADD_N GATHER_ND COS WHERE "
    "RANK ELU REVERSE_SEQUENCE MATRIX_DIAG QUANTIZE MATRIX_SET_DIAG ROUND HARD_SWISH IF WHILE "
    "NON_MAX_SUPPRESSION_V4 NON_MAX_SUPPRESSION_V5 SCATTER_ND SELECT_V2 DENSIFY SEGMENT_SUM "
    "BATCH_MATMUL"
).split()
_CUSTOM = 32
# Custom operators converted here (MediaPipe's).
_CUSTOM_OPS = {"Convolution2DTransposeBias"}
_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)

# TensorType (TFLite) -> (numpy dtype, lwai/ONNX dtype code).
_TYPES = {
    0: (np.float32, 1),
    1: (np.float16, 10),
    2: (np.int32, 6),
    3: (np.uint8, 2),
    4: (np.int64, 7),
    6: (np.bool_, 9),
    7: (np.int16, 5),
    9: (np.int8, 3),
    10: (np.float64, 11),
}
# Sparse tensors are made dense at conversion: at most this many elements.
_MAX_DENSE_ELEMENTS = 1 << 28
# Window sizes, strides and dilations beyond this are refused as malformed.
_MAX_WINDOW = 1 << 20

_NHWC_TO_NCHW = [0, 3, 1, 2]
_NCHW_TO_NHWC = [0, 2, 3, 1]


class _FlatBufferError(Exception):
    pass


class _Table:
    """A flatbuffer table read in place from `buf`; every offset is bounds-checked."""

    __slots__ = ("buf", "pos", "vtable", "vtable_size")

    def __init__(self, buf: memoryview, pos: int):
        self.buf, self.pos = buf, pos
        vtable = pos - _read(buf, "<i", pos)
        self.vtable = vtable
        self.vtable_size = _read(buf, "<H", vtable)
        if self.vtable_size < 4 or self.vtable_size % 2:
            raise _FlatBufferError(f"bad vtable at byte {vtable}")
        _check(buf, vtable, self.vtable_size)

    def _offset(self, field: int) -> int:
        slot = 4 + 2 * field
        if slot + 2 > self.vtable_size:
            return 0
        return _read(self.buf, "<H", self.vtable + slot)

    def scalar(self, field: int, fmt: str, default=0):
        offset = self._offset(field)
        return default if offset == 0 else _read(self.buf, fmt, self.pos + offset)

    def _indirect(self, field: int) -> int | None:
        offset = self._offset(field)
        if offset == 0:
            return None
        at = self.pos + offset
        return at + _read(self.buf, "<I", at)

    def table(self, field: int) -> _Table | None:
        at = self._indirect(field)
        return None if at is None else _Table(self.buf, at)

    def _vector(self, field: int, item_size: int) -> tuple[int, int]:
        at = self._indirect(field)
        if at is None:
            return 0, 0
        count = _read(self.buf, "<I", at)
        _check(self.buf, at + 4, count * item_size)
        return at + 4, count

    def tables(self, field: int) -> list[_Table]:
        start, count = self._vector(field, 4)
        return [
            _Table(self.buf, start + 4 * i + _read(self.buf, "<I", start + 4 * i))
            for i in range(count)
        ]

    def array(self, field: int, dtype) -> np.ndarray:
        dtype = np.dtype(dtype).newbyteorder("<")
        start, count = self._vector(field, dtype.itemsize)
        return np.frombuffer(self.buf, dtype, count, start) if count else np.zeros(0, dtype)

    def string(self, field: int) -> str:
        start, count = self._vector(field, 1)
        return bytes(self.buf[start : start + count]).decode("utf-8", "replace") if count else ""


def _check(buf: memoryview, start: int, size: int) -> None:
    if start < 0 or size < 0 or start + size > len(buf):
        raise _FlatBufferError(f"{size} bytes at byte {start} lie outside the {len(buf)}-byte file")


def _read(buf: memoryview, fmt: str, at: int):
    _check(buf, at, struct.calcsize(fmt))
    return struct.unpack_from(fmt, buf, at)[0]


class _Tensor:
    def __init__(self, table: _Table, buffers: list[_Table], index: int):
        self.index = index
        self.name = table.string(3) or f"tensor_{index}"
        self.shape = [int(d) for d in table.array(0, np.int32)]
        self.type = table.scalar(1, "<b", 0)
        self.data: np.ndarray | None = None
        buffer = table.scalar(2, "<I", 0)
        if buffer >= len(buffers) and buffer != 0:
            raise _FlatBufferError(f"tensor '{self.name}': buffer {buffer} does not exist")
        if 0 < buffer:
            raw = buffers[buffer].array(0, np.uint8)
            if raw.size:
                self.data = raw
        self.sparsity = table.table(6)
        quantization = table.table(4)
        self.scale = self.zero_point = None
        self.quantized_dimension = 0
        if quantization is not None:
            scale = quantization.array(2, np.float32)
            if scale.size:
                self.scale = scale
                self.zero_point = quantization.array(3, np.int64)
                self.quantized_dimension = quantization.scalar(6, "<i", 0)

    def values(self) -> np.ndarray:
        """The constant's values, in its TFLite shape (dense tensors only)."""
        numpy_type, _ = _TYPES[self.type]
        count = int(np.prod(self.shape)) if self.shape else 1
        itemsize = np.dtype(numpy_type).itemsize
        if self.data.size != count * itemsize:
            raise _FlatBufferError(
                f"tensor '{self.name}': {self.data.size} bytes of data for shape {self.shape} of "
                f"{np.dtype(numpy_type).name}"
            )
        return self.data.view(np.dtype(numpy_type).newbyteorder("<")).reshape(self.shape)


def _densify(tensor: _Tensor) -> np.ndarray:
    """The dense values of a sparse constant (TFLite SparsityParameters: a traversal order over
    the dims and block dims, each DENSE or SPARSE_CSR)."""
    sparsity = tensor.sparsity
    order = [int(d) for d in sparsity.array(0, np.int32)]
    block_map = [int(d) for d in sparsity.array(1, np.int32)]
    levels = sparsity.tables(2)
    rank = len(tensor.shape)
    if len(order) != rank + len(block_map) or len(levels) != len(order):
        raise _FlatBufferError(f"tensor '{tensor.name}': inconsistent sparsity parameters")
    numpy_type, _ = _TYPES[tensor.type]
    if any(d <= 0 for d in tensor.shape) or int(np.prod(tensor.shape)) > _MAX_DENSE_ELEMENTS:
        raise _FlatBufferError(f"tensor '{tensor.name}': sparse tensor of shape {tensor.shape}")
    # Each level's dense size is that of its dim (divided by the block for blocked dims) or of
    # its block: checked below, which also bounds the expansion by the declared shape.
    blocks = {}
    for level, dim in enumerate(order):
        if dim >= rank and levels[level].scalar(0, "<b", 0) == 0:
            blocks[dim - rank] = levels[level].scalar(1, "<i", 0)
    stored = tensor.data.view(np.dtype(numpy_type).newbyteorder("<"))
    positions = np.zeros(1, np.int64)
    coords = np.zeros((1, len(order)), np.int64)  # in expanded-dim order
    block_sizes = {}
    for level, meta in enumerate(levels):
        if meta.scalar(0, "<b", 0) == 0:  # DENSE
            size = meta.scalar(1, "<i", 0)
            dim = order[level]
            if dim < rank:
                block = blocks.get(block_map.index(dim), 1) if dim in block_map else 1
                expected = tensor.shape[dim] // block if block > 0 else -1
            else:
                expected = blocks.get(dim - rank, -1)
            if size <= 0 or size != expected:
                raise _FlatBufferError(
                    f"tensor '{tensor.name}': dense level of size {size} for a dimension of "
                    f"{expected}"
                )
            index = np.tile(np.arange(size), len(positions))
            positions = (positions[:, None] * size + np.arange(size)).reshape(-1)
            coords = np.repeat(coords, size, axis=0)
        else:  # SPARSE_CSR: segments and indices as int32, uint16 or uint8 vectors
            segments = _index_vector(meta, 2, 3)
            indices = _index_vector(meta, 4, 5)
            if positions.size and (positions.max() + 1 >= segments.size):
                raise _FlatBufferError(f"tensor '{tensor.name}': sparse segments too short")
            starts, ends = segments[positions], segments[positions + 1]
            counts = ends - starts
            if (counts < 0).any() or (ends > indices.size).any():
                raise _FlatBufferError(f"tensor '{tensor.name}': bad sparse segments")
            positions = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(
                counts.sum()
            )
            index = indices[positions]
            coords = np.repeat(coords, counts, axis=0)
        coords[:, order[level]] = index
        if order[level] >= rank:
            block_sizes[order[level] - rank] = meta.scalar(1, "<i", 0)
    if positions.size and positions.max() >= stored.size:
        raise _FlatBufferError(f"tensor '{tensor.name}': sparse data too short")
    dense = np.zeros(tensor.shape, stored.dtype)
    full = coords[:, :rank].copy()
    for b, dim in enumerate(block_map):
        full[:, dim] = full[:, dim] * block_sizes[b] + coords[:, rank + b]
    if (full < 0).any() or (full >= np.array(tensor.shape)).any():
        raise _FlatBufferError(f"tensor '{tensor.name}': sparse indices out of range")
    dense[tuple(full.T)] = stored[positions]
    return dense


def _index_vector(meta: _Table, type_field: int, value_field: int) -> np.ndarray:
    kind = meta.scalar(type_field, "<B", 0)
    dtypes = {1: np.int32, 2: np.uint16, 3: np.uint8}
    if kind not in dtypes:
        raise _FlatBufferError("sparse index vector of unknown type")
    vector = meta.table(value_field)
    if vector is None:
        raise _FlatBufferError("sparse index vector missing")
    return vector.array(0, dtypes[kind]).astype(np.int64)


def _same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's SAME padding on one axis: (before, after), the odd pixel after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class _Converter:
    def __init__(self, path: str, buf: memoryview):
        root = _Table(buf, _read(buf, "<I", 0))
        self.codes = []
        for code in root.tables(1):
            builtin = max(code.scalar(3, "<i", 0), code.scalar(0, "<b", 0))
            self.codes.append((builtin, code.string(1)))
        subgraphs = root.tables(2)
        if not subgraphs:
            raise _FlatBufferError("the model has no subgraph")
        self.graph = subgraphs[0]
        buffers = root.tables(4)
        self.tensors = [_Tensor(t, buffers, i) for i, t in enumerate(self.graph.tables(0))]
        self.operators = self.graph.tables(3)
        self.description = root.string(3)
        self.builder = _lwai.GraphBuilder()
        self.ids: dict[tuple[int, str], int] = {}  # (tensor index, layout) -> builder tensor
        self.layout: dict[int, str] = {}  # activation tensor -> layout it is held in
        self.constants: dict[int, np.ndarray] = {}  # folded constants (DENSIFY, DEQUANTIZE)
        self.constants_dequantized: set[int] = set()  # of those, int8 ones made float
        self.names: set[str] = set()
        self.graph_outputs = {int(i) for i in self.graph.array(2, np.int32)}
        self.counter = 0

    # --- tensors -----------------------------------------------------------------------------

    def tensor(self, index: int) -> _Tensor:
        if not 0 <= index < len(self.tensors):
            raise _FlatBufferError(f"tensor index {index} out of range")
        return self.tensors[index]

    def fresh(self, base: str) -> str:
        self.counter += 1
        name = f"{base}__lwai{self.counter}"
        while name in self.names:
            self.counter += 1
            name = f"{base}__lwai{self.counter}"
        self.names.add(name)
        return name

    def is_constant(self, index: int) -> bool:
        return index in self.constants or self.tensor(index).data is not None

    def constant_values(self, index: int) -> np.ndarray:
        if index in self.constants:
            return self.constants[index]
        tensor = self.tensor(index)
        if tensor.type not in _TYPES:
            raise _lwai.UnsupportedOperatorError(
                f"tensor '{tensor.name}': TFLite type {tensor.type} is not supported"
            )
        if tensor.sparsity is not None:
            values = _densify(tensor)
        else:
            values = tensor.values()
        self.constants[index] = values
        return values

    def float_values(self, index: int) -> np.ndarray:
        """A constant's values in its TFLite type: the float16 weights behind a DEQUANTIZE
        (read as an operand, not as weights) widened to float32."""
        values = self.constant_values(index)
        if values.dtype == np.float16 and self.tensor(index).type == 0:
            return values.astype(np.float32)
        if self.is_quantized(index) and index not in self.constants_dequantized:
            return _dequantize(self.tensor(index), values)
        return values

    def add_constant(self, name: str, values: np.ndarray) -> int:
        values = np.ascontiguousarray(values)
        code = {
            np.dtype(np.float32): 1,
            np.dtype(np.float16): 10,
            np.dtype(np.int32): 6,
            np.dtype(np.int64): 7,
            np.dtype(np.uint8): 2,
            np.dtype(np.int8): 3,
            np.dtype(np.int16): 5,
            np.dtype(np.bool_): 9,
            np.dtype(np.float64): 11,
        }[values.dtype]
        self.names.add(name)
        data = values.reshape(-1).view(np.uint8) if values.size else np.zeros(0, np.uint8)
        return self.builder.add_tensor(name, code, [int(d) for d in values.shape], data)

    def activation(self, index: int, layout: str = "nhwc") -> int:
        """A new builder tensor for the output `index` (shape inferred by lwai). A graph output
        held as nchw leaves its name to the Transpose that gives it in TFLite's layout."""
        tensor = self.tensor(index)
        name = tensor.name
        if name in self.names or (layout == "nchw" and index in self.graph_outputs):
            name = self.fresh(f"{tensor.name}/{layout}")
        self.names.add(name)
        return self.builder.add_tensor(name, _TYPES.get(tensor.type, (None, 0))[1], None, None)

    def is_quantized(self, index: int) -> bool:
        """An integer tensor with quantization parameters (int8 or uint8 activations, int8
        weights, int32 biases)."""
        tensor = self.tensor(index)
        if tensor.scale is not None and tensor.type in (4, 7):
            raise _lwai.UnsupportedOperatorError(
                f"tensor '{tensor.name}': 16-bit quantization (int16 activations, int64 biases)"
            )
        return tensor.scale is not None and tensor.type in (2, 3, 9)

    def quantization(self, index: int, name: str, axis: int | None = None) -> list[int]:
        """Scale and zero point constants of tensor `index` (per axis when it has several)."""
        tensor = self.tensor(index)
        numpy_type, _ = _TYPES[tensor.type]
        scale = tensor.scale.astype(np.float32)
        zero = tensor.zero_point if tensor.zero_point is not None else np.zeros(0, np.int64)
        if zero.size == 0:
            zero = np.zeros(scale.shape, np.int64)
        if scale.size == 1:
            scale, zero = scale.reshape(()), zero.reshape(-1)[:1].reshape(())
        elif axis is None:
            raise _lwai.UnsupportedOperatorError(
                f"tensor '{tensor.name}': per-axis quantization of an activation"
            )
        info = np.iinfo(numpy_type)
        if (zero < info.min).any() or (zero > info.max).any():
            raise _lwai.InvalidModelError(f"tensor '{tensor.name}': zero point out of range")
        return [
            self.add_constant(self.fresh(f"{name}/scale"), scale),
            self.add_constant(self.fresh(f"{name}/zero_point"), zero.astype(numpy_type)),
        ]

    def read(self, index: int, layout: str = "nhwc") -> int:
        """Tensor `index` as a builder tensor in `layout`; a quantized activation is read as
        float through a DequantizeLinear (the optimizer fuses such chains into int8 kernels)."""
        raw = self.read_raw(index, layout)
        if self.is_constant(index) or not self.is_quantized(index):
            return raw
        layout = layout if len(self.tensor(index).shape) == 4 else "nhwc"
        key = (index, layout, "float")
        if key not in self.ids:
            name = self.fresh(f"{self.tensor(index).name}/dequantized")
            out = self.builder.add_tensor(name, 1, None, None)
            self.node(name, "DequantizeLinear", [raw, *self.quantization(index, name)], [out])
            self.ids[key] = out
        return self.ids[key]

    def read_raw(self, index: int, layout: str = "nhwc") -> int:
        """Tensor `index` as a builder tensor in `layout` ("nhwc": TFLite's own; "nchw": 4-D
        permuted), converting a constant or inserting one Transpose when needed."""
        rank = len(self.tensor(index).shape)
        if rank != 4:
            layout = "nhwc"
        key = (index, layout)
        if key in self.ids:
            return self.ids[key]
        if self.is_constant(index):
            values = self.float_values(index)
            if layout == "nchw":
                values = values.transpose(_NHWC_TO_NCHW)
            base = self.tensor(index).name
            name = base if base not in self.names else self.fresh(f"{base}/{layout}")
            self.ids[key] = self.add_constant(name, values)
            return self.ids[key]
        held = self.layout.get(index, "nhwc")
        source = self.ids[(index, held)]
        name = self.tensor(index).name
        if layout == "nchw" or index not in self.graph_outputs or name in self.names:
            name = self.fresh(f"{name}/{layout}")
        self.names.add(name)
        out = self.builder.add_tensor(name, 0, None, None)
        perm = _NHWC_TO_NCHW if layout == "nchw" else _NCHW_TO_NHWC
        self.builder.add_node(name, "Transpose", [source], [out], {"perm": perm})
        self.ids[key] = out
        return out

    def held(self, index: int) -> str:
        return self.layout.get(index, "nhwc")

    # --- nodes -------------------------------------------------------------------------------

    def node(self, name: str, op: str, inputs: list[int], outputs: list[int], attrs=None):
        self.builder.add_node(name, op, inputs, outputs, attrs or {})

    def output(self, index: int, layout: str) -> int:
        """Declares that tensor `index` is produced in `layout`; returns the builder tensor the
        operator writes: the tensor itself, or for a quantized one a float tensor that a
        QuantizeLinear turns into it."""
        if len(self.tensor(index).shape) != 4:
            layout = "nhwc"
        out = self.activation(index, layout)
        self.ids[(index, layout)] = out
        self.layout[index] = layout
        if not self.is_quantized(index):
            return out
        name = self.fresh(f"{self.tensor(index).name}/float")
        wide = self.builder.add_tensor(name, 1, None, None)
        self.node(
            f"{name}/quantize", "QuantizeLinear", [wide, *self.quantization(index, name)], [out]
        )
        return wide  # readers dequantize `out`: the rounding and clamping are the model's

    def emit(self, name, op, inputs, attrs, activation: int, index: int, layout: str) -> None:
        """Adds `op` writing TFLite tensor `index` (held in `layout`), then its fused activation."""
        if activation == 0:
            self.node(name, op, inputs, [self.output(index, layout)], attrs)
            return
        result = self.temp(f"{name}/{op}")
        self.node(name, op, inputs, [result], attrs)
        self.fused(name, activation, result, index, layout)

    def fused(self, name: str, activation: int, result: int, index: int, layout: str) -> None:
        """Appends the fused activation (TFLite ActivationFunctionType) from `result` into the
        operator's output `index`."""
        out = self.output(index, layout)
        if activation == 1:
            self.node(f"{name}/relu", "Relu", [result], [out])
        elif activation in (2, 3):
            low, high = (-1.0, 1.0) if activation == 2 else (0.0, 6.0)
            lo = self.add_constant(self.fresh(f"{name}/min"), np.array(low, np.float32))
            hi = self.add_constant(self.fresh(f"{name}/max"), np.array(high, np.float32))
            self.node(f"{name}/clip", "Clip", [result, lo, hi], [out])
        elif activation == 4:
            self.node(f"{name}/tanh", "Tanh", [result], [out])
        else:
            raise _lwai.UnsupportedOperatorError(
                f"operator '{name}': fused activation {activation} is not supported"
            )

    def temp(self, base: str) -> int:
        name = self.fresh(base)
        return self.builder.add_tensor(name, 0, None, None)

    def convert(self, optimize: bool) -> Model:
        self.check_supported()
        inputs = []
        for index in self.graph.array(1, np.int32):
            tensor = self.tensor(int(index))
            _, code = _TYPES.get(tensor.type, (None, 0))
            self.names.add(tensor.name)
            tid = self.builder.add_tensor(tensor.name, code, tensor.shape, None)
            self.ids[(int(index), "nhwc")] = tid
            inputs.append(tid)
        for position, op in enumerate(self.operators):
            self.convert_operator(position, op)
        outputs = []
        for index in self.graph.array(2, np.int32):
            index = int(index)
            if self.held(index) == "nhwc" and (index, "nhwc") in self.ids:
                outputs.append(self.ids[(index, "nhwc")])
            else:
                # The TFLite name goes to the graph output, in TFLite's layout.
                transposed = self.read_raw(index, "nhwc")
                outputs.append(transposed)
        metadata = [("tflite.description", self.description)] if self.description else []
        native = self.builder.finish(PRODUCER, "tflite", 0, optimize, inputs, outputs, metadata)
        model = Model(native)
        # Padding and sizes were computed from the shapes the file declares: a file whose
        # declared shapes contradict its operators is refused rather than run with wrong pads.
        for index, info in zip(self.graph.array(2, np.int32), model.outputs, strict=True):
            declared = self.tensor(int(index)).shape
            computed = info.shape
            if (
                computed is not None
                and all(isinstance(d, int) for d in computed)
                and list(computed) != declared
            ):
                raise _lwai.InvalidModelError(
                    f"output '{info.name}': the file declares shape {declared}, its operators "
                    f"compute {list(computed)}"
                )
        return model

    def check_supported(self) -> None:
        problems = []
        for position, op in enumerate(self.operators):
            code_index = op.scalar(0, "<I", 0)
            if code_index >= len(self.codes):
                raise _FlatBufferError(
                    f"operator {position}: opcode index {code_index} out of range"
                )
            builtin, custom = self.codes[code_index]
            if builtin == _CUSTOM and custom in _CUSTOM_OPS:
                continue
            if builtin == _CUSTOM:
                problems.append(f"operator {position}: custom operator '{custom}'")
            elif builtin not in _OPS:
                name = _OTHER_OPS[builtin] if 0 <= builtin < len(_OTHER_OPS) else str(builtin)
                problems.append(f"operator {position}: builtin {name}")
        if problems:
            raise _lwai.UnsupportedOperatorError(
                f"{len(problems)} unsupported TFLite operator(s):\n  " + "\n  ".join(problems)
            )

    def convert_operator(self, position: int, op: _Table) -> None:
        builtin, custom = self.codes[op.scalar(0, "<I", 0)]
        kind = _OPS[builtin] if builtin != _CUSTOM else custom
        ins = [int(i) for i in op.array(1, np.int32)]
        outs = [int(i) for i in op.array(2, np.int32)]
        options = op.table(4)
        name = self.tensor(outs[0]).name if outs else f"{kind}_{position}"
        handler = getattr(self, f"op_{kind.lower()}")
        if builtin == _CUSTOM:
            options = bytes(op.array(5, np.uint8))
        try:
            handler(name, ins, outs, options)
        except _FlatBufferError:
            raise
        except _lwai.LwaiError as e:
            raise type(e)(f"operator {position} ({kind}, output '{name}'): {e}") from e

    @staticmethod
    def opt(options: _Table | None, field: int, fmt: str, default=0):
        """An option's value; `default` is the schema's (a field equal to it is not stored)."""
        return default if options is None else options.scalar(field, fmt, default)

    # --- operators ---------------------------------------------------------------------------

    def op_dequantize(self, name, ins, outs, options):
        source = self.tensor(ins[0])
        if self.is_constant(ins[0]):
            values = self.constant_values(ins[0])
            if source.type == 1:  # float16 weights: stay half in the file behind a Cast
                self.constants[outs[0]] = values
                return
            if source.scale is not None:
                self.constants[outs[0]] = _dequantize(source, values)
                self.constants_dequantized.add(outs[0])
                return
        layout = self.held(ins[0])
        if source.type == 1:
            out = self.output(outs[0], layout)
            self.node(name, "Cast", [self.read(ins[0], layout)], [out], {"to": 1})
            return
        if not self.is_quantized(ins[0]):
            raise _lwai.UnsupportedOperatorError("DEQUANTIZE of a tensor without scales")
        # read() dequantizes a quantized activation; the output is that float tensor.
        self.node(name, "Identity", [self.read(ins[0], layout)], [self.output(outs[0], layout)])

    def op_quantize(self, name, ins, outs, options):
        # float -> int8, or int8 -> int8 with other parameters: read() dequantizes a quantized
        # input, output() quantizes.
        layout = self.held(ins[0])
        self.node(name, "Identity", [self.read(ins[0], layout)], [self.output(outs[0], layout)])

    def op_densify(self, name, ins, outs, options):
        if not self.is_constant(ins[0]):
            raise _lwai.UnsupportedOperatorError("DENSIFY of a tensor computed by the graph")
        self.constants[outs[0]] = self.constant_values(ins[0])

    def weights(self, index: int, transpose: list[int] | None) -> int:
        """A constant weight tensor (dense, float16 kept half behind a Cast to float32), built
        once per tensor and layout."""
        if not self.is_constant(index):
            raise _lwai.UnsupportedOperatorError(
                f"tensor '{self.tensor(index).name}': weights computed by the graph"
            )
        key = (index, "weights", tuple(transpose or ()))
        if key not in self.ids:
            self.ids[key] = self.new_weights(index, transpose)
        return self.ids[key]

    def new_weights(self, index: int, transpose: list[int] | None) -> int:
        values = self.constant_values(index)
        if transpose is not None:
            values = values.transpose(transpose)
        base = self.fresh(f"{self.tensor(index).name}/weights")
        if self.is_quantized(index) and index not in self.constants_dequantized:
            tensor = self.tensor(index)
            axis = tensor.quantized_dimension
            if transpose is not None:
                axis = transpose.index(axis)
            stored = self.add_constant(f"{base}/quantized", values)
            wide = self.temp(base)
            params = self.quantization(index, base, axis)
            attrs = {"axis": int(axis)} if tensor.scale.size > 1 else {}
            self.node(f"{base}/dequantize", "DequantizeLinear", [stored, *params], [wide], attrs)
            return wide
        if values.dtype == np.float16:
            stored = self.add_constant(f"{base}/float16", values)
            wide = self.temp(base)
            self.node(f"{base}/expand", "Cast", [stored], [wide], {"to": 1})
            return wide
        return self.add_constant(base, values.astype(np.float32, copy=False))

    def conv_pads(self, x_shape, kernel, strides, dilations, padding) -> list[int]:
        for what, values in (("strides", strides), ("dilations", dilations), ("kernel", kernel)):
            if any(not 1 <= v <= _MAX_WINDOW for v in values):
                raise _lwai.InvalidModelError(f"{what} {list(values)} out of range")
        if len(x_shape) != 4:
            raise _lwai.UnsupportedOperatorError(f"a window over a {len(x_shape)}-D tensor")
        if padding == 1:  # VALID
            return [0, 0, 0, 0]
        h = _same_pads(x_shape[1], kernel[0], strides[0], dilations[0])
        w = _same_pads(x_shape[2], kernel[1], strides[1], dilations[1])
        return [h[0], w[0], h[1], w[1]]

    def op_conv_2d(self, name, ins, outs, options):
        self.conv(name, ins, outs, options, depthwise=False)

    def op_depthwise_conv_2d(self, name, ins, outs, options):
        self.conv(name, ins, outs, options, depthwise=True)

    def conv(self, name, ins, outs, options, depthwise: bool):
        x_shape = self.tensor(ins[0]).shape
        w_shape = self.tensor(ins[1]).shape
        if len(x_shape) != 4 or len(w_shape) != 4:
            raise _lwai.UnsupportedOperatorError("only 2-D convolutions of 4-D tensors")
        strides = [self.opt(options, 2, "<i", 0), self.opt(options, 1, "<i", 0)]
        dil_fields = (6, 5) if depthwise else (5, 4)
        dilations = [self.opt(options, f, "<i", 1) for f in dil_fields]
        activation = self.opt(options, 4 if depthwise else 3, "<b", 0)
        kernel = [w_shape[1], w_shape[2]]
        attrs = {
            "kernel_shape": kernel,
            "strides": strides,
            "dilations": dilations,
            "pads": self.conv_pads(x_shape, kernel, strides, dilations, self.opt(options, 0, "<b")),
        }
        if depthwise:  # [1, H, W, C * multiplier] -> [C * multiplier, 1, H, W]
            w = self.weights(ins[1], [3, 0, 1, 2])
            attrs["group"] = int(x_shape[3])
        else:  # [O, H, W, I] -> [O, I, H, W]
            w = self.weights(ins[1], [0, 3, 1, 2])
            attrs["group"] = int(x_shape[3] // w_shape[3]) if w_shape[3] else 1
        inputs = [self.read(ins[0], "nchw"), w]
        if len(ins) > 2 and ins[2] >= 0:
            inputs.append(self.weights(ins[2], None))
        self.emit(name, "Conv", inputs, attrs, activation, outs[0], "nchw")

    def pool(self, name, ins, outs, options, op: str):
        x_shape = self.tensor(ins[0]).shape
        strides = [self.opt(options, 2, "<i", 0), self.opt(options, 1, "<i", 0)]
        kernel = [self.opt(options, 4, "<i", 0), self.opt(options, 3, "<i", 0)]
        attrs = {
            "kernel_shape": kernel,
            "strides": strides,
            "pads": self.conv_pads(x_shape, kernel, strides, [1, 1], self.opt(options, 0, "<b")),
        }
        if op == "AveragePool":
            attrs["count_include_pad"] = 0  # TFLite averages the pixels inside the image only
        x = self.read(ins[0], "nchw")
        if kernel == list(x_shape[1:3]) and attrs["pads"] == [0, 0, 0, 0]:
            # One window over the whole image (squeeze-and-excitation blocks): a global pool,
            # which backends run as a reduction instead of a (large) window.
            op = "GlobalAveragePool" if op == "AveragePool" else "GlobalMaxPool"
            attrs = {}
        self.emit(name, op, [x], attrs, self.opt(options, 5, "<b", 0), outs[0], "nchw")

    def op_max_pool_2d(self, name, ins, outs, options):
        self.pool(name, ins, outs, options, "MaxPool")

    def op_average_pool_2d(self, name, ins, outs, options):
        self.pool(name, ins, outs, options, "AveragePool")

    def follow(self, ins: list[int]) -> str:
        """The layout an elementwise operator works in: that of its first 4-D activation."""
        for i in ins:
            if not self.is_constant(i) and len(self.tensor(i).shape) == 4:
                return self.held(i)
        return "nhwc"

    def operand(self, index: int, layout: str, rank: int) -> int:
        """An elementwise operand broadcast against a rank-`rank` tensor held in `layout`."""
        if layout == "nchw" and rank == 4 and len(self.tensor(index).shape) < 4:
            if self.is_constant(index):
                values = self.float_values(index)
                values = values.reshape((1,) * (4 - values.ndim) + values.shape)
                base = self.fresh(f"{self.tensor(index).name}/nchw")
                return self.add_constant(base, values.transpose(_NHWC_TO_NCHW))
            raise _lwai.UnsupportedOperatorError("broadcasting a lower-rank activation")
        return self.read(index, layout)

    def binary(self, name, ins, outs, options, op: str, activation_field: int | None = 0):
        layout = self.follow(ins)
        rank = len(self.tensor(outs[0]).shape)
        inputs = [self.operand(i, layout, rank) for i in ins]
        activation = 0 if activation_field is None else self.opt(options, activation_field, "<b")
        self.emit(name, op, inputs, None, activation, outs[0], layout)

    def op_add(self, name, ins, outs, options):
        self.binary(name, ins, outs, options, "Add")

    def op_sub(self, name, ins, outs, options):
        self.binary(name, ins, outs, options, "Sub")

    def op_mul(self, name, ins, outs, options):
        self.binary(name, ins, outs, options, "Mul")

    def op_div(self, name, ins, outs, options):
        self.binary(name, ins, outs, options, "Div")

    def op_maximum(self, name, ins, outs, options):
        self.binary(name, ins, outs, options, "Max", None)

    def op_minimum(self, name, ins, outs, options):
        self.binary(name, ins, outs, options, "Min", None)

    def op_prelu(self, name, ins, outs, options):
        self.binary(name, ins, outs, options, "PRelu", None)

    def unary(self, name, ins, outs, op: str, attrs=None):
        layout = self.follow(ins)
        out = self.output(outs[0], layout)
        self.node(name, op, [self.read(ins[0], layout)], [out], attrs)

    def op_relu(self, name, ins, outs, options):
        self.unary(name, ins, outs, "Relu")

    def op_relu6(self, name, ins, outs, options):
        layout = self.follow(ins)
        self.fused(name, 3, self.read(ins[0], layout), outs[0], layout)

    def op_relu_n1_to_1(self, name, ins, outs, options):
        layout = self.follow(ins)
        self.fused(name, 2, self.read(ins[0], layout), outs[0], layout)

    def op_logistic(self, name, ins, outs, options):
        self.unary(name, ins, outs, "Sigmoid")

    def op_tanh(self, name, ins, outs, options):
        self.unary(name, ins, outs, "Tanh")

    def op_hard_swish(self, name, ins, outs, options):
        self.unary(name, ins, outs, "HardSwish")

    def op_leaky_relu(self, name, ins, outs, options):
        self.unary(name, ins, outs, "LeakyRelu", {"alpha": float(self.opt(options, 0, "<f", 0.0))})

    def int_values(self, index: int, what: str) -> list[int]:
        if not self.is_constant(index):
            raise _lwai.UnsupportedOperatorError(f"{what} must be a constant")
        return [int(v) for v in self.constant_values(index).reshape(-1)]

    def op_reshape(self, name, ins, outs, options):
        shape = self.tensor(outs[0]).shape
        if len(ins) > 1 and ins[1] >= 0 and self.is_constant(ins[1]):
            shape = self.int_values(ins[1], "the new shape")
        elif options is not None and options.array(0, np.int32).size:
            shape = [int(d) for d in options.array(0, np.int32)]
        target = self.add_constant(self.fresh(f"{name}/shape"), np.array(shape, np.int64))
        out = self.output(outs[0], "nhwc")
        self.node(name, "Reshape", [self.read(ins[0], "nhwc"), target], [out])

    def op_concatenation(self, name, ins, outs, options):
        rank = len(self.tensor(outs[0]).shape)
        axis = self.opt(options, 0, "<i", 0)
        axis = axis + rank if axis < 0 else axis
        layout = self.follow(ins)
        if layout == "nchw":
            axis = _NHWC_TO_NCHW.index(axis)
        inputs = [self.read(i, layout) for i in ins]
        activation = self.opt(options, 1, "<b", 0)
        self.emit(name, "Concat", inputs, {"axis": axis}, activation, outs[0], layout)

    def op_pad(self, name, ins, outs, options):
        pads = np.array(self.int_values(ins[1], "the paddings")).reshape(-1, 2)
        # A 4-D tensor is padded as NCHW, whatever it is held as: its readers are convolutions
        # and pools, into which the optimizer folds the Pad (an image input's zero padding
        # before a strided convolution would otherwise stay a Pad and a Transpose).
        layout = "nchw" if len(self.tensor(ins[0]).shape) == 4 else "nhwc"
        if layout == "nchw":
            pads = pads[_NHWC_TO_NCHW]
        pad_values = [int(p) for p in pads[:, 0]] + [int(p) for p in pads[:, 1]]
        target = self.add_constant(self.fresh(f"{name}/pads"), np.array(pad_values, np.int64))
        out = self.output(outs[0], layout)
        self.node(name, "Pad", [self.read(ins[0], layout), target], [out])

    def op_mean(self, name, ins, outs, options):
        rank = len(self.tensor(ins[0]).shape)
        axes = [a + rank if a < 0 else a for a in self.int_values(ins[1], "the axes")]
        keep = bool(self.opt(options, 0, "<b", 0))
        layout = self.follow(ins[:1]) if keep else "nhwc"
        if layout == "nchw":
            axes = [_NHWC_TO_NCHW.index(a) for a in axes]
        axes_tensor = self.add_constant(self.fresh(f"{name}/axes"), np.array(axes, np.int64))
        out = self.output(outs[0], layout)
        self.node(
            name,
            "ReduceMean",
            [self.read(ins[0], layout), axes_tensor],
            [out],
            {"keepdims": int(keep)},
        )

    def op_softmax(self, name, ins, outs, options):
        beta = float(self.opt(options, 0, "<f", 0.0))
        x = self.read(ins[0], "nhwc")
        if beta != 1.0:
            scale = self.add_constant(self.fresh(f"{name}/beta"), np.array(beta, np.float32))
            scaled = self.temp(f"{name}/scaled")
            self.node(f"{name}/beta", "Mul", [x, scale], [scaled])
            x = scaled
        out = self.output(outs[0], "nhwc")
        self.node(name, "Softmax", [x], [out], {"axis": -1})

    def op_fully_connected(self, name, ins, outs, options):
        if self.opt(options, 1, "<b", 0) != 0:
            raise _lwai.UnsupportedOperatorError("shuffled FULLY_CONNECTED weights")
        w_shape = self.tensor(ins[1]).shape
        depth = w_shape[-1]
        flat_shape = self.add_constant(self.fresh(f"{name}/flat"), np.array([-1, depth], np.int64))
        flat = self.temp(f"{name}/flat")
        self.node(f"{name}/flatten", "Reshape", [self.read(ins[0], "nhwc"), flat_shape], [flat])
        inputs = [flat, self.weights(ins[1], None)]
        if len(ins) > 2 and ins[2] >= 0:
            inputs.append(self.weights(ins[2], None))
        activation = self.opt(options, 0, "<b", 0)
        out_shape = self.tensor(outs[0]).shape
        if not self.opt(options, 2, "<b", 0) or len(out_shape) == 2:
            self.emit(name, "Gemm", inputs, {"transB": 1}, activation, outs[0], "nhwc")
            return
        result = self.temp(f"{name}/gemm")
        self.node(name, "Gemm", inputs, [result], {"transB": 1})
        shape = self.add_constant(self.fresh(f"{name}/shape"), np.array(out_shape, np.int64))
        self.emit(
            f"{name}/keep_dims", "Reshape", [result, shape], None, activation, outs[0], "nhwc"
        )

    def resize(self, name, ins, outs, options, mode: str):
        size = self.int_values(ins[1], "the output size")
        x_shape = self.tensor(ins[0]).shape
        # ResizeBilinearOptions keeps two deprecated fields first; ResizeNearestNeighborOptions
        # has none.
        first = 2 if mode == "linear" else 0
        align = bool(self.opt(options, first, "<b", 0))
        half_pixel = bool(self.opt(options, first + 1, "<b", 0))
        attrs = {"mode": mode}
        if align:
            attrs["coordinate_transformation_mode"] = "align_corners"
        elif half_pixel:
            attrs["coordinate_transformation_mode"] = "half_pixel"
        else:
            attrs["coordinate_transformation_mode"] = "asymmetric"
        if mode == "nearest":
            # TFLite rounds with align_corners and floors otherwise, half-pixel centers included:
            # floor((x + 0.5) / scale) is ONNX's half_pixel, (x + 0.5) / scale - 0.5, rounded
            # half up.
            attrs["nearest_mode"] = "round_prefer_ceil" if align or half_pixel else "floor"
        sizes = np.array([x_shape[0], x_shape[3], size[0], size[1]], np.int64)
        sizes_tensor = self.add_constant(self.fresh(f"{name}/sizes"), sizes)
        out = self.output(outs[0], "nchw")
        self.node(name, "Resize", [self.read(ins[0], "nchw"), -1, -1, sizes_tensor], [out], attrs)

    def op_resize_bilinear(self, name, ins, outs, options):
        self.resize(name, ins, outs, options, "linear")

    def op_resize_nearest_neighbor(self, name, ins, outs, options):
        self.resize(name, ins, outs, options, "nearest")

    def op_depth_to_space(self, name, ins, outs, options):
        block = self.opt(options, 0, "<i", 0)  # the schema's default: a missing size is 0
        if not 1 <= block <= _MAX_WINDOW:
            raise _lwai.InvalidModelError(f"block size {block} out of range")
        out = self.output(outs[0], "nchw")
        self.node(
            name,
            "DepthToSpace",
            [self.read(ins[0], "nchw")],
            [out],
            {"blocksize": block, "mode": "DCR"},
        )

    def op_strided_slice(self, name, ins, outs, options):
        begin = self.int_values(ins[1], "the begin indices")
        end = self.int_values(ins[2], "the end indices")
        steps = self.int_values(ins[3], "the strides") if len(ins) > 3 else [1] * len(begin)
        masks = [self.opt(options, field, "<i", 0) for field in range(5)]
        begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_mask = masks
        if ellipsis_mask or new_axis_mask:
            raise _lwai.UnsupportedOperatorError("STRIDED_SLICE with ellipsis or new-axis masks")
        if self.opt(options, 5, "<b", 0):  # offset: ends are relative to the begins
            end = [b + e for b, e in zip(begin, end, strict=True)]
        starts, ends = [], []
        for axis, (b, e, step) in enumerate(zip(begin, end, steps, strict=True)):
            if step == 0:
                raise _lwai.InvalidModelError(f"STRIDED_SLICE stride 0 on axis {axis}")
            if shrink_mask >> axis & 1:  # the element at begin: masks and stride do not apply
                e = b + 1 if b != -1 else _INT64_MAX
                steps[axis] = 1
            else:
                if begin_mask >> axis & 1:
                    b = 0 if step > 0 else _INT64_MAX
                if end_mask >> axis & 1:
                    e = _INT64_MAX if step > 0 else _INT64_MIN
            starts.append(b)
            ends.append(e)
        constants = [
            self.add_constant(self.fresh(f"{name}/{what}"), np.array(values, np.int64))
            for what, values in (
                ("starts", starts),
                ("ends", ends),
                ("axes", list(range(len(starts)))),
                ("steps", steps),
            )
        ]
        shrunk = [axis for axis in range(len(starts)) if shrink_mask >> axis & 1]
        x = self.read(ins[0], "nhwc")
        if not shrunk:
            self.node(name, "Slice", [x, *constants], [self.output(outs[0], "nhwc")])
            return
        sliced = self.temp(f"{name}/slice")
        self.node(name, "Slice", [x, *constants], [sliced])
        axes = self.add_constant(self.fresh(f"{name}/shrink"), np.array(shrunk, np.int64))
        self.node(f"{name}/shrink", "Squeeze", [sliced, axes], [self.output(outs[0], "nhwc")])

    def transpose_conv(self, name, x, w, bias, outs, strides, padding, activation):
        """ConvTranspose of TFLite input `x` by OHWI weights `w` (+ `bias`), to the output
        shape the model declares; SAME or VALID as TensorFlow crops the full result."""
        x_shape = self.tensor(x).shape
        w_shape = self.tensor(w).shape
        out_shape = self.tensor(outs[0]).shape
        if len(x_shape) != 4 or len(w_shape) != 4 or len(out_shape) != 4:
            raise _lwai.UnsupportedOperatorError("only 2-D transposed convolutions")
        if any(not 1 <= v <= _MAX_WINDOW for v in strides):
            raise _lwai.InvalidModelError(f"strides {list(strides)} out of range")
        pads, extra = [0, 0, 0, 0], [0, 0]
        for axis in range(2):
            full = (x_shape[1 + axis] - 1) * strides[axis] + w_shape[1 + axis]
            total = full - out_shape[1 + axis]
            if total < 0:
                extra[axis] = -total
            elif padding == "SAME":
                pads[axis], pads[2 + axis] = total // 2, total - total // 2
            else:  # VALID: the declared output is the top-left part
                pads[2 + axis] = total
        attrs = {
            "kernel_shape": [w_shape[1], w_shape[2]],
            "strides": list(strides),
            "pads": pads,
            "output_padding": extra,
        }
        inputs = [self.read(x, "nchw"), self.weights(w, [3, 0, 1, 2])]  # OHWI -> IOHW
        if bias is not None:
            inputs.append(self.weights(bias, None))
        self.emit(name, "ConvTranspose", inputs, attrs, activation, outs[0], "nchw")

    def op_transpose_conv(self, name, ins, outs, options):
        # Inputs: output shape, weights, input[, bias].
        padding = "VALID" if self.opt(options, 0, "<b", 0) == 1 else "SAME"
        strides = [self.opt(options, 2, "<i", 0), self.opt(options, 1, "<i", 0)]
        bias = ins[3] if len(ins) > 3 and ins[3] >= 0 else None
        activation = self.opt(options, 3, "<b", 0)
        self.transpose_conv(name, ins[2], ins[1], bias, outs, strides, padding, activation)

    def op_convolution2dtransposebias(self, name, ins, outs, options: bytes):
        # MediaPipe's custom operator: inputs (input, OHWI weights, bias); its options are
        # TfLiteTransposeConvParams as raw bytes: padding (1 SAME, 2 VALID), stride w, stride h.
        if len(options) < 12 or len(ins) != 3:
            raise _lwai.InvalidModelError("Convolution2DTransposeBias: malformed options")
        padding, stride_w, stride_h = struct.unpack_from("<iii", options, 0)
        if padding not in (1, 2) or stride_w < 1 or stride_h < 1:
            raise _lwai.InvalidModelError(
                f"Convolution2DTransposeBias: padding {padding}, strides {stride_w}x{stride_h}"
            )
        self.transpose_conv(
            name,
            ins[0],
            ins[1],
            ins[2],
            outs,
            [stride_h, stride_w],
            "SAME" if padding == 1 else "VALID",
            0,
        )


def _dequantize(tensor: _Tensor, values: np.ndarray) -> np.ndarray:
    scale = tensor.scale.astype(np.float32)
    zero = tensor.zero_point if tensor.zero_point is not None and tensor.zero_point.size else 0
    if scale.size > 1:  # per axis
        shape = [1] * values.ndim
        shape[tensor.quantized_dimension] = -1
        scale = scale.reshape(shape)
        zero = np.asarray(zero).reshape(shape) if np.size(zero) > 1 else zero
    return ((values.astype(np.float32) - np.asarray(zero, np.float32)) * scale).astype(np.float32)


def convert(path: str | os.PathLike, *, optimize: bool = True) -> Model:
    """Converts a .tflite file into an lwai.Model. Raises UnsupportedOperatorError listing every
    unsupported operator with its index, InvalidModelError for malformed files, ModelNotFoundError
    and LwaiIOError for unreadable ones; messages start with the file's path."""
    path = os.fsdecode(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise _lwai.ModelNotFoundError(f"{path}: no such file") from None
    except OSError as e:
        raise _lwai.LwaiIOError(f"{path}: cannot read: {e.strerror or e}") from None
    if len(data) < 8 or data[4:8] != TFLITE_IDENTIFIER:
        raise _lwai.InvalidModelError(f"{path}: not a TFLite model (no 'TFL3' identifier)")
    try:
        return _Converter(path, memoryview(data)).convert(optimize)
    except _FlatBufferError as e:
        raise _lwai.InvalidModelError(f"{path}: malformed TFLite model: {e}") from None
    except _lwai.LwaiError as e:
        raise type(e)(f"{path}: {e}") from None
    except MemoryError:
        raise _lwai.OutOfMemoryError(f"{path}: out of memory while converting") from None
    except (
        struct.error,
        ValueError,
        IndexError,
        KeyError,
        TypeError,
        AttributeError,
        ArithmeticError,
        RecursionError,
    ) as e:
        # The checks above should leave none of these: a malformed file they missed.
        raise _lwai.InvalidModelError(f"{path}: malformed TFLite model: {e}") from None
