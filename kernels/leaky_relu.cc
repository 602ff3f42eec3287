// LeakyRelu (ONNX 16): x for x >= 0, alpha * x otherwise.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(PrepareUnary(ctx, UnaryDtypes::kFloat));
  SetUnaryParams(ctx, ctx.node().GetFloat("alpha", 0.01f));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const UnaryParams& p = *ctx.state<UnaryParams>();
  return EvalUnaryFloatTypes(ctx, [&p](auto x) {
    using T = decltype(x);
    return x < T(0) ? T(p.a) * x : x;
  });
}

}  // namespace

extern const KernelRegistration kLeakyReluKernel = {OpType::LeakyRelu, Prepare, Eval};

}  // namespace lwai
