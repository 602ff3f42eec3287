#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnaryFloat(ctx); }

Status Eval(KernelContext& ctx) {
  // exp() only sees non-positive arguments, so it never overflows.
  return EvalUnaryFloat(ctx, [](float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + std::exp(-x));
    const float e = std::exp(x);
    return e / (1.0f + e);
  });
}

}  // namespace

extern const KernelRegistration kSigmoidKernel = {OpType::Sigmoid, Prepare, Eval};

}  // namespace lwai
