// Static int8 quantization of a float graph: QuantizeLinear/DequantizeLinear pairs around the
// nodes that have int8 kernels, from calibrated ranges, with int8 weights. The optimizer's
// quantized fusions then turn each pair-wrapped node into its int8 operator.
#include "passes/quantize.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cast_common.h"
#include "passes/passes.h"

namespace lwai {
namespace {

bool IsFloatActivation(const Graph& graph, int t) {
  return t >= 0 && graph.tensors[t].dtype == DataType::kFloat32 && !graph.tensors[t].is_constant();
}

bool HasRank(const Graph& graph, int t, size_t rank) {
  const TensorDesc& d = graph.tensors[t];
  return d.shape_known && d.shape.size() == rank;
}

const float* FloatConstantData(const Graph& graph, int t) {
  if (t < 0 || !graph.tensors[t].is_constant() || graph.tensors[t].dtype != DataType::kFloat32) {
    return nullptr;
  }
  return reinterpret_cast<const float*>(graph.tensors[t].constant.data);
}

bool Excluded(const Node& node, const QuantizationOptions& options) {
  return std::find(options.exclude_nodes.begin(), options.exclude_nodes.end(), node.name) !=
             options.exclude_nodes.end() ||
         std::find(options.exclude_ops.begin(), options.exclude_ops.end(), node.op) !=
             options.exclude_ops.end();
}

// Gemm's and MatMul's common checks: a float activation x, constant 2-D weights ([N, K] when
// `transposed`), an optional constant bias of N values, no activation but Relu/Clip. {x}, or
// empty.
std::vector<int> MatrixProductInputs(const Graph& graph, const Node& node, bool transposed) {
  if (node.inputs.size() < 2 || node.outputs.size() != 1) return {};
  const int x = node.inputs[0], w = node.inputs[1];
  const int b = node.inputs.size() > 2 ? node.inputs[2] : -1;
  if (!IsFloatActivation(graph, x) || !FloatConstantData(graph, w) ||
      !graph.tensors[w].HasStaticShape() || graph.tensors[w].shape.size() != 2) {
    return {};
  }
  const int64_t n = graph.tensors[w].shape[transposed ? 0 : 1].value;
  if (b >= 0 &&
      (!FloatConstantData(graph, b) || !graph.tensors[b].HasStaticShape() ||
       graph.tensors[b].StaticShape().NumElements() != n || graph.tensors[b].shape.size() != 1)) {
    return {};
  }
  const std::string act = node.GetString("activation", "");
  if (!act.empty() && act != "Relu" && act != "Clip") return {};
  return {x};
}

// The node's activation inputs that get quantized, or empty when the node stays float.
std::vector<int> QuantizedInputs(const Graph& graph, const Node& node) {
  switch (node.op) {
    case OpType::Conv: {
      if (node.inputs.size() < 2 || node.outputs.size() != 1) return {};
      const int x = node.inputs[0], w = node.inputs[1];
      const int b = node.inputs.size() > 2 ? node.inputs[2] : -1;
      if (!IsFloatActivation(graph, x) || !HasRank(graph, x, 4) || !FloatConstantData(graph, w) ||
          !graph.tensors[w].HasStaticShape() || graph.tensors[w].shape.size() != 4 ||
          (b >= 0 && !FloatConstantData(graph, b))) {
        return {};
      }
      const std::string act = node.GetString("activation", "");
      if (!act.empty() && act != "Relu" && act != "Clip") return {};
      return {x};
    }
    case OpType::Gemm:
      // x [M, K] by constant weights [K, N] or (transB) [N, K], optional bias [N].
      if (node.inputs.empty() || node.inputs[0] < 0 || node.GetInt("transA", 0) != 0 ||
          node.GetFloat("beta", 1.0f) != 1.0f || !HasRank(graph, node.inputs[0], 2)) {
        return {};
      }
      return MatrixProductInputs(graph, node, node.GetInt("transB", 0) != 0);
    case OpType::MatMul:
      // x [..., K] (known rank >= 2) by constant weights [K, N], with lwai's optional bias [N].
      if (node.inputs.size() > 3 || node.inputs.empty() || node.inputs[0] < 0 ||
          !graph.tensors[node.inputs[0]].shape_known ||
          graph.tensors[node.inputs[0]].shape.size() < 2) {
        return {};
      }
      return MatrixProductInputs(graph, node, false);
    case OpType::Add:
    case OpType::Mul:
      if (node.inputs.size() != 2 || !IsFloatActivation(graph, node.inputs[0]) ||
          !IsFloatActivation(graph, node.inputs[1]) || !HasRank(graph, node.inputs[0], 4) ||
          !HasRank(graph, node.inputs[1], 4)) {
        return {};
      }
      return {node.inputs[0], node.inputs[1]};
    case OpType::BatchNormalization: {
      if (node.inputs.size() != 5 || node.outputs.empty() || node.GetInt("training_mode", 0)) {
        return {};
      }
      for (size_t o = 1; o < node.outputs.size(); ++o) {
        if (node.outputs[o] >= 0) return {};
      }
      for (int i = 1; i < 5; ++i) {
        if (!FloatConstantData(graph, node.inputs[i])) return {};
      }
      if (!IsFloatActivation(graph, node.inputs[0]) || !HasRank(graph, node.inputs[0], 4)) {
        return {};
      }
      return {node.inputs[0]};
    }
    default:
      return {};
  }
}

// Scale and zero point for values in [lo, hi] (widened to hold 0, as zero padding needs).
void ActivationParameters(float lo, float hi, bool is_signed, float* scale, int32_t* zero_point) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  *scale = (hi - lo) / 255.0f;
  if (!(*scale > 0.0f) || !std::isfinite(*scale)) *scale = 1.0f;
  const double qmin = is_signed ? -128.0 : 0.0;
  const double z = std::nearbyint(qmin - static_cast<double>(lo) / *scale);
  *zero_point = static_cast<int32_t>(std::min(qmin + 255.0, std::max(qmin, z)));
}

int AddActivationTensor(Graph& graph, const std::string& name, const TensorDesc& like,
                        DataType dtype) {
  TensorDesc desc;
  desc.name = name;
  desc.dtype = dtype;
  desc.shape_known = like.shape_known;
  desc.shape = like.shape;
  return graph.AddTensor(std::move(desc));
}

// Appends to `nodes` the node that expands weight w's stored form (`op` of `inputs`, named
// after w) into a new float32 tensor shaped like w; returns the node, to set its attributes.
Node& AppendExpansion(Graph& graph, int w, OpType op, std::vector<int> inputs,
                      const char* output_suffix, std::vector<Node>* nodes) {
  const std::string name = graph.tensors[w].name;
  const int output =
      AddActivationTensor(graph, name + output_suffix, graph.tensors[w], DataType::kFloat32);
  Node node;
  node.name = name + "_" + OpTypeName(op);
  node.op = op;
  node.inputs = std::move(inputs);
  node.outputs = {output};
  nodes->push_back(std::move(node));
  return nodes->back();
}

// Replaces float constant weights w by int8 ones and a DequantizeLinear (appended to `nodes`)
// with scales per slice along `axis` (0 or 1; or one for the tensor): returns its output.
// *rounding_error receives W_int8 * scale - W, in W's layout.
int QuantizedWeights(Graph& graph, int w, int axis, bool per_channel, std::vector<Node>* nodes,
                     std::vector<float>* rounding_error) {
  const TensorDesc& wd = graph.tensors[w];
  std::vector<int64_t> dims;
  for (const Dim& d : wd.shape) dims.push_back(d.value);
  const int64_t channels = dims[axis];
  int64_t inner = 1;  // values between consecutive elements of one channel's slice
  for (size_t d = axis + 1; d < dims.size(); ++d) inner *= dims[d];
  const int64_t total = wd.StaticShape().NumElements();
  const float* values = FloatConstantData(graph, w);
  auto channel_of = [&](int64_t i) { return per_channel ? i / inner % channels : 0; };
  std::vector<float> scales(static_cast<size_t>(per_channel ? channels : 1), 0.0f);
  for (int64_t i = 0; i < total; ++i) {
    float& s = scales[channel_of(i)];
    s = std::max(s, std::fabs(values[i]));
  }
  for (float& s : scales) s = s > 0.0f && std::isfinite(s) ? s / 127.0f : 1.0f;
  std::vector<int8_t> q(static_cast<size_t>(total));
  rounding_error->resize(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i) {
    const float v = std::nearbyint(values[i] / scales[channel_of(i)]);
    q[i] = static_cast<int8_t>(std::max(-127.0f, std::min(127.0f, v)));
    (*rounding_error)[i] = static_cast<float>(q[i]) * scales[channel_of(i)] - values[i];
  }
  const std::string name = wd.name;
  const int64_t count = static_cast<int64_t>(scales.size());
  const int wq =
      AddConstantTensor(graph, name + "_quantized", DataType::kInt8, dims, q.data(), q.size());
  const int ws = AddConstantTensor(graph, name + "_scale", DataType::kFloat32, {count},
                                   scales.data(), scales.size() * sizeof(float));
  const std::vector<int8_t> zeros(scales.size(), 0);
  const int wz = AddConstantTensor(graph, name + "_zero_point", DataType::kInt8, {count},
                                   zeros.data(), zeros.size());
  Node& dq =
      AppendExpansion(graph, w, OpType::DequantizeLinear, {wq, ws, wz}, "_dequantized", nodes);
  dq.SetInt("axis", axis);
  return dq.outputs[0];
}

// What rounding the weights adds to each output channel on average, given the input's channel
// means: Conv W [C_out, C_in / group, taps...], Gemm B [K, N] or (transB) [N, K]. Empty when the
// means do not fit.
std::vector<float> OutputShift(const Graph& graph, const Node& node,
                               const std::vector<float>& error, const std::vector<float>& means) {
  const TensorDesc& wd = graph.tensors[node.inputs[1]];
  std::vector<int64_t> dims;
  for (const Dim& d : wd.shape) dims.push_back(d.value);
  std::vector<double> shift;
  if (node.op == OpType::Conv) {
    const int64_t out = dims[0], per_group = dims[1];
    const int64_t group = node.GetInt("group", 1);
    int64_t taps = 1;
    for (size_t d = 2; d < dims.size(); ++d) taps *= dims[d];
    if (group < 1 || out % group != 0 || static_cast<int64_t>(means.size()) != per_group * group) {
      return {};
    }
    shift.assign(static_cast<size_t>(out), 0.0);
    for (int64_t c = 0; c < out; ++c) {
      const int64_t first_input = c / (out / group) * per_group;
      for (int64_t i = 0; i < per_group; ++i) {
        double sum = 0;
        for (int64_t t = 0; t < taps; ++t) sum += error[(c * per_group + i) * taps + t];
        shift[c] += sum * means[first_input + i];
      }
    }
  } else {
    const bool transposed = node.GetInt("transB", 0) != 0;
    const int64_t n = dims[transposed ? 0 : 1], k = dims[transposed ? 1 : 0];
    if (static_cast<int64_t>(means.size()) != k) return {};
    shift.assign(static_cast<size_t>(n), 0.0);
    const double alpha = node.GetFloat("alpha", 1.0f);
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t d = 0; d < k; ++d) {
        shift[j] += alpha * error[transposed ? j * k + d : d * n + j] * means[d];
      }
    }
  }
  return std::vector<float>(shift.begin(), shift.end());
}

