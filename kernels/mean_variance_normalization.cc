// MeanVarianceNormalization (ONNX 13): (x - mean) / (sqrt(E[x^2] - mean^2) + 1e-9) over the
// `axes` attribute (default [0, 2, 3]).
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "kernels/reduce_common.h"

namespace lwai {
namespace {

struct MvnState : OpState {
  ReducePlan plan;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const TensorView& x = ctx.input(0);
  LWAI_RETURN_IF_ERROR(ExpectFloatInput(ctx, 0));
  std::vector<int64_t> axes = {0, 2, 3};
  if (ctx.node().FindAttribute("axes")) axes = ctx.node().GetInts("axes");
  uint32_t mask = 0;
  LWAI_RETURN_IF_ERROR(AxesToMask(ctx, axes, x.shape.rank, &mask));
  auto state = std::make_unique<MvnState>();
  Shape reduced;
  MakeReducePlan(x.shape, mask, true, &state->plan, &reduced);
  // Per output group: the mean and the scale 1 / (std + 1e-9).
  if (!ctx.shape_only()) ctx.RequestScratch(2 * state->plan.out_count * sizeof(double));
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = x.shape;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const ReducePlan& plan = ctx.state<MvnState>()->plan;
  double* mean = static_cast<double*>(ctx.scratch());
  double* scale = mean + plan.out_count;
  DispatchFloat(ctx.input(0).dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* x = ctx.input(0).Data<const T>();
    T* y = ctx.output(0).Data<T>();
    for (int64_t o = 0; o < plan.out_count; ++o) mean[o] = scale[o] = 0.0;
    ForEachReduced(plan, [&](int64_t i, int64_t o) {
      mean[o] += x[i];
      scale[o] += static_cast<double>(x[i]) * x[i];
    });
    const double count = static_cast<double>(plan.group);
    for (int64_t o = 0; o < plan.out_count; ++o) {
      mean[o] /= count;
      const double variance = scale[o] / count - mean[o] * mean[o];
      scale[o] = 1.0 / (std::sqrt(variance > 0.0 ? variance : 0.0) + 1e-9);
    }
    ForEachReduced(
        plan, [&](int64_t i, int64_t o) { y[i] = static_cast<T>((x[i] - mean[o]) * scale[o]); });
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kMeanVarianceNormalizationKernel = {
    OpType::MeanVarianceNormalization, Prepare, Eval};

}  // namespace lwai
