#include <unordered_set>

#include "passes/passes.h"

namespace lwai {
namespace {

// Identity, and Dropout whose mask nobody reads, pass their input through unchanged.
bool IsPassThrough(const Node& node, const std::vector<int>& use_counts) {
  if (node.op == OpType::Identity) return node.inputs.size() == 1 && node.inputs[0] >= 0;
  if (node.op != OpType::Dropout || node.inputs.empty() || node.inputs[0] < 0) return false;
  return node.outputs.size() < 2 || node.outputs[1] < 0 || use_counts[node.outputs[1]] == 0;
}

}  // namespace

Status EliminateDeadNodes(Graph& graph) {
  std::unordered_set<int> graph_outputs(graph.outputs.begin(), graph.outputs.end());
  std::vector<int> use_counts = graph.UseCounts();
  // rename[t]: the tensor that replaces t.
  std::vector<int> rename(graph.tensors.size());
  for (size_t t = 0; t < rename.size(); ++t) rename[t] = static_cast<int>(t);
  std::vector<char> removed(graph.nodes.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& node = graph.nodes[n];
    for (int& t : node.inputs) {
      if (t >= 0) t = rename[t];
    }
    if (!IsPassThrough(node, use_counts) || graph_outputs.count(node.outputs[0])) continue;
    rename[node.outputs[0]] = node.inputs[0];
    removed[n] = 1;
  }
  for (int& t : graph.outputs) t = rename[t];
  // Remove nodes with no live output, last to first so chains go in one sweep.
  use_counts = graph.UseCounts();
  for (size_t n = graph.nodes.size(); n-- > 0;) {
    if (removed[n]) continue;
    const Node& node = graph.nodes[n];
    bool live = false;
    for (int t : node.outputs) live = live || (t >= 0 && use_counts[t] > 0);
    if (live) continue;
    removed[n] = 1;
    for (int t : node.inputs) {
      if (t >= 0) --use_counts[t];
    }
  }
  DropRemoved(graph, removed);
  return Status::Ok();
}

void CompactTensors(Graph& graph) {
  std::vector<char> used(graph.tensors.size(), 0);
  for (const Node& node : graph.nodes) {
    for (int t : node.inputs) {
      if (t >= 0) used[t] = 1;
    }
    for (int t : node.outputs) {
      if (t >= 0) used[t] = 1;
    }
  }
  for (int t : graph.inputs) used[t] = 1;
  for (int t : graph.outputs) used[t] = 1;
  std::vector<int> new_index(graph.tensors.size(), -1);
  std::vector<TensorDesc> kept;
  for (size_t t = 0; t < graph.tensors.size(); ++t) {
    if (!used[t]) continue;
    new_index[t] = static_cast<int>(kept.size());
    kept.push_back(std::move(graph.tensors[t]));
  }
  graph.tensors = std::move(kept);
  auto remap = [&](std::vector<int>& indices) {
    for (int& t : indices) {
      if (t >= 0) t = new_index[t];
    }
  };
  for (Node& node : graph.nodes) {
    remap(node.inputs);
    remap(node.outputs);
  }
  remap(graph.inputs);
  remap(graph.outputs);
}

int AddConstantTensor(Graph& graph, const std::string& name, DataType dtype,
                      const std::vector<int64_t>& dims, const void* bytes, size_t size) {
  TensorDesc desc;
  desc.name = name;
  desc.dtype = dtype;
  desc.shape_known = true;
  for (int64_t d : dims) desc.shape.push_back(Dim{d, ""});
  desc.constant = ConstantData::Copy(bytes, size);
  return graph.AddTensor(std::move(desc));
}

void DropRemoved(Graph& graph, const std::vector<char>& removed) {
  std::vector<Node> kept;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (!removed[n]) kept.push_back(std::move(graph.nodes[n]));
  }
  graph.nodes = std::move(kept);
}

}  // namespace lwai
