// SoftmaxCrossEntropyLoss (ONNX 13): log-softmax of scores [N, C, d...] over C, then the negative
// log-likelihood loss of labels [N, d...]; optional weights [C], ignore_index, reduction and
// log_prob output.
#include <cmath>
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
  const TensorView& x = ctx.input(0);
  if (ctx.has_output(1)) {
    ctx.output(1).dtype = x.dtype;
    ctx.output(1).shape = x.shape;
  } else if (!ctx.shape_only()) {
    ctx.RequestScratch(x.ByteSize());
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const LossState& s = *ctx.state<LossState>();
  const TensorView& labels = ctx.input(1);
  const bool has_ignore = ctx.node().FindAttribute("ignore_index") != nullptr;
  const int64_t ignore_index = ctx.node().GetInt("ignore_index", 0);
  bool ok = true;
  DispatchFloat(ctx.input(0).dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* x = ctx.input(0).Data<const T>();
    T* logp = ctx.has_output(1) ? ctx.output(1).Data<T>() : static_cast<T*>(ctx.scratch());
    for (int64_t i = 0; i < s.n; ++i) {
      for (int64_t j = 0; j < s.d; ++j) {
        const int64_t base = i * s.c * s.d + j;
        T max = x[base];
        for (int64_t k = 1; k < s.c; ++k) max = x[base + k * s.d] > max ? x[base + k * s.d] : max;
        T sum = T(0);
        for (int64_t k = 0; k < s.c; ++k) sum += std::exp(x[base + k * s.d] - max);
        const T shift = max + std::log(sum);
        for (int64_t k = 0; k < s.c; ++k) logp[base + k * s.d] = x[base + k * s.d] - shift;
      }
    }
    const T* weight = ctx.has_input(2) ? ctx.input(2).Data<const T>() : nullptr;
    ok = NllLoss(
        static_cast<const T*>(logp), s.n, s.c, s.d, [&](int64_t i) { return IntAt(labels, i); },
        weight, has_ignore, ignore_index, s.reduction, ctx.output(0).Data<T>());
  });
  if (!ok) return ctx.InvalidModel(LWAI_MSG("a label is outside [0, C) and not ignore_index"));
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kSoftmaxCrossEntropyLossKernel = {OpType::SoftmaxCrossEntropyLoss,
                                                                  Prepare, Eval};

}  // namespace lwai
