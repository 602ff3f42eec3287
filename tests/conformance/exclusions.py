"""Which ONNX node tests the conformance report excludes, and why.

Only three categories are excluded, each for a reason that no CPU inference user meets:
training operators, float8 number formats and string tensors. The category is read from the
test's model (operator domain, tensor element types, operator), never from a hand-kept list
of test names, so a new onnx release cannot hide failures here.
"""

from __future__ import annotations

import onnx

TRAINING_DOMAIN = "ai.onnx.preview.training"
FLOAT8_TYPES = {
    onnx.TensorProto.FLOAT8E4M3FN,
    onnx.TensorProto.FLOAT8E4M3FNUZ,
    onnx.TensorProto.FLOAT8E5M2,
    onnx.TensorProto.FLOAT8E5M2FNUZ,
}
if hasattr(onnx.TensorProto, "FLOAT8E8M0"):
    FLOAT8_TYPES.add(onnx.TensorProto.FLOAT8E8M0)
STRING_OPS = {"StringNormalizer", "StringSplit", "StringConcat", "RegexFullMatch"}

REASONS = {
    "training": "training operator (ai.onnx.preview.training): updates weights, not inference",
    "float8": "float8 number formats: no CPU inference use, no hardware support on CPUs",
    "string": "string tensors: text processing is outside a numeric inference runtime",
}


def _element_types(model: onnx.ModelProto) -> set[int]:
    types = set()

    def visit(type_proto):
        kind = type_proto.WhichOneof("value")
        if kind == "tensor_type":
            types.add(type_proto.tensor_type.elem_type)
        elif kind == "sequence_type":
            visit(type_proto.sequence_type.elem_type)
        elif kind == "optional_type":
            visit(type_proto.optional_type.elem_type)

    graph = model.graph
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        visit(value.type)
    for node in graph.node:
        for attr in node.attribute:
            if attr.name == "to":
                types.add(attr.i)
            if attr.type == onnx.AttributeProto.TENSOR:
                types.add(attr.t.data_type)
    return types


def exclusion_category(model: onnx.ModelProto) -> str | None:
    """'training', 'float8', 'string' or None (the test counts)."""
    if any(node.domain == TRAINING_DOMAIN for node in model.graph.node):
        return "training"
    types = _element_types(model)
    if types & FLOAT8_TYPES:
        return "float8"
    if onnx.TensorProto.STRING in types or any(n.op_type in STRING_OPS for n in model.graph.node):
        return "string"
    return None
