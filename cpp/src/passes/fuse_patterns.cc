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

// Rebuilds graph.nodes without the removed ones.
void DropRemoved(Graph& graph, const std::vector<char>& removed) {
  std::vector<Node> kept;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (!removed[n]) kept.push_back(std::move(graph.nodes[n]));
  }
  graph.nodes = std::move(kept);
}

bool Near(float value, float expected) { return std::fabs(value - expected) <= 1e-5f; }

// The node that alone reads a tensor: what a pattern may swallow without changing other readers.
class SoleReaders {
 public:
  explicit SoleReaders(const Graph& graph) : graph_(graph), uses_(graph.UseCounts()) {
    reader_.assign(graph.tensors.size(), -1);
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      for (int t : graph.nodes[n].inputs) {
        if (t >= 0 && uses_[t] == 1) reader_[t] = static_cast<int>(n);
      }
    }
    for (int t : graph.outputs) reader_[t] = -1;
  }
  // The only reader of `tensor`, or -1 (several readers, none, or a graph output).
  int Of(int tensor) const { return tensor >= 0 ? reader_[tensor] : -1; }
  // The only reader of node n's single output, or -1.
  int Next(int node) const {
    const Node& nd = graph_.nodes[node];
    return nd.outputs.size() == 1 ? Of(nd.outputs[0]) : -1;
  }
  int uses(int tensor) const { return uses_[tensor]; }

 private:
  const Graph& graph_;
  std::vector<int> uses_;
  std::vector<int> reader_;
};

}  // namespace

