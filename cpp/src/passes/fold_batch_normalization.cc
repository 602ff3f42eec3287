// Folds into a Conv (or Gemm) what precedes or follows it: BatchNormalization, per-channel and
// scalar affine constants, zero padding.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "passes/passes.h"

namespace lwai {
namespace {

const float* ConstantFloats(const Graph& graph, int t, int64_t count) {
  if (t < 0) return nullptr;
  const TensorDesc& desc = graph.tensors[t];
  if (!desc.is_constant() || desc.dtype != DataType::kFloat32 ||
      desc.StaticShape().NumElements() != count) {
    return nullptr;
  }
  return reinterpret_cast<const float*>(desc.constant.data);
}

int AddConstant(Graph& graph, const std::string& name, const Shape& shape,
                const std::vector<float>& values) {
  TensorDesc desc;
  desc.name = name;
  desc.dtype = DataType::kFloat32;
  desc.shape_known = true;
  for (int d = 0; d < shape.rank; ++d) desc.shape.push_back(Dim{shape[d], ""});
  desc.constant = ConstantData::Copy(values.data(), values.size() * sizeof(float));
  std::string unique = name;
  for (int suffix = 1; graph.FindTensor(unique) >= 0; ++suffix) {
    unique = name + "_" + std::to_string(suffix);
  }
  desc.name = unique;
  return graph.AddTensor(std::move(desc));
}

// Folds `bn` into producer `node` (Conv or Gemm). Returns false when the pattern does not
// apply (non-constant weights, unexpected shapes, Gemm bias that is a full matrix).
bool FoldInto(Graph& graph, Node& node, const Node& bn) {
  if (node.op == OpType::Conv && node.inputs.size() < 2) return false;
  const int weight_index = node.inputs[1];
  const TensorDesc& weight = graph.tensors[weight_index];
  if (!weight.is_constant() || weight.dtype != DataType::kFloat32) return false;
  const Shape w_shape = weight.StaticShape();
  int64_t channels = 0;
  bool trans_b = false;
  if (node.op == OpType::Conv) {
    channels = w_shape[0];
  } else {
    if (w_shape.rank != 2 || node.GetFloat("alpha", 1.0f) != 1.0f) return false;
    trans_b = node.GetInt("transB", 0) != 0;
    channels = trans_b ? w_shape[0] : w_shape[1];
  }
  if (bn.inputs.size() != 5) return false;
  const float* scale = ConstantFloats(graph, bn.inputs[1], channels);
  const float* shift = ConstantFloats(graph, bn.inputs[2], channels);
  const float* mean = ConstantFloats(graph, bn.inputs[3], channels);
  const float* var = ConstantFloats(graph, bn.inputs[4], channels);
  if (!scale || !shift || !mean || !var) return false;
  const bool has_bias = node.inputs.size() > 2 && node.inputs[2] >= 0;
  std::vector<float> bias(channels, 0.0f);
  if (has_bias) {
    const TensorDesc& b = graph.tensors[node.inputs[2]];
    const float* values = ConstantFloats(graph, node.inputs[2], channels);
    if (!values) {
      // Gemm's C may be a scalar broadcast over every output.
      if (!b.is_constant() || b.dtype != DataType::kFloat32 || b.StaticShape().NumElements() != 1) {
        return false;
      }
      bias.assign(channels, reinterpret_cast<const float*>(b.constant.data)[0]);
    } else {
      bias.assign(values, values + channels);
    }
    if (node.op == OpType::Gemm) {
      const float beta = node.GetFloat("beta", 1.0f);
      for (float& v : bias) v *= beta;
    }
  }
  const float epsilon = bn.GetFloat("epsilon", 1e-5f);
  std::vector<float> factor(channels);
  for (int64_t c = 0; c < channels; ++c) {
    factor[c] = scale[c] / std::sqrt(var[c] + epsilon);
    bias[c] = (bias[c] - mean[c]) * factor[c] + shift[c];
  }
  const float* w = reinterpret_cast<const float*>(weight.constant.data);
  std::vector<float> folded(w, w + w_shape.NumElements());
  if (node.op == OpType::Conv || trans_b) {
    const int64_t per_channel = w_shape.NumElements() / channels;
    for (int64_t i = 0; i < w_shape.NumElements(); ++i) folded[i] *= factor[i / per_channel];
  } else {
    for (int64_t i = 0; i < w_shape.NumElements(); ++i) folded[i] *= factor[i % channels];
  }
  node.inputs[1] = AddConstant(graph, weight.name + "_bn_folded", w_shape, folded);
  Shape bias_shape;
  bias_shape.rank = 1;
  bias_shape[0] = channels;
  const int bias_index = AddConstant(graph, node.name + "_bias_bn_folded", bias_shape, bias);
  if (node.inputs.size() < 3) node.inputs.resize(3, -1);
  node.inputs[2] = bias_index;
  if (node.op == OpType::Gemm) node.SetFloat("beta", 1.0f);
  node.outputs[0] = bn.outputs[0];
  return true;
}

}  // namespace

Status FoldBatchNormalization(Graph& graph) {
  const std::vector<int> use_counts = graph.UseCounts();
  const std::vector<int> producers = graph.Producers();
  std::vector<char> removed(graph.nodes.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& bn = graph.nodes[n];
    if (bn.op != OpType::BatchNormalization || bn.inputs.empty() || bn.inputs[0] < 0) continue;
    if (bn.outputs.size() != 1 || bn.GetInt("training_mode", 0) != 0) continue;
    const int x = bn.inputs[0];
    const int producer = producers[x];
    if (producer < 0 || use_counts[x] != 1 || removed[producer]) continue;
    Node& node = graph.nodes[producer];
    if (node.op != OpType::Conv && node.op != OpType::Gemm) continue;
    if (node.FindAttribute("activation") != nullptr) continue;
    if (FoldInto(graph, node, bn)) removed[n] = 1;
  }
  DropRemoved(graph, removed);
  return Status::Ok();
}

}  // namespace lwai

