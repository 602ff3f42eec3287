"""Seeded random-weight ONNX models of published CNN architectures, for lwai benchmarks.

Builds SqueezeNet 1.0/1.1, Inception v3, MobileNet v1/v2 and the pre-activation ResNet-50 v2
with onnx.helper only (no torch, no downloads). Weights are He-normal random numbers drawn from a
fixed per-network seed, so a model is the same on every machine; BatchNormalization stays a
separate node after each conv so that BN-folding passes have work to do. Built models are cached
outside git, in $LWAI_MODEL_CACHE or else <repo>/.cache/models.

All models: opset 13, IR version 8, input "input" float32 [batch, 3, H, W] (NCHW), output
"output" = Softmax(logits, axis=1) of shape [batch, classes].

CLI: python3 benchmarks/seed_models.py [--out DIR] [names...]
"""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import tempfile
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 8
REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
VALID = (0, 0, 0, 0)  # Conv/pool pads: [top, left, bottom, right]
TF_SAME_STRIDE2 = (0, 0, 1, 1)  # TF "SAME" for k=3, stride 2 on an even size: pad only at the end


class GraphBuilder:
    """Appends nodes and seeded random initializers; remembers the channel count of each tensor.

    Every method takes input tensor name(s) and a node name and returns the output tensor name,
    which is the node name itself (except the final Softmax, whose output is "output").
    """

    def __init__(self, seed: int, bn_eps: float = 1e-5) -> None:
        self.rng = np.random.default_rng(seed)
        self.bn_eps = bn_eps
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.channels: dict[str, int] = {"input": 3}
        self._node_names: set[str] = set()
        self._const_names: set[str] = set()

    # -- plumbing ---------------------------------------------------------------------------

    def _const(self, name: str, array: np.ndarray) -> str:
        if name in self._const_names:
            raise ValueError(f"duplicate initializer name {name!r}")
        self._const_names.add(name)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def _shared_const(self, name: str, array: np.ndarray) -> str:
        """An initializer created on first use and reused afterwards."""
        return name if name in self._const_names else self._const(name, array)

    def _node(
        self, op: str, name: str, inputs: list[str], channels: int, out: str = "", **attrs
    ) -> str:
        out = out or name
        if name in self._node_names or out in self.channels:
            raise ValueError(f"duplicate node or tensor name {name!r}")
        self._node_names.add(name)
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        self.channels[out] = channels
        return out

    # -- layers -----------------------------------------------------------------------------

    def conv(
        self,
        x: str,
        name: str,
        cout: int,
        kernel: int | tuple[int, int],
        *,
        stride: int = 1,
        pads: tuple[int, int, int, int] | None = None,
        group: int = 1,
        bias: bool = True,
        auto_pad: str = "",
        gain: float = 1.0,
    ) -> str:
        """Conv with He-normal weights; pads default to symmetric "same" ((k - 1) // 2)."""
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        cin = self.channels[x] // group
        std = gain * math.sqrt(2.0 / (cin * kh * kw))
        weight = self.rng.standard_normal((cout, cin, kh, kw), dtype=np.float32) * std
        inputs = [x, self._const(f"{name}/weight", weight)]
        if bias:
            inputs.append(self._const(f"{name}/bias", self._small(cout)))
        attrs = {"kernel_shape": [kh, kw], "strides": [stride, stride], "group": group}
        if auto_pad:
            attrs["auto_pad"] = auto_pad
        else:
            attrs["pads"] = list(pads if pads is not None else ((kh - 1) // 2, (kw - 1) // 2) * 2)
        return self._node("Conv", name, inputs, cout, **attrs)

    def bn(self, x: str, name: str) -> str:
        """Inference BatchNormalization with random statistics.

        var = gamma**2 * U(0.7, 1.4) makes E[gamma**2 / var] ~= 1, so BN neither grows nor shrinks
        activations on average (independent U(0.5, 1.5) draws would grow them ~9% per layer).
        """
        c = self.channels[x]
        gamma = self.rng.uniform(0.5, 1.5, c)
        params = {
            "gamma": gamma,
            "beta": self._small(c),
            "mean": self._small(c),
            "var": gamma**2 * self.rng.uniform(0.7, 1.4, c),
        }
        inputs = [x] + [self._const(f"{name}/{k}", v.astype(np.float32)) for k, v in params.items()]
        return self._node("BatchNormalization", name, inputs, c, epsilon=self.bn_eps)

    def relu(self, x: str, name: str) -> str:
        return self._node("Relu", name, [x], self.channels[x])

    def relu6(self, x: str, name: str) -> str:
        lo = self._shared_const("relu6/min", np.array(0.0, np.float32))
        hi = self._shared_const("relu6/max", np.array(6.0, np.float32))
        return self._node("Clip", name, [x, lo, hi], self.channels[x])

    def activation(self, x: str, name: str, act: str) -> str:
        return {"relu": self.relu, "relu6": self.relu6}[act](x, f"{name}/{act}")

    def conv_block(
        self,
        x: str,
        name: str,
        cout: int,
        kernel: int | tuple[int, int],
        *,
        act: str = "relu",
        bn: bool = True,
        **conv_kw,
    ) -> str:
        """<name>/conv [+ <name>/bn] [+ <name>/<act>]; the conv has a bias only without BN."""
        y = self.conv(x, f"{name}/conv", cout, kernel, bias=not bn, **conv_kw)
        if bn:
            y = self.bn(y, f"{name}/bn")
        return self.activation(y, name, act) if act else y

    def bn_relu(self, x: str, name: str) -> str:
        return self.relu(self.bn(x, f"{name}/bn"), f"{name}/relu")

    def maxpool(
        self,
        x: str,
        name: str,
        kernel: int,
        stride: int,
        *,
        pads: tuple[int, int, int, int] = VALID,
        ceil_mode: int = 0,
    ) -> str:
        return self._node(
            "MaxPool",
            name,
            [x],
            self.channels[x],
            kernel_shape=[kernel, kernel],
            strides=[stride, stride],
            pads=list(pads),
            ceil_mode=ceil_mode,
        )

    def avgpool_3x3_same(self, x: str, name: str) -> str:
        # torchvision's Inception v3 calls F.avg_pool2d(x, 3, 1, 1), whose default
        # count_include_pad=True divides border windows by 9 (Keras/TF would exclude the padding).
        return self._node(
            "AveragePool",
            name,
            [x],
            self.channels[x],
            kernel_shape=[3, 3],
            strides=[1, 1],
            pads=[1, 1, 1, 1],
            count_include_pad=1,
        )

    def global_avgpool(self, x: str, name: str) -> str:
        return self._node("GlobalAveragePool", name, [x], self.channels[x])

    def concat(self, xs: list[str], name: str) -> str:
        return self._node("Concat", name, xs, sum(self.channels[x] for x in xs), axis=1)

    def add(self, a: str, b: str, name: str) -> str:
        return self._node("Add", name, [a, b], self.channels[a])

    def dropout(self, x: str, name: str) -> str:
        return self._node("Dropout", name, [x], self.channels[x])  # ratio 0.5, inference mode

    def flatten(self, x: str, name: str) -> str:
        return self._node("Flatten", name, [x], self.channels[x], axis=1)

    def reshape_2d(self, x: str, name: str) -> str:
        shape = self._const(f"{name}/shape", np.array([0, -1], np.int64))
        return self._node("Reshape", name, [x, shape], self.channels[x])

    def gemm(self, x: str, name: str, cout: int) -> str:
        cin = self.channels[x]
        weight = self.rng.standard_normal((cout, cin), dtype=np.float32) * math.sqrt(2.0 / cin)
        bias = self._small(cout)
        inputs = [x, self._const(f"{name}/weight", weight), self._const(f"{name}/bias", bias)]
        return self._node("Gemm", name, inputs, cout, transB=1)

    def classifier(self, x: str, classes: int) -> str:
        """GlobalAveragePool -> Flatten -> Gemm logits."""
        return self.gemm(self.flatten(self.global_avgpool(x, "pool"), "flatten"), "fc", classes)

    def _small(self, n: int) -> np.ndarray:
        return self.rng.normal(0.0, 0.05, n).astype(np.float32)

    # -- model ------------------------------------------------------------------------------

    def model(self, logits: str, name: str, size: int, doc: str) -> onnx.ModelProto:
        out = self._node("Softmax", "softmax", [logits], self.channels[logits], "output", axis=1)
        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, size, size])],
            [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["batch", self.channels[out]])],
            self.initializers,
        )
        return helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            ir_version=IR_VERSION,
            producer_name="lwai.benchmarks.seed_models",
            doc_string=doc,
        )


