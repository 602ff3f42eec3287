#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnaryFloat(ctx); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloat(ctx, [](float x) { return x > 0.0f ? x : 0.0f; });
}

}  // namespace

extern const KernelRegistration kReluKernel = {OpType::Relu, Prepare, Eval};

}  // namespace lwai
