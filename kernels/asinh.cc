// Asinh (ONNX 22): elementwise inverse hyperbolic sine.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::asinh(x); });
}

}  // namespace

extern const KernelRegistration kAsinhKernel = {OpType::Asinh, Prepare, Eval};

}  // namespace lwai