# -- SqueezeNet (Iandola et al. 2016; torchvision layout) -------------------------------------

# Fire modules as (squeeze, expand) channels; None is a 3x3/2 ceil-mode MaxPool.
_SQUEEZENET = {
    "squeezenet1.0": (96, 7, [(16, 64), (16, 64), (32, 128), None, (32, 128), (48, 192), (48, 192),
                              (64, 256), None, (64, 256)]),
    "squeezenet1.1": (64, 3, [(16, 64), (16, 64), None, (32, 128), (32, 128), None, (48, 192),
                              (48, 192), (64, 256), (64, 256)]),
}  # fmt: skip


def _fire(g: GraphBuilder, x: str, name: str, squeeze: int, expand: int) -> str:
    s = g.conv_block(x, f"{name}/squeeze1x1", squeeze, 1, bn=False)
    e1 = g.conv_block(s, f"{name}/expand1x1", expand, 1, bn=False)
    e3 = g.conv_block(s, f"{name}/expand3x3", expand, 3, bn=False)
    return g.concat([e1, e3], f"{name}/concat")


def _squeezenet(g: GraphBuilder, version: str) -> str:
    stem_channels, stem_kernel, layout = _SQUEEZENET[version]
    x = g.conv_block("input", "conv1", stem_channels, stem_kernel, stride=2, pads=VALID, bn=False)
    x = g.maxpool(x, "pool1", 3, 2, ceil_mode=1)
    index = 1  # Caffe naming: fire2..fire9, pools named after the layer they follow
    for fire in layout:
        if fire is None:
            x = g.maxpool(x, f"pool{index}", 3, 2, ceil_mode=1)
        else:
            index += 1
            x = _fire(g, x, f"fire{index}", *fire)
    x = g.dropout(x, "drop9")
    x = g.conv_block(x, "conv10", 1000, 1, bn=False)
    return g.reshape_2d(g.global_avgpool(x, "pool10"), "flatten")


