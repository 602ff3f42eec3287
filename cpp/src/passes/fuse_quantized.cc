// QDQ models (QuantizeLinear/DequantizeLinear around float operators, as ONNX Runtime's
// quantize_static and lwai.quantize write them) become quantized operators, so that int8 values
// flow from one integer kernel to the next without a float round trip.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "passes/passes.h"
#include "runtime/evaluate.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

const TensorDesc* Constant(const Graph& graph, int t) {
  if (t < 0 || !graph.tensors[t].is_constant()) return nullptr;
  return &graph.tensors[t];
}

int64_t NumElementsOf(const TensorDesc& desc) {
  int64_t n = 1;
  for (const Dim& d : desc.shape) n *= d.value;
  return n;
}

// A float32 constant with `count` elements (count 1: a scalar of any rank).
const float* FloatConstant(const Graph& graph, int t, int64_t count) {
  const TensorDesc* desc = Constant(graph, t);
  if (desc == nullptr || desc->dtype != DataType::kFloat32 || !desc->HasStaticShape() ||
      NumElementsOf(*desc) != count) {
    return nullptr;
  }
  return reinterpret_cast<const float*>(desc->constant.data);
}

bool PositiveFinite(const float* values, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    if (!(values[i] > 0.0f) || !std::isfinite(values[i])) return false;
  }
  return true;
}

// Node `n` is a QuantizeLinear or DequantizeLinear (`op`) with one constant scale and zero point
// and an 8-bit quantized side: its scale and zero-point tensors (zero point -1 when absent).
struct PerTensorQuantization {
  int scale = -1, zero_point = -1;
  DataType type = DataType::kUndefined;
};

bool PerTensor(const Graph& graph, const Node& node, OpType op, PerTensorQuantization* q) {
  if (node.op != op || node.inputs.size() < 2 || node.GetInt("block_size", 0) != 0) return false;
  const int scale = node.inputs[1];
  const float* value = FloatConstant(graph, scale, 1);
  if (value == nullptr || !PositiveFinite(value, 1)) return false;
  const int zp = node.inputs.size() > 2 ? node.inputs[2] : -1;
  const int quantized = op == OpType::QuantizeLinear ? node.outputs[0] : node.inputs[0];
  DataType type = graph.tensors[quantized].dtype;
  if (zp >= 0) {
    const TensorDesc* desc = Constant(graph, zp);
    if (desc == nullptr || !desc->HasStaticShape() || NumElementsOf(*desc) != 1) return false;
    type = desc->dtype;
  } else if (op == OpType::QuantizeLinear) {
    type =
        static_cast<DataType>(node.GetInt("output_dtype", static_cast<int64_t>(DataType::kUInt8)));
  }
  if (!IsByteType(type)) return false;
  q->scale = scale;
  q->zero_point = zp;
  q->type = type;
  return true;
}

// Weights: DequantizeLinear of a constant int8/uint8 [M, ...] tensor with a scale per tensor or
// per output channel (axis 0) and zero points to match.
bool ConvWeights(const Graph& graph, const Node& dq, int64_t* out_channels) {
  if (dq.op != OpType::DequantizeLinear || dq.inputs.size() < 2) return false;
  const TensorDesc* w = Constant(graph, dq.inputs[0]);
  if (w == nullptr || !IsByteType(w->dtype) || !w->HasStaticShape() || w->shape.size() < 3 ||
      dq.GetInt("block_size", 0) != 0) {
    return false;
  }
  const int64_t m = w->shape[0].value;
  const float* scale = FloatConstant(graph, dq.inputs[1], 1);
  int64_t scales = 1;
  if (scale == nullptr) {
    const int64_t axis = dq.GetInt("axis", 1);
    if (axis != 0 && axis != -static_cast<int64_t>(w->shape.size())) return false;
    scale = FloatConstant(graph, dq.inputs[1], m);
    scales = m;
  }
  if (scale == nullptr || !PositiveFinite(scale, scales)) return false;
  if (dq.inputs.size() > 2 && dq.inputs[2] >= 0) {
    const TensorDesc* zp = Constant(graph, dq.inputs[2]);
    if (zp == nullptr || zp->dtype != w->dtype || !zp->HasStaticShape() ||
        NumElementsOf(*zp) != scales) {
      return false;
    }
  }
  *out_channels = m;
  return true;
}

// The tensor behind any chain of Identity nodes ending in `t` (quantizers share a weight's or
// bias's DequantizeLinear between nodes through Identity).
int SkipIdentities(const Graph& graph, const std::vector<int>& producers, int t) {
  for (int hops = 0; t >= 0 && producers[t] >= 0 && hops < 64; ++hops) {
    const Node& node = graph.nodes[producers[t]];
    if (node.op != OpType::Identity || node.inputs.empty()) break;
    t = node.inputs[0];
  }
  return t;
}