// The node's bias (input 2, added if absent) minus `shift`.
void CorrectBias(Graph& graph, Node& node, const std::vector<float>& shift) {
  const int64_t count = static_cast<int64_t>(shift.size());
  std::vector<float> bias(shift.size(), 0.0f);
  std::string name = node.name + "_bias";
  if (node.inputs.size() > 2 && node.inputs[2] >= 0) {
    const int b = node.inputs[2];
    const float* values = FloatConstantData(graph, b);
    if (values == nullptr || graph.tensors[b].StaticShape().NumElements() != count) return;
    bias.assign(values, values + count);
    name = graph.tensors[b].name;
  }
  for (int64_t c = 0; c < count; ++c) bias[c] -= shift[c];
  const int corrected = AddConstantTensor(graph, name + "_corrected", DataType::kFloat32, {count},
                                          bias.data(), bias.size() * sizeof(float));
  node.inputs.resize(std::max<size_t>(node.inputs.size(), 3), -1);
  node.inputs[2] = corrected;
}

}  // namespace

std::vector<int> QuantizableNodes(const Graph& graph, const QuantizationOptions& options) {
  std::vector<int> nodes;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    if (!Excluded(node, options) && !QuantizedInputs(graph, node).empty()) {
      nodes.push_back(static_cast<int>(n));
    }
  }
  return nodes;
}

