// Cos (ONNX 22): elementwise cosine.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::cos(x); });
}

}  // namespace

extern const KernelRegistration kCosKernel = {OpType::Cos, Prepare, Eval};

}  // namespace lwai
