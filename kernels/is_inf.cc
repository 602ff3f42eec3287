// IsInf (ONNX 20): bool tensor marking +inf (detect_positive) and -inf (detect_negative).
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(PrepareUnary(ctx, UnaryDtypes::kFloat, 1, DataType::kBool));
  SetUnaryParams(ctx, ctx.node().GetInt("detect_positive", 1) != 0 ? 1.0f : 0.0f,
                 ctx.node().GetInt("detect_negative", 1) != 0 ? 1.0f : 0.0f);
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const bool positive = ctx.state<UnaryParams>()->a != 0.0f;
  const bool negative = ctx.state<UnaryParams>()->b != 0.0f;
  return EvalUnaryFloatTypes(ctx, [positive, negative](auto x) -> bool {
    return std::isinf(x) && (x > 0 ? positive : negative);
  });
}

}  // namespace

extern const KernelRegistration kIsInfKernel = {OpType::IsInf, Prepare, Eval};

}  // namespace lwai
