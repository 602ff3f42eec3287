// Softsign (ONNX 22): x / (1 + |x|).
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return x / (decltype(x)(1) + std::fabs(x)); });
}

}  // namespace

extern const KernelRegistration kSoftsignKernel = {OpType::Softsign, Prepare, Eval};

}  // namespace lwai
