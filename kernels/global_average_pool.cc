#include "kernels/pool_common.h"

namespace lwai {
namespace {

Status Eval(KernelContext& ctx) { return EvalGlobalPool(ctx, PoolKind::kAverage); }

}  // namespace

extern const KernelRegistration kGlobalAveragePoolKernel = {OpType::GlobalAveragePool,
                                                            PrepareGlobalPool, Eval};

}  // namespace lwai
