#include <cmath>
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
  std::vector<Node> kept;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (!removed[n]) kept.push_back(std::move(graph.nodes[n]));
  }
  graph.nodes = std::move(kept);
  return Status::Ok();
}

}  // namespace lwai
