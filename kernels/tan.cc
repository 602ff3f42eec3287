// Tan (ONNX 22): elementwise tangent.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::tan(x); });
}

}  // namespace

extern const KernelRegistration kTanKernel = {OpType::Tan, Prepare, Eval};

}  // namespace lwai
