// GlobalLpPool (ONNX 22): Lp pooling over all spatial axes of an NC<spatial> input.
#include "kernels/pool_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareGlobalPool(ctx, PoolKind::kLp); }

}  // namespace

extern const KernelRegistration kGlobalLpPoolKernel = {OpType::GlobalLpPool, Prepare,
                                                       EvalGlobalPool};

}  // namespace lwai