namespace lwai {

bool PerChannelConstant(const Graph& graph, int t, int64_t channels, int rank,
                        std::vector<float>* values) {
  if (t < 0) return false;
  const TensorDesc& desc = graph.tensors[t];
  if (!desc.is_constant() || desc.dtype != DataType::kFloat32) return false;
  const Shape shape = desc.StaticShape();
  if (shape.rank > rank) return false;
  int64_t count = 1;
  for (int d = 0; d < shape.rank; ++d) {
    const int axis = rank - shape.rank + d;
    if (shape[d] != 1 && !(axis == 1 && shape[d] == channels)) return false;
    count *= shape[d];
  }
  const float* data = reinterpret_cast<const float*>(desc.constant.data);
  values->assign(channels, data[0]);
  if (count == channels && channels > 1) values->assign(data, data + channels);
  return true;
}

namespace {

// The scalar of a constant float32 tensor with one element and rank <= `rank`, or false.
bool ScalarConstant(const Graph& graph, int t, int rank, float* value) {
  std::vector<float> values;
  if (!PerChannelConstant(graph, t, 1, rank, &values)) return false;
  *value = values[0];
  return true;
}

// Conv with constant float32 weights (and bias, if any) and no fused activation.
bool FoldableConv(const Graph& graph, const Node& node) {
  if (node.op != OpType::Conv || node.inputs.size() < 2 || node.outputs.size() != 1 ||
      node.FindAttribute("activation") != nullptr) {
    return false;
  }
  const TensorDesc& w = graph.tensors[node.inputs[1]];
  if (!w.is_constant() || w.dtype != DataType::kFloat32 || w.shape.size() < 3) return false;
  const int64_t channels = w.StaticShape()[0];
  return node.inputs.size() < 3 || node.inputs[2] < 0 ||
         ConstantFloats(graph, node.inputs[2], channels) != nullptr;
}

std::vector<float> ConvBias(const Graph& graph, const Node& node, int64_t channels) {
  if (node.inputs.size() < 3 || node.inputs[2] < 0) return std::vector<float>(channels, 0.0f);
  const float* b = ConstantFloats(graph, node.inputs[2], channels);
  return std::vector<float>(b, b + channels);
}

// Gives `node` new weights (scaled per output channel by `scale`, each by `input_scale`) and
// bias.
void SetConvConstants(Graph& graph, Node& node, const std::vector<float>& scale, float input_scale,
                      const std::vector<float>& bias, const char* tag) {
  const TensorDesc& weight = graph.tensors[node.inputs[1]];
  const Shape w_shape = weight.StaticShape();
  const int64_t channels = w_shape[0];
  const int64_t per_channel = w_shape.NumElements() / channels;
  const float* w = reinterpret_cast<const float*>(weight.constant.data);
  std::vector<float> folded(w, w + w_shape.NumElements());
  for (int64_t i = 0; i < w_shape.NumElements(); ++i) {
    folded[i] *= scale[i / per_channel] * input_scale;
  }
  const std::string weight_name = weight.name + tag;
  node.inputs[1] = AddConstant(graph, weight_name, w_shape, folded);
  Shape bias_shape;
  bias_shape.rank = 1;
  bias_shape[0] = channels;
  if (node.inputs.size() < 3) node.inputs.resize(3, -1);
  node.inputs[2] = AddConstant(graph, node.name + "_bias" + tag, bias_shape, bias);
}

bool PadFree(const Node& conv) {
  const std::string auto_pad = conv.GetString("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID") return false;
  for (int64_t p : conv.GetInts("pads")) {
    if (p != 0) return false;
  }
  return true;
}

}  // namespace

Status FoldAffineIntoConv(Graph& graph) {
  std::vector<char> removed(graph.nodes.size(), 0);
  {
    // Conv -> Mul/Add by per-channel constants: into the weights and bias.
    const std::vector<int> use_counts = graph.UseCounts();
    std::vector<int> reader(graph.tensors.size(), -1);
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      for (int t : graph.nodes[n].inputs) {
        if (t >= 0 && use_counts[t] == 1) reader[t] = static_cast<int>(n);
      }
    }
    for (int t : graph.outputs) reader[t] = -1;
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      Node& conv = graph.nodes[n];
      if (!FoldableConv(graph, conv)) continue;
      const TensorDesc& out = graph.tensors[conv.outputs[0]];
      if (!out.shape_known || out.shape.size() < 3) continue;
      const int rank = static_cast<int>(out.shape.size());
      const int64_t channels = graph.tensors[conv.inputs[1]].StaticShape()[0];
      std::vector<float> scale(channels, 1.0f), bias = ConvBias(graph, conv, channels);
      std::vector<float> values;
      int output = conv.outputs[0];
      bool folded = false;
      for (int next = reader[output]; next >= 0 && !removed[next]; next = reader[output]) {
        const Node& op = graph.nodes[next];
        if ((op.op != OpType::Mul && op.op != OpType::Add) || op.inputs.size() != 2 ||
            op.outputs.size() != 1) {
          break;
        }
        const int other = op.inputs[0] == output ? op.inputs[1] : op.inputs[0];
        if (!PerChannelConstant(graph, other, channels, rank, &values)) break;
        for (int64_t c = 0; c < channels; ++c) {
          if (op.op == OpType::Mul) {
            scale[c] *= values[c];
            bias[c] *= values[c];
          } else {
            bias[c] += values[c];
          }
        }
        removed[next] = 1;
        output = op.outputs[0];
        folded = true;
      }
      if (!folded) continue;
      SetConvConstants(graph, conv, scale, 1.0f, bias, "_affine_folded");
      graph.nodes[n].outputs[0] = output;
    }
  }
  {
    // Mul/Add by scalars -> Conv without padding: conv(a x + b) = conv_{a w}(x) + b sum(w).
    const std::vector<int> use_counts = graph.UseCounts();
    const std::vector<int> producers = graph.Producers();
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      Node& conv = graph.nodes[n];
      if (removed[n] || !FoldableConv(graph, conv) || !PadFree(conv)) continue;
      int input = conv.inputs[0];
      const TensorDesc& in = graph.tensors[input];
      if (in.dtype != DataType::kFloat32 || !in.shape_known) continue;
      const int rank = static_cast<int>(in.shape.size());
      double a = 1.0, b = 0.0;
      std::vector<int> chain;
      while (input >= 0 && use_counts[input] == 1 && producers[input] >= 0 &&
             !removed[producers[input]]) {
        const Node& op = graph.nodes[producers[input]];
        if ((op.op != OpType::Mul && op.op != OpType::Add) || op.inputs.size() != 2 ||
            op.inputs[0] < 0 || op.inputs[1] < 0) {
          break;
        }
        float value = 0.0f;
        int x = op.inputs[0];
        if (!ScalarConstant(graph, op.inputs[1], rank, &value)) {
          if (!ScalarConstant(graph, op.inputs[0], rank, &value)) break;
          x = op.inputs[1];
        }
        const TensorDesc& xd = graph.tensors[x];
        if (xd.dtype != DataType::kFloat32 || !xd.shape_known ||
            xd.shape.size() != in.shape.size()) {
          break;
        }
        if (op.op == OpType::Mul) {
          a *= value;
        } else {
          b += a * value;
        }
        chain.push_back(producers[input]);
        input = x;
      }
      if (chain.empty()) continue;
      const TensorDesc& weight = graph.tensors[conv.inputs[1]];
      const Shape w_shape = weight.StaticShape();
      const int64_t channels = w_shape[0];
      const int64_t per_channel = w_shape.NumElements() / channels;
      const float* w = reinterpret_cast<const float*>(weight.constant.data);
      std::vector<float> bias = ConvBias(graph, conv, channels);
      for (int64_t c = 0; c < channels; ++c) {
        double sum = 0.0;
        for (int64_t i = 0; i < per_channel; ++i) sum += w[c * per_channel + i];
        bias[c] = static_cast<float>(bias[c] + b * sum);
      }
      SetConvConstants(graph, conv, std::vector<float>(channels, 1.0f), static_cast<float>(a), bias,
                       "_input_affine_folded");
      graph.nodes[n].inputs[0] = input;
      for (int i : chain) removed[i] = 1;
    }
  }
  DropRemoved(graph, removed);
  return Status::Ok();
}

