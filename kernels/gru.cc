// GRU (ONNX 22): gates z, r, h with linear_before_reset, forward/reverse/bidirectional,
// layouts 0 and 1, sequence_lens, initial_h, clip and activations (f, g).
#include <memory>

#include "kernels/dispatch.h"
#include "kernels/linalg_common.h"

namespace lwai {
namespace {

struct GruState : OpState {
  RecurrentConfig cfg;
  bool linear_before_reset = false;
};

Status Prepare(KernelContext& ctx) {
  auto state = std::make_unique<GruState>();
  LWAI_RETURN_IF_ERROR(PrepareRecurrent(ctx, 3, {"Sigmoid", "Tanh"}, &state->cfg));
  state->linear_before_reset = ctx.node().GetInt("linear_before_reset", 0) != 0;
  ctx.RequestScratch(state->cfg.ScratchDoubles(2 * state->cfg.hidden) * sizeof(double));
  ctx.SetState(std::move(state));
  return Status::Ok();
}

template <typename T>
void Run(KernelContext& ctx, const GruState& s) {
  const RecurrentConfig& cfg = s.cfg;
  const int64_t H = cfg.hidden;
  const T* r_all = ctx.input(2).Data<const T>();
  const T* bias = ctx.has_input(3) ? ctx.input(3).Data<const T>() : nullptr;
  auto cell = [&](int64_t d, const double* xw, double* hr, double* h, double*, double* tmp) {
    const RnnActivation& f = cfg.activations[d * 2];
    const RnnActivation& g = cfg.activations[d * 2 + 1];
    double* z = tmp;
    double* candidate = tmp + H;
    for (int64_t j = 0; j < H; ++j) z[j] = f(cfg.Clip(xw[j] + hr[j]));
    if (s.linear_before_reset) {
      for (int64_t j = 0; j < H; ++j) {
        const double r = f(cfg.Clip(xw[H + j] + hr[H + j]));
        candidate[j] = g(cfg.Clip(xw[2 * H + j] + r * hr[2 * H + j]));
      }
    } else {
      // The candidate's recurrent term is Rh (r . H): recompute it; the reset gate values
      // replace their (consumed) recurrent terms in hr.
      double* r = hr + H;
      for (int64_t j = 0; j < H; ++j) r[j] = f(cfg.Clip(xw[H + j] + r[j]));
      const T* rh = r_all + (d * 3 + 2) * H * H;
      const T* rbh = bias ? bias + d * 6 * H + 5 * H : nullptr;
      for (int64_t j = 0; j < H; ++j) {
        double sum = rbh ? double(rbh[j]) : 0.0;
        for (int64_t k = 0; k < H; ++k) sum += double(rh[j * H + k]) * (r[k] * h[k]);
        candidate[j] = g(cfg.Clip(xw[2 * H + j] + sum));
      }
    }
    for (int64_t j = 0; j < H; ++j) h[j] = (1.0 - z[j]) * candidate[j] + z[j] * h[j];
  };
  RunRecurrent<T>(ctx, cfg, cell);
}

Status Eval(KernelContext& ctx) {
  const GruState& s = *ctx.state<GruState>();
  DispatchFloat(ctx.input(0).dtype, [&](auto t) { Run<decltype(t)>(ctx, s); });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kGRUKernel = {OpType::GRU, Prepare, Eval};

}  // namespace lwai
