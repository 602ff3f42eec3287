// Sigmoid (ONNX 13): 1 / (1 + exp(-x)).
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return StableSigmoid(x); });
}

}  // namespace

extern const KernelRegistration kSigmoidKernel = {OpType::Sigmoid, Prepare, Eval};

}  // namespace lwai
