// Shrink (ONNX 9): x + bias for x < -lambd, x - bias for x > lambd, 0 otherwise; any numeric
// tensor (integers are computed in double and converted back, wrapping like a cast).
#include <cstdint>
#include <type_traits>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(PrepareUnary(ctx, UnaryDtypes::kNumeric));
  SetUnaryParams(ctx, ctx.node().GetFloat("lambd", 0.5f), ctx.node().GetFloat("bias", 0.0f));
  return Status::Ok();
}

template <typename C>
C ShrinkValue(C x, C lambd, C bias) {
  if (x < -lambd) return x + bias;
  if (x > lambd) return x - bias;
  return C(0);
}

Status Eval(KernelContext& ctx) {
  const UnaryParams& p = *ctx.state<UnaryParams>();
  return EvalUnaryNumericTypes(ctx, [&p](auto x) {
    using T = decltype(x);
    if constexpr (std::is_floating_point_v<T>) {
      return ShrinkValue(x, T(p.a), T(p.b));
    } else {
      double y = ShrinkValue(static_cast<double>(x), double(p.a), double(p.b));
      // Clamped to int64's range first: converting an out-of-range double is undefined.
      y = y < -9.2e18 ? -9.2e18 : (y > 9.2e18 ? 9.2e18 : y);
      return static_cast<T>(static_cast<int64_t>(y));
    }
  });
}

}  // namespace

extern const KernelRegistration kShrinkKernel = {OpType::Shrink, Prepare, Eval};

}  // namespace lwai
