// LpPool (ONNX 18): (sum |x|^p)^(1/p) over N-D windows, with dilations, pads/auto_pad and
// ceil_mode.
#include "kernels/pool_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PreparePool(ctx, PoolKind::kLp); }

}  // namespace

extern const KernelRegistration kLpPoolKernel = {OpType::LpPool, Prepare, EvalPool};

}  // namespace lwai
