// Sin (ONNX 22): elementwise sine.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::sin(x); });
}

}  // namespace

extern const KernelRegistration kSinKernel = {OpType::Sin, Prepare, Eval};

}  // namespace lwai
