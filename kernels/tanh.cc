#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnaryFloat(ctx); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloat(ctx, [](float x) { return std::tanh(x); });
}

}  // namespace

extern const KernelRegistration kTanhKernel = {OpType::Tanh, Prepare, Eval};

}  // namespace lwai
