// Flatten (ONNX 13): [d0 * ... * d(axis-1), d(axis) * ... * d(n-1)].
#include <string>

#include "kernels/common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Shape& in = ctx.input(0).shape;
  int64_t axis = ctx.node().GetInt("axis", 1);
  if (axis < -in.rank || axis > in.rank) {
    return ctx.InvalidModel(
        LWAI_MSG("axis " + std::to_string(axis) + " is out of range for input " + in.ToString()));
  }
  if (axis < 0) axis += in.rank;
  int64_t outer = 1;
  for (int d = 0; d < axis; ++d) outer *= in[d];
  int64_t inner = 1;
  for (int d = static_cast<int>(axis); d < in.rank; ++d) inner *= in[d];
  ctx.output(0).dtype = ctx.input(0).dtype;
  ctx.output(0).shape = Shape({outer, inner});
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  CopyInputToOutput(ctx);
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kFlattenKernel = {OpType::Flatten, Prepare, Eval};

}  // namespace lwai
