// Abs (ONNX 13): elementwise |x| of any numeric tensor.
#include <cmath>
#include <type_traits>

#include "kernels/numeric_unary_common.h"
#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kNumeric); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryNumericTypes(ctx, [](auto x) {
    using T = decltype(x);
    if constexpr (std::is_floating_point_v<T>) {
      return std::fabs(x);
    } else if constexpr (std::is_signed_v<T>) {
      return x < 0 ? WrappingNegate(x) : x;  // the most negative value stays as it is
    } else {
      return x;
    }
  });
}

}  // namespace

extern const KernelRegistration kAbsKernel = {OpType::Abs, Prepare, Eval};

}  // namespace lwai
