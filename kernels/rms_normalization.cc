// RMSNormalization (ONNX 23): x / sqrt(mean(x^2) + epsilon) * scale over the dims from `axis`.
#include <cmath>
#include <memory>

#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  auto state = std::make_unique<RowNormState>();
  int axis = 0;
  LWAI_RETURN_IF_ERROR(PrepareRowNorm(ctx, 2, state.get(), &axis));
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const RowNormState& s = *ctx.state<RowNormState>();
  const int64_t n = s.row_shape.NumElements();
  DispatchFloat(ctx.input(0).dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* x = ctx.input(0).Data<const T>();
    const T* scale = ctx.input(1).Data<const T>();
    T* y = ctx.output(0).Data<T>();
    for (int64_t r = 0; r < s.rows; ++r) {
      const T* xr = x + r * n;
      T* yr = y + r * n;
      double sq = 0.0;
      for (int64_t j = 0; j < n; ++j) sq += static_cast<double>(xr[j]) * xr[j];
      const double inv = 1.0 / std::sqrt((n > 0 ? sq / n : 0.0) + s.epsilon);
      ForEachRowElement(s, [&](int64_t j, int64_t si, int64_t) {
        yr[j] = static_cast<T>(xr[j] * inv * scale[si]);
      });
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kRMSNormalizationKernel = {OpType::RMSNormalization, Prepare, Eval};

}  // namespace lwai