// The value of a one-element float32 tensor: a constant, or DequantizeLinear of a constant byte
// with a constant scale and zero point (quantizers write a Pad's value so).
bool ScalarValue(const Graph& graph, const std::vector<int>& producers, int t, float* value) {
  if (const float* f = FloatConstant(graph, t, 1)) {
    *value = *f;
    return true;
  }
  if (t < 0 || producers[t] < 0) return false;
  const Node& dq = graph.nodes[producers[t]];
  PerTensorQuantization q;
  const TensorDesc* byte = dq.inputs.empty() ? nullptr : Constant(graph, dq.inputs[0]);
  if (!PerTensor(graph, dq, OpType::DequantizeLinear, &q) || byte == nullptr ||
      byte->dtype != q.type || !byte->HasStaticShape() || NumElementsOf(*byte) != 1) {
    return false;
  }
  auto as_int = [&](const TensorDesc& d) {
    return q.type == DataType::kInt8 ? static_cast<int>(static_cast<int8_t>(*d.constant.data))
                                     : static_cast<int>(*d.constant.data);
  };
  const int zero = q.zero_point >= 0 ? as_int(graph.tensors[q.zero_point]) : 0;
  *value = static_cast<float>(as_int(*byte) - zero) * *FloatConstant(graph, q.scale, 1);
  return true;
}

// Zero point tensor `zp`, or when absent a new scalar zero of `type` (QLinearConv requires them).
int ZeroPointOrZero(Graph& graph, int zp, DataType type, const std::string& name) {
  if (zp >= 0) return zp;
  const uint8_t zero = 0;
  return AddConstantTensor(graph, name, type, {}, &zero, 1);
}

// The Conv's bias as int32 in units of x_scale * w_scale[m]: from a float32 constant, or from
// DequantizeLinear of an int32 constant (what quantizers write), requantized when its scale
// differs. Returns the new tensor, -2 when there is no bias, -1 when it cannot be converted.
int QuantizedBias(Graph& graph, const std::vector<int>& producers, int bias, int64_t m,
                  float x_scale, const float* w_scale, int64_t w_scales, const std::string& name) {
  if (bias < 0) return -2;
  bias = SkipIdentities(graph, producers, bias);
  std::vector<double> values(static_cast<size_t>(m));
  if (const float* f = FloatConstant(graph, bias, m)) {
    for (int64_t i = 0; i < m; ++i) values[i] = f[i];
  } else {
    const int p = producers[bias];
    if (p < 0) return -1;
    const Node& dq = graph.nodes[p];
    if (dq.op != OpType::DequantizeLinear || dq.inputs.size() < 2) return -1;
    const TensorDesc* q = Constant(graph, dq.inputs[0]);
    if (q == nullptr || q->dtype != DataType::kInt32 || !q->HasStaticShape() ||
        NumElementsOf(*q) != m) {
      return -1;
    }
    const float* scale = FloatConstant(graph, dq.inputs[1], 1);
    const int64_t scales = scale != nullptr ? 1 : m;
    if (scale == nullptr) scale = FloatConstant(graph, dq.inputs[1], m);
    if (scale == nullptr) return -1;
    if (dq.inputs.size() > 2 && dq.inputs[2] >= 0) {
      const TensorDesc* zp = Constant(graph, dq.inputs[2]);
      if (zp == nullptr || zp->dtype != DataType::kInt32) return -1;
      const int32_t* z = reinterpret_cast<const int32_t*>(zp->constant.data);
      for (int64_t i = 0; i < NumElementsOf(*zp); ++i) {
        if (z[i] != 0) return -1;
      }
    }
    const int32_t* qv = reinterpret_cast<const int32_t*>(q->constant.data);
    for (int64_t i = 0; i < m; ++i) {
      values[i] = static_cast<double>(qv[i]) * scale[scales == 1 ? 0 : i];
    }
  }
  std::vector<int32_t> quantized(static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i) {
    const double unit = static_cast<double>(x_scale * w_scale[w_scales == 1 ? 0 : i]);
    const double v = std::nearbyint(values[i] / unit);
    if (!std::isfinite(v) || std::fabs(v) > 2147483647.0) return -1;
    quantized[i] = static_cast<int32_t>(v);
  }
  return AddConstantTensor(graph, name, DataType::kInt32, {m}, quantized.data(),
                           quantized.size() * sizeof(int32_t));
}

// The only reader of tensor t (and t is no graph output), or -1.
struct Readers {
  explicit Readers(const Graph& graph)
      : reader(graph.tensors.size(), -1), count(graph.tensors.size(), 0) {
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      for (int t : graph.nodes[n].inputs) {
        if (t < 0) continue;
        ++count[t];
        reader[t] = static_cast<int>(n);
      }
    }
    for (int t : graph.outputs) count[t] += 2;  // never "only"
  }
  int Only(int t) const { return t >= 0 && count[t] == 1 ? reader[t] : -1; }
  std::vector<int> reader, count;
};

// Whether node n reads a per-tensor DequantizeLinear's output and is the only reader of its
// output, a per-tensor QuantizeLinear's input: sets those two nodes and their parameters.
bool BetweenQdqPair(const Graph& graph, const std::vector<int>& producers, const Readers& readers,
                    const std::vector<char>& removed, size_t n, int* p, int* q,
                    PerTensorQuantization* in, PerTensorQuantization* out) {
  const Node& node = graph.nodes[n];
  if (node.inputs.empty() || node.inputs[0] < 0 || node.outputs.empty()) return false;
  *p = producers[node.inputs[0]];
  *q = readers.Only(node.outputs[0]);
  return *p >= 0 && *q >= 0 && !removed[*p] && !removed[*q] &&
         PerTensor(graph, graph.nodes[*p], OpType::DequantizeLinear, in) &&
         PerTensor(graph, graph.nodes[*q], OpType::QuantizeLinear, out);
}

