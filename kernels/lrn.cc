// LRN (ONNX 13): x / (bias + alpha / size * sum of x^2 over the channel window)^beta, the window
// spanning [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)].
#include <cmath>
#include <string>

#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const TensorView& x = ctx.input(0);
  LWAI_RETURN_IF_ERROR(ExpectFloatInput(ctx, 0));
  if (x.shape.rank < 2) {
    return ctx.ShapeMismatch(LWAI_MSG("input must have rank >= 2, got " + x.shape.ToString()));
  }
  const int64_t size = ctx.node().GetInt("size", 0);
  if (size <= 0)
    return ctx.InvalidModel(LWAI_MSG("size must be positive, got " + std::to_string(size)));
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = x.shape;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const Shape& shape = ctx.input(0).shape;
  const int64_t channels = shape[1];
  int64_t spatial = 1;
  for (int d = 2; d < shape.rank; ++d) spatial *= shape[d];
  const int64_t size = ctx.node().GetInt("size", 1);
  const double alpha = ctx.node().GetFloat("alpha", 1e-4f);
  const double beta = ctx.node().GetFloat("beta", 0.75f);
  const double bias = ctx.node().GetFloat("bias", 1.0f);
  const int64_t before = (size - 1) / 2, after = size / 2;  // floor and ceil of (size - 1) / 2
  WorkMeter meter(ctx.limits());
  DispatchFloat(ctx.input(0).dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* x = ctx.input(0).Data<const T>();
    T* y = ctx.output(0).Data<T>();
    for (int64_t n = 0; n < shape[0]; ++n) {
      const T* xn = x + n * channels * spatial;
      T* yn = y + n * channels * spatial;
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t lo = c - before < 0 ? 0 : c - before;
        const int64_t hi = c + after >= channels ? channels - 1 : c + after;
        if (meter.Add((hi - lo + 2) * spatial)) return;
        for (int64_t s = 0; s < spatial; ++s) {
          double sum = 0.0;
          for (int64_t k = lo; k <= hi; ++k) {
            const double v = xn[k * spatial + s];
            sum += v * v;
          }
          const int64_t i = c * spatial + s;
          yn[i] = static_cast<T>(xn[i] / std::pow(bias + alpha / size * sum, beta));
        }
      }
    }
  });
  if (meter.expired()) return ctx.limits().Check(ctx.node());
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kLRNKernel = {OpType::LRN, Prepare, Eval};

}  // namespace lwai
