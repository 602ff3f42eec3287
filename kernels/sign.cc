// Sign (ONNX 13): -1, 0 or 1 by the sign of x (NaN stays NaN), any numeric tensor.
#include <cmath>
#include <type_traits>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kNumeric); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryNumericTypes(ctx, [](auto x) {
    using T = decltype(x);
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(x)) return x;
    }
    if constexpr (std::is_signed_v<T>) {
      if (x < T(0)) return T(-1);
    }
    return x > T(0) ? T(1) : T(0);
  });
}

}  // namespace

extern const KernelRegistration kSignKernel = {OpType::Sign, Prepare, Eval};

}  // namespace lwai