// What follows a float operator whose output is requantized: [Relu | Clip] -> QuantizeLinear,
// each the only reader of the one before.
struct OutputChain {
  int activation_node = -1;
  std::string activation;
  float act_min = -std::numeric_limits<float>::infinity();
  float act_max = std::numeric_limits<float>::infinity();
  int quantize_node = -1;
  PerTensorQuantization yq;
};

bool MatchOutputChain(const Graph& graph, const Readers& readers, int tensor, OutputChain* chain) {
  int next = readers.Only(tensor);
  if (next >= 0 && graph.nodes[next].op == OpType::Relu) {
    chain->activation_node = next;
    chain->activation = "Relu";
  } else if (next >= 0 && graph.nodes[next].op == OpType::Clip) {
    const Node& clip = graph.nodes[next];
    const bool has_lo = clip.inputs.size() > 1 && clip.inputs[1] >= 0;
    const bool has_hi = clip.inputs.size() > 2 && clip.inputs[2] >= 0;
    const float* lo = has_lo ? FloatConstant(graph, clip.inputs[1], 1) : nullptr;
    const float* hi = has_hi ? FloatConstant(graph, clip.inputs[2], 1) : nullptr;
    if ((has_lo && lo == nullptr) || (has_hi && hi == nullptr)) return false;
    if (lo) chain->act_min = *lo;
    if (hi) chain->act_max = *hi;
    chain->activation_node = next;
    chain->activation = "Clip";
  }
  if (chain->activation_node >= 0) {
    next = readers.Only(graph.nodes[chain->activation_node].outputs[0]);
  }
  if (next < 0 || !PerTensor(graph, graph.nodes[next], OpType::QuantizeLinear, &chain->yq)) {
    return false;
  }
  chain->quantize_node = next;
  return true;
}

// Replaces `op` (and the chain after it) by `fused`, which writes the QuantizeLinear's output in
// its place (so the order stays topological when fused reads only what op read).
void ReplaceWithFused(Graph& graph, int op, const OutputChain& chain, Node fused,
                      std::vector<char>* removed) {
  if (!chain.activation.empty()) {
    fused.SetString("activation", chain.activation);
    if (chain.activation == "Clip") {
      fused.SetFloat("activation_min", chain.act_min);
      fused.SetFloat("activation_max", chain.act_max);
    }
  }
  fused.outputs = {graph.nodes[chain.quantize_node].outputs[0]};
  (*removed)[op] = 1;
  if (chain.activation_node >= 0) (*removed)[chain.activation_node] = 1;
  graph.nodes[chain.quantize_node] = std::move(fused);
}

}  // namespace

Status FuseQuantizedConv(Graph& graph) {
  const std::vector<int> producers = graph.Producers();
  const Readers readers(graph);
  std::vector<char> removed(graph.nodes.size(), 0);
  const size_t original_nodes = graph.nodes.size();
  for (size_t c = 0; c < original_nodes; ++c) {
    const Node& conv = graph.nodes[c];
    if (conv.op != OpType::Conv || conv.inputs.size() < 2 || conv.inputs[0] < 0 ||
        conv.inputs[1] < 0 || conv.outputs.size() != 1) {
      continue;
    }
    const int px = producers[conv.inputs[0]];
    const int pw = producers[SkipIdentities(graph, producers, conv.inputs[1])];
    PerTensorQuantization xq;
    int64_t out_channels = 0;
    OutputChain chain;
    if (px < 0 || pw < 0 || !PerTensor(graph, graph.nodes[px], OpType::DequantizeLinear, &xq) ||
        !ConvWeights(graph, graph.nodes[pw], &out_channels) ||
        !MatchOutputChain(graph, readers, conv.outputs[0], &chain)) {
      continue;
    }
    // QLinearConv takes one clamp: a Conv with its own fused activation and one after it stays.
    if (conv.FindAttribute("activation") != nullptr && !chain.activation.empty()) continue;
    const Node& dq_w = graph.nodes[pw];
    const int64_t w_scales = FloatConstant(graph, dq_w.inputs[1], 1) != nullptr ? 1 : out_channels;
    const float* w_scale = FloatConstant(graph, dq_w.inputs[1], w_scales);
    const float x_scale = *FloatConstant(graph, xq.scale, 1);
    const int bias =
        QuantizedBias(graph, producers, conv.inputs.size() > 2 ? conv.inputs[2] : -1, out_channels,
                      x_scale, w_scale, w_scales, conv.name + "_bias_quantized");
    if (bias == -1) continue;
    const int w_q = dq_w.inputs[0];
    Node fused;
    fused.name = conv.name;
    fused.op = OpType::QLinearConv;
    fused.inputs = {
        graph.nodes[px].inputs[0],
        xq.scale,
        ZeroPointOrZero(graph, xq.zero_point, xq.type, conv.name + "_x_zero_point"),
        w_q,
        dq_w.inputs[1],
        ZeroPointOrZero(graph, dq_w.inputs.size() > 2 ? dq_w.inputs[2] : -1,
                        graph.tensors[w_q].dtype, conv.name + "_w_zero_point"),
        chain.yq.scale,
        ZeroPointOrZero(graph, chain.yq.zero_point, chain.yq.type, conv.name + "_y_zero_point")};
    if (bias >= 0) fused.inputs.push_back(bias);
    fused.attributes = conv.attributes;  // its own fused activation (an optimized float model)
    ReplaceWithFused(graph, static_cast<int>(c), chain, std::move(fused), &removed);
  }
  DropRemoved(graph, removed);
  return graph.SortTopologically();
}

