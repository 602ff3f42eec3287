// Asin (ONNX 22): elementwise arcsine.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::asin(x); });
}

}  // namespace

extern const KernelRegistration kAsinKernel = {OpType::Asin, Prepare, Eval};

}  // namespace lwai
