// HardSigmoid (ONNX 22): max(0, min(1, alpha * x + beta)).
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(PrepareUnary(ctx, UnaryDtypes::kFloat));
  SetUnaryParams(ctx, ctx.node().GetFloat("alpha", 0.2f), ctx.node().GetFloat("beta", 0.5f));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const UnaryParams& p = *ctx.state<UnaryParams>();
  return EvalUnaryFloatTypes(ctx, [&p](auto x) {
    using T = decltype(x);
    const T y = T(p.a) * x + T(p.b);
    return y < T(0) ? T(0) : (y > T(1) ? T(1) : y);
  });
}

}  // namespace

extern const KernelRegistration kHardSigmoidKernel = {OpType::HardSigmoid, Prepare, Eval};

}  // namespace lwai
