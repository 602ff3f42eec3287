// AveragePool (ONNX 19): N-D average pooling with dilations, pads/auto_pad, ceil_mode and
// count_include_pad.
#include "kernels/pool_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PreparePool(ctx, PoolKind::kAverage); }

}  // namespace

extern const KernelRegistration kAveragePoolKernel = {OpType::AveragePool, Prepare, EvalPool};

}  // namespace lwai
