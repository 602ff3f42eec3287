// STFT (ONNX 17): signal [batch, length, 1 or 2], frame_step, optional window and
// frame_length; output [batch, frames, bins, 2] with frames = 1 + (length - frame_length) /
// frame_step and bins = frame_length / 2 + 1 when onesided (default), frame_length otherwise.
#include <memory>
#include <string>

#include "kernels/common.h"
#include "kernels/dispatch.h"
#include "kernels/signal_common.h"

namespace lwai {
namespace {

struct StftState : OpState {
  int64_t step = 0;
  int64_t frame_length = 0;
  int64_t frames = 0;
  int64_t bins = 0;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 4));
  const TensorView& signal = ctx.input(0);
  if (signal.dtype != DataType::kFloat32 && signal.dtype != DataType::kFloat64) {
    return ctx.Unsupported(LWAI_MSG(std::string("signal dtype ") + DataTypeName(signal.dtype) +
                                    " (supported: float32, float64)"));
  }
  if (signal.shape.rank != 3 || (signal.shape[2] != 1 && signal.shape[2] != 2)) {
    return ctx.ShapeMismatch(
        LWAI_MSG("signal must be [batch, length, 1 or 2], got " + signal.shape.ToString()));
  }
  const int64_t length = signal.shape[1];
  auto state = std::make_unique<StftState>();
  LWAI_RETURN_IF_ERROR(ReadIntScalar(ctx, 1, "frame_step", &state->step));
  if (state->step < 1) {
    return ctx.InvalidModel(
        LWAI_MSG("frame_step must be >= 1, got " + std::to_string(state->step)));
  }
  int64_t frame_length = length;
  if (ctx.has_input(2)) {
    const TensorView& window = ctx.input(2);
    if (window.dtype != signal.dtype || window.shape.rank != 1) {
      return ctx.InvalidModel(LWAI_MSG(std::string("window must be a 1-D ") +
                                       DataTypeName(signal.dtype) + " tensor, got " +
                                       DataTypeName(window.dtype) + " " + window.shape.ToString()));
    }
    frame_length = window.shape[0];
  }
  if (ctx.has_input(3)) {
    int64_t value = 0;
    LWAI_RETURN_IF_ERROR(ReadIntScalar(ctx, 3, "frame_length", &value));
    if (ctx.has_input(2) && value != frame_length) {
      return ctx.InvalidModel(LWAI_MSG("frame_length " + std::to_string(value) +
                                       " differs from the window length " +
                                       std::to_string(frame_length)));
    }
    frame_length = value;
  }
  if (frame_length < 1 || frame_length > length) {
    return ctx.InvalidModel(LWAI_MSG("frame_length must be in [1, " + std::to_string(length) +
                                     "] (the signal length), got " + std::to_string(frame_length)));
  }
  const int64_t onesided = ctx.node().GetInt("onesided", 1);
  state->frame_length = frame_length;
  state->frames = 1 + (length - frame_length) / state->step;
  state->bins = onesided != 0 ? frame_length / 2 + 1 : frame_length;
  TensorView& y = ctx.output(0);
  y.dtype = signal.dtype;
  y.shape = Shape{signal.shape[0], state->frames, state->bins, 2};
  if (!ctx.shape_only()) {
    uint64_t bytes = 0;
    if (!DftPlan::ScratchBytes(frame_length, state->bins, &bytes) || bytes > SIZE_MAX) {
      return ctx.InvalidModel(
          LWAI_MSG("frame_length " + std::to_string(frame_length) + " is too large"));
    }
    ctx.RequestScratch(static_cast<size_t>(bytes));
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const StftState& state = *ctx.state<StftState>();
  const TensorView& signal = ctx.input(0);
  TensorView& y = ctx.output(0);
  if (y.NumElements() == 0) return Status::Ok();
  const int64_t batch = signal.shape[0], length = signal.shape[1];
  const int64_t components = signal.shape[2];
  const int64_t n = state.frame_length, bins = state.bins;
  DftPlan plan(n, bins, false, static_cast<double*>(ctx.scratch()));
  double* frame = plan.input();
  WorkMeter meter(ctx.limits());
  DispatchFloat(signal.dtype, [&](auto type) {
    using T = decltype(type);
    const T* window = ctx.has_input(2) ? ctx.input(2).Data<const T>() : nullptr;
    T* out = y.Data<T>();
    for (int64_t b = 0; b < batch; ++b) {
      const T* src = signal.Data<const T>() + b * length * components;
      for (int64_t f = 0; f < state.frames; ++f) {
        if (meter.Add(n + bins)) return;
        const T* start = src + f * state.step * components;
        for (int64_t j = 0; j < n; ++j) {
          const double w = window != nullptr ? static_cast<double>(window[j]) : 1.0;
          frame[2 * j] = w * static_cast<double>(start[j * components]);
          frame[2 * j + 1] = components == 2 ? w * static_cast<double>(start[j * 2 + 1]) : 0.0;
        }
        const double* result = plan.Transform(n);
        for (int64_t k = 0; k < 2 * bins; ++k) out[k] = static_cast<T>(result[k]);
        out += 2 * bins;
      }
    }
  });
  if (meter.expired()) return ctx.limits().Check(ctx.node());
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kSTFTKernel = {OpType::STFT, Prepare, Eval};

}  // namespace lwai
