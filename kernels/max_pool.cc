// MaxPool (ONNX 12): N-D max pooling with dilations, pads/auto_pad, ceil_mode and the
// optional int64 Indices output (storage_order 0 or 1).
#include "kernels/pool_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PreparePool(ctx, PoolKind::kMax); }

}  // namespace

extern const KernelRegistration kMaxPoolKernel = {OpType::MaxPool, Prepare, EvalPool};

}  // namespace lwai