std::vector<int> QuantizationTargets(const Graph& graph, const QuantizationOptions& options) {
  std::vector<char> target(graph.tensors.size(), 0);
  for (int n : QuantizableNodes(graph, options)) {
    const Node& node = graph.nodes[n];
    for (int t : QuantizedInputs(graph, node)) target[t] = 1;
    target[node.outputs[0]] = 1;
  }
  std::vector<int> out;
  for (size_t t = 0; t < target.size(); ++t) {
    if (target[t]) out.push_back(static_cast<int>(t));
  }
  return out;
}

Status InsertQuantization(Graph& graph, const std::vector<TensorRange>& ranges,
                          const QuantizationOptions& options) {
  const std::vector<int> targets = QuantizationTargets(graph, options);
  std::vector<const TensorRange*> range_of(graph.tensors.size(), nullptr);
  for (const TensorRange& r : ranges) {
    if (r.tensor < 0 || r.tensor >= static_cast<int>(graph.tensors.size())) {
      return InvalidArgument(LWAI_MSG("quantization range for tensor index " +
                                      std::to_string(r.tensor) + " outside the graph"));
    }
    if (!std::isfinite(r.min) || !std::isfinite(r.max) || r.min > r.max) {
      return InvalidArgument(
          LWAI_MSG("tensor '" + graph.tensors[r.tensor].name + "': range [" +
                   std::to_string(r.min) + ", " + std::to_string(r.max) +
                   "] is not a finite interval (NaN or infinite calibration values?)"));
    }
    range_of[r.tensor] = &r;
  }
  for (int t : targets) {
    if (range_of[t] == nullptr) {
      return InvalidArgument(
          LWAI_MSG("no calibration range for tensor '" + graph.tensors[t].name + "'"));
    }
  }
  const DataType qtype = options.activations_signed ? DataType::kInt8 : DataType::kUInt8;
  // Per target tensor: its dequantized stand-in, made once and read by every quantized node.
  std::vector<int> dequantized(graph.tensors.size(), -1);
  std::vector<Node> before;  // Q/DQ pairs of graph inputs and constants, placed first
  std::vector<Node> nodes;
  // Q/DQ of target t. A graph input keeps its tensor and quantized readers read the new
  // dequantized one; a node output is renamed (its producer writes a new float tensor, which the
  // pair requantizes into t), so every reader and graph output sees the quantized values.
  auto make_pair = [&](int t, bool renamed_producer, std::vector<Node>* out) -> int {
    float scale = 1.0f;
    int32_t zp = 0;
    ActivationParameters(range_of[t]->min, range_of[t]->max, options.activations_signed, &scale,
                         &zp);
    const std::string name = graph.tensors[t].name;
    const uint8_t zp_byte = static_cast<uint8_t>(zp & 0xFF);
    const int scale_t =
        AddConstantTensor(graph, name + "_scale", DataType::kFloat32, {}, &scale, sizeof(float));
    const int zp_t = AddConstantTensor(graph, name + "_zero_point", qtype, {}, &zp_byte, 1);
    const int q = AddActivationTensor(graph, name + "_quantized", graph.tensors[t], qtype);
    int source = t, dq = t;
    if (renamed_producer) {
      source = AddActivationTensor(graph, name + "_float", graph.tensors[t], DataType::kFloat32);
    } else {
      dq = AddActivationTensor(graph, name + "_dequantized", graph.tensors[t], DataType::kFloat32);
    }
    Node quantize;
    quantize.name = name + "_QuantizeLinear";
    quantize.op = OpType::QuantizeLinear;
    quantize.inputs = {source, scale_t, zp_t};
    quantize.outputs = {q};
    Node dequantize;
    dequantize.name = name + "_DequantizeLinear";
    dequantize.op = OpType::DequantizeLinear;
    dequantize.inputs = {q, scale_t, zp_t};
    dequantize.outputs = {dq};
    out->push_back(std::move(quantize));
    out->push_back(std::move(dequantize));
    dequantized[t] = dq;
    return source;
  };
  std::vector<char> is_target(graph.tensors.size(), 0);
  for (int t : targets) is_target[t] = 1;
  for (int t : graph.inputs) {
    if (is_target[t]) make_pair(t, false, &before);
  }
  const std::vector<Node> original = graph.nodes;
  for (const Node& source : original) {
    Node node = source;
    const std::vector<int> inputs =
        Excluded(node, options) ? std::vector<int>() : QuantizedInputs(graph, node);
    if (!inputs.empty()) {
      for (int t : inputs) {
        for (int& input : node.inputs) {
          if (input == t) input = dequantized[t];
        }
      }
      if (node.op == OpType::Conv || node.op == OpType::Gemm || node.op == OpType::MatMul) {
        // Weights: int8, symmetric, per output channel (axis 0 of Conv's and of Gemm's B^T, axis
        // 1 of Gemm's and MatMul's B), behind a DequantizeLinear that the fusions read.
        const bool by_columns =
            node.op == OpType::MatMul || (node.op == OpType::Gemm && node.GetInt("transB", 0) == 0);
        std::vector<float> error;
        node.inputs[1] = QuantizedWeights(graph, source.inputs[1], by_columns ? 1 : 0,
                                          options.per_channel, &nodes, &error);
        // Channel means are over axis 1: a MatMul's reduction axis only for 2-D inputs.
        const std::vector<float>& means = range_of[source.inputs[0]]->channel_means;
        const bool means_fit = node.op != OpType::MatMul || HasRank(graph, source.inputs[0], 2);
        if (!means.empty() && means_fit) {
          const std::vector<float> shift = OutputShift(graph, source, error, means);
          if (!shift.empty()) CorrectBias(graph, node, shift);
        }
      }
    }
    // Each target's pair comes right after its producer (graph inputs' first), so readers,
    // visited later, read the requantized value.
    std::vector<Node> pairs;
    for (int& y : node.outputs) {
      if (y >= 0 && is_target[y] && dequantized[y] < 0) y = make_pair(y, true, &pairs);
    }
    nodes.push_back(std::move(node));
    for (Node& pair : pairs) nodes.push_back(std::move(pair));
  }
  before.insert(before.end(), nodes.begin(), nodes.end());
  graph.nodes = std::move(before);
  return graph.SortTopologically();
}

