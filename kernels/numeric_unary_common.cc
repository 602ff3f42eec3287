#include "kernels/numeric_unary_common.h"

namespace lwai {

Status PrepareUnaryNumeric(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const TensorView& x = ctx.input(0);
  if (x.dtype != DataType::kFloat32 && x.dtype != DataType::kInt32 && x.dtype != DataType::kInt64) {
    return ctx.Unsupported(std::string("dtype ") + DataTypeName(x.dtype) +
                           " (supported: float32, int32, int64)");
  }
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = x.shape;
  return Status::Ok();
}

}  // namespace lwai
