// InstanceNormalization (ONNX 22): per (n, c) plane, (x - mean) / sqrt(var + epsilon) * scale[c]
// + B[c].
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
  for (int i = 1; i < 3; ++i) {
    const TensorView& p = ctx.input(i);
    if (p.dtype != x.dtype) {
      return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(i) + " dtype " +
                                       DataTypeName(p.dtype) + " must match input dtype " +
                                       DataTypeName(x.dtype)));
    }
    if (p.shape.rank != 1 || p.shape[0] != x.shape[1]) {
      return ctx.ShapeMismatch(LWAI_MSG("input " + std::to_string(i) + " " + p.shape.ToString() +
                                        " must be [" + std::to_string(x.shape[1]) + "]"));
    }
  }
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = x.shape;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const Shape& shape = ctx.input(0).shape;
  const int64_t channels = shape[1];
  int64_t spatial = 1;
  for (int d = 2; d < shape.rank; ++d) spatial *= shape[d];
  const double epsilon = ctx.node().GetFloat("epsilon", 1e-5f);
  DispatchFloat(ctx.input(0).dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* x = ctx.input(0).Data<const T>();
    const T* scale = ctx.input(1).Data<const T>();
    const T* bias = ctx.input(2).Data<const T>();
    T* y = ctx.output(0).Data<T>();
    for (int64_t p = 0; p < shape[0] * channels; ++p) {
      const int64_t c = p % channels;
      double mean = 0.0, variance = 0.0;
      MeanVariance(x + p * spatial, spatial, &mean, &variance);
      const double a = scale[c] / std::sqrt(variance + epsilon);
      const double b = bias[c] - mean * a;
      for (int64_t i = p * spatial; i < (p + 1) * spatial; ++i) {
        y[i] = static_cast<T>(x[i] * a + b);
      }
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kInstanceNormalizationKernel = {OpType::InstanceNormalization,
                                                                Prepare, Eval};

}  // namespace lwai
