// Gelu (ONNX 20): x * Phi(x), exactly (approximate = "none") or with the tanh approximation
// (approximate = "tanh").
#include <cmath>
#include <memory>
#include <string>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

struct GeluState : OpState {
  bool tanh_approximation = false;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(PrepareUnary(ctx, UnaryDtypes::kFloat));
  const std::string approximate = ctx.node().GetString("approximate", "none");
  if (approximate != "none" && approximate != "tanh") {
    return ctx.InvalidModel(
        LWAI_MSG("approximate must be \"none\" or \"tanh\", got \"" + approximate + "\""));
  }
  auto state = std::make_unique<GeluState>();
  state->tanh_approximation = approximate == "tanh";
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  if (ctx.state<GeluState>()->tanh_approximation) {
    return EvalUnaryFloatTypes(ctx, [](auto x) {
      using T = decltype(x);
      const T sqrt_2_over_pi = T(0.79788456080286535588);
      return T(0.5) * x * (T(1) + std::tanh(sqrt_2_over_pi * (x + T(0.044715) * x * x * x)));
    });
  }
  return EvalUnaryFloatTypes(ctx, [](auto x) {
    using T = decltype(x);
    return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440)));
  });
}

}  // namespace

extern const KernelRegistration kGeluKernel = {OpType::Gelu, Prepare, Eval};

}  // namespace lwai
