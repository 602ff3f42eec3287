// If, Loop and Scan: operators whose subgraphs run on nested executors. They live in the
// runtime (not kernels/) because they execute graphs. Each prepares and runs its subgraph
// when its inputs' values are known, so a graph with control flow runs in the executor's
// dynamic mode unless the control flow folds away.
#ifndef LWAI_RUNTIME_CONTROL_FLOW_H_
#define LWAI_RUNTIME_CONTROL_FLOW_H_

#include <vector>

#include "kernels/kernel_api.h"

namespace lwai {

// The kernel of a control-flow operator, or nullptr for other operators.
const KernelRegistration* FindControlFlowKernel(OpType op);
std::vector<OpType> ControlFlowOps();

}  // namespace lwai

#endif  // LWAI_RUNTIME_CONTROL_FLOW_H_
