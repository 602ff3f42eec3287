#include "kernels/unary_common.h"

namespace lwai {

Status PrepareUnaryFloat(KernelContext& ctx, int max_inputs) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, max_inputs));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(0, DataType::kFloat32));
  ctx.output(0).dtype = DataType::kFloat32;
  ctx.output(0).shape = ctx.input(0).shape;
  return Status::Ok();
}

}  // namespace lwai
