// Runs one node right away (prepare, allocate outputs and scratch, eval): used for work whose
// inputs are all known before invoke, by constant folding and by sessions at prepare time.
#ifndef LWAI_RUNTIME_EVALUATE_H_
#define LWAI_RUNTIME_EVALUATE_H_

#include <memory>
#include <vector>

#include "kernels/kernel_api.h"

namespace lwai {

// `ctx` must already be prepared. Allocates each output (kept alive by *storage), runs eval.
Status EvaluatePrepared(const KernelRegistration& kernel, KernelContext& ctx,
                        std::vector<std::shared_ptr<void>>* storage);

// Prepare followed by EvaluatePrepared.
Status PrepareAndEvaluate(const KernelRegistration& kernel, KernelContext& ctx,
                          std::vector<std::shared_ptr<void>>* storage);

}  // namespace lwai

#endif  // LWAI_RUNTIME_EVALUATE_H_
