// N-D MaxPool / AveragePool / LpPool and GlobalMaxPool / GlobalAveragePool / GlobalLpPool over
// NC<spatial> inputs, one (batch, channel) plane per task.
#ifndef LWAI_KERNELS_POOL_COMMON_H_
#define LWAI_KERNELS_POOL_COMMON_H_

#include "kernels/kernel_api.h"

namespace lwai {

enum class PoolKind { kMax, kAverage, kLp };

// Reads kernel_shape, strides, pads/auto_pad, dilations, ceil_mode (count_include_pad for
// kAverage, p for kLp, storage_order for kMax), sets the outputs (MaxPool's optional int64
// Indices too) and stores the geometry as the node state.
Status PreparePool(KernelContext& ctx, PoolKind kind);
Status EvalPool(KernelContext& ctx);

// Output N x C x 1 x ... x 1.
Status PrepareGlobalPool(KernelContext& ctx, PoolKind kind);
Status EvalGlobalPool(KernelContext& ctx);

}  // namespace lwai

#endif  // LWAI_KERNELS_POOL_COMMON_H_