// x * Clip(x + 3, 0, 6) / 6 (or * (1/6)), as exporters spell hard-swish, becomes one HardSwish
// node: one pass over the data instead of four, and a node the partition backends run.
Status FuseHardSwish(Graph& graph) {
  const SoleReaders readers(graph);
  const std::vector<int> producers = graph.Producers();
  std::vector<char> removed(graph.nodes.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& clip = graph.nodes[n];
    if (clip.op != OpType::Clip || clip.inputs.size() != 3 || removed[n]) continue;
    if (!IsScalar(graph, clip.inputs[1], 0.0f) || !IsScalar(graph, clip.inputs[2], 6.0f)) continue;
    const int add_index = clip.inputs[0] >= 0 ? producers[clip.inputs[0]] : -1;
    if (add_index < 0 || removed[add_index] || readers.Next(add_index) != (int)n) {
      continue;
    }
    const Node& add = graph.nodes[add_index];
    if (add.op != OpType::Add || add.inputs.size() != 2) continue;
    int x = -1;
    for (int i = 0; i < 2; ++i) {
      if (IsScalar(graph, add.inputs[i], 3.0f)) x = add.inputs[1 - i];
    }
    if (x < 0 || graph.tensors[x].dtype != DataType::kFloat32) continue;
    const int mul_index = readers.Next(static_cast<int>(n));
    if (mul_index < 0) continue;
    const Node& mul = graph.nodes[mul_index];
    if (mul.op != OpType::Mul || OtherInput(mul, clip.outputs[0]) != x) continue;
    const int scale_index = readers.Next(mul_index);
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
  DropRemoved(graph, removed);
  return Status::Ok();
}

// GELU as exporters spell it from Erf: 0.5 * x * (1 + Erf(x / sqrt(2))), the 0.5 applied last
// or to x first, becomes one Gelu node.
Status FuseGelu(Graph& graph) {
  const SoleReaders readers(graph);
  const std::vector<int> producers = graph.Producers();
  auto scalar_operand = [&](const Node& node, int known, float* value) {
    const int other = OtherInput(node, known);
    return other >= 0 && ConstantScalar(graph, other, value);
  };
  std::vector<char> removed(graph.nodes.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& erf = graph.nodes[n];
    if (erf.op != OpType::Erf || erf.inputs.size() != 1 || erf.inputs[0] < 0 || removed[n]) {
      continue;
    }
    // x / sqrt(2) or x * (1 / sqrt(2)).
    const int scale_index = producers[erf.inputs[0]];
    if (scale_index < 0 || removed[scale_index] || readers.Next(scale_index) != (int)n) continue;
    const Node& scale = graph.nodes[scale_index];
    if (scale.inputs.size() != 2) continue;
    const int x = scale.inputs[0];
    float factor = 0.0f;
    if (x < 0 || graph.tensors[x].dtype != DataType::kFloat32 ||
        !ConstantScalar(graph, scale.inputs[1], &factor)) {
      continue;
    }
    if (!((scale.op == OpType::Div && Near(factor, 1.41421356f)) ||
          (scale.op == OpType::Mul && Near(factor, 0.70710678f)))) {
      continue;
    }
    // + 1
    const int add_index = readers.Next(static_cast<int>(n));
    float one = 0.0f;
    if (add_index < 0 || graph.nodes[add_index].op != OpType::Add ||
        !scalar_operand(graph.nodes[add_index], erf.outputs[0], &one) || one != 1.0f) {
      continue;
    }
    // * x then * 0.5, or * (0.5 x).
    const int mul_index = readers.Next(add_index);
    if (mul_index < 0 || graph.nodes[mul_index].op != OpType::Mul) continue;
    const Node& mul = graph.nodes[mul_index];
    const int other = OtherInput(mul, graph.nodes[add_index].outputs[0]);
    if (other < 0) continue;
    int last_index = -1;
    int half_index = -1;
    float half = 0.0f;
    if (other == x) {
      last_index = readers.Next(mul_index);
      if (last_index < 0 || graph.nodes[last_index].op != OpType::Mul ||
          !scalar_operand(graph.nodes[last_index], mul.outputs[0], &half) || half != 0.5f) {
        continue;
      }
    } else {
      half_index = producers[other];
      if (half_index < 0 || removed[half_index] || readers.uses(other) != 1 ||
          graph.nodes[half_index].op != OpType::Mul ||
          !scalar_operand(graph.nodes[half_index], x, &half) || half != 0.5f) {
        continue;
      }
      last_index = mul_index;
    }
    Node fused;
    fused.name = graph.nodes[last_index].name;
    fused.op = OpType::Gelu;
    fused.inputs = {x};
    fused.outputs = {graph.nodes[last_index].outputs[0]};
    for (int i : {scale_index, static_cast<int>(n), add_index, mul_index, half_index}) {
      if (i >= 0 && i != last_index) removed[i] = 1;
    }
    graph.nodes[last_index] = std::move(fused);
  }
  DropRemoved(graph, removed);
  return Status::Ok();
}

// SiLU as exporters spell it, x * Sigmoid(x), becomes Swish(x) (alpha 1): one pass over the
// data instead of two, and no sigmoid tensor in memory.
Status FuseSwish(Graph& graph) {
  const SoleReaders readers(graph);
  std::vector<char> removed(graph.nodes.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& sigmoid = graph.nodes[n];
    if (sigmoid.op != OpType::Sigmoid || sigmoid.inputs.size() != 1 || sigmoid.inputs[0] < 0 ||
        sigmoid.outputs.size() != 1 || removed[n]) {
      continue;
    }
    const int x = sigmoid.inputs[0];
    const int s = sigmoid.outputs[0];
    const int mul_index = readers.Of(s);
    if (graph.tensors[x].dtype != DataType::kFloat32) continue;
    if (mul_index < 0 || graph.nodes[mul_index].op != OpType::Mul ||
        OtherInput(graph.nodes[mul_index], s) != x) {
      continue;
    }
    Node fused;
    fused.name = graph.nodes[mul_index].name;
    fused.op = OpType::Swish;
    fused.inputs = {x};
    fused.outputs = {graph.nodes[mul_index].outputs[0]};
    graph.nodes[mul_index] = std::move(fused);
    removed[n] = 1;
  }
  DropRemoved(graph, removed);
  return Status::Ok();
}

// Pow by a constant 2 (squared magnitudes, variances) becomes Mul(x, x), which every backend runs
// fast, instead of a general pow per element. (0.5 is left alone: pow(-inf, 0.5) is +inf where
// sqrt gives NaN.)
Status SimplifyPow(Graph& graph) {
  for (Node& node : graph.nodes) {
    if (node.op != OpType::Pow || node.inputs.size() != 2 || node.inputs[0] < 0) continue;
    const int x = node.inputs[0];
    float exponent = 0.0f;
    if (graph.tensors[x].dtype != DataType::kFloat32 ||
        !ConstantScalar(graph, node.inputs[1], &exponent)) {
      continue;
    }
    // The output keeps x's shape only when the exponent does not broadcast it.
    const TensorDesc& e = graph.tensors[node.inputs[1]];
    const TensorDesc& xd = graph.tensors[x];
    if (!e.shape.empty() && (!xd.shape_known || e.shape.size() > xd.shape.size())) continue;
    if (exponent == 2.0f) {
      node.op = OpType::Mul;
      node.inputs = {x, x};
    }
  }
  return Status::Ok();
}

}  // namespace lwai
