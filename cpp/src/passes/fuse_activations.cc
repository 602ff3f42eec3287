#include <limits>

#include "passes/passes.h"

namespace lwai {
namespace {

// Reads an optional constant float32 scalar input of Clip; false if present but not constant.
bool ReadBound(const Graph& graph, const Node& clip, size_t input, float* value) {
  if (clip.inputs.size() <= input || clip.inputs[input] < 0) return true;
  const TensorDesc& desc = graph.tensors[clip.inputs[input]];
  if (!desc.is_constant() || desc.dtype != DataType::kFloat32 ||
      desc.constant.size != sizeof(float)) {
    return false;
  }
  *value = *reinterpret_cast<const float*>(desc.constant.data);
  return true;
}

}  // namespace

Status FuseActivations(Graph& graph) {
  const std::vector<int> use_counts = graph.UseCounts();
  const std::vector<int> producers = graph.Producers();
  std::vector<char> removed(graph.nodes.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& act = graph.nodes[n];
    if (act.op != OpType::Relu && act.op != OpType::Clip) continue;
    if (act.inputs.empty() || act.inputs[0] < 0 || act.outputs.size() != 1) continue;
    const int x = act.inputs[0];
    const int producer = producers[x];
    if (producer < 0 || use_counts[x] != 1 || removed[producer]) continue;
    Node& node = graph.nodes[producer];
    // MatMul takes a fused activation as lwai's extension, for float32 only.
    const bool matmul = node.op == OpType::MatMul && graph.tensors[x].dtype == DataType::kFloat32;
    if ((node.op != OpType::Conv && node.op != OpType::Gemm && !matmul) ||
        node.FindAttribute("activation") != nullptr) {
      continue;
    }
    if (act.op == OpType::Relu) {
      node.SetString("activation", "Relu");
    } else {
      float lo = std::numeric_limits<float>::lowest();
      float hi = std::numeric_limits<float>::max();
      if (!ReadBound(graph, act, 1, &lo) || !ReadBound(graph, act, 2, &hi)) continue;
      node.SetString("activation", "Clip");
      node.SetFloat("activation_min", lo);
      node.SetFloat("activation_max", hi);
    }
    node.outputs[0] = act.outputs[0];
    removed[n] = 1;
  }
  DropRemoved(graph, removed);
  return Status::Ok();
}

}  // namespace lwai
