// Round (ONNX 22): elementwise rounding, halves to even.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::nearbyint(x); });
}

}  // namespace

extern const KernelRegistration kRoundKernel = {OpType::Round, Prepare, Eval};

}  // namespace lwai
