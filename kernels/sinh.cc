// Sinh (ONNX 22): elementwise hyperbolic sine.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::sinh(x); });
}

}  // namespace

extern const KernelRegistration kSinhKernel = {OpType::Sinh, Prepare, Eval};

}  // namespace lwai
