// Cast (ONNX 24, without float8/string): every pair among float32, float64, float16, bfloat16,
// float4e2m1, int4, int8..int64, uint4, uint8..uint64 and bool. Float to integer truncates
// toward zero and saturates at the target's range (NaN gives 0), except to int4/uint4, which
// keep the low 4 bits of the truncated value like numpy/ml_dtypes; anything to bool is x != 0;
// integer to integer wraps; to float16/bfloat16/float4e2m1 rounds to nearest even.
// float4e2m1 has no infinity or NaN: it always saturates at +-6 (`saturate` only concerns
// float8 and is ignored) and NaN gives a zero (see DoubleToFloat4E2M1). 4-bit types are stored
// unpacked, one byte per element.
#include <string>

#include "kernels/cast_common.h"
#include "kernels/common.h"

namespace lwai {
namespace {

constexpr char kSupported[] =
    " (supported: float32, float64, float16, bfloat16, float4e2m1, int4, int8, int16, int32, "
    "int64, uint4, uint8, uint16, uint32, uint64, bool)";

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const DataType from = ctx.input(0).dtype;
  if (ctx.node().FindAttribute("to") == nullptr) {
    return ctx.InvalidModel(LWAI_MSG("attribute 'to' is required"));
  }
  const int64_t to_attr = ctx.node().GetInt("to", 0);
  const DataType to = static_cast<DataType>(to_attr);
  const bool known_to = to_attr >= 0 && to_attr <= 23 && DataTypeSize(to) > 0;
  if (!IsCastType(from) || !known_to || !IsCastType(to)) {
    return ctx.Unsupported(LWAI_MSG(std::string("cast from ") + DataTypeName(from) + " to " +
                                    (known_to ? DataTypeName(to) : std::to_string(to_attr)) +
                                    kSupported));
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

extern const KernelRegistration kCastKernel = {OpType::Cast, Prepare, Eval};

}  // namespace lwai
