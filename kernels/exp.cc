#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnaryFloat(ctx); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloat(ctx, [](float x) { return std::exp(x); });
}

}  // namespace

extern const KernelRegistration kExpKernel = {OpType::Exp, Prepare, Eval};

}  // namespace lwai
