#include "kernels/pool_common.h"

namespace lwai {
namespace {

Status Eval(KernelContext& ctx) { return EvalGlobalPool(ctx, PoolKind::kMax); }

}  // namespace

extern const KernelRegistration kGlobalMaxPoolKernel = {OpType::GlobalMaxPool, PrepareGlobalPool,
                                                        Eval};

}  // namespace lwai
