// Mish (ONNX 22): x * tanh(softplus(x)).
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return x * std::tanh(StableSoftplus(x)); });
}

}  // namespace

extern const KernelRegistration kMishKernel = {OpType::Mish, Prepare, Eval};

}  // namespace lwai
