#include "kernels/pool_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PreparePool(ctx, PoolKind::kAverage); }

}  // namespace

extern const KernelRegistration kAveragePoolKernel = {OpType::AveragePool, Prepare, EvalPool};

}  // namespace lwai
