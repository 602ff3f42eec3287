// ReverseSequence (ONNX 10): for each batch entry b, reverses the first sequence_lens[b]
// elements along time_axis (0 or 1; batch_axis is the other one). Any dtype, copied as bytes.
#include <cstring>
#include <memory>
#include <string>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

struct ReverseSequenceState : OpState {
  int time_axis = 0;
  int batch_axis = 1;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const TensorView& x = ctx.input(0);
  LWAI_RETURN_IF_ERROR(ExpectSizedDtype(ctx, x.dtype));
  LWAI_RETURN_IF_ERROR(ExpectIndexDtype(ctx, 1, "sequence_lens"));
  const int64_t time_axis = ctx.node().GetInt("time_axis", 0);
  const int64_t batch_axis = ctx.node().GetInt("batch_axis", 1);
  if (x.shape.rank < 2 ||
      !((time_axis == 0 && batch_axis == 1) || (time_axis == 1 && batch_axis == 0))) {
    return ctx.InvalidModel(LWAI_MSG(
        "time_axis " + std::to_string(time_axis) + " and batch_axis " + std::to_string(batch_axis) +
        " must be 0 and 1 of an input of " + "rank >= 2, got " + x.shape.ToString()));
  }
  if (ctx.input(1).shape != Shape({x.shape[batch_axis]})) {
    return ctx.ShapeMismatch(LWAI_MSG("sequence_lens " + ctx.input(1).shape.ToString() +
                                      " must have shape [" + std::to_string(x.shape[batch_axis]) +
                                      "]"));
  }
  auto state = std::make_unique<ReverseSequenceState>();
  state->time_axis = static_cast<int>(time_axis);
  state->batch_axis = static_cast<int>(batch_axis);
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = x.shape;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const ReverseSequenceState& s = *ctx.state<ReverseSequenceState>();
  const TensorView& x = ctx.input(0);
  const TensorView& lens = ctx.input(1);
  const int64_t max_time = x.shape[s.time_axis];
  const int64_t batch = x.shape[s.batch_axis];
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = IndexAt(lens, b);
    if (len < 0 || len > max_time) {
      return ctx.Error(
          StatusCode::kInvalidArgument,
          LWAI_MSG("sequence_lens[" + std::to_string(b) + "] = " + std::to_string(len) +
                   " is outside [0, " + std::to_string(max_time) + "]"));
    }
  }
  CopyInputToOutput(ctx);
  int64_t inner = DataTypeSize(x.dtype);
  for (int d = 2; d < x.shape.rank; ++d) inner *= x.shape[d];
  const int64_t time_stride = (s.time_axis == 0 ? batch : 1) * inner;
  const int64_t batch_stride = (s.batch_axis == 0 ? max_time : 1) * inner;
  const char* src = x.Data<const char>();
  char* dst = ctx.output(0).Data<char>();
  if (inner == 0) return Status::Ok();
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = IndexAt(lens, b);
    for (int64_t t = 0; t < len; ++t) {
      std::memcpy(dst + b * batch_stride + t * time_stride,
                  src + b * batch_stride + (len - 1 - t) * time_stride, static_cast<size_t>(inner));
    }
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kReverseSequenceKernel = {OpType::ReverseSequence, Prepare, Eval};

}  // namespace lwai