namespace {

// Symmetric int8 weights of a float constant [K, N] (transposed from [N, K] when `transposed`),
// scales per column (or one) multiplied by `alpha`: QuantizeMatrix adds the int8 weights, scales
// and zero points as constants and returns their indices.
struct DynamicWeights {
  int weights = -1, scale = -1, zero_point = -1;
};
// Nearest rounding of `w` as [K, N], with the scales it uses.
RoundedWeights RoundToNearest(const Graph& graph, int w, bool transposed, bool per_channel) {
  const TensorDesc& wd = graph.tensors[w];
  const int64_t rows = wd.shape[0].value, cols = wd.shape[1].value;
  const int64_t k = transposed ? cols : rows, n = transposed ? rows : cols;
  const float* values = FloatConstantData(graph, w);
  auto at = [&](int64_t d, int64_t j) {
    return transposed ? values[j * cols + d] : values[d * n + j];
  };
  RoundedWeights rounded;
  std::vector<float>& scales = rounded.scales;
  scales.assign(static_cast<size_t>(per_channel ? n : 1), 0.0f);
  for (int64_t d = 0; d < k; ++d) {
    for (int64_t j = 0; j < n; ++j) {
      float& s = scales[per_channel ? j : 0];
      s = std::max(s, std::fabs(at(d, j)));
    }
  }
  for (float& s : scales) s = s > 0.0f && std::isfinite(s) ? s / 127.0f : 1.0f;
  std::vector<int8_t>& q = rounded.values;
  q.resize(static_cast<size_t>(k * n));
  for (int64_t d = 0; d < k; ++d) {
    for (int64_t j = 0; j < n; ++j) {
      const float v = std::nearbyint(at(d, j) / scales[per_channel ? j : 0]);
      q[d * n + j] = static_cast<int8_t>(std::max(-127.0f, std::min(127.0f, v)));
    }
  }
  return rounded;
}

DynamicWeights QuantizeMatrix(Graph& graph, int w, int64_t k, int64_t n, float alpha,
                              RoundedWeights rounded) {
  std::vector<int8_t>& q = rounded.values;
  std::vector<float>& scales = rounded.scales;
  for (float& s : scales) s *= alpha;
  const std::string name = graph.tensors[w].name;
  DynamicWeights out;
  out.weights =
      AddConstantTensor(graph, name + "_quantized", DataType::kInt8, {k, n}, q.data(), q.size());
  const int64_t count = static_cast<int64_t>(scales.size());
  out.scale = AddConstantTensor(graph, name + "_scale", DataType::kFloat32, {count}, scales.data(),
                                scales.size() * sizeof(float));
  const std::vector<int8_t> zeros(scales.size(), 0);
  out.zero_point = AddConstantTensor(graph, name + "_zero_point", DataType::kInt8, {count},
                                     zeros.data(), zeros.size());
  return out;
}

// A float constant of exactly n values shaped [n] or [1, n] (a bias), or null.
const float* BiasValues(const Graph& graph, int t, int64_t n) {
  const float* values = FloatConstantData(graph, t);
  if (values == nullptr || !graph.tensors[t].HasStaticShape()) return nullptr;
  const Shape shape = graph.tensors[t].StaticShape();
  if (shape.NumElements() != n || shape.rank < 1 || shape.rank > 2 || shape[shape.rank - 1] != n) {
    return nullptr;
  }
  return values;
}

// How a MatMul or Gemm multiplies by constant float weights, when dynamic quantization applies.
struct DynamicForm {
  int64_t k = 0, n = 0;
  bool transposed = false;  // the weights are stored [N, K]
  float alpha = 1.0f, beta = 1.0f;
  const float* bias = nullptr;  // N values, or null
};

bool DynamicFormOf(const Graph& graph, const Node& node, DynamicForm* form) {
  // A's dtype may be unknown inside subgraphs; B's (float) fixes it.
  const int a = node.inputs.empty() ? -1 : node.inputs[0];
  if ((node.op != OpType::MatMul && node.op != OpType::Gemm) || node.outputs.size() != 1 ||
      node.inputs.size() < 2 || a < 0 || graph.tensors[a].is_constant() ||
      (graph.tensors[a].dtype != DataType::kFloat32 &&
       graph.tensors[a].dtype != DataType::kUndefined)) {
    return false;
  }
  const int w = node.inputs[1];
  if (!FloatConstantData(graph, w) || !graph.tensors[w].HasStaticShape() ||
      graph.tensors[w].shape.size() != 2) {
    return false;
  }
  const bool is_gemm = node.op == OpType::Gemm;
  form->transposed = is_gemm && node.GetInt("transB", 0) != 0;
  form->n = graph.tensors[w].shape[form->transposed ? 0 : 1].value;
  form->k = graph.tensors[w].shape[form->transposed ? 1 : 0].value;
  if (form->k < 1 || form->n < 1) return false;
  if (is_gemm) {
    if (node.GetInt("transA", 0) != 0) return false;
    form->alpha = node.GetFloat("alpha", 1.0f);
    form->beta = node.GetFloat("beta", 1.0f);
  }
  const int bias_input = node.inputs.size() > 2 ? node.inputs[2] : -1;
  form->bias = bias_input >= 0 ? BiasValues(graph, bias_input, form->n) : nullptr;
  return bias_input < 0 || form->bias != nullptr;
}

// The DynamicQuantizeMatMul replacing `node` (MatMul or Gemm) with `rounded` weights (or the
// nearest when null), or false when it stays float.
Status DynamicMatMulOf(Graph& graph, const Node& node, bool per_channel,
                       const RoundedWeights* rounded, Node* out, bool* rewritten) {
  *rewritten = false;
  DynamicForm form;
  if (!DynamicFormOf(graph, node, &form)) return Status::Ok();
  const int w = node.inputs[1];
  RoundedWeights weights;
  if (rounded != nullptr) {
    const size_t scales = per_channel ? static_cast<size_t>(form.n) : 1;
    if (rounded->values.size() != static_cast<size_t>(form.k * form.n) ||
        rounded->scales.size() != scales) {
      return InvalidArgument(
          LWAI_MSG("dynamic quantization of node '" + node.name + "': rounded weights " + "of " +
                   std::to_string(rounded->values.size()) + " values and " +
                   std::to_string(rounded->scales.size()) + " scales, expected " +
                   std::to_string(form.k * form.n) + " and " + std::to_string(scales)));
    }
    for (float scale : rounded->scales) {
      if (!(scale > 0.0f) || !std::isfinite(scale)) {
        return InvalidArgument(LWAI_MSG("dynamic quantization of node '" + node.name +
                                        "': a rounded weight scale is " + std::to_string(scale) +
                                        " (must be finite and > 0)"));
      }
    }
    weights = *rounded;
  } else {
    weights = RoundToNearest(graph, w, form.transposed, per_channel);
  }
  const DynamicWeights q = QuantizeMatrix(graph, w, form.k, form.n, form.alpha, std::move(weights));
  *out = node;
  out->op = OpType::DynamicQuantizeMatMul;
  out->inputs = {node.inputs[0], q.weights, q.scale, q.zero_point};
  if (form.bias != nullptr) {
    std::vector<float> scaled(form.bias, form.bias + form.n);
    for (float& v : scaled) v *= form.beta;
    out->inputs.push_back(AddConstantTensor(graph, graph.tensors[node.inputs[2]].name + "_bias",
                                            DataType::kFloat32, {form.n}, scaled.data(),
                                            scaled.size() * sizeof(float)));
  }
  out->attributes.clear();
  for (const char* kept : {"activation", "activation_min", "activation_max"}) {
    if (const Attribute* a = node.FindAttribute(kept)) out->attributes.push_back(*a);
  }
  *rewritten = true;
  return Status::Ok();
}

}  // namespace

