// The operators (and the dtypes they read and write) that a graph needs, subgraphs included: what a
// selective build of the runtime must register (`lwai ops`, CMake's LWAI_SELECTED_OPS).
#ifndef LWAI_IR_OPERATORS_USED_H_
#define LWAI_IR_OPERATORS_USED_H_

#include <vector>

#include "ir/graph.h"

namespace lwai {

struct OperatorUse {
  OpType op;
  std::vector<DataType> dtypes;  // of its inputs and outputs, ascending; undefined ones left out
};

// One entry per operator, by name (OpTypeName) ascending.
std::vector<OperatorUse> OperatorsUsed(const Graph& graph);

}  // namespace lwai

#endif  // LWAI_IR_OPERATORS_USED_H_
