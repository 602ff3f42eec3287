// LSTM (ONNX 22): gates i, o, f, c with optional peepholes P and input_forget,
// forward/reverse/bidirectional, layouts 0 and 1, sequence_lens, initial_h/initial_c, clip and
// activations (f, g, h); outputs Y, Y_h, Y_c.
#include <memory>
#include <string>

#include "kernels/dispatch.h"
#include "kernels/linalg_common.h"

namespace lwai {
namespace {

struct LstmState : OpState {
  RecurrentConfig cfg;
  bool input_forget = false;
};

Status Prepare(KernelContext& ctx) {
  auto state = std::make_unique<LstmState>();
  RecurrentConfig& cfg = state->cfg;
  LWAI_RETURN_IF_ERROR(PrepareRecurrent(ctx, 4, {"Sigmoid", "Tanh", "Tanh"}, &cfg));
  const DataType dtype = ctx.input(0).dtype;
  if (ctx.has_input(6)) {
    LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(6, dtype));
    const Shape want = cfg.layout == 0 ? Shape({cfg.dirs, cfg.batch, cfg.hidden})
                                       : Shape({cfg.batch, cfg.dirs, cfg.hidden});
    if (ctx.input(6).shape != want) {
      return ctx.ShapeMismatch(LWAI_MSG("initial_c must be " + want.ToString() + ", got " +
                                        ctx.input(6).shape.ToString()));
    }
  }
  if (ctx.has_input(7)) {
    LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(7, dtype));
    const Shape want({cfg.dirs, 3 * cfg.hidden});
    if (ctx.input(7).shape != want) {
      return ctx.ShapeMismatch(
          LWAI_MSG("P must be " + want.ToString() + ", got " + ctx.input(7).shape.ToString()));
    }
  }
  state->input_forget = ctx.node().GetInt("input_forget", 0) != 0;
  ctx.RequestScratch(cfg.ScratchDoubles(0) * sizeof(double));
  ctx.SetState(std::move(state));
  return Status::Ok();
}

template <typename T>
void Run(KernelContext& ctx, const LstmState& s) {
  const RecurrentConfig& cfg = s.cfg;
  const int64_t H = cfg.hidden;
  const T* peep = ctx.has_input(7) ? ctx.input(7).Data<const T>() : nullptr;
  auto cell = [&](int64_t d, const double* xw, double* hr, double* h, double* c, double*) {
    const RnnActivation& f = cfg.activations[d * 3];
    const RnnActivation& g = cfg.activations[d * 3 + 1];
    const RnnActivation& act_h = cfg.activations[d * 3 + 2];
    const T* pi = peep ? peep + d * 3 * H : nullptr;
    const T* po = pi ? pi + H : nullptr;
    const T* pf = pi ? pi + 2 * H : nullptr;
    for (int64_t j = 0; j < H; ++j) {
      const double c_prev = c[j];
      const double i_gate = f(cfg.Clip(xw[j] + hr[j] + (pi ? double(pi[j]) * c_prev : 0.0)));
      const double f_gate =
          s.input_forget
              ? 1.0 - i_gate
              : f(cfg.Clip(xw[2 * H + j] + hr[2 * H + j] + (pf ? double(pf[j]) * c_prev : 0.0)));
      const double candidate = g(cfg.Clip(xw[3 * H + j] + hr[3 * H + j]));
      const double c_new = f_gate * c_prev + i_gate * candidate;
      const double o_gate = f(cfg.Clip(xw[H + j] + hr[H + j] + (po ? double(po[j]) * c_new : 0.0)));
      c[j] = c_new;
      h[j] = o_gate * act_h(c_new);
    }
  };
  RunRecurrent<T>(ctx, cfg, cell);
}

Status Eval(KernelContext& ctx) {
  const LstmState& s = *ctx.state<LstmState>();
  DispatchFloat(ctx.input(0).dtype, [&](auto t) { Run<decltype(t)>(ctx, s); });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kLSTMKernel = {OpType::LSTM, Prepare, Eval};

}  // namespace lwai