namespace {

// The pads of a constant-mode Pad by `fill` over the spatial axes only (N and C unpadded, none
// negative): [begin..., end...] of the spatial axes, or empty when it is not one. `fill` is the
// padding value's bytes in the input's type (an absent value is zero).
std::vector<int64_t> SpatialPads(const Graph& graph, const Node& pad,
                                 const std::vector<uint8_t>& fill) {
  if (pad.op != OpType::Pad || pad.inputs.size() < 2 || pad.inputs[0] < 0 || pad.inputs[1] < 0 ||
      pad.outputs.size() != 1 || pad.GetString("mode", "constant") != "constant") {
    return {};
  }
  if (pad.inputs.size() > 3 && pad.inputs[3] >= 0) return {};  // axes
  const TensorDesc& x = graph.tensors[pad.inputs[0]];
  const TensorDesc& pads = graph.tensors[pad.inputs[1]];
  if (!x.shape_known || x.shape.size() < 3 || !pads.is_constant() ||
      pads.dtype != DataType::kInt64 || !pads.HasStaticShape()) {
    return {};
  }
  const size_t rank = x.shape.size();
  if (pads.StaticShape().NumElements() != static_cast<int64_t>(2 * rank) ||
      pads.constant.size != 2 * rank * sizeof(int64_t)) {
    return {};
  }
  if (pad.inputs.size() > 2 && pad.inputs[2] >= 0) {
    const TensorDesc& value = graph.tensors[pad.inputs[2]];
    if (!value.is_constant() || value.dtype != x.dtype || value.constant.size != fill.size() ||
        std::memcmp(value.constant.data, fill.data(), fill.size()) != 0) {
      return {};
    }
  } else if (std::any_of(fill.begin(), fill.end(), [](uint8_t b) { return b != 0; })) {
    return {};
  }
  std::vector<int64_t> values(2 * rank);
  std::memcpy(values.data(), pads.constant.data, values.size() * sizeof(int64_t));
  std::vector<int64_t> spatial;
  for (size_t half = 0; half < 2; ++half) {
    for (size_t d = 0; d < rank; ++d) {
      const int64_t v = values[half * rank + d];
      if (v < 0 || v > (int64_t{1} << 30) || (d < 2 && v != 0)) return {};
      if (d >= 2) spatial.push_back(v);
    }
  }
  return spatial;
}

}  // namespace

