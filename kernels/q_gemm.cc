// QGemm (com.microsoft, as ONNX Runtime's quantizers write it): Y = alpha * (A - a_zp)(B - b_zp)
// * a_scale * b_scale + C * a_scale * b_scale, with A [M, K] (or [K, M] when transA) uint8/int8,
// B [K, N] (or [N, K] when transB) uint8/int8 with a scalar or per-column (N) scale and zero
// point, C an optional int32 bias broadcast to [M, N]. With y_scale, Y is requantized to
// y_zero_point's type (as the int8 kernels do: kernels/int8_gemm.h's Int8Requantize); without,
// Y is float32. lwai extensions: a fused `activation` (Relu or Clip, as on QLinearConv) clamps a
// quantized Y to the activation's quantized bounds; without transA, A may have any rank >= 2,
// [..., K], multiplied as MatMul does ([M, K] with M the product of its leading dims, Y
// [..., N]); C is then a scalar or [N].
#include <cmath>
#include <memory>
#include <string>

#include "kernels/common.h"
#include "kernels/conv_common.h"
#include "kernels/int8_gemm.h"

namespace lwai {
namespace {

enum Input { kA, kAScale, kAZeroPoint, kB, kBScale, kBZeroPoint, kC, kYScale, kYZeroPoint };

struct QGemmState : OpState {
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f;
  DataType y_type = DataType::kFloat32;
  FusedActivation activation;  // lwai extension, as on QLinearConv
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(6, 9));
  for (int i : {kA, kAScale, kAZeroPoint, kB, kBScale, kBZeroPoint}) {
    if (!ctx.has_input(i))
      return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(i) + " is missing"));
  }
  const TensorView& a = ctx.input(kA);
  const TensorView& b = ctx.input(kB);
  if (!IsByteType(a.dtype) || !IsByteType(b.dtype)) {
    return ctx.Unsupported(LWAI_MSG(std::string("A and B must be uint8 or int8, got ") +
                                    DataTypeName(a.dtype) + " and " + DataTypeName(b.dtype)));
  }
  auto state = std::make_unique<QGemmState>();
  QGemmState& s = *state;
  s.trans_a = ctx.node().GetInt("transA", 0) != 0;
  s.trans_b = ctx.node().GetInt("transB", 0) != 0;
  s.alpha = ctx.node().GetFloat("alpha", 1.0f);
  if (a.shape.rank < 2 || (s.trans_a && a.shape.rank != 2) || b.shape.rank != 2) {
    return ctx.ShapeMismatch(
        LWAI_MSG("A must be a matrix (or [..., K] without transA) and B a matrix, got " +
                 a.shape.ToString() + " and " + b.shape.ToString()));
  }
  Shape out_shape = a.shape;  // [..., M or K] -> [..., N] below
  s.k = s.trans_a ? a.shape[0] : a.shape[a.shape.rank - 1];
  if (s.trans_a) {
    s.m = a.shape[1];
  } else if (!CheckedProduct(a.shape.dims, a.shape.rank - 1, &s.m)) {
    return ctx.ShapeMismatch(LWAI_MSG("A " + a.shape.ToString() + " has too many elements"));
  }
  s.n = s.trans_b ? b.shape[0] : b.shape[1];
  const int64_t kb = s.trans_b ? b.shape[1] : b.shape[0];
  if (kb != s.k) {
    return ctx.ShapeMismatch(LWAI_MSG("A " + a.shape.ToString() + " and B " + b.shape.ToString() +
                                      " do not multiply (transA " + std::to_string(s.trans_a) +
                                      ", transB " + std::to_string(s.trans_b) + ")"));
  }
  LWAI_RETURN_IF_ERROR(ExpectQuantizationParameter(ctx, kAScale, DataType::kFloat32, 1, "a_scale"));
  LWAI_RETURN_IF_ERROR(ExpectQuantizationParameter(ctx, kAZeroPoint, a.dtype, 1, "a_zero_point"));
  LWAI_RETURN_IF_ERROR(
      ExpectQuantizationParameter(ctx, kBScale, DataType::kFloat32, s.n, "b_scale"));
  LWAI_RETURN_IF_ERROR(ExpectQuantizationParameter(ctx, kBZeroPoint, b.dtype, s.n, "b_zero_point"));
  if (ctx.has_input(kC)) {
    const TensorView& c = ctx.input(kC);
    if (a.shape.rank > 2 && c.shape.rank > 1) {
      return ctx.InvalidModel(LWAI_MSG("C must be a scalar or [N] when A has rank " +
                                       std::to_string(a.shape.rank) + ", got " +
                                       c.shape.ToString()));
    }
    Shape broadcast;
    const Status fits = BroadcastShapes(c.shape, Shape({s.m, s.n}), &broadcast);
    if (c.dtype != DataType::kInt32 || !fits.ok() || broadcast != Shape({s.m, s.n})) {
      return ctx.InvalidModel(LWAI_MSG("C must be int32 and broadcast to [" + std::to_string(s.m) +
                                       ", " + std::to_string(s.n) + "], got " +
                                       DataTypeName(c.dtype) + " " + c.shape.ToString()));
    }
  }
  if (ctx.has_input(kYScale)) {
    LWAI_RETURN_IF_ERROR(
        ExpectQuantizationParameter(ctx, kYScale, DataType::kFloat32, 1, "y_scale"));
    s.y_type = ctx.has_input(kYZeroPoint) ? ctx.input(kYZeroPoint).dtype : a.dtype;
    if (!IsByteType(s.y_type))
      return ctx.InvalidModel(LWAI_MSG("y_zero_point must be uint8 or int8"));
  }
  LWAI_RETURN_IF_ERROR(ParseFusedActivation(ctx, &s.activation));
  if (s.activation.enabled && s.y_type == DataType::kFloat32) {
    return ctx.InvalidModel(LWAI_MSG("a fused activation needs a quantized output (y_scale)"));
  }
  ctx.output(0).dtype = s.y_type;
  if (s.trans_a) {
    out_shape = Shape({s.m, s.n});
  } else {
    out_shape[out_shape.rank - 1] = s.n;
  }
  ctx.output(0).shape = out_shape;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

