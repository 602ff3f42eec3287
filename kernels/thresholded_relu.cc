// ThresholdedRelu (ONNX 22): x for x > alpha, 0 otherwise.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(PrepareUnary(ctx, UnaryDtypes::kFloat));
  SetUnaryParams(ctx, ctx.node().GetFloat("alpha", 1.0f));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const UnaryParams& p = *ctx.state<UnaryParams>();
  return EvalUnaryFloatTypes(ctx, [&p](auto x) {
    using T = decltype(x);
    return x > T(p.a) ? x : T(0);
  });
}

}  // namespace

extern const KernelRegistration kThresholdedReluKernel = {OpType::ThresholdedRelu, Prepare, Eval};

}  // namespace lwai
