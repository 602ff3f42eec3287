// Neg (ONNX 13): elementwise -x of a float or signed integer tensor.
#include "kernels/numeric_unary_common.h"
#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kSignedNumeric); }

Status Eval(KernelContext& ctx) {
  return EvalUnarySignedTypes(ctx, [](auto x) { return WrappingNegate(x); });
}

}  // namespace

extern const KernelRegistration kNegKernel = {OpType::Neg, Prepare, Eval};

}  // namespace lwai
