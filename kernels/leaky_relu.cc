#include <memory>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

struct LeakyReluState : OpState {
  float alpha = 0.01f;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(PrepareUnaryFloat(ctx));
  auto state = std::make_unique<LeakyReluState>();
  state->alpha = ctx.node().GetFloat("alpha", 0.01f);
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const float alpha = ctx.state<LeakyReluState>()->alpha;
  return EvalUnaryFloat(ctx, [alpha](float x) { return x < 0.0f ? alpha * x : x; });
}

}  // namespace

extern const KernelRegistration kLeakyReluKernel = {OpType::LeakyRelu, Prepare, Eval};

}  // namespace lwai