Status FuseQuantizedGemm(Graph& graph) {
  const std::vector<int> producers = graph.Producers();
  const Readers readers(graph);
  std::vector<char> removed(graph.nodes.size(), 0);
  const size_t original_nodes = graph.nodes.size();
  for (size_t g = 0; g < original_nodes; ++g) {
    const Node& gemm = graph.nodes[g];
    // A MatMul of A [..., K] (rank known, at least 2) by a constant B [K, N] is a QGemm
    // without bias (lwai's QGemm takes A of any rank >= 2, as MatMul does).
    const bool matmul = gemm.op == OpType::MatMul;
    if (matmul && (gemm.inputs.size() > 3 || gemm.inputs[0] < 0 ||
                   !graph.tensors[gemm.inputs[0]].shape_known ||
                   graph.tensors[gemm.inputs[0]].shape.size() < 2)) {
      continue;
    }
    if ((gemm.op != OpType::Gemm && !matmul) || gemm.inputs.size() < 2 || gemm.inputs[0] < 0 ||
        gemm.inputs[1] < 0 || gemm.outputs.size() != 1 || gemm.GetInt("transA", 0) != 0 ||
        gemm.GetFloat("beta", 1.0f) != 1.0f) {
      continue;
    }
    const int px = producers[gemm.inputs[0]];
    const int pw = producers[SkipIdentities(graph, producers, gemm.inputs[1])];
    PerTensorQuantization xq;
    OutputChain chain;
    if (px < 0 || pw < 0 || !PerTensor(graph, graph.nodes[px], OpType::DequantizeLinear, &xq) ||
        !MatchOutputChain(graph, readers, gemm.outputs[0], &chain)) {
      continue;
    }
    if (gemm.FindAttribute("activation") != nullptr && !chain.activation.empty()) continue;
    // Weights: DequantizeLinear of a constant int8/uint8 matrix, scales per tensor or per output
    // column (axis 0 of B^T [N, K], axis 1 of B [K, N]), zero points to match.
    const Node& dq_w = graph.nodes[pw];
    const bool trans_b = gemm.GetInt("transB", 0) != 0;
    const TensorDesc* w = Constant(graph, dq_w.inputs[0]);
    if (dq_w.op != OpType::DequantizeLinear || dq_w.inputs.size() < 2 || w == nullptr ||
        !IsByteType(w->dtype) || !w->HasStaticShape() || w->shape.size() != 2 ||
        dq_w.GetInt("block_size", 0) != 0) {
      continue;
    }
    const int64_t n = w->shape[trans_b ? 0 : 1].value;
    int64_t w_scales = 1;
    const float* w_scale = FloatConstant(graph, dq_w.inputs[1], 1);
    if (w_scale == nullptr) {
      const int64_t axis = dq_w.GetInt("axis", 1);
      if (axis != (trans_b ? 0 : 1) && axis != (trans_b ? -2 : -1)) continue;
      w_scale = FloatConstant(graph, dq_w.inputs[1], n);
      w_scales = n;
    }
    if (w_scale == nullptr || !PositiveFinite(w_scale, w_scales)) continue;
    const int w_zp_input = dq_w.inputs.size() > 2 ? dq_w.inputs[2] : -1;
    if (w_zp_input >= 0) {
      const TensorDesc* zp = Constant(graph, w_zp_input);
      if (zp == nullptr || zp->dtype != w->dtype || !zp->HasStaticShape() ||
          NumElementsOf(*zp) != w_scales) {
        continue;
      }
    }
    const float x_scale = *FloatConstant(graph, xq.scale, 1);
    const int bias = QuantizedBias(graph, producers, gemm.inputs.size() > 2 ? gemm.inputs[2] : -1,
                                   n, x_scale, w_scale, w_scales, gemm.name + "_bias_quantized");
    if (bias == -1) continue;
    const int w_q = dq_w.inputs[0];
    const std::string& name = gemm.name;
    Node fused;
    fused.name = name;
    fused.op = OpType::QGemm;
    fused.inputs = {
        graph.nodes[px].inputs[0],
        xq.scale,
        ZeroPointOrZero(graph, xq.zero_point, xq.type, name + "_a_zero_point"),
        w_q,
        dq_w.inputs[1],
        ZeroPointOrZero(graph, w_zp_input, graph.tensors[w_q].dtype, name + "_b_zero_point"),
        bias >= 0 ? bias : -1,
        chain.yq.scale,
        ZeroPointOrZero(graph, chain.yq.zero_point, chain.yq.type, name + "_y_zero_point")};
    for (const Attribute& a : gemm.attributes) {
      if (a.name != "beta") fused.attributes.push_back(a);
    }
    ReplaceWithFused(graph, static_cast<int>(g), chain, std::move(fused), &removed);
  }
  DropRemoved(graph, removed);
  return graph.SortTopologically();
}

