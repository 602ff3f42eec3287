// Clip (ONNX 13): optional scalar min (input 1) and max (input 2); an omitted bound is
// unbounded. The bounds may only be known at eval.
#include <limits>
#include <string>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(PrepareUnaryFloat(ctx, 3));
  for (int i = 1; i <= 2; ++i) {
    if (!ctx.has_input(i)) continue;
    LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(i, DataType::kFloat32));
    if (ctx.input(i).NumElements() != 1) {
      return ctx.ShapeMismatch(std::string(i == 1 ? "min" : "max") + " must be a scalar, got " +
                               ctx.input(i).shape.ToString());
    }
  }
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const float lo = ctx.has_input(1) ? ctx.input(1).Data<const float>()[0]
                                    : -std::numeric_limits<float>::infinity();
  const float hi = ctx.has_input(2) ? ctx.input(2).Data<const float>()[0]
                                    : std::numeric_limits<float>::infinity();
  // min(max(x, lo), hi): when lo > hi every value becomes hi, as the spec says.
  return EvalUnaryFloat(ctx, [lo, hi](float x) {
    const float y = x < lo ? lo : x;
    return y > hi ? hi : y;
  });
}

}  // namespace

extern const KernelRegistration kClipKernel = {OpType::Clip, Prepare, Eval};

}  // namespace lwai
