// Erf (ONNX 13): elementwise error function; integer inputs are computed in double and
// truncated back to their type.
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
      return std::erf(x);
    } else {
      return static_cast<T>(std::erf(static_cast<double>(x)));
    }
  });
}

}  // namespace

extern const KernelRegistration kErfKernel = {OpType::Erf, Prepare, Eval};

}  // namespace lwai
