// Identity (ONNX 21): the output is the input, any dtype.
#include "kernels/common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  ctx.output(0).dtype = ctx.input(0).dtype;
  ctx.output(0).shape = ctx.input(0).shape;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  CopyInputToOutput(ctx);
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kIdentityKernel = {OpType::Identity, Prepare, Eval};

}  // namespace lwai
