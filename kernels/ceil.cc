// Ceil (ONNX 13): elementwise ceiling.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::ceil(x); });
}

}  // namespace

extern const KernelRegistration kCeilKernel = {OpType::Ceil, Prepare, Eval};

}  // namespace lwai
