// Which nodes the XNNPACK backend takes: decided from the graph alone (dtypes, ranks, constant
// weights, attributes), before any shape is final.
#include "backends/xnnpack/claims.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace lwai {
namespace xnnpack {
namespace {

const TensorDesc* InputDesc(const Graph& graph, const Node& node, int i) {
  if (i >= static_cast<int>(node.inputs.size()) || node.inputs[i] < 0) return nullptr;
  return &graph.tensors[node.inputs[i]];
}

bool IsFloatOfRank(const TensorDesc* desc, int rank) {
  return desc != nullptr && desc->dtype == DataType::kFloat32 && desc->shape_known &&
         static_cast<int>(desc->shape.size()) == rank;
}

bool IsConstant(const TensorDesc* desc) { return desc != nullptr && desc->is_constant(); }

bool HasKnownValue(const Dim& dim, int64_t value) { return dim.value == value; }

bool SameDims(const TensorDesc& a, const TensorDesc& b) {
  if (!a.shape_known || !b.shape_known || a.shape.size() != b.shape.size()) return false;
  for (size_t d = 0; d < a.shape.size(); ++d) {
    const Dim& x = a.shape[d];
    const Dim& y = b.shape[d];
    if (x.value >= 0 || y.value >= 0) {
      if (x.value != y.value) return false;
    } else if (x.name.empty() || x.name != y.name) {
      return false;
    }
  }
  return true;
}

// XNNPACK takes window sizes, strides, dilations and pads as uint32: larger (hostile) values
// stay with the reference kernels, which reject them with a clear error.
bool WindowAttributesFit(const Node& node) {
  constexpr int64_t kLimit = int64_t{1} << 20;
  for (const char* name : {"kernel_shape", "strides", "dilations", "pads"}) {
    for (int64_t v : node.GetInts(name)) {
      if (v < 0 || v > kLimit) return false;
    }
  }
  return true;
}

bool FusedActivationSupported(const Node& node) {
  const std::string activation = node.GetString("activation", "");
  return activation.empty() || activation == "Relu" || activation == "Clip";
}

bool ClaimConv(const Graph& graph, const Node& node) {
  const TensorDesc* x = InputDesc(graph, node, 0);
  const TensorDesc* w = InputDesc(graph, node, 1);
  const TensorDesc* b = InputDesc(graph, node, 2);
  if (!IsFloatOfRank(x, 4) || !IsFloatOfRank(w, 4) || !IsConstant(w) || !w->HasStaticShape() ||
      !WindowAttributesFit(node)) {
    return false;
  }
  if (b != nullptr && (!IsConstant(b) || b->dtype != DataType::kFloat32)) return false;
  return FusedActivationSupported(node);
}

bool ClaimConvTranspose(const Graph& graph, const Node& node) {
  const TensorDesc* x = InputDesc(graph, node, 0);
  const TensorDesc* w = InputDesc(graph, node, 1);
  const TensorDesc* b = InputDesc(graph, node, 2);
  if (!IsFloatOfRank(x, 4) || !IsFloatOfRank(w, 4) || !IsConstant(w) || !w->HasStaticShape() ||
      !WindowAttributesFit(node) || node.FindAttribute("activation") != nullptr) {
    return false;
  }
  for (int64_t v : node.GetInts("output_padding")) {
    if (v < 0 || v > (int64_t{1} << 20)) return false;
  }
  return b == nullptr || (IsConstant(b) && b->dtype == DataType::kFloat32);
}

bool ClaimPool(const Graph& graph, const Node& node) {
  if (!IsFloatOfRank(InputDesc(graph, node, 0), 4)) return false;
  if (node.outputs.size() > 1 && node.outputs[1] >= 0) return false;  // MaxPool Indices
  if (!WindowAttributesFit(node)) return false;
  const std::vector<int64_t> kernel = node.GetInts("kernel_shape");
  if (kernel.size() != 2 || kernel[0] * kernel[1] <= 1) return false;
  // Large windows cost XNNPACK the whole window per output, and its operators cannot stop at a
  // deadline; the Eigen backend's separable passes cost the window's sides.
  if (kernel[0] > 16 || kernel[1] > 16) return false;
  if (node.op == OpType::MaxPool) return node.GetInt("storage_order", 0) == 0;
  for (int64_t dilation : node.GetInts("dilations")) {
    if (dilation != 1) return false;
  }
  // XNNPACK averages over the valid elements only, which is ONNX's count_include_pad = 0.
  // count_include_pad = 1 runs as a depthwise convolution with weights 1 / window size, which
  // only differs where ceil_mode adds windows that reach past the end padding.
  return node.GetInt("count_include_pad", 0) == 0 || node.GetInt("ceil_mode", 0) == 0;
}

bool ClaimBatchNormalization(const Graph& graph, const Node& node) {
  if (!IsFloatOfRank(InputDesc(graph, node, 0), 4) || node.inputs.size() != 5) return false;
  if (node.outputs.size() > 1) {
    for (size_t o = 1; o < node.outputs.size(); ++o) {
      if (node.outputs[o] >= 0) return false;  // training outputs
    }
  }
  for (int i = 1; i < 5; ++i) {
    const TensorDesc* param = InputDesc(graph, node, i);
    if (!IsConstant(param) || param->dtype != DataType::kFloat32) return false;
  }
  return node.GetInt("training_mode", 0) == 0;
}

bool ClaimGemm(const Graph& graph, const Node& node) {
  const TensorDesc* a = InputDesc(graph, node, 0);
  const TensorDesc* b = InputDesc(graph, node, 1);
  const TensorDesc* c = InputDesc(graph, node, 2);
  if (!IsFloatOfRank(a, 2) || !IsFloatOfRank(b, 2) || !IsConstant(b) || !b->HasStaticShape()) {
    return false;
  }
  if (node.GetInt("transA", 0) != 0 || node.GetFloat("alpha", 1.0f) != 1.0f) return false;
  if (c != nullptr) {
    if (!IsConstant(c) || c->dtype != DataType::kFloat32 || !c->HasStaticShape()) return false;
    if (node.GetFloat("beta", 1.0f) != 1.0f) return false;
    const int64_t n = node.GetInt("transB", 0) ? b->shape[0].value : b->shape[1].value;
    const Shape shape = c->StaticShape();
    const bool row =
        (shape.rank == 1 && shape[0] == n) || (shape.rank == 2 && shape[0] == 1 && shape[1] == n);
    if (!row) return false;
  }
  return FusedActivationSupported(node);
}

bool ClaimElementwiseUnary(const Graph& graph, const Node& node) {
  const TensorDesc* x = InputDesc(graph, node, 0);
  if (x == nullptr || x->dtype != DataType::kFloat32 || !x->shape_known) return false;
  if (node.op == OpType::Clip) {
    for (int i = 1; i < 3; ++i) {
      const TensorDesc* bound = InputDesc(graph, node, i);
      if (bound != nullptr && (!IsConstant(bound) || bound->dtype != DataType::kFloat32)) {
        return false;
      }
    }
  }
  return true;
}

// A constant the elementwise operators broadcast against a 4-D tensor x in NHWC: one value, or
// one per channel ([C, 1, 1] or [1, C, 1, 1]: the same bytes as NHWC's [1, 1, 1, C]).
bool BroadcastConstant(const TensorDesc& constant, const TensorDesc& x) {
  if (!IsConstant(&constant) || constant.dtype != DataType::kFloat32 || !IsFloatOfRank(&x, 4) ||
      IsConstant(&x) || !constant.HasStaticShape()) {
    return false;
  }
  const Shape shape = constant.StaticShape();
  if (shape.NumElements() == 1) return true;
  const int64_t channels = x.shape[1].value;
  if (channels < 0 || shape.NumElements() != channels) return false;
  // Numpy broadcasting aligns trailing dims: the channel axis of NCHW is the third from last.
  if (shape.rank != 3 && shape.rank != 4) return false;
  for (int d = 0; d < shape.rank; ++d) {
    if (d != shape.rank - 3 && shape[d] != 1) return false;
  }
  return true;
}

// Two non-constant operands of one shape or both 4-D, or a 4-D tensor and a broadcast
// constant. Two 4-D operands both run in NHWC, and numpy broadcasting commutes with permuting
// both operands' axes alike, so XNNPACK's broadcasting over the NHWC dims gives the NCHW
// result (squeeze-and-excitation gates [N, C, 1, 1], whatever the batch dims are known as).
bool ClaimBinary(const TensorDesc* a, const TensorDesc* b) {
  if (a == nullptr || b == nullptr || a->dtype != DataType::kFloat32 ||
      b->dtype != DataType::kFloat32) {
    return false;
  }
  if (!IsConstant(a) && !IsConstant(b) &&
      (SameDims(*a, *b) || (IsFloatOfRank(a, 4) && IsFloatOfRank(b, 4)))) {
    return true;
  }
  return BroadcastConstant(*a, *b) || BroadcastConstant(*b, *a);
}

bool ClaimAdd(const Graph& graph, const Node& node) {
  return node.inputs.size() == 2 &&
         ClaimBinary(InputDesc(graph, node, 0), InputDesc(graph, node, 1)) &&
         FusedActivationSupported(node);
}

bool ClaimMul(const Graph& graph, const Node& node) {
  return node.inputs.size() == 2 &&
         ClaimBinary(InputDesc(graph, node, 0), InputDesc(graph, node, 1));
}

bool ClaimConcat(const Graph& graph, const Node& node) {
  const TensorDesc* first = InputDesc(graph, node, 0);
  if (!IsFloatOfRank(first, 4)) return false;
  const int64_t axis = node.GetInt("axis", 0);
  if (axis != 1 && axis != -3) return false;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const TensorDesc* input = InputDesc(graph, node, static_cast<int>(i));
    if (!IsFloatOfRank(input, 4) || IsConstant(input)) return false;
  }
  return true;
}

// Flatten/Reshape of [N, C, 1, 1] to [N, C]: the same bytes in NCHW and NHWC.
bool ClaimSpatialSqueeze(const Graph& graph, const Node& node) {
  const TensorDesc* x = InputDesc(graph, node, 0);
  if (!IsFloatOfRank(x, 4) || !HasKnownValue(x->shape[2], 1) || !HasKnownValue(x->shape[3], 1)) {
    return false;
  }
  const TensorDesc& y = graph.tensors[node.outputs[0]];
  if (!y.shape_known || y.shape.size() != 2 || x->shape[1].value < 0) return false;
  if (y.shape[1].value != x->shape[1].value) return false;
  if (node.op == OpType::Flatten) return node.GetInt("axis", 1) == 1;
  return true;
}

// PRelu with a constant slope: one value, or one per channel.
bool ClaimPRelu(const Graph& graph, const Node& node) {
  const TensorDesc* x = InputDesc(graph, node, 0);
  const TensorDesc* slope = InputDesc(graph, node, 1);
  return node.inputs.size() == 2 && x != nullptr && slope != nullptr && IsFloatOfRank(x, 4) &&
         BroadcastConstant(*slope, *x);
}

// Unary activations whose parameters XNNPACK's operators accept.
bool ParametersFit(const Node& node) {
  if (node.op == OpType::LeakyRelu) return std::isfinite(node.GetFloat("alpha", 0.01f));
  if (node.op == OpType::Elu) {
    const float alpha = node.GetFloat("alpha", 1.0f);
    return std::isnormal(alpha) && alpha > 0.0f;
  }
  return true;
}

// Resize of a 4-D image, nearest or linear without antialiasing: upsampling in FPNs, YOLO necks
// and segmentation heads. Scales or sizes computed by the graph (folded once input shapes are
// known) are read at prepare; resizes of the batch or channel axes, which no such layer makes,
// still run (slowly) in NHWC.
bool ClaimResize(const Graph& graph, const Node& node) {
  const TensorDesc* x = InputDesc(graph, node, 0);
  if (!IsFloatOfRank(x, 4) || node.inputs.size() < 3) return false;
  const TensorDesc* roi = InputDesc(graph, node, 1);
  if (roi != nullptr && !IsConstant(roi)) return false;
  const std::string mode = node.GetString("mode", "nearest");
  return (mode == "nearest" || mode == "linear") && node.GetInt("antialias", 0) == 0 &&
         node.GetString("coordinate_transformation_mode", "half_pixel") != "tf_crop_and_resize" &&
         node.GetInts("axes").empty();
}

// A graph input turned from NHWC to NCHW (perm [0, 3, 1, 2]), as a TFLite image input meets
// lwai's NCHW operators. On its own it costs a transpose and the partition reading it another
// one back; in the partition, which runs NHWC, it is a copy of the input's pixels, which the
// input (taken as raw data) already holds in NHWC order. Only when nothing else reads the input.
bool ClaimInputToNchw(const Graph& graph, const Node& node) {
  const TensorDesc* x = InputDesc(graph, node, 0);
  const int input = node.inputs[0];
  if (!IsFloatOfRank(x, 4) || node.GetInts("perm") != std::vector<int64_t>{0, 3, 1, 2} ||
      std::find(graph.inputs.begin(), graph.inputs.end(), input) == graph.inputs.end() ||
      std::find(graph.outputs.begin(), graph.outputs.end(), input) != graph.outputs.end()) {
    return false;
  }
  int readers = 0;
  for (const Node& other : graph.nodes) {
    readers += static_cast<int>(std::count(other.inputs.begin(), other.inputs.end(), input));
  }
  return readers == 1;
}

// DepthToSpace of a 4-D image (both modes): in NHWC each output pixel takes its channels from
// one input pixel, a contiguous run in DCR mode (TFLite's), a strided one in CRD.
bool ClaimDepthToSpace(const Graph& graph, const Node& node) {
  const TensorDesc* x = InputDesc(graph, node, 0);
  const int64_t block = node.GetInt("blocksize", 0);
  const std::string mode = node.GetString("mode", "DCR");
  if (!IsFloatOfRank(x, 4) || block < 1 || block > 64 || (mode != "DCR" && mode != "CRD")) {
    return false;
  }
  const int64_t channels = x->shape[1].value;
  return channels > 0 && channels % (block * block) == 0;
}

// Constant-mode Pad of a 4-D image by constant, non-negative pads on the channel and spatial
// axes (what TFLite graphs put before a residual Add or a strided convolution): a copy in NHWC.
bool ClaimPad(const Graph& graph, const Node& node) {
  const TensorDesc* x = InputDesc(graph, node, 0);
  const TensorDesc* pads = InputDesc(graph, node, 1);
  const TensorDesc* value = InputDesc(graph, node, 2);
  if (!IsFloatOfRank(x, 4) || node.GetString("mode", "constant") != "constant" ||
      !IsConstant(pads) || pads->dtype != DataType::kInt64 || !pads->HasStaticShape() ||
      pads->StaticShape().NumElements() != 8 || InputDesc(graph, node, 3) != nullptr) {
    return false;
  }
  if (value != nullptr && (!IsConstant(value) || value->dtype != DataType::kFloat32 ||
                           !value->HasStaticShape() || value->StaticShape().NumElements() != 1)) {
    return false;
  }
  const int64_t* p = reinterpret_cast<const int64_t*>(pads->constant.data);
  constexpr int64_t kLimit = int64_t{1} << 20;
  for (int i = 0; i < 8; ++i) {
    if (p[i] < 0 || p[i] > kLimit) return false;
  }
  return p[0] == 0 && p[4] == 0;  // the batch axis stays
}

bool ClaimSoftmax(const Graph& graph, const Node& node) {
  if (!IsFloatOfRank(InputDesc(graph, node, 0), 2)) return false;
  const int64_t axis = node.GetInt("axis", -1);
  return axis == -1 || axis == 1;
}

bool ClaimsNode(const Graph& graph, const Node& node, int depth);

// Elementwise operators on 4-D tensors run in NHWC inside a partition; on their own they would
// pay a layout transpose on the way in and out (attention scores [1, heads, S, S] are 4-D too).
// So they join only next to work that wants NHWC: some operand must come from a node this
// backend claims (followed up to `depth` elementwise steps back).
bool FedByPartition(const Graph& graph, const Node& node, int depth) {
  const TensorDesc* x = InputDesc(graph, node, 0);
  bool four_d = IsFloatOfRank(x, 4);
  for (size_t i = 1; i < node.inputs.size() && !four_d; ++i) {
    four_d = IsFloatOfRank(InputDesc(graph, node, static_cast<int>(i)), 4);
  }
  if (!four_d) return true;
  if (depth <= 0) return false;
  for (int t : node.inputs) {
    if (t < 0 || graph.tensors[t].is_constant()) continue;
    for (const Node& producer : graph.nodes) {
      if (std::find(producer.outputs.begin(), producer.outputs.end(), t) ==
          producer.outputs.end()) {
        continue;
      }
      if (ClaimsNode(graph, producer, depth - 1)) return true;
      break;
    }
  }
  return false;
}

// Whether the node's first input comes from a node this backend claims (followed up to `depth`
// steps).
bool ProducerClaimed(const Graph& graph, const Node& node, int depth) {
  if (depth <= 0 || node.inputs.empty() || node.inputs[0] < 0) return false;
  for (const Node& producer : graph.nodes) {
    if (std::find(producer.outputs.begin(), producer.outputs.end(), node.inputs[0]) !=
        producer.outputs.end()) {
      return ClaimsNode(graph, producer, depth - 1);
    }
  }
  return false;
}

// Whether some reader of the node's first output is a node this backend claims (followed up to
// `depth` steps).
bool ReadByPartition(const Graph& graph, const Node& node, int depth) {
  if (depth <= 0) return false;
  const int t = node.outputs[0];
  for (const Node& reader : graph.nodes) {
    if (std::find(reader.inputs.begin(), reader.inputs.end(), t) != reader.inputs.end() &&
        ClaimsNode(graph, reader, depth - 1)) {
      return true;
    }
  }
  return false;
}

bool ClaimsNode(const Graph& graph, const Node& node, int depth) {
  if (node.inputs.empty() || node.outputs.empty() || node.outputs[0] < 0) return false;
  switch (node.op) {
    case OpType::Conv:
      return ClaimConv(graph, node);
    case OpType::ConvTranspose:
      return ClaimConvTranspose(graph, node);
    case OpType::MaxPool:
    case OpType::AveragePool:
      return ClaimPool(graph, node);
    case OpType::GlobalAveragePool:
      return IsFloatOfRank(InputDesc(graph, node, 0), 4);
    case OpType::BatchNormalization:
      return ClaimBatchNormalization(graph, node);
    case OpType::Gemm:
      // A classifier after pooling joins its partition; a transformer's or an MLP's linear
      // layers run on the Eigen backend's packed GEMM, faster than XNNPACK's on many rows.
      return ClaimGemm(graph, node) && ProducerClaimed(graph, node, depth);
    case OpType::Relu:
    case OpType::Clip:
    case OpType::Sigmoid:
    case OpType::HardSwish:
    case OpType::HardSigmoid:
    case OpType::LeakyRelu:
    case OpType::Elu:
      return ClaimElementwiseUnary(graph, node) && ParametersFit(node) &&
             FedByPartition(graph, node, depth);
    case OpType::PRelu:
      return ClaimPRelu(graph, node) && FedByPartition(graph, node, depth);
    case OpType::Swish:
      return node.GetFloat("alpha", 1.0f) == 1.0f && ClaimElementwiseUnary(graph, node) &&
             FedByPartition(graph, node, depth);
    case OpType::Mul:
      return ClaimMul(graph, node) && FedByPartition(graph, node, depth);
    case OpType::Add:
      return ClaimAdd(graph, node) && FedByPartition(graph, node, depth);
    case OpType::Sub:
    case OpType::Div:
      return node.inputs.size() == 2 &&
             ClaimBinary(InputDesc(graph, node, 0), InputDesc(graph, node, 1)) &&
             node.GetString("activation", "").empty() && FedByPartition(graph, node, depth);
    case OpType::Concat:
      return ClaimConcat(graph, node);
    case OpType::Pad:
      return ClaimPad(graph, node) && FedByPartition(graph, node, depth);
    case OpType::Transpose:
      return ClaimInputToNchw(graph, node) && ReadByPartition(graph, node, depth);
    case OpType::DepthToSpace:
      return ClaimDepthToSpace(graph, node) &&
             (FedByPartition(graph, node, depth) || ReadByPartition(graph, node, depth));
    case OpType::Flatten:
    case OpType::Reshape:
      return ClaimSpatialSqueeze(graph, node);
    case OpType::Softmax:
      return ClaimSoftmax(graph, node);
    case OpType::GroupNormalization: {
      // Constant per-channel scale and bias (ONNX 21) on a 4-D image: normalized in NHWC.
      const TensorDesc* x = InputDesc(graph, node, 0);
      const TensorDesc* scale = InputDesc(graph, node, 1);
      const TensorDesc* bias = InputDesc(graph, node, 2);
      if (!IsFloatOfRank(x, 4) || node.inputs.size() != 3 || !IsConstant(scale) ||
          !IsConstant(bias) || node.GetInt("stash_type", 1) != 1) {
        return false;
      }
      const int64_t channels = x->shape[1].value, groups = node.GetInt("num_groups", 0);
      if (channels <= 0 || groups <= 0 || channels % groups != 0) return false;
      for (const TensorDesc* p : {scale, bias}) {
        if (p->dtype != DataType::kFloat32 || !p->HasStaticShape() ||
            p->StaticShape().NumElements() != channels || p->StaticShape().rank != 1) {
          return false;
        }
      }
      return FedByPartition(graph, node, depth);
    }
    case OpType::Resize:
      // An upsampling resize whose input comes from elsewhere still pays: the partition then
      // converts its (smaller) input to NHWC rather than its output.
      return ClaimResize(graph, node) &&
             (FedByPartition(graph, node, depth) || ReadByPartition(graph, node, depth));
    default:
      return false;
  }
}

}  // namespace

bool Claims(const Graph& graph, const Node& node) {
  constexpr int kElementwiseSteps = 6;
  return ClaimsNode(graph, node, kElementwiseSteps);
}

}  // namespace xnnpack
}  // namespace lwai
