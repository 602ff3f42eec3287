// If, Loop and Scan: operators whose subgraphs run on nested executors. They live in the
// runtime (not kernels/) because they execute graphs. Each prepares and runs its subgraph
// when its inputs' values are known, so a graph with control flow runs in the executor's
// dynamic mode unless the control flow folds away.
#ifndef LWAI_RUNTIME_CONTROL_FLOW_H_
#define LWAI_RUNTIME_CONTROL_FLOW_H_

#include <string>
#include <vector>

#include "kernels/kernel_api.h"
#include "lwai/session.h"

namespace lwai {

// For a control-flow node whose persistent state holds subgraph executors: the nodes per backend
// in each subgraph prepared so far ("then_branch: xnnpack 3 eigen 9 reference 20"); "" when
// none is.
std::string DescribeSubgraphs(const Node& node, const OpState* persistent_state);

// Appends the profiles of the nodes of `node`'s subgraphs that ran (and of theirs, depth
// first), `prefix` naming `node`.
void CollectSubgraphProfiles(const Node& node, const OpState* persistent_state, std::string prefix,
                             std::vector<SubgraphNodeProfile>* out);
// Zeroes the sums of a control-flow node's subgraphs (and of theirs).
void ResetSubgraphProfiles(OpState* persistent_state);

// The kernel of a control-flow operator, or nullptr for other operators.
const KernelRegistration* FindControlFlowKernel(OpType op);
std::vector<OpType> ControlFlowOps();

}  // namespace lwai

#endif  // LWAI_RUNTIME_CONTROL_FLOW_H_