namespace {

// A Conv whose weights cross-layer equalization may rescale: constant float 4-D weights, a
// constant bias or none, a fused activation that commutes with positive scaling.
bool EqualizableConv(const Graph& graph, const Node& node, const QuantizationOptions& options) {
  if (node.op != OpType::Conv || Excluded(node, options) || node.inputs.size() < 2 ||
      node.outputs.size() != 1) {
    return false;
  }
  const int w = node.inputs[1], b = node.inputs.size() > 2 ? node.inputs[2] : -1;
  if (FloatConstantData(graph, w) == nullptr || !graph.tensors[w].HasStaticShape() ||
      graph.tensors[w].shape.size() != 4 || (b >= 0 && FloatConstantData(graph, b) == nullptr)) {
    return false;
  }
  const std::string act = node.GetString("activation", "");
  return act.empty() || act == "Relu";
}

// A private, writable copy of constant input `slot` of `node` (weights may be shared).
float* OwnConstant(Graph& graph, Node& node, size_t slot) {
  const int t = node.inputs[slot];
  const TensorDesc& desc = graph.tensors[t];
  const Shape shape = desc.StaticShape();
  std::vector<int64_t> dims(shape.dims, shape.dims + shape.rank);
  const int copy = AddConstantTensor(graph, desc.name + "_equalized", DataType::kFloat32, dims,
                                     desc.constant.data, desc.constant.size);
  node.inputs[slot] = copy;
  return reinterpret_cast<float*>(const_cast<uint8_t*>(graph.tensors[copy].constant.data));
}

}  // namespace

namespace {

struct EqualizationPair {
  int first, second;  // node indices: A, then its only reader B
};

std::vector<EqualizationPair> FindEqualizationPairs(const Graph& graph,
                                                    const QuantizationOptions& options) {
  std::vector<int> readers(graph.tensors.size(), 0);
  std::vector<int> reader(graph.tensors.size(), -1);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    for (int t : graph.nodes[n].inputs) {
      if (t < 0) continue;
      ++readers[t];
      reader[t] = static_cast<int>(n);
    }
  }
  for (int t : graph.outputs) readers[t] += 2;  // a graph output keeps its scale
  std::vector<EqualizationPair> chain;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& a = graph.nodes[n];
    if (!EqualizableConv(graph, a, options)) continue;
    const int y = a.outputs[0];
    if (y < 0 || readers[y] != 1) continue;
    const Node& b = graph.nodes[reader[y]];
    if (!EqualizableConv(graph, b, options) || b.inputs[0] != y) continue;
    const int64_t channels = graph.tensors[a.inputs[1]].shape[0].value;
    const int64_t group = b.GetInt("group", 1);
    const int64_t per_group = graph.tensors[b.inputs[1]].shape[1].value;
    if (group < 1 || per_group * group != channels) continue;
    chain.push_back({static_cast<int>(n), reader[y]});
  }
  return chain;
}

}  // namespace

