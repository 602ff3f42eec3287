#include "kernels/binary_common.h"

namespace lwai {

Status PrepareBinary(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const TensorView& a = ctx.input(0);
  const TensorView& b = ctx.input(1);
  if (a.dtype != b.dtype) {
    return ctx.InvalidModel(std::string("input dtypes differ: ") + DataTypeName(a.dtype) + " vs " +
                            DataTypeName(b.dtype));
  }
  if (a.dtype != DataType::kFloat32 && a.dtype != DataType::kInt32 && a.dtype != DataType::kInt64) {
    return ctx.Unsupported(std::string("dtype ") + DataTypeName(a.dtype) +
                           " (supported: float32, int32, int64)");
  }
  Status status = BroadcastShapes(a.shape, b.shape, &ctx.output(0).shape);
  if (!status.ok()) return ctx.ShapeMismatch(status.message());
  ctx.output(0).dtype = a.dtype;
  return Status::Ok();
}

}  // namespace lwai
