// Acosh (ONNX 22): elementwise inverse hyperbolic cosine.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::acosh(x); });
}

}  // namespace

extern const KernelRegistration kAcoshKernel = {OpType::Acosh, Prepare, Eval};

}  // namespace lwai
