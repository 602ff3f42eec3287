#include "kernels/pool_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PreparePool(ctx, PoolKind::kMax); }

}  // namespace

extern const KernelRegistration kMaxPoolKernel = {OpType::MaxPool, Prepare, EvalPool};

}  // namespace lwai
