// ConvInteger (ONNX opset 10): N-d, uint8/int8 input and weight, scalar x_zero_point, scalar or
// per-output-channel w_zero_point, int32 output.
#include <memory>
#include <string>

#include "kernels/common.h"
#include "kernels/conv_common.h"

namespace lwai {
namespace {

struct ConvIntegerState : OpState {
  IntegerConvPlan plan;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 4));
  auto state = std::make_unique<ConvIntegerState>();
  LWAI_RETURN_IF_ERROR(PrepareIntegerConv(ctx, 0, 1, 2, 3, &state->plan));
  ctx.output(0).dtype = DataType::kInt32;
  if (!ctx.shape_only()) ctx.RequestScratch(state->plan.scratch_bytes);
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const ConvIntegerState& s = *ctx.state<ConvIntegerState>();
  RunIntegerConv(ctx, s.plan, 0, 1, 2, 3, ctx.scratch(), ctx.output(0).Data<int32_t>());
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kConvIntegerKernel = {OpType::ConvInteger, Prepare, Eval};

}  // namespace lwai
