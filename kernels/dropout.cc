// Dropout (ONNX 13), inference only: the output is the input, the optional mask all true.
#include <cstring>

#include "kernels/common.h"

namespace lwai {
namespace {

Status TrainingError(const KernelContext& ctx) {
  return ctx.Unsupported("training_mode=true is not supported (inference only)");
}

bool TrainingMode(const TensorView& t) {
  return t.data != nullptr && t.NumElements() == 1 && t.Data<const uint8_t>()[0] != 0;
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 3));
  if (ctx.has_input(1) && ctx.input(1).NumElements() != 1) {
    return ctx.ShapeMismatch("ratio must be a scalar, got " + ctx.input(1).shape.ToString());
  }
  if (ctx.has_input(2)) {
    LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(2, DataType::kBool));
    if (ctx.input(2).NumElements() != 1) {
      return ctx.ShapeMismatch("training_mode must be a scalar, got " +
                               ctx.input(2).shape.ToString());
    }
    if (TrainingMode(ctx.input(2))) return TrainingError(ctx);
  }
  ctx.output(0).dtype = ctx.input(0).dtype;
  ctx.output(0).shape = ctx.input(0).shape;
  if (ctx.has_output(1)) {
    ctx.output(1).dtype = DataType::kBool;
    ctx.output(1).shape = ctx.input(0).shape;
  }
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  // training_mode may only be known now.
  if (ctx.has_input(2) && TrainingMode(ctx.input(2))) return TrainingError(ctx);
  CopyInputToOutput(ctx);
  if (ctx.has_output(1)) {
    TensorView& mask = ctx.output(1);
    if (mask.ByteSize() > 0) std::memset(mask.data, 1, mask.ByteSize());
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kDropoutKernel = {OpType::Dropout, Prepare, Eval};

}  // namespace lwai