# -- Inception v3 (Szegedy et al. 2015; torchvision layout, no aux head) ----------------------


def _branch(g: GraphBuilder, x: str, block: str, *convs: tuple) -> str:
    """A chain of conv+BN+ReLU; each conv is (name, channels, kernel[, stride]).

    Stride-2 convs are unpadded, all others are "same"-padded, as in torchvision.
    """
    for name, cout, kernel, *stride in convs:
        s = stride[0] if stride else 1
        pads = VALID if s == 2 else None
        x = g.conv_block(x, f"{block}/{name}", cout, kernel, stride=s, pads=pads)
    return x


def _pool_branch(g: GraphBuilder, x: str, block: str, cout: int) -> str:
    pooled = g.avgpool_3x3_same(x, f"{block}/branch_pool/avgpool")
    return _branch(g, pooled, block, ("branch_pool", cout, 1))


def _inception_a(g: GraphBuilder, x: str, name: str, pool_features: int) -> str:
    return g.concat(
        [
            _branch(g, x, name, ("branch1x1", 64, 1)),
            _branch(g, x, name, ("branch5x5_1", 48, 1), ("branch5x5_2", 64, 5)),
            _branch(
                g, x, name, ("branch3x3dbl_1", 64, 1), ("branch3x3dbl_2", 96, 3),
                ("branch3x3dbl_3", 96, 3),
            ),
            _pool_branch(g, x, name, pool_features),
        ],
        f"{name}/concat",
    )  # fmt: skip


def _inception_b(g: GraphBuilder, x: str, name: str) -> str:
    return g.concat(
        [
            _branch(g, x, name, ("branch3x3", 384, 3, 2)),
            _branch(
                g, x, name, ("branch3x3dbl_1", 64, 1), ("branch3x3dbl_2", 96, 3),
                ("branch3x3dbl_3", 96, 3, 2),
            ),
            g.maxpool(x, f"{name}/branch_pool/maxpool", 3, 2),
        ],
        f"{name}/concat",
    )  # fmt: skip


