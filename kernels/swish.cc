// Swish (ONNX 24): x * sigmoid(alpha * x).
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
    return x * StableSigmoid(T(p.a) * x);
  });
}

}  // namespace

extern const KernelRegistration kSwishKernel = {OpType::Swish, Prepare, Eval};

}  // namespace lwai
