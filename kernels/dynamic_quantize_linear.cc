// DynamicQuantizeLinear (ONNX 11): uint8 quantization of float32 x with scale and zero point
// computed from x's range (extended to include 0).
#include <cmath>
#include <string>

#include "kernels/int8_gemm.h"
#include "kernels/kernel_api.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(0, DataType::kFloat32));
  ctx.output(0).dtype = DataType::kUInt8;
  ctx.output(0).shape = ctx.input(0).shape;
  if (ctx.has_output(1)) {
    ctx.output(1).dtype = DataType::kFloat32;
    ctx.output(1).shape = Shape();
  }
  if (ctx.has_output(2)) {
    ctx.output(2).dtype = DataType::kUInt8;
    ctx.output(2).shape = Shape();
  }
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const float* x = ctx.input(0).Data<const float>();
  const int64_t count = ctx.input(0).NumElements();
  const DynamicUint8Parameters p = DynamicUint8ParametersOf(x, count);
  uint8_t* y = ctx.output(0).Data<uint8_t>();
  for (int64_t i = 0; i < count; ++i) y[i] = QuantizeUint8(x[i], p);
  if (ctx.has_output(1)) *ctx.output(1).Data<float>() = p.scale;
  if (ctx.has_output(2)) *ctx.output(2).Data<uint8_t>() = static_cast<uint8_t>(p.zero_point);
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kDynamicQuantizeLinearKernel = {OpType::DynamicQuantizeLinear,
                                                                Prepare, Eval};

}  // namespace lwai