Status FuseQuantizedBinary(Graph& graph) {
  const std::vector<int> producers = graph.Producers();
  const Readers readers(graph);
  std::vector<char> removed(graph.nodes.size(), 0);
  const size_t original_nodes = graph.nodes.size();
  for (size_t n = 0; n < original_nodes; ++n) {
    const Node& node = graph.nodes[n];
    if ((node.op != OpType::Add && node.op != OpType::Mul) || node.inputs.size() != 2 ||
        node.inputs[0] < 0 || node.inputs[1] < 0 || node.outputs.size() != 1) {
      continue;
    }
    const int pa = producers[node.inputs[0]], pb = producers[node.inputs[1]];
    PerTensorQuantization aq, bq;
    OutputChain chain;
    if (pa < 0 || pb < 0 || !PerTensor(graph, graph.nodes[pa], OpType::DequantizeLinear, &aq) ||
        !PerTensor(graph, graph.nodes[pb], OpType::DequantizeLinear, &bq) ||
        !MatchOutputChain(graph, readers, node.outputs[0], &chain) || !chain.activation.empty() ||
        aq.type != bq.type || aq.type != chain.yq.type) {
      continue;
    }
    const std::string& name = node.name;
    Node fused;
    fused.name = name;
    fused.op = node.op == OpType::Add ? OpType::QLinearAdd : OpType::QLinearMul;
    fused.inputs = {
        graph.nodes[pa].inputs[0],
        aq.scale,
        ZeroPointOrZero(graph, aq.zero_point, aq.type, name + "_a_zero_point"),
        graph.nodes[pb].inputs[0],
        bq.scale,
        ZeroPointOrZero(graph, bq.zero_point, bq.type, name + "_b_zero_point"),
        chain.yq.scale,
        ZeroPointOrZero(graph, chain.yq.zero_point, chain.yq.type, name + "_c_zero_point")};
    ReplaceWithFused(graph, static_cast<int>(n), chain, std::move(fused), &removed);
  }
  DropRemoved(graph, removed);
  return graph.SortTopologically();
}

Status FuseQuantizedPassThrough(Graph& graph) {
  const std::vector<int> producers = graph.Producers();
  const Readers readers(graph);
  std::vector<char> removed(graph.nodes.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& node = graph.nodes[n];
    const bool moves = node.op == OpType::MaxPool || node.op == OpType::Reshape ||
                       node.op == OpType::Flatten || node.op == OpType::Squeeze ||
                       node.op == OpType::Unsqueeze || node.op == OpType::Transpose ||
                       node.op == OpType::Pad;
    if (!moves) continue;
    // Pad's constant value must be a known scalar (it becomes its quantized value).
    const bool pad_value = node.op == OpType::Pad && node.inputs.size() > 2 && node.inputs[2] >= 0;
    float value = 0.0f;
    if (pad_value && !ScalarValue(graph, producers, node.inputs[2], &value)) continue;
    bool extra_outputs = false;  // MaxPool's Indices
    for (size_t o = 1; o < node.outputs.size(); ++o) extra_outputs |= node.outputs[o] >= 0;
    int p = -1, q = -1;
    PerTensorQuantization in, out;
    if (extra_outputs ||
        !BetweenQdqPair(graph, producers, readers, removed, n, &p, &q, &in, &out) ||
        in.type != out.type ||
        *FloatConstant(graph, in.scale, 1) != *FloatConstant(graph, out.scale, 1)) {
      continue;
    }
    auto zero_point = [&](int t) {
      if (t < 0) return 0;
      const uint8_t byte = *graph.tensors[t].constant.data;
      return in.type == DataType::kInt8 ? static_cast<int>(static_cast<int8_t>(byte))
                                        : static_cast<int>(byte);
    };
    if (zero_point(in.zero_point) != zero_point(out.zero_point)) continue;
    // The same scale and zero point on both sides: the operator moves the quantized values.
    if (node.op == OpType::Pad && node.GetString("mode", "constant") == "constant") {
      // Padding with v then quantizing gives QuantizeLinear(v): pad with that byte.
      const float scaled = std::nearbyint(value / *FloatConstant(graph, in.scale, 1));
      const bool is_signed = in.type == DataType::kInt8;
      const float lo = is_signed ? -128.0f : 0.0f, hi = is_signed ? 127.0f : 255.0f;
      float q = scaled + static_cast<float>(zero_point(in.zero_point));
      q = std::isnan(q) ? static_cast<float>(zero_point(in.zero_point)) : std::clamp(q, lo, hi);
      const uint8_t byte = static_cast<uint8_t>(static_cast<int>(q) & 0xFF);
      const int value =
          AddConstantTensor(graph, node.name + "_quantized_pad_value", in.type, {}, &byte, 1);
      if (node.inputs.size() < 3) node.inputs.resize(3, -1);
      node.inputs[2] = value;
    }
    node.inputs[0] = graph.nodes[p].inputs[0];
    node.outputs[0] = graph.nodes[q].outputs[0];
    removed[q] = 1;
  }
  DropRemoved(graph, removed);
  return graph.SortTopologically();
}

