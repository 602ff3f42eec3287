// Celu (ONNX 12): max(0, x) + min(0, alpha * (exp(x / alpha) - 1)); alpha must not be 0.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(PrepareUnary(ctx, UnaryDtypes::kFloat));
  const float alpha = ctx.node().GetFloat("alpha", 1.0f);
  if (alpha == 0.0f) return ctx.InvalidModel(LWAI_MSG("alpha must not be 0"));
  SetUnaryParams(ctx, alpha);
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const UnaryParams& p = *ctx.state<UnaryParams>();
  return EvalUnaryFloatTypes(ctx, [&p](auto x) {
    using T = decltype(x);
    const T alpha = T(p.a);
    return x > T(0) ? x : alpha * std::expm1(x / alpha);
  });
}

}  // namespace

extern const KernelRegistration kCeluKernel = {OpType::Celu, Prepare, Eval};

}  // namespace lwai
