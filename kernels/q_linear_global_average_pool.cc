// QLinearGlobalAveragePool (com.microsoft, as ONNX Runtime's quantizers write it; NCHW only,
// channels_last 0): the mean of each uint8/int8 plane, requantized:
//   y = clamp(round_half_even((sum - count * x_zero_point) / count * x_scale / y_scale)
//             + y_zero_point)
// with the sums exact in int64 and the rest in float, as DequantizeLinear -> GlobalAveragePool
// -> QuantizeLinear gives it (the quantized fusions write it for that chain).
#include <cmath>
#include <string>

#include "kernels/common.h"
#include "kernels/conv_common.h"
#include "kernels/int8_elementwise.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

enum Input { kX, kXScale, kXZeroPoint, kYScale, kYZeroPoint };

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(4, 5));
  const TensorView& x = ctx.input(kX);
  if (!IsByteType(x.dtype)) {
    return ctx.Unsupported(
        LWAI_MSG(std::string("X must be uint8 or int8, got ") + DataTypeName(x.dtype)));
  }
  if (ctx.node().GetInt("channels_last", 0) != 0) {
    return ctx.Unsupported(LWAI_MSG("channels_last 1 (lwai runs NCHW; import transposes)"));
  }
  if (x.shape.rank < 3)
    return ctx.ShapeMismatch(LWAI_MSG("X must be [N, C, spatial...], got " + x.shape.ToString()));
  LWAI_RETURN_IF_ERROR(ExpectQuantizationParameter(ctx, kXScale, DataType::kFloat32, 1, "x_scale"));
  LWAI_RETURN_IF_ERROR(ExpectQuantizationParameter(ctx, kYScale, DataType::kFloat32, 1, "y_scale"));
  if (ctx.has_input(kXZeroPoint)) {
    LWAI_RETURN_IF_ERROR(ExpectQuantizationParameter(ctx, kXZeroPoint, x.dtype, 1, "x_zero_point"));
  }
  if (ctx.has_input(kYZeroPoint)) {
    LWAI_RETURN_IF_ERROR(ExpectQuantizationParameter(ctx, kYZeroPoint, x.dtype, 1, "y_zero_point"));
  }
  Shape y = x.shape;
  for (int d = 2; d < y.rank; ++d) y.dims[d] = 1;
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = y;
  return Status::Ok();
}

template <typename T>
void Run(KernelContext& ctx) {
  const TensorView& x = ctx.input(kX);
  const int64_t planes = x.shape[0] * x.shape[1];
  const int64_t count = planes > 0 ? x.NumElements() / planes : 0;
  const float x_scale = ctx.input(kXScale).Data<const float>()[0];
  const float y_scale = ctx.input(kYScale).Data<const float>()[0];
  const int32_t x_zp = ZeroPointAt(ctx, kXZeroPoint, 0);
  const int32_t y_zp = ZeroPointAt(ctx, kYZeroPoint, 0);
  const float lo = static_cast<float>((std::is_signed<T>::value ? -128 : 0) - y_zp);
  const float hi = static_cast<float>((std::is_signed<T>::value ? 127 : 255) - y_zp);
  const T* in = x.Data<const T>();
  T* out = ctx.output(0).Data<T>();
  ctx.thread_pool()->ParallelFor(
      planes, std::max<int64_t>(1, 4096 / std::max<int64_t>(count, 1)),
      [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) {
          const T* plane = in + p * count;
          int64_t sum = 0;
          for (int64_t i = 0; i < count; ++i) sum += plane[i];
          out[p] = static_cast<T>(QuantizedMean(sum, count, x_zp, x_scale, y_scale, lo, hi, y_zp));
        }
      });
}

Status Eval(KernelContext& ctx) {
  if (ctx.input(kX).dtype == DataType::kInt8) {
    Run<int8_t>(ctx);
  } else {
    Run<uint8_t>(ctx);
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kQLinearGlobalAveragePoolKernel = {OpType::QLinearGlobalAveragePool,
                                                                   Prepare, Eval};

}  // namespace lwai
