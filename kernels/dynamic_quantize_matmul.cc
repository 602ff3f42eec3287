// DynamicQuantizeMatMul (com.microsoft, as ONNX Runtime's quantize_dynamic writes it, and
// lwai.quantize(mode="dynamic")): Y = (A_q - a_zp)(B - b_zp) * a_scale * b_scale + bias, with A
// float32 [..., K] quantized to uint8 at run time over the whole tensor (DynamicQuantizeLinear's
// parameters), B [K, N] int8/uint8 with a scalar or per-column scale and zero point, bias an
// optional float32 [N]. Y is float32 [..., N]. lwai extension: a fused `activation` (Relu or
// Clip, as on Gemm) clamps Y.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "kernels/conv_common.h"
#include "kernels/int8_gemm.h"

namespace lwai {
namespace {

enum Input { kA, kB, kBScale, kBZeroPoint, kBias };

struct DynamicQuantizeMatMulState : OpState {
  int64_t m = 0, n = 0, k = 0;
  FusedActivation activation;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(3, 5));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(kA, DataType::kFloat32));
  const TensorView& a = ctx.input(kA);
  const TensorView& b = ctx.input(kB);
  if (!IsByteType(b.dtype)) {
    return ctx.Unsupported(
        LWAI_MSG(std::string("B must be uint8 or int8, got ") + DataTypeName(b.dtype)));
  }
  if (a.shape.rank < 1 || b.shape.rank != 2) {
    return ctx.ShapeMismatch(
        LWAI_MSG("A must have a rank of at least 1 and B must be a matrix, got " +
                 a.shape.ToString() + " and " + b.shape.ToString()));
  }
  auto state = std::make_unique<DynamicQuantizeMatMulState>();
  DynamicQuantizeMatMulState& s = *state;
  s.k = a.shape[a.shape.rank - 1];
  s.n = b.shape[1];
  if (b.shape[0] != s.k) {
    return ctx.ShapeMismatch(
        LWAI_MSG("A " + a.shape.ToString() + " and B " + b.shape.ToString() + " do not multiply"));
  }
  s.m = s.k > 0 ? a.NumElements() / s.k : 0;
  LWAI_RETURN_IF_ERROR(
      ExpectQuantizationParameter(ctx, kBScale, DataType::kFloat32, s.n, "b_scale"));
  if (ctx.has_input(kBZeroPoint)) {
    LWAI_RETURN_IF_ERROR(
        ExpectQuantizationParameter(ctx, kBZeroPoint, b.dtype, s.n, "b_zero_point"));
  }
  if (ctx.has_input(kBias)) {
    const TensorView& bias = ctx.input(kBias);
    if (bias.dtype != DataType::kFloat32 || bias.shape != Shape({s.n})) {
      return ctx.InvalidModel(LWAI_MSG("bias must be float32 [" + std::to_string(s.n) + "], got " +
                                       DataTypeName(bias.dtype) + " " + bias.shape.ToString()));
    }
  }
  LWAI_RETURN_IF_ERROR(ParseFusedActivation(ctx, &s.activation));
  Shape y = a.shape;
  y.dims[y.rank - 1] = s.n;
  ctx.output(0).dtype = DataType::kFloat32;
  ctx.output(0).shape = y;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

template <typename B>
void Run(KernelContext& ctx, const DynamicQuantizeMatMulState& s) {
  const float* a = ctx.input(kA).Data<const float>();
  const B* b = ctx.input(kB).Data<const B>();
  const TensorView& b_scale = ctx.input(kBScale);
  const float* bias = ctx.has_input(kBias) ? ctx.input(kBias).Data<const float>() : nullptr;
  float* y = ctx.output(0).Data<float>();
  const DynamicUint8Parameters p = DynamicUint8ParametersOf(a, s.m * s.k);
  std::vector<int32_t> row(static_cast<size_t>(s.k));
  WorkMeter meter(ctx.limits());
  for (int64_t i = 0; i < s.m; ++i) {
    if (meter.Add(s.n * s.k + 1)) return;
    for (int64_t d = 0; d < s.k; ++d) {
      row[d] = static_cast<int32_t>(QuantizeUint8(a[i * s.k + d], p)) - p.zero_point;
    }
    for (int64_t j = 0; j < s.n; ++j) {
      const int32_t zb = ZeroPointAt(ctx, kBZeroPoint, j);
      int64_t sum = 0;
      for (int64_t d = 0; d < s.k; ++d) sum += row[d] * (static_cast<int32_t>(b[d * s.n + j]) - zb);
      const float bs = b_scale.Data<const float>()[b_scale.NumElements() == 1 ? 0 : j];
      const float v = std::fma(static_cast<float>(static_cast<int32_t>(sum)), p.scale * bs,
                               bias != nullptr ? bias[j] : 0.0f);
      y[i * s.n + j] = s.activation.enabled ? ApplyActivation(s.activation, v) : v;
    }
  }
}

Status Eval(KernelContext& ctx) {
  const DynamicQuantizeMatMulState& s = *ctx.state<DynamicQuantizeMatMulState>();
  if (ctx.input(kB).dtype == DataType::kInt8) {
    Run<int8_t>(ctx, s);
  } else {
    Run<uint8_t>(ctx, s);
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kDynamicQuantizeMatMulKernel = {OpType::DynamicQuantizeMatMul,
                                                                Prepare, Eval};

}  // namespace lwai
