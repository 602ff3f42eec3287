// HardSwish (ONNX 22): x * max(0, min(1, x / 6 + 0.5)).
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) {
    using T = decltype(x);
    const T y = x / T(6) + T(0.5);
    return x * (y < T(0) ? T(0) : (y > T(1) ? T(1) : y));
  });
}

}  // namespace

extern const KernelRegistration kHardSwishKernel = {OpType::HardSwish, Prepare, Eval};

}  // namespace lwai