std::vector<int> EqualizationTensors(const Graph& graph, const QuantizationOptions& options) {
  std::vector<int> tensors;
  for (const EqualizationPair& pair : FindEqualizationPairs(graph, options)) {
    tensors.push_back(graph.nodes[pair.first].outputs[0]);
  }
  return tensors;
}

Status EqualizeCrossLayer(Graph& graph, const QuantizationOptions& options,
                          const std::map<int, std::vector<float>>& activation_ranges, int* pairs) {
  *pairs = 0;
  std::vector<EqualizationPair> chain = FindEqualizationPairs(graph, options);
  // Current activation ranges per pair (scaled along with the channels), when measured.
  std::vector<std::vector<float>> ranges(chain.size());
  for (size_t p = 0; p < chain.size(); ++p) {
    const int y = graph.nodes[chain[p].first].outputs[0];
    auto found = activation_ranges.find(y);
    const int64_t channels = graph.tensors[graph.nodes[chain[p].first].inputs[1]].shape[0].value;
    if (found == activation_ranges.end()) continue;
    if (static_cast<int64_t>(found->second.size()) != channels) {
      return InvalidArgument(LWAI_MSG("equalization: tensor '" + graph.tensors[y].name + "' has " +
                                      std::to_string(channels) + " channels, got " +
                                      std::to_string(found->second.size()) + " activation ranges"));
    }
    ranges[p] = found->second;
  }
  // Private copies of every weight and bias the pairs touch, made once.
  std::vector<char> owned(graph.nodes.size(), 0);
  for (const EqualizationPair& pair : chain) {
    for (int n : {pair.first, pair.second}) {
      if (owned[n]) continue;
      owned[n] = 1;
      Node& node = graph.nodes[n];
      OwnConstant(graph, node, 1);
      if (node.inputs.size() > 2 && node.inputs[2] >= 0) OwnConstant(graph, node, 2);
    }
  }
  for (int sweep = 0; sweep < 32 && !chain.empty(); ++sweep) {
    double largest_change = 0;
    for (size_t p = 0; p < chain.size(); ++p) {
      const EqualizationPair& pair = chain[p];
      std::vector<float>& activation = ranges[p];
      Node& a = graph.nodes[pair.first];
      Node& b = graph.nodes[pair.second];
      const Shape wa_shape = graph.tensors[a.inputs[1]].StaticShape();
      const Shape wb_shape = graph.tensors[b.inputs[1]].StaticShape();
      float* wa =
          reinterpret_cast<float*>(const_cast<uint8_t*>(graph.tensors[a.inputs[1]].constant.data));
      float* wb =
          reinterpret_cast<float*>(const_cast<uint8_t*>(graph.tensors[b.inputs[1]].constant.data));
      float* bias = a.inputs.size() > 2 && a.inputs[2] >= 0
                        ? reinterpret_cast<float*>(
                              const_cast<uint8_t*>(graph.tensors[a.inputs[2]].constant.data))
                        : nullptr;
      const int64_t channels = wa_shape[0];
      const int64_t a_taps = wa_shape.NumElements() / channels;
      const int64_t b_out = wb_shape[0], per_group = wb_shape[1];
      const int64_t b_taps = wb_shape[2] * wb_shape[3];
      const int64_t outs_per_group = b_out / (channels / per_group);
      for (int64_t c = 0; c < channels; ++c) {
        float r1 = 0, r2 = 0;
        if (!activation.empty()) {
          r1 = activation[c];
        } else {
          for (int64_t k = 0; k < a_taps; ++k) r1 = std::max(r1, std::fabs(wa[c * a_taps + k]));
        }
        const int64_t g = c / per_group, local = c % per_group;
        for (int64_t o = g * outs_per_group; o < (g + 1) * outs_per_group; ++o) {
          const float* taps = wb + (o * per_group + local) * b_taps;
          for (int64_t k = 0; k < b_taps; ++k) r2 = std::max(r2, std::fabs(taps[k]));
        }
        if (!(r1 > 0) || !(r2 > 0) || !std::isfinite(r1) || !std::isfinite(r2)) continue;
        const float s = std::sqrt(r1 / r2);
        if (!(s > 0) || !std::isfinite(s)) continue;
        largest_change = std::max(largest_change, std::fabs(std::log(static_cast<double>(s))));
        for (int64_t k = 0; k < a_taps; ++k) wa[c * a_taps + k] /= s;
        if (bias != nullptr) bias[c] /= s;
        if (!activation.empty()) activation[c] /= s;
        for (int64_t o = g * outs_per_group; o < (g + 1) * outs_per_group; ++o) {
          float* taps = wb + (o * per_group + local) * b_taps;
          for (int64_t k = 0; k < b_taps; ++k) taps[k] *= s;
        }
      }
    }
    if (largest_change < 1e-3) break;
  }
  *pairs = static_cast<int>(chain.size());
  return Status::Ok();
}