Status FoldPadIntoConv(Graph& graph) {
  const std::vector<int> use_counts = graph.UseCounts();
  const std::vector<int> producers = graph.Producers();
  std::vector<char> is_output(graph.tensors.size(), 0);
  for (int t : graph.outputs) is_output[t] = 1;
  std::vector<char> removed(graph.nodes.size(), 0);
  for (Node& conv : graph.nodes) {
    // A float Conv pads with 0.0f, a QLinearConv with x's zero point.
    std::vector<uint8_t> fill(sizeof(float), 0);
    if (conv.op == OpType::QLinearConv && conv.inputs.size() > 2 && conv.inputs[2] >= 0) {
      const TensorDesc& zero_point = graph.tensors[conv.inputs[2]];
      if (!zero_point.is_constant() || zero_point.constant.size != 1) continue;
      fill.assign(zero_point.constant.data, zero_point.constant.data + 1);
    } else if (conv.op == OpType::QLinearConv) {
      fill.assign(1, 0);
    }
    if ((conv.op != OpType::Conv && conv.op != OpType::QLinearConv) || conv.inputs.empty() ||
        conv.inputs[0] < 0) {
      continue;
    }
    const int padded = conv.inputs[0];
    const int p = producers[padded];
    if (p < 0 || removed[p] || use_counts[padded] != 1 || is_output[padded]) continue;
    const std::string auto_pad = conv.GetString("auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "VALID" && !auto_pad.empty()) continue;
    const std::vector<int64_t> extra = SpatialPads(graph, graph.nodes[p], fill);
    if (extra.empty()) continue;
    const size_t spatial = extra.size() / 2;
    std::vector<int64_t> pads = auto_pad == "VALID" ? std::vector<int64_t>() : conv.GetInts("pads");
    if (pads.empty()) pads.assign(2 * spatial, 0);
    if (pads.size() != extra.size()) continue;
    bool fits = true;
    for (size_t i = 0; i < pads.size(); ++i) {
      pads[i] += extra[i];
      fits = fits && pads[i] <= (int64_t{1} << 30);
    }
    if (!fits) continue;
    conv.SetInts("pads", std::move(pads));
    conv.SetString("auto_pad", "NOTSET");
    conv.inputs[0] = graph.nodes[p].inputs[0];
    removed[p] = 1;
  }
  DropRemoved(graph, removed);
  return Status::Ok();
}

}  // namespace lwai
