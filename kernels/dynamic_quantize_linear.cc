// DynamicQuantizeLinear (ONNX 11): uint8 quantization of float32 x with scale and zero point
// computed from x's range (extended to include 0).
#include <cmath>
#include <string>

#include "kernels/linalg_common.h"

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
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < count; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  const float scale = (hi == lo ? 1.0f : hi - lo) / 255.0f;
  const float zp = static_cast<float>(RoundSaturate(0.0f - lo / scale, 0.0, 255.0));
  uint8_t* y = ctx.output(0).Data<uint8_t>();
  for (int64_t i = 0; i < count; ++i) {
    y[i] = static_cast<uint8_t>(RoundSaturate(std::nearbyint(x[i] / scale) + zp, 0.0, 255.0));
  }
  if (ctx.has_output(1)) *ctx.output(1).Data<float>() = scale;
  if (ctx.has_output(2)) *ctx.output(2).Data<uint8_t>() = static_cast<uint8_t>(zp);
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kDynamicQuantizeLinearKernel = {OpType::DynamicQuantizeLinear,
                                                                Prepare, Eval};

}  // namespace lwai