def _inception_c(g: GraphBuilder, x: str, name: str, c7: int) -> str:
    return g.concat(
        [
            _branch(g, x, name, ("branch1x1", 192, 1)),
            _branch(
                g, x, name, ("branch7x7_1", c7, 1), ("branch7x7_2", c7, (1, 7)),
                ("branch7x7_3", 192, (7, 1)),
            ),
            _branch(
                g, x, name, ("branch7x7dbl_1", c7, 1), ("branch7x7dbl_2", c7, (7, 1)),
                ("branch7x7dbl_3", c7, (1, 7)), ("branch7x7dbl_4", c7, (7, 1)),
                ("branch7x7dbl_5", 192, (1, 7)),
            ),
            _pool_branch(g, x, name, 192),
        ],
        f"{name}/concat",
    )  # fmt: skip


def _inception_d(g: GraphBuilder, x: str, name: str) -> str:
    return g.concat(
        [
            _branch(g, x, name, ("branch3x3_1", 192, 1), ("branch3x3_2", 320, 3, 2)),
            _branch(
                g, x, name, ("branch7x7x3_1", 192, 1), ("branch7x7x3_2", 192, (1, 7)),
                ("branch7x7x3_3", 192, (7, 1)), ("branch7x7x3_4", 192, 3, 2),
            ),
            g.maxpool(x, f"{name}/branch_pool/maxpool", 3, 2),
        ],
        f"{name}/concat",
    )  # fmt: skip


def _split_1x3_3x1(g: GraphBuilder, x: str, block: str, prefix: str) -> str:
    """Inception E's parallel 1x3 and 3x1 convs, concatenated."""
    a = _branch(g, x, block, (f"{prefix}a", 384, (1, 3)))
    b = _branch(g, x, block, (f"{prefix}b", 384, (3, 1)))
    return g.concat([a, b], f"{block}/{prefix}/concat")


def _inception_e(g: GraphBuilder, x: str, name: str) -> str:
    b3 = _branch(g, x, name, ("branch3x3_1", 384, 1))
    b3dbl = _branch(g, x, name, ("branch3x3dbl_1", 448, 1), ("branch3x3dbl_2", 384, 3))
    return g.concat(
        [
            _branch(g, x, name, ("branch1x1", 320, 1)),
            _split_1x3_3x1(g, b3, name, "branch3x3_2"),
            _split_1x3_3x1(g, b3dbl, name, "branch3x3dbl_3"),
            _pool_branch(g, x, name, 192),
        ],
        f"{name}/concat",
    )


def _inception_v3(g: GraphBuilder) -> str:
    x = _branch(
        g, "input", "stem", ("Conv2d_1a_3x3", 32, 3, 2), ("Conv2d_2a_3x3", 32, 3),
        ("Conv2d_2b_3x3", 64, 3),
    )  # fmt: skip
    x = g.maxpool(x, "stem/MaxPool_3a_3x3", 3, 2)
    x = _branch(g, x, "stem", ("Conv2d_3b_1x1", 80, 1))
    x = g.conv_block(x, "stem/Conv2d_4a_3x3", 192, 3, pads=VALID)
    x = g.maxpool(x, "stem/MaxPool_5a_3x3", 3, 2)
    for name, pool_features in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
        x = _inception_a(g, x, name, pool_features)
    x = _inception_b(g, x, "Mixed_6a")
    for name, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        x = _inception_c(g, x, name, c7)
    x = _inception_d(g, x, "Mixed_7a")
    for name in ("Mixed_7b", "Mixed_7c"):
        x = _inception_e(g, x, name)
    return g.classifier(x, 1000)


# -- MobileNet v1 (Howard et al. 2017; TF-slim layout and names) ------------------------------

# (pointwise channels, depthwise stride) of Conv2d_1 .. Conv2d_13.
_MOBILENET_V1 = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *[(512, 1)] * 5,
                 (1024, 2), (1024, 1))  # fmt: skip


def _mobilenet_v1(g: GraphBuilder) -> str:
    # TF "SAME" padding: the stem uses auto_pad (the only auto_pad in this file), the other
    # stride-2 convs spell out the equivalent asymmetric pads.
    x = g.conv_block("input", "Conv2d_0", 32, 3, stride=2, act="relu6", auto_pad="SAME_UPPER")
    for i, (cout, stride) in enumerate(_MOBILENET_V1, start=1):
        c = g.channels[x]
        pads = TF_SAME_STRIDE2 if stride == 2 else None
        x = g.conv_block(
            x, f"Conv2d_{i}_depthwise", c, 3, stride=stride, pads=pads, group=c, act="relu6"
        )
        x = g.conv_block(x, f"Conv2d_{i}_pointwise", cout, 1, act="relu6")
    x = g.conv(g.global_avgpool(x, "AvgPool_1a"), "Conv2d_1c_1x1", 1001, 1)
    return g.flatten(x, "SpatialSqueeze")


