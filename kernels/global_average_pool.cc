// GlobalAveragePool (ONNX 22): Average pooling over all spatial axes of an NC<spatial> input.
#include "kernels/pool_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareGlobalPool(ctx, PoolKind::kAverage); }

}  // namespace

extern const KernelRegistration kGlobalAveragePoolKernel = {OpType::GlobalAveragePool, Prepare,
                                                            EvalGlobalPool};

}  // namespace lwai
