// Sqrt (ONNX 13): elementwise square root; negative inputs give NaN.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::sqrt(x); });
}

}  // namespace

extern const KernelRegistration kSqrtKernel = {OpType::Sqrt, Prepare, Eval};

}  // namespace lwai