namespace {

// Elementwise float operators of one activation input whose other inputs are constant scalars
// (Clip's bounds, the scale of a Mul): a function of each value alone. Returns the activation
// input's position, or -1.
int ElementwiseFunctionInput(const Graph& graph, const Node& node) {
  switch (node.op) {
    case OpType::Relu:
    case OpType::LeakyRelu:
    case OpType::Sigmoid:
    case OpType::HardSigmoid:
    case OpType::HardSwish:
    case OpType::Swish:
    case OpType::Tanh:
    case OpType::Elu:
    case OpType::Selu:
    case OpType::Celu:
    case OpType::Gelu:
    case OpType::Mish:
    case OpType::Softplus:
    case OpType::Softsign:
    case OpType::ThresholdedRelu:
    case OpType::Clip:
    case OpType::Abs:
    case OpType::Neg:
    case OpType::Exp:
    case OpType::Erf:
    case OpType::Add:
    case OpType::Sub:
    case OpType::Mul:
    case OpType::Div:
    case OpType::Max:
    case OpType::Min:
      break;
    default:
      return -1;
  }
  if (node.inputs.empty() || node.outputs.size() != 1) return -1;
  int activation = -1;
  size_t constant_rank = 0;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const int t = node.inputs[i];
    if (t < 0) continue;
    if (Constant(graph, t) != nullptr) {
      if (NumElementsOf(graph.tensors[t]) != 1) return -1;
      constant_rank = std::max(constant_rank, graph.tensors[t].shape.size());
      continue;
    }
    if (activation >= 0) return -1;  // two activations: not a function of one value
    activation = static_cast<int>(i);
  }
  const bool unary = node.op != OpType::Add && node.op != OpType::Sub && node.op != OpType::Mul &&
                     node.op != OpType::Div && node.op != OpType::Max && node.op != OpType::Min;
  if (activation < 0 || (unary && activation != 0)) return -1;
  // A constant must not broadcast the activation to a higher rank.
  const TensorDesc& x = graph.tensors[node.inputs[activation]];
  if (constant_rank > 0 && !(x.shape_known && x.shape.size() >= constant_rank)) return -1;
  return activation;
}

// Runs DequantizeLinear -> chain -> QuantizeLinear (reference kernels) on the 256 byte values:
// the table that QuantizedLookup indexes. False when a kernel fails (the nodes then stay).
bool LookupTable(const Graph& graph, const std::vector<const Node*>& nodes, DataType in_type,
                 std::vector<uint8_t>* table) {
  std::vector<TensorView> views(graph.tensors.size());
  for (const Node* node : nodes) {
    for (int t : node->inputs) {
      if (t < 0 || !graph.tensors[t].is_constant()) continue;
      const TensorDesc& desc = graph.tensors[t];
      views[t] =
          TensorView{desc.dtype, desc.StaticShape(), const_cast<uint8_t*>(desc.constant.data)};
    }
  }
  uint8_t bytes[256];
  for (int b = 0; b < 256; ++b) bytes[b] = static_cast<uint8_t>(b);
  views[nodes.front()->inputs[0]] = TensorView{in_type, Shape({256}), bytes};
  ThreadPool pool(1);
  const ExecutionLimits limits = ConversionLimits();
  std::vector<std::shared_ptr<void>> storage;
  for (const Node* node : nodes) {
    const KernelRegistration* kernel = FindReferenceKernel(node->op);
    if (kernel == nullptr) return false;
    KernelContext ctx(*node, views.data(), &pool);
    ctx.limits_ = &limits;
    if (!PrepareAndEvaluate(*kernel, ctx, &storage).ok()) return false;
  }
  const TensorView& out = views[nodes.back()->outputs[0]];
  if (!IsByteType(out.dtype) || out.NumElements() != 256) return false;
  const uint8_t* values = static_cast<const uint8_t*>(out.data);
  table->assign(values, values + 256);
  return true;
}

}  // namespace

Status FuseQuantizedLookup(Graph& graph) {
  const std::vector<int> producers = graph.Producers();
  const Readers readers(graph);
  std::vector<char> removed(graph.nodes.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& first = graph.nodes[n];
    const int input = ElementwiseFunctionInput(graph, first);
    if (removed[n] || input < 0) continue;
    const int p = producers[first.inputs[input]];
    PerTensorQuantization in, out;
    if (p < 0 || !PerTensor(graph, graph.nodes[p], OpType::DequantizeLinear, &in) ||
        graph.tensors[graph.nodes[p].inputs[0]].dtype != in.type) {
      continue;
    }
    // The chain of elementwise functions, each the only reader of the one before, up to a
    // QuantizeLinear.
    std::vector<int> chain = {static_cast<int>(n)};
    int next = readers.Only(first.outputs[0]);
    while (next >= 0 && !removed[next] && ElementwiseFunctionInput(graph, graph.nodes[next]) >= 0 &&
           chain.size() < 16) {
      chain.push_back(next);
      next = readers.Only(graph.nodes[next].outputs[0]);
    }
    if (next < 0 || removed[next] ||
        !PerTensor(graph, graph.nodes[next], OpType::QuantizeLinear, &out)) {
      continue;
    }
    std::vector<const Node*> nodes = {&graph.nodes[p]};
    for (int c : chain) nodes.push_back(&graph.nodes[c]);
    nodes.push_back(&graph.nodes[next]);
    std::vector<uint8_t> table;
    if (!LookupTable(graph, nodes, in.type, &table)) continue;
    Node lookup;
    lookup.name = first.name;
    lookup.op = OpType::QuantizedLookup;
    const int t = AddConstantTensor(graph, first.name + "_table", out.type, {256}, table.data(),
                                    table.size());
    lookup.inputs = {graph.nodes[p].inputs[0], t};
    lookup.outputs = {graph.nodes[next].outputs[0]};
    for (int c : chain) removed[c] = 1;
    graph.nodes[next] = std::move(lookup);
  }
  DropRemoved(graph, removed);
  return graph.SortTopologically();
}

