// Floor (ONNX 13): elementwise floor.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::floor(x); });
}

}  // namespace

extern const KernelRegistration kFloorKernel = {OpType::Floor, Prepare, Eval};

}  // namespace lwai
