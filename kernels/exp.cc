// Exp (ONNX 13): elementwise e^x.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::exp(x); });
}

}  // namespace

extern const KernelRegistration kExpKernel = {OpType::Exp, Prepare, Eval};

}  // namespace lwai
