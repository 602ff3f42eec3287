// GlobalMaxPool (ONNX 22): Max pooling over all spatial axes of an NC<spatial> input.
#include "kernels/pool_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareGlobalPool(ctx, PoolKind::kMax); }

}  // namespace

extern const KernelRegistration kGlobalMaxPoolKernel = {OpType::GlobalMaxPool, Prepare,
                                                        EvalGlobalPool};

}  // namespace lwai
