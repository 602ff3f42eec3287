// Selu (ONNX 22): gamma * x for x > 0, gamma * alpha * (exp(x) - 1) otherwise.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(PrepareUnary(ctx, UnaryDtypes::kFloat));
  SetUnaryParams(ctx, ctx.node().GetFloat("alpha", 1.67326319217681884765625f),
                 ctx.node().GetFloat("gamma", 1.05070102519989013671875f));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const UnaryParams& p = *ctx.state<UnaryParams>();
  return EvalUnaryFloatTypes(ctx, [&p](auto x) {
    using T = decltype(x);
    return T(p.b) * (x > T(0) ? x : T(p.a) * std::expm1(x));
  });
}

}  // namespace

extern const KernelRegistration kSeluKernel = {OpType::Selu, Prepare, Eval};

}  // namespace lwai
