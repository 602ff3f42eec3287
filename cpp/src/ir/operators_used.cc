#include "ir/operators_used.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

namespace lwai {
namespace {

void Collect(const Graph& graph, std::map<OpType, std::set<DataType>>* used) {
  for (const Node& node : graph.nodes) {
    std::set<DataType>& dtypes = (*used)[node.op];
    for (const std::vector<int>* tensors : {&node.inputs, &node.outputs}) {
      for (int t : *tensors) {
        if (t >= 0 && graph.tensors[t].dtype != DataType::kUndefined) {
          dtypes.insert(graph.tensors[t].dtype);
        }
      }
    }
    for (const Attribute& a : node.attributes) {
      if (a.graph != nullptr) Collect(*a.graph, used);
    }
  }
}

}  // namespace

std::vector<OperatorUse> OperatorsUsed(const Graph& graph) {
  std::map<OpType, std::set<DataType>> used;
  Collect(graph, &used);
  std::vector<OperatorUse> list;
  for (const auto& [op, dtypes] : used) {
    list.push_back({op, std::vector<DataType>(dtypes.begin(), dtypes.end())});
  }
  std::sort(list.begin(), list.end(), [](const OperatorUse& a, const OperatorUse& b) {
    return std::strcmp(OpTypeName(a.op), OpTypeName(b.op)) < 0;
  });
  return list;
}

}  // namespace lwai
