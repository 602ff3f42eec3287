// QLinearConv (ONNX opset 10): N-d, uint8/int8, per-tensor or per-output-channel weight scale
// and zero point, optional int32 bias; requantizes with round half to even and saturation.
// lwai extension: a fused `activation` (Relu or Clip with activation_min/max, in real values)
// clamps the quantized output to the activation's quantized bounds.
#include <cmath>
#include <memory>
#include <string>
#include <type_traits>

#include "kernels/common.h"
#include "kernels/conv_common.h"
#include "kernels/int8_gemm.h"

namespace lwai {
namespace {

enum Input { kX, kXScale, kXZeroPoint, kW, kWScale, kWZeroPoint, kYScale, kYZeroPoint, kBias };

struct QLinearConvState : OpState {
  IntegerConvPlan plan;
  DataType y_type = DataType::kUInt8;
  FusedActivation activation;
  size_t acc_offset = 0;
};

Status ExpectScale(const KernelContext& ctx, int index, int64_t per_channel) {
  const TensorView& t = ctx.input(index);
  const int64_t n = t.NumElements();
  if (t.dtype != DataType::kFloat32 || t.shape.rank > 1 || (n != 1 && n != per_channel)) {
    return ctx.InvalidModel(
        LWAI_MSG("input " + std::to_string(index) + " (scale) must be a float32 scalar" +
                 (per_channel > 1 ? " or have " + std::to_string(per_channel) + " elements"
                                  : std::string()) +
                 ", got " + DataTypeName(t.dtype) + " " + t.shape.ToString()));
  }
  return Status::Ok();
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(8, 9));
  for (int i : {kX, kXScale, kW, kWScale, kYScale}) {
    if (!ctx.has_input(i))
      return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(i) + " is missing"));
  }
  auto state = std::make_unique<QLinearConvState>();
  QLinearConvState& s = *state;
  LWAI_RETURN_IF_ERROR(PrepareIntegerConv(ctx, kX, kW, kXZeroPoint, kWZeroPoint, &s.plan));
  const ConvShape& c = s.plan.shape;
  LWAI_RETURN_IF_ERROR(ExpectScale(ctx, kXScale, 1));
  LWAI_RETURN_IF_ERROR(ExpectScale(ctx, kWScale, c.out_channels));
  LWAI_RETURN_IF_ERROR(ExpectScale(ctx, kYScale, 1));
  s.y_type = s.plan.x_type;
  if (ctx.has_input(kYZeroPoint)) {
    const TensorView& zp = ctx.input(kYZeroPoint);
    if ((zp.dtype != DataType::kUInt8 && zp.dtype != DataType::kInt8) || zp.NumElements() != 1) {
      return ctx.InvalidModel(LWAI_MSG("y_zero_point must be a uint8 or int8 scalar, got " +
                                       std::string(DataTypeName(zp.dtype)) + " " +
                                       zp.shape.ToString()));
    }
    s.y_type = zp.dtype;
  }
  if (ctx.has_input(kBias)) {
    LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(kBias, DataType::kInt32));
    if (ctx.input(kBias).NumElements() != c.out_channels) {
      return ctx.ShapeMismatch(LWAI_MSG("bias " + ctx.input(kBias).shape.ToString() +
                                        " must have " + std::to_string(c.out_channels) +
                                        " elements"));
    }
  }
  LWAI_RETURN_IF_ERROR(ParseFusedActivation(ctx, &s.activation));
  ctx.output(0).dtype = s.y_type;
  s.acc_offset = s.plan.scratch_bytes;
  const size_t acc_bytes =
      sizeof(int32_t) * static_cast<size_t>(c.batch * c.out_channels * c.out_size);
  if (!ctx.shape_only()) ctx.RequestScratch(s.acc_offset + acc_bytes);
  ctx.SetState(std::move(state));
  return Status::Ok();
}

// As ONNX Runtime does (and lwai's int8 backend, through the same function): the multiplier
// x_scale * w_scale / y_scale and the product with the sum in float.
template <typename Y>
void Requantize(const KernelContext& ctx, const QLinearConvState& s, const int32_t* acc, Y* y) {
  const ConvShape& c = s.plan.shape;
  const float x_scale = ctx.input(kXScale).Data<const float>()[0];
  const float y_scale = ctx.input(kYScale).Data<const float>()[0];
  const TensorView& w_scale = ctx.input(kWScale);
  const int32_t y_zp = ZeroPointAt(ctx, kYZeroPoint, 0);
  const int32_t* bias = ctx.has_input(kBias) ? ctx.input(kBias).Data<const int32_t>() : nullptr;
  int32_t lo = std::is_signed<Y>::value ? -128 : 0;
  int32_t hi = std::is_signed<Y>::value ? 127 : 255;
  NarrowByFusedActivation(s.activation, y_scale, y_zp, &lo, &hi);
  const float lo_f = static_cast<float>(lo - y_zp), hi_f = static_cast<float>(hi - y_zp);
  for (int64_t n = 0; n < c.batch; ++n) {
    for (int64_t oc = 0; oc < c.out_channels; ++oc) {
      const float ws = w_scale.Data<const float>()[w_scale.NumElements() == 1 ? 0 : oc];
      const float multiplier = x_scale * ws / y_scale;
      const int32_t b = bias ? bias[oc] : 0;
      const int64_t offset = (n * c.out_channels + oc) * c.out_size;
      for (int64_t i = 0; i < c.out_size; ++i) {
        y[offset + i] =
            static_cast<Y>(Int8Requantize(acc[offset + i], b, multiplier, lo_f, hi_f, y_zp));
      }
    }
  }
}

Status Eval(KernelContext& ctx) {
  const QLinearConvState& s = *ctx.state<QLinearConvState>();
  int32_t* acc = reinterpret_cast<int32_t*>(static_cast<char*>(ctx.scratch()) + s.acc_offset);
  RunIntegerConv(ctx, s.plan, kX, kW, kXZeroPoint, kWZeroPoint, ctx.scratch(), acc);
  if (s.y_type == DataType::kInt8) {
    Requantize(ctx, s, acc, ctx.output(0).Data<int8_t>());
  } else {
    Requantize(ctx, s, acc, ctx.output(0).Data<uint8_t>());
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kQLinearConvKernel = {OpType::QLinearConv, Prepare, Eval};

}  // namespace lwai
