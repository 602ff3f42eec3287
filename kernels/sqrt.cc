#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnaryFloat(ctx); }

// Negative inputs give NaN, as in ONNX.
Status Eval(KernelContext& ctx) {
  return EvalUnaryFloat(ctx, [](float x) { return std::sqrt(x); });
}

}  // namespace

extern const KernelRegistration kSqrtKernel = {OpType::Sqrt, Prepare, Eval};

}  // namespace lwai