Status InsertDynamicQuantization(Graph& graph, const QuantizationOptions& options, int* quantized,
                                 const std::map<std::string, RoundedWeights>& rounded) {
  for (Node& node : graph.nodes) {
    for (Attribute& a : node.attributes) {
      if (a.graph == nullptr) continue;
      auto subgraph = std::make_shared<Graph>(*a.graph);
      LWAI_RETURN_IF_ERROR(InsertDynamicQuantization(*subgraph, options, quantized, rounded));
      a.graph = std::move(subgraph);
    }
    if (Excluded(node, options)) continue;
    auto found = node.name.empty() ? rounded.end() : rounded.find(node.name);
    Node replacement;
    bool rewritten = false;
    LWAI_RETURN_IF_ERROR(DynamicMatMulOf(graph, node, options.per_channel,
                                         found != rounded.end() ? &found->second : nullptr,
                                         &replacement, &rewritten));
    if (!rewritten) continue;
    node = std::move(replacement);
    ++*quantized;
  }
  return Status::Ok();
}

namespace {

// Counts node names over `graph` and its subgraphs.
void CountNodeNames(const Graph& graph, std::map<std::string, int>* counts) {
  for (const Node& node : graph.nodes) {
    ++(*counts)[node.name];
    for (const Attribute& a : node.attributes) {
      if (a.graph != nullptr) CountNodeNames(*a.graph, counts);
    }
  }
}

void CollectDynamicTargets(const Graph& graph, const QuantizationOptions& options,
                           const std::map<std::string, int>& name_counts, bool observable,
                           std::vector<DynamicTarget>* targets) {
  for (const Node& node : graph.nodes) {
    for (const Attribute& a : node.attributes) {
      if (a.graph == nullptr) continue;
      CollectDynamicTargets(*a.graph, options, name_counts, observable && node.op == OpType::If,
                            targets);
    }
    DynamicForm form;
    if (node.name.empty() || name_counts.at(node.name) != 1 || Excluded(node, options) ||
        !DynamicFormOf(graph, node, &form)) {
      continue;
    }
    DynamicTarget target;
    target.node = node.name;
    target.input = graph.tensors[node.inputs[0]].name;
    target.k = form.k;
    target.n = form.n;
    target.observable = observable;
    const float* values = FloatConstantData(graph, node.inputs[1]);
    target.weights.resize(static_cast<size_t>(form.k * form.n));
    for (int64_t d = 0; d < form.k; ++d) {
      for (int64_t j = 0; j < form.n; ++j) {
        target.weights[d * form.n + j] =
            form.transposed ? values[j * form.k + d] : values[d * form.n + j];
      }
    }
    targets->push_back(std::move(target));
  }
}

// Whether `graph` or an If branch inside it (at any depth) has a tensor named `name`.
bool HoldsThroughIfs(const Graph& graph, const std::string& name) {
  if (graph.FindTensor(name) >= 0) return true;
  for (const Node& node : graph.nodes) {
    if (node.op != OpType::If) continue;
    for (const Attribute& a : node.attributes) {
      if (a.graph != nullptr && HoldsThroughIfs(*a.graph, name)) return true;
    }
  }
  return false;
}

// Makes tensor `name` a value of `graph` (at the top level), passing it out of the If nodes
// whose branches hold it. Returns its index, or -1 when no graph or only a Loop/Scan body has it.
int LiftTensor(Graph& graph, const std::string& name) {
  const int found = graph.FindTensor(name);
  if (found >= 0) return found;
  for (Node& node : graph.nodes) {
    if (node.op != OpType::If) continue;
    Attribute* branches[2] = {nullptr, nullptr};
    for (Attribute& a : node.attributes) {
      if (a.name == "then_branch") branches[0] = &a;
      if (a.name == "else_branch") branches[1] = &a;
    }
    if (branches[0] == nullptr || branches[1] == nullptr || branches[0]->graph == nullptr ||
        branches[1]->graph == nullptr) {
      continue;
    }
    for (int holder = 0; holder < 2; ++holder) {
      // Copied only once known to hold it (branches may be large).
      if (!HoldsThroughIfs(*branches[holder]->graph, name)) continue;
      auto lifted = std::make_shared<Graph>(*branches[holder]->graph);
      const int inner = LiftTensor(*lifted, name);
      if (inner < 0) continue;
      lifted->outputs.push_back(inner);
      auto other = std::make_shared<Graph>(*branches[1 - holder]->graph);
      const float none = 0.0f;
      other->outputs.push_back(
          AddConstantTensor(*other, name + "__not_taken", DataType::kFloat32, {0}, &none, 0));
      branches[holder]->graph = std::move(lifted);
      branches[1 - holder]->graph = std::move(other);
      TensorDesc outer;
      outer.name = name;
      const int index = graph.AddTensor(outer);
      node.outputs.push_back(index);
      return index;
    }
  }
  return -1;
}

}  // namespace

std::vector<DynamicTarget> DynamicQuantizationTargets(const Graph& graph,
                                                      const QuantizationOptions& options) {
  std::map<std::string, int> name_counts;
  CountNodeNames(graph, &name_counts);
  std::vector<DynamicTarget> targets;
  CollectDynamicTargets(graph, options, name_counts, /*observable=*/true, &targets);
  return targets;
}

Status ObservableTensors(const Graph& graph, const std::vector<std::string>& names,
                         Graph* observed) {
  *observed = graph;
  for (const std::string& name : names) {
    const int t = LiftTensor(*observed, name);
    if (t < 0) {
      return NotFound(
          LWAI_MSG("no tensor named '" + name +
                   "' in the graph or its If branches (values inside Loop and Scan bodies "
                   "cannot be observed)"));
    }
    if (std::find(observed->outputs.begin(), observed->outputs.end(), t) ==
        observed->outputs.end()) {
      observed->outputs.push_back(t);
    }
  }
  return Status::Ok();
}

