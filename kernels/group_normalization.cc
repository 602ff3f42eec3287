// GroupNormalization (ONNX 21): normalizes groups of C / num_groups channels of each sample, then
// scale[c] and bias[c] per channel.
#include <cmath>
#include <string>

#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const TensorView& x = ctx.input(0);
  LWAI_RETURN_IF_ERROR(ExpectFloatInput(ctx, 0));
  if (x.shape.rank < 2) {
    return ctx.ShapeMismatch(LWAI_MSG("input must have rank >= 2, got " + x.shape.ToString()));
  }
  const int64_t channels = x.shape[1];
  const int64_t groups = ctx.node().GetInt("num_groups", 0);
  if (groups <= 0 || channels % groups != 0) {
    return ctx.InvalidModel(LWAI_MSG("num_groups must be positive and divide the " +
                                     std::to_string(channels) + " channels, got " +
                                     std::to_string(groups)));
  }
  const int64_t stash = ctx.node().GetInt("stash_type", 1);
  if (stash != 1 && stash != 11) {
    return ctx.Unsupported(
        LWAI_MSG("stash_type must be 1 (float) or 11 (double), got " + std::to_string(stash)));
  }
  for (int i = 1; i < 3; ++i) {
    const TensorView& p = ctx.input(i);
    if (p.dtype != x.dtype) {
      return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(i) + " dtype " +
                                       DataTypeName(p.dtype) + " must match input dtype " +
                                       DataTypeName(x.dtype)));
    }
    if (p.shape.rank != 1 || p.shape[0] != channels) {
      return ctx.ShapeMismatch(LWAI_MSG("input " + std::to_string(i) + " " + p.shape.ToString() +
                                        " must be [" + std::to_string(channels) +
                                        "] (per channel)"));
    }
  }
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = x.shape;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const Shape& shape = ctx.input(0).shape;
  const int64_t channels = shape[1];
  const int64_t groups = ctx.node().GetInt("num_groups", 1);
  const int64_t group_channels = channels / groups;
  int64_t spatial = 1;
  for (int d = 2; d < shape.rank; ++d) spatial *= shape[d];
  const double epsilon = ctx.node().GetFloat("epsilon", 1e-5f);
  DispatchFloat(ctx.input(0).dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* x = ctx.input(0).Data<const T>();
    const T* scale = ctx.input(1).Data<const T>();
    const T* bias = ctx.input(2).Data<const T>();
    T* y = ctx.output(0).Data<T>();
    const int64_t group_size = group_channels * spatial;
    for (int64_t g = 0; g < shape[0] * groups; ++g) {
      const int64_t first = g * group_size;
      double mean = 0.0, variance = 0.0;
      MeanVariance(x + first, group_size, &mean, &variance);
      const double inv = 1.0 / std::sqrt(variance + epsilon);
      for (int64_t k = 0; k < group_channels; ++k) {
        const int64_t c = (g % groups) * group_channels + k;
        const double a = scale[c] * inv;
        const double b = bias[c] - mean * a;
        const int64_t begin = first + k * spatial;
        for (int64_t i = begin; i < begin + spatial; ++i) y[i] = static_cast<T>(x[i] * a + b);
      }
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kGroupNormalizationKernel = {OpType::GroupNormalization, Prepare,
                                                             Eval};

}  // namespace lwai
