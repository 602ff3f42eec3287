// Window geometry shared by Conv and the pooling operators: kernel size, strides, dilations,
// explicit pads or auto_pad, ceil_mode, and the resulting output size.
#ifndef LWAI_KERNELS_SPATIAL_COMMON_H_
#define LWAI_KERNELS_SPATIAL_COMMON_H_

#include "kernels/kernel_api.h"

namespace lwai {

constexpr int kMaxSpatialRank = kMaxRank - 2;

struct WindowGeometry {
  int spatial_rank = 0;
  int64_t kernel[kMaxSpatialRank] = {};
  int64_t strides[kMaxSpatialRank] = {};
  int64_t dilations[kMaxSpatialRank] = {};
  int64_t pad_begin[kMaxSpatialRank] = {};
  int64_t pad_end[kMaxSpatialRank] = {};
  int64_t input[kMaxSpatialRank] = {};
  int64_t output[kMaxSpatialRank] = {};
};

// Reads strides/dilations/pads/auto_pad (and ceil_mode when allow_ceil_mode) from the node
// for an NC<spatial> input and the given kernel size, and computes the output size. Errors
// name the node and the offending attribute.
Status ComputeWindowGeometry(const KernelContext& ctx, const Shape& input,
                             const int64_t* kernel_shape, bool allow_ceil_mode,
                             WindowGeometry* geometry);

}  // namespace lwai

#endif  // LWAI_KERNELS_SPATIAL_COMMON_H_