namespace {

// The weight inputs of `node` that CompressWeights stores compressed, with the axis of their
// output channels.
std::vector<std::pair<int, int>> CompressibleWeights(const Node& node) {
  switch (node.op) {
    case OpType::Conv:
    case OpType::ConvTranspose:
      return {{1, 0}};
    case OpType::MatMul:
      return {{1, -1}};
    case OpType::Gemm:
      return {{1, node.GetInt("transB", 0) != 0 ? 0 : 1}};
    case OpType::LSTM:
    case OpType::GRU:
    case OpType::RNN:
      return {{1, 1}, {2, 1}};
    case OpType::Gather:
      return {{0, 0}};
    default:
      return {};
  }
}

// float16 copy of constant w behind a Cast (appended to `nodes`), or -1 when a value is beyond
// float16's range or not finite.
int HalfWeights(Graph& graph, int w, std::vector<Node>* nodes) {
  const TensorDesc& wd = graph.tensors[w];
  const int64_t total = wd.StaticShape().NumElements();
  const float* values = FloatConstantData(graph, w);
  std::vector<uint16_t> half(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i) {
    if (!(std::fabs(values[i]) <= 65504.0f)) return -1;
    half[i] = FloatToHalf(values[i]);
  }
  std::vector<int64_t> dims;
  for (const Dim& d : wd.shape) dims.push_back(d.value);
  const std::string name = wd.name;
  const int stored = AddConstantTensor(graph, name + "_float16", DataType::kFloat16, dims,
                                       half.data(), half.size() * sizeof(uint16_t));
  Node& cast = AppendExpansion(graph, w, OpType::Cast, {stored}, "_expanded", nodes);
  cast.SetInt("to", 1);
  return cast.outputs[0];
}

// int4 copy of 2-D constant w in blocks of kInt4BlockSize along `k_axis`, behind a blocked
// DequantizeLinear (appended to `nodes`): returns its output.
int Int4BlockWeights(Graph& graph, int w, int k_axis, std::vector<Node>* nodes) {
  const TensorDesc& wd = graph.tensors[w];
  const int64_t rows = wd.shape[0].value, cols = wd.shape[1].value;
  const int64_t k = k_axis == 0 ? rows : cols;
  const int64_t blocks = (k + kInt4BlockSize - 1) / kInt4BlockSize;
  const float* values = FloatConstantData(graph, w);
  std::vector<int64_t> scale_dims = {rows, cols};
  scale_dims[k_axis] = blocks;
  std::vector<float> scales(static_cast<size_t>(scale_dims[0] * scale_dims[1]), 0.0f);
  auto scale_of = [&](int64_t r, int64_t c) -> float& {
    return k_axis == 0 ? scales[(r / kInt4BlockSize) * cols + c]
                       : scales[r * blocks + c / kInt4BlockSize];
  };
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      float& s = scale_of(r, c);
      s = std::max(s, std::fabs(values[r * cols + c]));
    }
  }
  for (float& s : scales) s = s > 0.0f && std::isfinite(s) ? s / 7.0f : 1.0f;
  std::vector<uint8_t> q(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const float v = std::nearbyint(values[r * cols + c] / scale_of(r, c));
      q[r * cols + c] =
          static_cast<uint8_t>(static_cast<int>(std::max(-7.0f, std::min(7.0f, v))) & 0x0F);
    }
  }
  const std::string name = wd.name;
  const int wq =
      AddConstantTensor(graph, name + "_int4", DataType::kInt4, {rows, cols}, q.data(), q.size());
  const int ws = AddConstantTensor(graph, name + "_scale", DataType::kFloat32, scale_dims,
                                   scales.data(), scales.size() * sizeof(float));
  Node& dq = AppendExpansion(graph, w, OpType::DequantizeLinear, {wq, ws}, "_dequantized", nodes);
  dq.SetInt("axis", k_axis);
  dq.SetInt("block_size", kInt4BlockSize);
  return dq.outputs[0];
}

}  // namespace

Status CompressWeights(Graph& graph, WeightStorage storage, const QuantizationOptions& options,
                       int* compressed) {
  std::vector<Node> nodes;
  // Each weight once, however many nodes read it.
  std::vector<int> replacement(graph.tensors.size(), -1);
  const std::vector<Node> original = graph.nodes;
  for (Node node : original) {
    for (Attribute& a : node.attributes) {
      if (a.graph == nullptr) continue;
      auto subgraph = std::make_shared<Graph>(*a.graph);
      LWAI_RETURN_IF_ERROR(CompressWeights(*subgraph, storage, options, compressed));
      a.graph = std::move(subgraph);
    }
    if (!Excluded(node, options)) {
      for (const auto& [input, axis] : CompressibleWeights(node)) {
        if (input >= static_cast<int>(node.inputs.size())) continue;
        const int w = node.inputs[input];
        if (w < 0 || !FloatConstantData(graph, w) || !graph.tensors[w].HasStaticShape() ||
            graph.tensors[w].StaticShape().NumElements() < kMinCompressedWeights) {
          continue;
        }
        if (replacement[w] < 0) {
          const int rank = static_cast<int>(graph.tensors[w].shape.size());
          const int channel_axis = axis < 0 ? rank + axis : axis;
          if (channel_axis < 0 || channel_axis >= rank) continue;
          std::vector<float> unused;
          // MatMul's B [K, N] and Gemm's B ([N, K] when transB) reduce along K.
          const bool int4 = storage == WeightStorage::kInt4 && rank == 2 &&
                            (node.op == OpType::MatMul || node.op == OpType::Gemm);
          int stored = -1;
          if (storage == WeightStorage::kFloat16) {
            stored = HalfWeights(graph, w, &nodes);
          } else if (int4) {
            stored = Int4BlockWeights(graph, w, 1 - channel_axis, &nodes);
          } else {
            stored = QuantizedWeights(graph, w, channel_axis, options.per_channel, &nodes, &unused);
          }
          if (stored < 0) continue;
          replacement.resize(graph.tensors.size(), -1);
          replacement[w] = stored;
          ++*compressed;
        }
        node.inputs[input] = replacement[w];
      }
    }
    nodes.push_back(std::move(node));
  }
  graph.nodes = std::move(nodes);
  return graph.SortTopologically();
}

}  // namespace lwai
