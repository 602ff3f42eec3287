// Reciprocal (ONNX 13): elementwise 1 / x.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return decltype(x)(1) / x; });
}

}  // namespace

extern const KernelRegistration kReciprocalKernel = {OpType::Reciprocal, Prepare, Eval};

}  // namespace lwai