# -- MobileNet v2 (Sandler et al. 2018; torchvision layout) -----------------------------------

# Inverted residual stages as (expansion t, channels c, repeats n, first stride s).
_MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                 (6, 160, 3, 2), (6, 320, 1, 1))  # fmt: skip


def _inverted_residual(
    g: GraphBuilder, x: str, name: str, t: int, cout: int, *, stride: int
) -> str:
    cin = g.channels[x]
    hidden = cin * t
    h = g.conv_block(x, f"{name}/expand", hidden, 1, act="relu6") if t != 1 else x
    h = g.conv_block(h, f"{name}/depthwise", hidden, 3, stride=stride, group=hidden, act="relu6")
    h = g.conv_block(h, f"{name}/project", cout, 1, act="")  # linear bottleneck
    return g.add(x, h, f"{name}/add") if stride == 1 and cin == cout else h


def _mobilenet_v2(g: GraphBuilder) -> str:
    x = g.conv_block("input", "stem", 32, 3, stride=2, act="relu6")
    block = 0
    for t, c, n, s in _MOBILENET_V2:
        for i in range(n):
            block += 1
            x = _inverted_residual(g, x, f"block{block}", t, c, stride=s if i == 0 else 1)
    x = g.conv_block(x, "last_conv", 1280, 1, act="relu6")
    return g.classifier(x, 1000)


# -- ResNet-50 v2 (He et al. 2016, "Identity Mappings"; TF-slim resnet_v2_50 names) -----------


# Each unit adds its residual branch to the stream; with unit-gain branches the stream variance
# would double per unit (2**16 over 16 units). Scaling the last conv of each branch by
# 1/sqrt(units) (as Fixup/SkipInit do) bounds the growth to (1 + 1/16)**16 ~= e.
_RESNET_BRANCH_GAIN = 1 / math.sqrt(16)


def _preact_bottleneck(g: GraphBuilder, x: str, name: str, depth: int, *, stride: int) -> str:
    preact = g.bn_relu(x, f"{name}/preact")
    shortcut = x
    if g.channels[x] != 4 * depth:  # projection shortcut, from the pre-activation as in TF-slim
        shortcut = g.conv(preact, f"{name}/shortcut", 4 * depth, 1, stride=stride)
    h = g.conv_block(preact, f"{name}/conv1", depth, 1)
    h = g.conv_block(h, f"{name}/conv2", depth, 3, stride=stride)
    h = g.conv(h, f"{name}/conv3", 4 * depth, 1, gain=_RESNET_BRANCH_GAIN)
    return g.add(shortcut, h, f"{name}/add")


def _resnet_v2_50(g: GraphBuilder) -> str:
    # Stem as TF-slim resnet_v2: a plain conv (bias, no BN/ReLU), then a 3x3/2 "SAME" max pool.
    x = g.conv("input", "conv1", 64, 7, stride=2)
    x = g.maxpool(x, "pool1", 3, 2, pads=TF_SAME_STRIDE2)
    for b, (depth, units) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3)), start=1):
        for u in range(1, units + 1):
            stride = 2 if u == 1 and b > 1 else 1  # paper placement: first unit of blocks 2-4
            x = _preact_bottleneck(g, x, f"block{b}/unit_{u}", depth, stride=stride)
    return g.classifier(g.bn_relu(x, "postnorm"), 1000)


# -- public API -------------------------------------------------------------------------------


class _Spec(NamedTuple):
    body: Callable[[GraphBuilder], str]  # builds the graph from "input", returns the logits
    size: int  # input height = width
    seed: int
    bn_eps: float


