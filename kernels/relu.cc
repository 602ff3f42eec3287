// Relu (ONNX 14): max(x, 0) of a float or signed integer tensor.
#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kSignedNumeric); }

Status Eval(KernelContext& ctx) {
  return EvalUnarySignedTypes(ctx, [](auto x) {
    using T = decltype(x);
    return x < T(0) ? T(0) : x;  // NaN stays NaN
  });
}

}  // namespace

extern const KernelRegistration kReluKernel = {OpType::Relu, Prepare, Eval};

}  // namespace lwai
