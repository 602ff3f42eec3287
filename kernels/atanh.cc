// Atanh (ONNX 22): elementwise inverse hyperbolic tangent.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::atanh(x); });
}

}  // namespace

extern const KernelRegistration kAtanhKernel = {OpType::Atanh, Prepare, Eval};

}  // namespace lwai
