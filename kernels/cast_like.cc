// CastLike (ONNX 24, without float8/string): Cast to the dtype of input 1, with Cast's
// conversions (see cast.cc), 4-bit types included. `saturate` only concerns float8 and is
// ignored.
#include <string>

#include "kernels/cast_common.h"
#include "kernels/common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const DataType from = ctx.input(0).dtype;
  const DataType to = ctx.input(1).dtype;
  if (!IsCastType(from) || !IsCastType(to)) {
    return ctx.Unsupported(LWAI_MSG(std::string("cast from ") + DataTypeName(from) + " to " +
                                    DataTypeName(to) +
                                    " (supported: float32, float64, float16, bfloat16, float4e2m1, "
                                    "int4, int8..int64, uint4, uint8..uint64, bool)"));
  }
  ctx.output(0).dtype = to;
  ctx.output(0).shape = ctx.input(0).shape;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  if (ctx.input(0).dtype == ctx.output(0).dtype) {
    CopyInputToOutput(ctx);
  } else {
    CastElements(ctx.input(0), ctx.output(0), ctx.thread_pool());
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kCastLikeKernel = {OpType::CastLike, Prepare, Eval};

}  // namespace lwai
