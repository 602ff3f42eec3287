// Clip (ONNX 13): optional scalar min (input 1) and max (input 2) of x's dtype; an omitted
// bound is unbounded. The bounds may only be known at eval.
#include <limits>
#include <string>
#include <type_traits>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(PrepareUnary(ctx, UnaryDtypes::kNumeric, 3));
  for (int i = 1; i <= 2; ++i) {
    if (!ctx.has_input(i)) continue;
    LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(i, ctx.input(0).dtype));
    if (ctx.input(i).NumElements() != 1) {
      return ctx.ShapeMismatch(LWAI_MSG(std::string(i == 1 ? "min" : "max") +
                                        " must be a scalar, got " + ctx.input(i).shape.ToString()));
    }
  }
  return Status::Ok();
}

template <typename T>
T Lowest() {
  if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
  return std::numeric_limits<T>::lowest();
}

template <typename T>
T Highest() {
  if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
  return std::numeric_limits<T>::max();
}

Status Eval(KernelContext& ctx) {
  const bool ok = DispatchNumeric(ctx.input(0).dtype, [&](auto t) {
    using T = decltype(t);
    const T lo = ctx.has_input(1) ? ctx.input(1).Data<const T>()[0] : Lowest<T>();
    const T hi = ctx.has_input(2) ? ctx.input(2).Data<const T>()[0] : Highest<T>();
    // min(max(x, lo), hi): when lo > hi every value becomes hi, as the spec says.
    RunUnary<T>(ctx, [lo, hi](T x) {
      const T y = x < lo ? lo : x;
      return y > hi ? hi : y;
    });
  });
  return ok ? Status::Ok() : UnsupportedUnaryDtype(ctx);
}

}  // namespace

extern const KernelRegistration kClipKernel = {OpType::Clip, Prepare, Eval};

}  // namespace lwai
