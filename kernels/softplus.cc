// Softplus (ONNX 22): log(1 + exp(x)), computed without overflow.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return StableSoftplus(x); });
}

}  // namespace

extern const KernelRegistration kSoftplusKernel = {OpType::Softplus, Prepare, Eval};

}  // namespace lwai
