// Cosh (ONNX 22): elementwise hyperbolic cosine.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::cosh(x); });
}

}  // namespace

extern const KernelRegistration kCoshKernel = {OpType::Cosh, Prepare, Eval};

}  // namespace lwai
