// IsNaN (ONNX 20): bool tensor marking NaN elements.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  return PrepareUnary(ctx, UnaryDtypes::kFloat, 1, DataType::kBool);
}

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) -> bool { return std::isnan(x); });
}

}  // namespace

extern const KernelRegistration kIsNaNKernel = {OpType::IsNaN, Prepare, Eval};

}  // namespace lwai