_SPECS = {
    "squeezenet1.0": _Spec(lambda g: _squeezenet(g, "squeezenet1.0"), 224, 1000, 1e-5),
    "squeezenet1.1": _Spec(lambda g: _squeezenet(g, "squeezenet1.1"), 224, 1001, 1e-5),
    "inception_v3": _Spec(_inception_v3, 299, 1002, 1e-3),
    "mobilenet_v1_1.0_224": _Spec(_mobilenet_v1, 224, 1003, 1e-3),
    "mobilenet_v2_1.0_224": _Spec(_mobilenet_v2, 224, 1004, 1e-5),
    "resnet_v2_50": _Spec(_resnet_v2_50, 224, 1005, 1e-5),
}
NAMES = tuple(_SPECS)


def build(name: str) -> onnx.ModelProto:
    """Builds network `name` (one of NAMES) with its fixed-seed weights; checks it."""
    if name not in _SPECS:
        raise ValueError(f"unknown network {name!r}; expected one of {NAMES}")
    spec = _SPECS[name]
    g = GraphBuilder(spec.seed, spec.bn_eps)
    doc = f"{name} with random He-normal weights (numpy default_rng seed {spec.seed})"
    model = g.model(spec.body(g), name, spec.size, doc)
    onnx.checker.check_model(model, full_check=True)
    return model


def macs(model: onnx.ModelProto) -> int:
    """Multiply-accumulates of all Conv, Gemm and MatMul nodes for batch 1."""
    model_b1 = onnx.ModelProto()
    model_b1.CopyFrom(model)
    for value in (*model_b1.graph.input, *model_b1.graph.output):
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_param"):
                dim.dim_value = 1
    inferred = onnx.shape_inference.infer_shapes(model_b1, strict_mode=True).graph
    shapes = {t.name: list(t.dims) for t in inferred.initializer}
    for value in (*inferred.input, *inferred.value_info, *inferred.output):
        shapes[value.name] = [d.dim_value for d in value.type.tensor_type.shape.dim]
    total = 0
    for node in inferred.node:
        out = math.prod(shapes[node.output[0]])
        if node.op_type == "Conv":  # weight [Cout, Cin / group, kh, kw]
            total += out * math.prod(shapes[node.input[1]][1:])
        elif node.op_type in ("Gemm", "MatMul"):
            trans_a = any(a.name == "transA" and a.i for a in node.attribute)
            total += out * shapes[node.input[0]][-2 if trans_a else -1]
    return total


def default_cache_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("LWAI_MODEL_CACHE") or REPO_ROOT / ".cache" / "models")


def ensure(name: str, cache_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """Returns <cache_dir>/<name>.onnx, building and writing it (atomically) if missing."""
    cache_dir = pathlib.Path(cache_dir) if cache_dir else default_cache_dir()
    path = cache_dir / f"{name}.onnx"
    if path.exists():
        return path
    model = build(name)
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=cache_dir)
    try:
        os.fchmod(fd, 0o644)  # mkstemp creates 0600
        with os.fdopen(fd, "wb") as f:
            f.write(model.SerializeToString())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def _report(name: str, cache_dir: pathlib.Path | None) -> str:
    path = ensure(name, cache_dir)
    model = onnx.load(path)
    params = sum(
        math.prod(t.dims)
        for t in model.graph.initializer
        if t.data_type == TensorProto.FLOAT and t.dims
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    size = model.graph.input[0].type.tensor_type.shape.dim[2].dim_value
    x = np.random.default_rng(0).standard_normal((1, 3, size, size), dtype=np.float32)
    (probs,) = session.run(["output"], {"input": x})
    # log-softmax = logits - logsumexp(logits), so log(probs) has the logits' spread.
    logit_std = np.log(np.maximum(probs.astype(np.float64), np.finfo(np.float32).tiny)).std()
    size_mb = path.stat().st_size / 2**20
    return (
        f"{name:<22}{size_mb:>8.1f}{params / 1e6:>9.2f}{macs(model) / 1e9:>8.3f}"
        f"{list(probs.shape)!s:>12}{logit_std:>10.3f}  {path}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, help="cache dir (default: %(default)s)")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"default: all of {NAMES}")
    parser.set_defaults(out=default_cache_dir())
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in _SPECS]
    if unknown:
        parser.error(f"unknown network(s) {unknown}; choose from {NAMES}")
    header = ("network", "MB", "Mparams", "GMACs", "output", "logit std")
    print("{:<22}{:>8}{:>9}{:>8}{:>12}{:>10}  path".format(*header))
    for name in args.names or NAMES:
        print(_report(name, args.out), flush=True)


if __name__ == "__main__":
    main()
