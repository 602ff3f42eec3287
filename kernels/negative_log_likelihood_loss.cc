// NegativeLogLikelihoodLoss (ONNX 22): input [N, C, d...], target [N, d...], optional weight [C];
// reduction none/sum/mean, optional ignore_index.
#include <memory>

#include "kernels/reduce_common.h"

namespace lwai {
namespace {

struct LossState : OpState {
  int64_t n = 0, c = 0, d = 0;
  LossReduction reduction = LossReduction::kMean;
};

Status Prepare(KernelContext& ctx) {
  auto state = std::make_unique<LossState>();
  LWAI_RETURN_IF_ERROR(ParseLossReduction(ctx, &state->reduction));
  LWAI_RETURN_IF_ERROR(PrepareLoss(ctx, state->reduction, &state->n, &state->c, &state->d));
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const LossState& s = *ctx.state<LossState>();
  const TensorView& target = ctx.input(1);
  const bool has_ignore = ctx.node().FindAttribute("ignore_index") != nullptr;
  const int64_t ignore_index = ctx.node().GetInt("ignore_index", 0);
  bool ok = true;
  DispatchFloat(ctx.input(0).dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* weight = ctx.has_input(2) ? ctx.input(2).Data<const T>() : nullptr;
    ok = NllLoss(
        ctx.input(0).Data<const T>(), s.n, s.c, s.d, [&](int64_t i) { return IntAt(target, i); },
        weight, has_ignore, ignore_index, s.reduction, ctx.output(0).Data<T>());
  });
  if (!ok)
    return ctx.InvalidModel(LWAI_MSG("a target value is outside [0, C) and not ignore_index"));
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kNegativeLogLikelihoodLossKernel = {
    OpType::NegativeLogLikelihoodLoss, Prepare, Eval};

}  // namespace lwai
