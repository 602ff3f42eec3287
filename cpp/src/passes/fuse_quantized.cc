// QDQ models (QuantizeLinear/DequantizeLinear around float operators, as ONNX Runtime's
// quantize_static and lwai.quantize write them) become quantized operators, so that int8 values
// flow from one integer kernel to the next without a float round trip.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "passes/passes.h"

namespace lwai {
namespace {

bool IsByteType(DataType t) { return t == DataType::kUInt8 || t == DataType::kInt8; }

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

int AddConstant(Graph& graph, const std::string& name, DataType dtype, std::vector<int64_t> dims,
                const void* bytes, size_t size) {
  TensorDesc desc;
  desc.name = name;
  desc.dtype = dtype;
  desc.shape_known = true;
  for (int64_t d : dims) desc.shape.push_back(Dim{d, ""});
  desc.constant = ConstantData::Copy(bytes, size);
  return graph.AddTensor(std::move(desc));
}

// Zero point tensor `zp`, or when absent a new scalar zero of `type` (QLinearConv requires them).
int ZeroPointOrZero(Graph& graph, int zp, DataType type, const std::string& name) {
  if (zp >= 0) return zp;
  const uint8_t zero = 0;
  return AddConstant(graph, name, type, {}, &zero, 1);
}

// The Conv's bias as int32 in units of x_scale * w_scale[m]: from a float32 constant, or from
// DequantizeLinear of an int32 constant (what quantizers write), requantized when its scale
// differs. Returns the new tensor, -2 when there is no bias, -1 when it cannot be converted.
int QuantizedBias(Graph& graph, const std::vector<int>& producers, int bias, int64_t m,
                  float x_scale, const float* w_scale, int64_t w_scales, const std::string& name) {
  if (bias < 0) return -2;
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
  return AddConstant(graph, name, DataType::kInt32, {m}, quantized.data(),
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
    const int px = producers[conv.inputs[0]], pw = producers[conv.inputs[1]];
    PerTensorQuantization xq, yq;
    int64_t out_channels = 0;
    if (px < 0 || pw < 0 || !PerTensor(graph, graph.nodes[px], OpType::DequantizeLinear, &xq) ||
        !ConvWeights(graph, graph.nodes[pw], &out_channels)) {
      continue;
    }
    // Conv [-> Relu | Clip] -> QuantizeLinear, each the only reader of the one before.
    int next = readers.Only(conv.outputs[0]);
    int activation_node = -1;
    std::string activation;
    float act_min = -std::numeric_limits<float>::infinity();
    float act_max = std::numeric_limits<float>::infinity();
    if (next >= 0 && graph.nodes[next].op == OpType::Relu) {
      activation_node = next;
      activation = "Relu";
    } else if (next >= 0 && graph.nodes[next].op == OpType::Clip) {
      const Node& clip = graph.nodes[next];
      const float* lo = clip.inputs.size() > 1 ? FloatConstant(graph, clip.inputs[1], 1) : nullptr;
      const float* hi = clip.inputs.size() > 2 ? FloatConstant(graph, clip.inputs[2], 1) : nullptr;
      const bool lo_ok = clip.inputs.size() <= 1 || clip.inputs[1] < 0 || lo != nullptr;
      const bool hi_ok = clip.inputs.size() <= 2 || clip.inputs[2] < 0 || hi != nullptr;
      if (!lo_ok || !hi_ok) continue;
      if (lo) act_min = *lo;
      if (hi) act_max = *hi;
      activation_node = next;
      activation = "Clip";
    }
    if (activation_node >= 0) next = readers.Only(graph.nodes[activation_node].outputs[0]);
    if (next < 0 || !PerTensor(graph, graph.nodes[next], OpType::QuantizeLinear, &yq)) continue;
    const Node& dq_w = graph.nodes[pw];
    const int64_t w_scales = FloatConstant(graph, dq_w.inputs[1], 1) != nullptr ? 1 : out_channels;
    const float* w_scale = FloatConstant(graph, dq_w.inputs[1], w_scales);
    const float x_scale = *FloatConstant(graph, xq.scale, 1);
    const int bias =
        QuantizedBias(graph, producers, conv.inputs.size() > 2 ? conv.inputs[2] : -1, out_channels,
                      x_scale, w_scale, w_scales, conv.name + "_bias_quantized");
    if (bias == -1) continue;

    const Node& dq_x = graph.nodes[px];
    const Node& q_y = graph.nodes[next];
    const int w_q = dq_w.inputs[0];
    const int x_zp = ZeroPointOrZero(graph, xq.zero_point, xq.type, conv.name + "_x_zero_point");
    const int w_zp = ZeroPointOrZero(graph, dq_w.inputs.size() > 2 ? dq_w.inputs[2] : -1,
                                     graph.tensors[w_q].dtype, conv.name + "_w_zero_point");
    const int y_zp = ZeroPointOrZero(graph, yq.zero_point, yq.type, conv.name + "_y_zero_point");
    Node fused;
    fused.name = conv.name;
    fused.op = OpType::QLinearConv;
    fused.inputs = {dq_x.inputs[0], xq.scale, x_zp, w_q, dq_w.inputs[1], w_zp, yq.scale, y_zp};
    if (bias >= 0) fused.inputs.push_back(bias);
    fused.outputs = {q_y.outputs[0]};
    for (const Attribute& a : conv.attributes) {
      if (a.name != "activation" && a.name != "activation_min" && a.name != "activation_max") {
        fused.attributes.push_back(a);
      }
    }
    if (!activation.empty()) {
      fused.SetString("activation", activation);
      if (activation == "Clip") {
        fused.SetFloat("activation_min", act_min);
        fused.SetFloat("activation_max", act_max);
      }
    }
    // QuantizeLinear's output keeps its name and position; the float nodes go.
    removed[c] = 1;
    if (activation_node >= 0) removed[activation_node] = 1;
    graph.nodes[next] = std::move(fused);
  }
  DropRemoved(graph, removed);
  return graph.SortTopologically();
}

}  // namespace lwai