template <typename A, typename B>
int32_t Dot(const KernelContext& ctx, const QGemmState& s, int64_t i, int64_t j) {
  const A* a = ctx.input(kA).Data<const A>();
  const B* b = ctx.input(kB).Data<const B>();
  const int32_t za = ZeroPointAt(ctx, kAZeroPoint, 0);
  const int32_t zb = ZeroPointAt(ctx, kBZeroPoint, j);
  int32_t sum = 0;
  for (int64_t p = 0; p < s.k; ++p) {
    const int32_t av = a[s.trans_a ? p * s.m + i : i * s.k + p];
    const int32_t bv = b[s.trans_b ? j * s.k + p : p * s.n + j];
    sum += (av - za) * (bv - zb);
  }
  return sum;
}

template <typename A, typename B>
void Run(KernelContext& ctx, const QGemmState& s) {
  const float a_scale = ctx.input(kAScale).Data<const float>()[0];
  const TensorView& b_scale = ctx.input(kBScale);
  const TensorView* c = ctx.has_input(kC) ? &ctx.input(kC) : nullptr;
  const bool quantized = s.y_type != DataType::kFloat32;
  int32_t lo = s.y_type == DataType::kInt8 ? -128 : 0;
  int32_t hi = s.y_type == DataType::kInt8 ? 127 : 255;
  const float y_scale = quantized ? ctx.input(kYScale).Data<const float>()[0] : 1.0f;
  const int32_t y_zp = quantized ? ZeroPointAt(ctx, kYZeroPoint, 0) : 0;
  if (quantized) NarrowByFusedActivation(s.activation, y_scale, y_zp, &lo, &hi);
  // Hostile shapes can ask for arbitrarily long products: stop at the run's deadline (the
  // executor then reports it).
  WorkMeter meter(ctx.limits());
  for (int64_t i = 0; i < s.m; ++i) {
    if (meter.Add(s.n * s.k + 1)) return;
    for (int64_t j = 0; j < s.n; ++j) {
      const float bs = b_scale.Data<const float>()[b_scale.NumElements() == 1 ? 0 : j];
      int32_t bias = 0;
      if (c != nullptr) {
        const int64_t rows = c->shape.rank == 2 ? c->shape[0] : 1;
        const int64_t cols = c->shape.rank >= 1 ? c->shape[c->shape.rank - 1] : 1;
        bias = c->Data<const int32_t>()[(rows == 1 ? 0 : i) * cols + (cols == 1 ? 0 : j)];
      }
      const int32_t dot = Dot<A, B>(ctx, s, i, j);
      const int64_t e = i * s.n + j;
      if (!quantized) {
        ctx.output(0).Data<float>()[e] =
            (s.alpha * static_cast<float>(dot) + static_cast<float>(bias)) * (a_scale * bs);
        continue;
      }
      // As the int8 backend: Int8Requantize of the integer sum plus bias; alpha other than 1
      // scales the sum in float first.
      const float multiplier = a_scale * bs / y_scale;
      const float lo_f = static_cast<float>(lo - y_zp), hi_f = static_cast<float>(hi - y_zp);
      int32_t q;
      if (s.alpha == 1.0f) {
        q = Int8Requantize(dot, bias, multiplier, lo_f, hi_f, y_zp);
      } else {
        float v = (s.alpha * static_cast<float>(dot) + static_cast<float>(bias)) * multiplier;
        v = v > lo_f ? v : lo_f;
        v = v < hi_f ? v : hi_f;
        q = static_cast<int32_t>(std::nearbyint(v)) + y_zp;
      }
      if (s.y_type == DataType::kInt8) {
        ctx.output(0).Data<int8_t>()[e] = static_cast<int8_t>(q);
      } else {
        ctx.output(0).Data<uint8_t>()[e] = static_cast<uint8_t>(q);
      }
    }
  }
}

Status Eval(KernelContext& ctx) {
  const QGemmState& s = *ctx.state<QGemmState>();
  const bool a_signed = ctx.input(kA).dtype == DataType::kInt8;
  const bool b_signed = ctx.input(kB).dtype == DataType::kInt8;
  if (a_signed && b_signed) Run<int8_t, int8_t>(ctx, s);
  if (a_signed && !b_signed) Run<int8_t, uint8_t>(ctx, s);
  if (!a_signed && b_signed) Run<uint8_t, int8_t>(ctx, s);
  if (!a_signed && !b_signed) Run<uint8_t, uint8_t>(ctx, s);
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kQGemmKernel = {OpType::QGemm, Prepare, Eval};

}  // namespace lwai
