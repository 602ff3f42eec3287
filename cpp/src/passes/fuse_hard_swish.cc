#include <cmath>
#include <vector>

#include "passes/passes.h"

namespace lwai {
namespace {

// The value of a constant float32 tensor holding one element (any rank), or false.
bool ConstantScalar(const Graph& graph, int tensor, float* value) {
  if (tensor < 0) return false;
  const TensorDesc& desc = graph.tensors[tensor];
  if (!desc.is_constant() || desc.dtype != DataType::kFloat32 ||
      desc.constant.size != sizeof(float)) {
    return false;
  }
  *value = *reinterpret_cast<const float*>(desc.constant.data);
  return true;
}

bool IsScalar(const Graph& graph, int tensor, float expected) {
  float value = 0.0f;
  return ConstantScalar(graph, tensor, &value) && value == expected;
}

// The other input of a binary node whose input `known` is one of its two inputs, or -1.
int OtherInput(const Node& node, int known) {
  if (node.inputs.size() != 2) return -1;
  if (node.inputs[0] == known) return node.inputs[1];
  if (node.inputs[1] == known) return node.inputs[0];
  return -1;
}

}  // namespace

// x * Clip(x + 3, 0, 6) / 6 (or * (1/6)), as exporters spell hard-swish, becomes one HardSwish
// node: one pass over the data instead of four, and a node the partition backends run.
Status FuseHardSwish(Graph& graph) {
  const std::vector<int> uses = graph.UseCounts();
  const std::vector<int> producers = graph.Producers();
  std::vector<int> consumer(graph.tensors.size(), -1);  // the only consumer, when used once
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    for (int t : graph.nodes[n].inputs) {
      if (t >= 0 && uses[t] == 1) consumer[t] = static_cast<int>(n);
    }
  }
  std::vector<char> is_output(graph.tensors.size(), 0);
  for (int t : graph.outputs) is_output[t] = 1;
  auto single_next = [&](const Node& node) {
    const int t = node.outputs.size() == 1 ? node.outputs[0] : -1;
    return t >= 0 && uses[t] == 1 && !is_output[t] ? consumer[t] : -1;
  };
  std::vector<char> removed(graph.nodes.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& clip = graph.nodes[n];
    if (clip.op != OpType::Clip || clip.inputs.size() != 3 || removed[n]) continue;
    if (!IsScalar(graph, clip.inputs[1], 0.0f) || !IsScalar(graph, clip.inputs[2], 6.0f)) continue;
    const int add_index = clip.inputs[0] >= 0 ? producers[clip.inputs[0]] : -1;
    if (add_index < 0 || removed[add_index] || single_next(graph.nodes[add_index]) != (int)n) {
      continue;
    }
    const Node& add = graph.nodes[add_index];
    if (add.op != OpType::Add || add.inputs.size() != 2) continue;
    int x = -1;
    for (int i = 0; i < 2; ++i) {
      if (IsScalar(graph, add.inputs[i], 3.0f)) x = add.inputs[1 - i];
    }
    if (x < 0 || graph.tensors[x].dtype != DataType::kFloat32) continue;
    const int mul_index = single_next(clip);
    if (mul_index < 0) continue;
    const Node& mul = graph.nodes[mul_index];
    if (mul.op != OpType::Mul || OtherInput(mul, clip.outputs[0]) != x) continue;
    const int scale_index = single_next(mul);
    if (scale_index < 0) continue;
    const Node& scale = graph.nodes[scale_index];
    if (scale.inputs.size() != 2 || scale.inputs[0] != mul.outputs[0]) continue;
    float divisor = 0.0f;
    if (!ConstantScalar(graph, scale.inputs[1], &divisor)) continue;
    const bool by_six = (scale.op == OpType::Div && divisor == 6.0f) ||
                        (scale.op == OpType::Mul && std::fabs(divisor * 6.0f - 1.0f) < 1e-6f);
    if (!by_six) continue;
    // The four nodes become one at the last one's place (its inputs are all defined by then).
    Node fused;
    fused.name = scale.name;
    fused.op = OpType::HardSwish;
    fused.inputs = {x};
    fused.outputs = {scale.outputs[0]};
    graph.nodes[scale_index] = std::move(fused);
    removed[add_index] = removed[n] = removed[mul_index] = 1;
  }
  std::vector<Node> kept;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (!removed[n]) kept.push_back(std::move(graph.nodes[n]));
  }
  graph.nodes = std::move(kept);
  return Status::Ok();
}

}  // namespace lwai
