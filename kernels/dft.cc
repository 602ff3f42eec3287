// DFT (ONNX 20): axis and dft_length as inputs, real ([..., 1]) or complex ([..., 2]) input,
// inverse (scaled by 1/n) and onesided (first n/2 + 1 bins). A direct O(n^2) transform in
// double precision.
#include <memory>
#include <string>

#include "kernels/common.h"
#include "kernels/dispatch.h"
#include "kernels/signal_common.h"

namespace lwai {
namespace {

struct DftState : OpState {
  int axis = 0;
  int64_t length = 0;  // n
  int64_t bins = 0;    // outputs along axis
  bool inverse = false;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 3));
  const TensorView& x = ctx.input(0);
  if (x.dtype != DataType::kFloat32 && x.dtype != DataType::kFloat64) {
    return ctx.Unsupported(LWAI_MSG(std::string("input dtype ") + DataTypeName(x.dtype) +
                                    " (supported: float32, float64)"));
  }
  const int rank = x.shape.rank;
  if (rank < 2 || (x.shape[rank - 1] != 1 && x.shape[rank - 1] != 2)) {
    return ctx.ShapeMismatch(
        LWAI_MSG("input must have rank >= 2 and last dimension 1 or 2, got " + x.shape.ToString()));
  }
  int64_t axis = -2;
  if (ctx.has_input(2)) LWAI_RETURN_IF_ERROR(ReadIntScalar(ctx, 2, "axis", &axis));
  if (axis < -rank || axis > rank - 2 || axis == -1) {
    return ctx.InvalidModel(LWAI_MSG("axis must be in [" + std::to_string(-rank) + ", -2] or [0, " +
                                     std::to_string(rank - 2) + "], got " + std::to_string(axis)));
  }
  if (axis < 0) axis += rank;
  int64_t length = x.shape[static_cast<int>(axis)];
  if (ctx.has_input(1)) {
    LWAI_RETURN_IF_ERROR(ReadIntScalar(ctx, 1, "dft_length", &length));
    if (length < 1) {
      return ctx.InvalidModel(LWAI_MSG("dft_length must be >= 1, got " + std::to_string(length)));
    }
  }
  const int64_t onesided = ctx.node().GetInt("onesided", 0);
  const int64_t inverse = ctx.node().GetInt("inverse", 0);
  if ((onesided != 0 && onesided != 1) || (inverse != 0 && inverse != 1)) {
    return ctx.InvalidModel(LWAI_MSG("onesided and inverse must be 0 or 1, got " +
                                     std::to_string(onesided) + " and " + std::to_string(inverse)));
  }
  auto state = std::make_unique<DftState>();
  state->axis = static_cast<int>(axis);
  state->length = length;
  state->bins = onesided ? length / 2 + 1 : length;
  state->inverse = inverse != 0;
  TensorView& y = ctx.output(0);
  y.dtype = x.dtype;
  y.shape = x.shape;
  y.shape[state->axis] = state->bins;
  y.shape[rank - 1] = 2;
  if (x.shape.NumElements() > 0 && !ctx.shape_only()) {
    uint64_t bytes = 0;
    if (!DftPlan::ScratchBytes(length, state->bins, &bytes) || bytes > SIZE_MAX) {
      return ctx.InvalidModel(LWAI_MSG("dft_length " + std::to_string(length) + " is too large"));
    }
    ctx.RequestScratch(static_cast<size_t>(bytes));
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const DftState& state = *ctx.state<DftState>();
  const TensorView& x = ctx.input(0);
  TensorView& y = ctx.output(0);
  if (x.NumElements() == 0 || y.NumElements() == 0) return Status::Ok();
  const int rank = x.shape.rank;
  const int64_t components = x.shape[rank - 1];
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < state.axis; ++d) outer *= x.shape[d];
  for (int d = state.axis + 1; d < rank - 1; ++d) inner *= x.shape[d];
  const int64_t in_length = x.shape[state.axis];
  const int64_t count = in_length < state.length ? in_length : state.length;
  const int64_t n = state.length, bins = state.bins;
  DftPlan plan(n, bins, state.inverse, static_cast<double*>(ctx.scratch()));
  double* line = plan.input();
  WorkMeter meter(ctx.limits());
  DispatchFloat(x.dtype, [&](auto type) {
    using T = decltype(type);
    const T* in = x.Data<const T>();
    T* out = y.Data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        if (meter.Add(n + bins)) return;
        const T* src = in + (o * in_length * inner + i) * components;
        for (int64_t j = 0; j < count; ++j) {
          line[2 * j] = static_cast<double>(src[j * inner * components]);
          line[2 * j + 1] = components == 2 ? static_cast<double>(src[j * inner * 2 + 1]) : 0.0;
        }
        const double* result = plan.Transform(count);
        T* dst = out + (o * bins * inner + i) * 2;
        for (int64_t k = 0; k < bins; ++k) {
          dst[k * inner * 2] = static_cast<T>(result[2 * k]);
          dst[k * inner * 2 + 1] = static_cast<T>(result[2 * k + 1]);
        }
      }
    }
  });
  if (meter.expired()) return ctx.limits().Check(ctx.node());
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kDFTKernel = {OpType::DFT, Prepare, Eval};

}  // namespace lwai
