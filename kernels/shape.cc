// Shape (ONNX 15): the input's dims [start, end) as int64; negative start/end count from the
// end, both are clamped to [0, rank]. Only the input's shape is read.
#include <memory>

#include "kernels/common.h"

namespace lwai {
namespace {

struct ShapeState : OpState {
  int start = 0;
};

int ClampDim(int64_t value, int rank) {
  if (value < 0) value += rank;
  return static_cast<int>(value < 0 ? 0 : (value > rank ? rank : value));
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const int rank = ctx.input(0).shape.rank;
  auto state = std::make_unique<ShapeState>();
  state->start = ClampDim(ctx.node().GetInt("start", 0), rank);
  const int end = ClampDim(ctx.node().GetInt("end", rank), rank);
  ctx.output(0).dtype = DataType::kInt64;
  ctx.output(0).shape = Shape({end > state->start ? end - state->start : 0});
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const int start = ctx.state<ShapeState>()->start;
  const Shape& in = ctx.input(0).shape;
  TensorView& out = ctx.output(0);
  for (int64_t i = 0; i < out.shape[0]; ++i)
    out.Data<int64_t>()[i] = in[start + static_cast<int>(i)];
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kShapeKernel = {OpType::Shape, Prepare, Eval};

}  // namespace lwai
