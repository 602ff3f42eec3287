// Elu (ONNX 22): x for x >= 0, alpha * (exp(x) - 1) otherwise.
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
    return x < T(0) ? T(p.a) * std::expm1(x) : x;
  });
}

}  // namespace

extern const KernelRegistration kEluKernel = {OpType::Elu, Prepare, Eval};

}  // namespace lwai
