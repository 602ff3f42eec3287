// Resize's fast path for backends: float32 images resized along their last two axes only, with
// at most two taps per axis (nearest and linear modes), in one float pass per output plane,
// planes split across threads. Uses the state of the reference Resize prepare.
#ifndef LWAI_KERNELS_RESIZE_H_
#define LWAI_KERNELS_RESIZE_H_

#include "kernels/kernel_api.h"

namespace lwai {

// After the reference Resize prepare on `ctx`: whether EvalSpatialResize applies.
bool IsSpatialResize(const KernelContext& ctx);
// Runs the resize of a node for which IsSpatialResize holds.
Status EvalSpatialResize(KernelContext& ctx);

}  // namespace lwai

#endif  // LWAI_KERNELS_RESIZE_H_
