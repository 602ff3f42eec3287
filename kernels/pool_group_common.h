// Helpers shared by the pooling / resampling kernels (Resize, GridSample, RoiAlign, ...).
#ifndef LWAI_KERNELS_POOL_GROUP_COMMON_H_
#define LWAI_KERNELS_POOL_GROUP_COMMON_H_

#include <vector>

#include "kernels/kernel_api.h"

namespace lwai {

// Reads a float32 or float64 tensor known at prepare time into `values` (ctx.ValueNeeded when
// its data is not known yet).
Status ReadFloatTensor(const KernelContext& ctx, int input, std::vector<double>* values);

// The cubic convolution kernel weights for the four taps at offsets -1, 0, 1, 2 from
// floor(x), where t = x - floor(x) in [0, 1] and a is the coefficient (-0.75 or -0.5).
void CubicWeights(double t, double a, double* weights);

}  // namespace lwai

#endif  // LWAI_KERNELS_POOL_GROUP_COMMON_H_
