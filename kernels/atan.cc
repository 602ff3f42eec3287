// Atan (ONNX 22): elementwise arctangent.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::atan(x); });
}

}  // namespace

extern const KernelRegistration kAtanKernel = {OpType::Atan, Prepare, Eval};

}  // namespace lwai
