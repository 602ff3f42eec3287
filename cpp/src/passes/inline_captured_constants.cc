#include <memory>
#include <vector>

#include "passes/passes.h"

namespace lwai {
namespace {

bool HasSubgraph(const Node& node) {
  for (const Attribute& a : node.attributes) {
    if (a.graph != nullptr) return true;
  }
  return false;
}

}  // namespace

Status InlineCapturedConstants(Graph& graph, const SubgraphOptimizer& optimize) {
  for (Node& node : graph.nodes) {
    if (!HasSubgraph(node)) continue;
    const int64_t captured = node.GetInt("captured_inputs", 0);
    const int64_t num_inputs = static_cast<int64_t>(node.inputs.size());
    if (captured < 0 || captured > num_inputs) {
      return InvalidModel(LWAI_MSG(node.Describe() + ": captured_inputs " +
                                   std::to_string(captured) + " does not fit " +
                                   std::to_string(num_inputs) + " inputs"));
    }
    // Which captured values are constants here (kept in order, by position among the captured).
    std::vector<char> inline_it(static_cast<size_t>(captured), 0);
    int64_t inlined = 0;
    for (int64_t j = 0; j < captured; ++j) {
      const int t = node.inputs[num_inputs - captured + j];
      inline_it[j] = t >= 0 && graph.tensors[t].is_constant();
      inlined += inline_it[j];
    }
    for (Attribute& a : node.attributes) {
      if (a.graph == nullptr) continue;
      auto subgraph = std::make_shared<Graph>(*a.graph);
      const int64_t sub_inputs = static_cast<int64_t>(subgraph->inputs.size());
      if (sub_inputs < captured) {
        return InvalidModel(LWAI_MSG(node.Describe() + ": subgraph '" + a.name + "' has " +
                                     std::to_string(sub_inputs) + " inputs for " +
                                     std::to_string(captured) + " captured values"));
      }
      if (inlined > 0) {
        std::vector<int> kept(subgraph->inputs.begin(), subgraph->inputs.end() - captured);
        for (int64_t j = 0; j < captured; ++j) {
          const int s = subgraph->inputs[sub_inputs - captured + j];
          if (!inline_it[j]) {
            kept.push_back(s);
            continue;
          }
          // The subgraph's copy shares the outer constant's bytes.
          const TensorDesc& outer = graph.tensors[node.inputs[num_inputs - captured + j]];
          TensorDesc& inner = subgraph->tensors[s];
          inner.dtype = outer.dtype;
          inner.shape_known = outer.shape_known;
          inner.shape = outer.shape;
          inner.constant = outer.constant;
        }
        subgraph->inputs = std::move(kept);
      }
      // Nested control flow sees these constants too, and the body gets the same rewrites as a
      // top-level graph (folding, fusions).
      LWAI_RETURN_IF_ERROR(optimize(*subgraph).WithContext(LWAI_MSG(node.Describe())));
      a.graph = std::move(subgraph);
    }
    if (inlined == 0) continue;
    std::vector<int> inputs(node.inputs.begin(), node.inputs.end() - captured);
    for (int64_t j = 0; j < captured; ++j) {
      if (!inline_it[j]) inputs.push_back(node.inputs[num_inputs - captured + j]);
    }
    node.inputs = std::move(inputs);
    node.SetInt("captured_inputs", captured - inlined);
  }
  return Status::Ok();
}

}  // namespace lwai
