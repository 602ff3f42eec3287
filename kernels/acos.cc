// Acos (ONNX 22): elementwise arccosine.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::acos(x); });
}

}  // namespace

extern const KernelRegistration kAcosKernel = {OpType::Acos, Prepare, Eval};

}  // namespace lwai
