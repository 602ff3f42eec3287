// Tanh (ONNX 13): elementwise hyperbolic tangent.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::tanh(x); });
}

}  // namespace

extern const KernelRegistration kTanhKernel = {OpType::Tanh, Prepare, Eval};

}  // namespace lwai
