// RNN (ONNX 22): Ht = f(Xt*W^T + Ht-1*R^T + Wb + Rb), forward/reverse/bidirectional, layouts
// 0 and 1, sequence_lens, initial_h, clip and activations.
#include <memory>

#include "kernels/dispatch.h"
#include "kernels/linalg_common.h"

namespace lwai {
namespace {

struct RnnState : OpState {
  RecurrentConfig cfg;
};

Status Prepare(KernelContext& ctx) {
  auto state = std::make_unique<RnnState>();
  LWAI_RETURN_IF_ERROR(PrepareRecurrent(ctx, 1, {"Tanh"}, &state->cfg));
  ctx.RequestScratch(state->cfg.ScratchDoubles(0) * sizeof(double));
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const RecurrentConfig& cfg = ctx.state<RnnState>()->cfg;
  auto cell = [&cfg](int64_t d, const double* xw, double* hr, double* h, double*, double*) {
    const RnnActivation& f = cfg.activations[d];
    for (int64_t j = 0; j < cfg.hidden; ++j) h[j] = f(cfg.Clip(xw[j] + hr[j]));
  };
  DispatchFloat(ctx.input(0).dtype, [&](auto t) { RunRecurrent<decltype(t)>(ctx, cfg, cell); });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kRNNKernel = {OpType::RNN, Prepare, Eval};

}  // namespace lwai