namespace {

// The depthwise QLinearConv of ones that computes `pool` (an AveragePool between a
// DequantizeLinear of x and a QuantizeLinear) when every window divides by its full size:
// padding counted (as zeros: x's zero point) or absent, no ceil mode, no dilation.
bool DepthwiseOnesOf(Graph& graph, const Node& pool, int x, const PerTensorQuantization& in,
                     const PerTensorQuantization& out, Node* fused) {
  const std::vector<int64_t> kernel = pool.GetInts("kernel_shape");
  const std::vector<int64_t> pads = pool.GetInts("pads");
  const std::vector<int64_t> dilations = pool.GetInts("dilations");
  const bool padded = std::any_of(pads.begin(), pads.end(), [](int64_t v) { return v != 0; });
  const TensorDesc& xd = graph.tensors[x];
  int64_t weights = 0;
  if (xd.shape.size() != 4 || !xd.shape_known || xd.shape[1].value < 1 || kernel.size() != 2 ||
      kernel[0] < 1 || kernel[1] < 1 || kernel[0] > 256 || kernel[1] > 256 ||
      kernel[0] * kernel[1] > 256 ||
      !CheckedMul(xd.shape[1].value, kernel[0] * kernel[1], &weights) ||
      weights > (int64_t{1} << 24) || (padded && pool.GetInt("count_include_pad", 0) == 0) ||
      pool.GetInt("ceil_mode", 0) != 0 || pool.GetString("auto_pad", "NOTSET") != "NOTSET" ||
      std::any_of(dilations.begin(), dilations.end(), [](int64_t d) { return d != 1; })) {
    return false;
  }
  const int64_t channels = xd.shape[1].value;
  const std::vector<int8_t> ones(static_cast<size_t>(channels * kernel[0] * kernel[1]), 1);
  const float w_scale = 1.0f / static_cast<float>(kernel[0] * kernel[1]);
  const int8_t w_zero = 0;
  fused->op = OpType::QLinearConv;
  fused->inputs = {
      x,
      in.scale,
      ZeroPointOrZero(graph, in.zero_point, in.type, pool.name + "_x_zero_point"),
      AddConstantTensor(graph, pool.name + "_ones", DataType::kInt8,
                        {channels, 1, kernel[0], kernel[1]}, ones.data(), ones.size()),
      AddConstantTensor(graph, pool.name + "_divisor", DataType::kFloat32, {}, &w_scale,
                        sizeof(float)),
      AddConstantTensor(graph, pool.name + "_w_zero_point", DataType::kInt8, {}, &w_zero, 1),
      out.scale,
      ZeroPointOrZero(graph, out.zero_point, out.type, pool.name + "_y_zero_point")};
  fused->SetInts("kernel_shape", kernel);
  if (padded) fused->SetInts("pads", pads);
  if (const Attribute* strides = pool.FindAttribute("strides")) {
    fused->attributes.push_back(*strides);
  }
  fused->SetInt("group", channels);
  return true;
}

}  // namespace

Status FuseQuantizedAveragePools(Graph& graph) {
  const std::vector<int> producers = graph.Producers();
  const Readers readers(graph);
  std::vector<char> removed(graph.nodes.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& pool = graph.nodes[n];
    int p = -1, q = -1;
    PerTensorQuantization in, out;
    if ((pool.op != OpType::GlobalAveragePool && pool.op != OpType::AveragePool) ||
        pool.outputs.size() != 1 ||
        !BetweenQdqPair(graph, producers, readers, removed, n, &p, &q, &in, &out) ||
        in.type != out.type || graph.tensors[graph.nodes[p].inputs[0]].dtype != in.type) {
      continue;
    }
    const int x = graph.nodes[p].inputs[0];
    Node fused;
    fused.name = pool.name;
    if (pool.op == OpType::GlobalAveragePool) {
      fused.op = OpType::QLinearGlobalAveragePool;
      fused.inputs = {x, in.scale, in.zero_point, out.scale, out.zero_point};
    } else if (!DepthwiseOnesOf(graph, pool, x, in, out, &fused)) {
      continue;
    }
    fused.outputs = {graph.nodes[q].outputs[0]};
    removed[n] = 1;
    graph.nodes[q] = std::move(fused);
  }
  DropRemoved(graph, removed);
  return graph.SortTopologically();
}

Status FuseQuantizedConcat(Graph& graph) {
  const std::vector<int> producers = graph.Producers();
  const Readers readers(graph);
  std::vector<char> removed(graph.nodes.size(), 0);
  const size_t original_nodes = graph.nodes.size();
  for (size_t n = 0; n < original_nodes; ++n) {
    const Node& concat = graph.nodes[n];
    if (concat.op != OpType::Concat || concat.inputs.empty() || concat.outputs.size() != 1) {
      continue;
    }
    OutputChain chain;
    if (!MatchOutputChain(graph, readers, concat.outputs[0], &chain) || !chain.activation.empty()) {
      continue;
    }
    std::vector<int> inputs;
    bool all_quantized = true;
    for (int t : concat.inputs) {
      const int p = t >= 0 ? producers[t] : -1;
      PerTensorQuantization xq;
      if (p < 0 || !PerTensor(graph, graph.nodes[p], OpType::DequantizeLinear, &xq) ||
          xq.type != chain.yq.type) {
        all_quantized = false;
        break;
      }
      inputs.push_back(graph.nodes[p].inputs[0]);
      inputs.push_back(xq.scale);
      inputs.push_back(ZeroPointOrZero(graph, xq.zero_point, xq.type,
                                       concat.name + "_x_zero_point_" + std::to_string(t)));
    }
    if (!all_quantized) continue;
    Node fused;
    fused.name = concat.name;
    fused.op = OpType::QLinearConcat;
    fused.inputs = {chain.yq.scale, ZeroPointOrZero(graph, chain.yq.zero_point, chain.yq.type,
                                                    concat.name + "_y_zero_point")};
    fused.inputs.insert(fused.inputs.end(), inputs.begin(), inputs.end());
    fused.SetInt("axis", concat.GetInt("axis", 0));
    ReplaceWithFused(graph, static_cast<int>(n), chain, std::move(fused), &removed);
  }
  DropRemoved(graph, removed);
  return graph.SortTopologically();
}

