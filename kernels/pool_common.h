// N-D MaxPool / AveragePool and GlobalMaxPool / GlobalAveragePool over NC<spatial> float32
// inputs, one (batch, channel) plane per task.
#ifndef LWAI_KERNELS_POOL_COMMON_H_
#define LWAI_KERNELS_POOL_COMMON_H_

#include "kernels/kernel_api.h"

namespace lwai {

enum class PoolKind { kMax, kAverage };

// Reads kernel_shape, strides, pads/auto_pad, dilations, ceil_mode (and count_include_pad for
// kAverage), sets the output and stores the geometry as the node state.
Status PreparePool(KernelContext& ctx, PoolKind kind);
Status EvalPool(KernelContext& ctx);

// Output N x C x 1 x ... x 1.
Status PrepareGlobalPool(KernelContext& ctx);
Status EvalGlobalPool(KernelContext& ctx, PoolKind kind);

}  // namespace lwai

#endif  // LWAI_KERNELS_POOL_COMMON_H_
