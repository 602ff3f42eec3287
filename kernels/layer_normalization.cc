// LayerNormalization (ONNX 17): normalizes the dims from `axis` on, then Scale and optional B;
// optional Mean and InvStdDev outputs in the stash_type dtype.
#include <cmath>
#include <memory>

#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  auto state = std::make_unique<RowNormState>();
  int axis = 0;
  LWAI_RETURN_IF_ERROR(PrepareRowNorm(ctx, 3, state.get(), &axis));
  const Shape& x = ctx.input(0).shape;
  Shape stats = x;
  for (int d = axis; d < x.rank; ++d) stats[d] = 1;
  const DataType stash =
      ctx.node().GetInt("stash_type", 1) == 11 ? DataType::kFloat64 : DataType::kFloat32;
  for (int o = 1; o < 3; ++o) {
    if (!ctx.has_output(o)) continue;
    ctx.output(o).dtype = stash;
    ctx.output(o).shape = stats;
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

template <typename S>
void Store(void* out, int64_t i, double v) {
  if (out) static_cast<S*>(out)[i] = static_cast<S>(v);
}

Status Eval(KernelContext& ctx) {
  const RowNormState& s = *ctx.state<RowNormState>();
  const int64_t n = s.row_shape.NumElements();
  const bool stash_double = ctx.node().GetInt("stash_type", 1) == 11;
  void* mean_out = ctx.has_output(1) ? ctx.output(1).data : nullptr;
  void* inv_out = ctx.has_output(2) ? ctx.output(2).data : nullptr;
  DispatchFloat(ctx.input(0).dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* x = ctx.input(0).Data<const T>();
    const T* scale = ctx.input(1).Data<const T>();
    const T* bias = ctx.has_input(2) ? ctx.input(2).Data<const T>() : nullptr;
    T* y = ctx.output(0).Data<T>();
    for (int64_t r = 0; r < s.rows; ++r) {
      const T* xr = x + r * n;
      T* yr = y + r * n;
      double mean = 0.0, variance = 0.0;
      MeanVariance(xr, n, &mean, &variance);
      const double inv = 1.0 / std::sqrt(variance + s.epsilon);
      ForEachRowElement(s, [&](int64_t j, int64_t si, int64_t bi) {
        const double v = (xr[j] - mean) * inv * scale[si] + (bias ? bias[bi] : T(0));
        yr[j] = static_cast<T>(v);
      });
      if (stash_double) {
        Store<double>(mean_out, r, mean);
        Store<double>(inv_out, r, inv);
      } else {
        Store<float>(mean_out, r, mean);
        Store<float>(inv_out, r, inv);
      }
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kLayerNormalizationKernel = {OpType::LayerNormalization, Prepare,
                                                             Eval};

}  // namespace lwai