Status FuseQuantizedBatchNorm(Graph& graph) {
  const std::vector<int> producers = graph.Producers();
  const Readers readers(graph);
  std::vector<char> removed(graph.nodes.size(), 0);
  const size_t original_nodes = graph.nodes.size();
  for (size_t b = 0; b < original_nodes; ++b) {
    const Node& bn = graph.nodes[b];
    if (bn.op != OpType::BatchNormalization || bn.inputs.size() != 5 || bn.inputs[0] < 0 ||
        bn.outputs.empty() || bn.outputs[0] < 0 || bn.GetInt("training_mode", 0) != 0) {
      continue;
    }
    bool extra_outputs = false;
    for (size_t o = 1; o < bn.outputs.size(); ++o) extra_outputs |= bn.outputs[o] >= 0;
    const TensorDesc& x = graph.tensors[bn.inputs[0]];
    if (extra_outputs || !x.shape_known || x.shape.size() != 4 || x.shape[1].value <= 0) continue;
    const int64_t channels = x.shape[1].value;
    const float* gamma = FloatConstant(graph, bn.inputs[1], channels);
    const float* beta = FloatConstant(graph, bn.inputs[2], channels);
    const float* mean = FloatConstant(graph, bn.inputs[3], channels);
    const float* var = FloatConstant(graph, bn.inputs[4], channels);
    const int px = producers[bn.inputs[0]];
    PerTensorQuantization xq;
    OutputChain chain;
    if (!gamma || !beta || !mean || !var || px < 0 ||
        !PerTensor(graph, graph.nodes[px], OpType::DequantizeLinear, &xq) ||
        !MatchOutputChain(graph, readers, bn.outputs[0], &chain)) {
      continue;
    }
    // y = a x + c per channel, as a depthwise 1x1 convolution whose int8 weight +-127 represents
    // a exactly with a per-channel scale |a| / 127, and c as an int32 bias in its units.
    const float x_scale = *FloatConstant(graph, xq.scale, 1);
    const float epsilon = bn.GetFloat("epsilon", 1e-5f);
    std::vector<int8_t> weights(static_cast<size_t>(channels));
    std::vector<float> w_scale(static_cast<size_t>(channels));
    std::vector<int32_t> bias(static_cast<size_t>(channels));
    bool representable = true;
    for (int64_t ch = 0; ch < channels && representable; ++ch) {
      const float a = gamma[ch] / std::sqrt(var[ch] + epsilon);
      const double offset = static_cast<double>(beta[ch]) - static_cast<double>(mean[ch]) * a;
      weights[ch] = a > 0 ? 127 : (a < 0 ? -127 : 0);
      w_scale[ch] = a != 0 ? std::fabs(a) / 127.0f : 1.0f;
      const double q = std::nearbyint(offset / (static_cast<double>(x_scale) * w_scale[ch]));
      representable = std::isfinite(a) && w_scale[ch] > 0 && std::isfinite(w_scale[ch]) &&
                      std::isfinite(q) && std::fabs(q) < 2147483647.0;
      bias[ch] = representable ? static_cast<int32_t>(q) : 0;
    }
    if (!representable) continue;
    const std::string& name = bn.name;
    Node fused;
    fused.name = name;
    fused.op = OpType::QLinearConv;
    const uint8_t zero = 0;
    fused.inputs = {
        graph.nodes[px].inputs[0],
        xq.scale,
        ZeroPointOrZero(graph, xq.zero_point, xq.type, name + "_x_zero_point"),
        AddConstantTensor(graph, name + "_weights_quantized", DataType::kInt8, {channels, 1, 1, 1},
                          weights.data(), weights.size()),
        AddConstantTensor(graph, name + "_weights_scale", DataType::kFloat32, {channels},
                          w_scale.data(), w_scale.size() * sizeof(float)),
        AddConstantTensor(graph, name + "_w_zero_point", DataType::kInt8, {}, &zero, 1),
        chain.yq.scale,
        ZeroPointOrZero(graph, chain.yq.zero_point, chain.yq.type, name + "_y_zero_point"),
        AddConstantTensor(graph, name + "_bias_quantized", DataType::kInt32, {channels},
                          bias.data(), bias.size() * sizeof(int32_t))};
    fused.SetInt("group", channels);
    fused.SetInts("kernel_shape", {1, 1});
    ReplaceWithFused(graph, static_cast<int>(b), chain, std::move(fused), &removed);
  }
  DropRemoved(graph, removed);
  return graph.SortTopologically();
}

}  // namespace lwai
