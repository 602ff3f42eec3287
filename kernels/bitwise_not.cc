// BitwiseNot (ONNX 18): elementwise ~x of an integer tensor.
#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kInteger); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryIntegerTypes(ctx, [](auto x) { return static_cast<decltype(x)>(~x); });
}

}  // namespace

extern const KernelRegistration kBitwiseNotKernel = {OpType::BitwiseNot, Prepare, Eval};

}  // namespace lwai
