// Size (ONNX 21): the input's element count as an int64 scalar. Only the shape is read.
#include "kernels/tensor_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  ctx.output(0).dtype = DataType::kInt64;
  ctx.output(0).shape = Shape();
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  ctx.output(0).Data<int64_t>()[0] = ctx.input(0).NumElements();
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kSizeKernel = {OpType::Size, Prepare, Eval};

}  // namespace lwai
