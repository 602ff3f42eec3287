// Elementwise arithmetic on quantized tensors (com.microsoft's QLinearAdd and QLinearMul, as
// ONNX Runtime's quantizers write them), one definition for the reference kernel and the int8
// backend:
//   Add: c = clamp(round_half_even(fma(a - za, sa / sc, (b - zb) * (sb / sc))) + zc)
//   Mul: c = clamp(round_half_even((a - za) * (b - zb) * (sa * sb / sc)) + zc)
// in float (the integer differences and their product are exact), clamped to the output
// type's range. NaN (from hostile scales) gives the lower bound.
#ifndef LWAI_KERNELS_INT8_ELEMENTWISE_H_
#define LWAI_KERNELS_INT8_ELEMENTWISE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace lwai {

struct QLinearBinaryParams {
  bool multiply = false;           // Mul, else Add
  float a_ratio = 1, b_ratio = 1;  // Add: sa / sc and sb / sc; Mul: a_ratio = sa * sb / sc
  int32_t a_zero_point = 0, b_zero_point = 0, c_zero_point = 0;
  int32_t c_min = 0, c_max = 255;
};

inline int32_t QLinearBinaryValue(const QLinearBinaryParams& p, int32_t a, int32_t b) {
  float v;
  if (p.multiply) {
    v = static_cast<float>((a - p.a_zero_point) * (b - p.b_zero_point)) * p.a_ratio;
  } else {
    v = std::fma(static_cast<float>(a - p.a_zero_point), p.a_ratio,
                 static_cast<float>(b - p.b_zero_point) * p.b_ratio);
  }
  const float lo = static_cast<float>(p.c_min - p.c_zero_point);
  const float hi = static_cast<float>(p.c_max - p.c_zero_point);
  v = v > lo ? v : lo;
  v = v < hi ? v : hi;
  return static_cast<int32_t>(std::nearbyint(v)) + p.c_zero_point;
}

// QuantizeLinear and DequantizeLinear per tensor, as the reference defines them: x / scale in
// float, rounded half to even, plus the zero point, saturated (NaN gives 0); and
// (q - zero_point) * scale.
template <typename Q>
void QuantizeRange(const float* x, Q* y, int64_t count, float scale, int32_t zero_point) {
  const float lo = static_cast<float>(std::numeric_limits<Q>::lowest() - zero_point);
  const float hi = static_cast<float>(std::numeric_limits<Q>::max() - zero_point);
  for (int64_t i = 0; i < count; ++i) {
    float v = x[i] / scale;
    const bool nan = v != v;
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    const int32_t q = static_cast<int32_t>(std::nearbyint(v)) + zero_point;
    y[i] = nan ? Q(0) : static_cast<Q>(q);
  }
}

template <typename Q>
void DequantizeRange(const Q* x, float* y, int64_t count, float scale, int32_t zero_point) {
  for (int64_t i = 0; i < count; ++i) {
    y[i] = static_cast<float>(static_cast<int32_t>(x[i]) - zero_point) * scale;
  }
}

// Narrows the quantized output range [*lo, *hi] to a fused activation's real bounds
// [activation_min, activation_max] (infinite: no bound), quantized with y's scale and zero point.
inline void NarrowToActivationBounds(float activation_min, float activation_max, float y_scale,
                                     int32_t y_zero_point, int32_t* lo, int32_t* hi) {
  auto quantize = [&](float v) {
    return std::nearbyint(static_cast<double>(v / y_scale)) + static_cast<double>(y_zero_point);
  };
  if (std::isfinite(activation_min) && std::isfinite(quantize(activation_min))) {
    *lo = static_cast<int32_t>(
        std::min<double>(*hi, std::max<double>(*lo, quantize(activation_min))));
  }
  if (std::isfinite(activation_max) && std::isfinite(quantize(activation_max))) {
    *hi = static_cast<int32_t>(
        std::max<double>(*lo, std::min<double>(*hi, quantize(activation_max))));
  }
}

// The 256-entry table that requantizes int8 (`is_signed`) or uint8 values from (x_scale,
// x_zero_point) to (y_scale, y_zero_point): clamp(round_half_even((x - x_zp) * (x_scale /
// y_scale)) + y_zp), NaN (a hostile scale) to the lower bound; for Int8LookupRow.
void Int8RequantizeTable(bool is_signed, float x_scale, int32_t x_zero_point, float y_scale,
                         int32_t y_zero_point, uint8_t table[256]);

// The quantized mean of `count` values summing to `sum` (QLinearGlobalAveragePool): clamp(
// round_half_even((sum - count * x_zp) / count * x_scale / y_scale)) + y_zp, with the output
// type's range [lo, hi] given relative to y_zp; NaN to the lower bound.
inline int32_t QuantizedMean(int64_t sum, int64_t count, int32_t x_zero_point, float x_scale,
                             float y_scale, float lo, float hi, int32_t y_zero_point) {
  const float mean =
      static_cast<float>(sum - count * x_zero_point) / static_cast<float>(count) * x_scale;
  float v = mean / y_scale;
  v = v > lo ? v : lo;
  v = v < hi ? v : hi;
  return static_cast<int32_t>(std::nearbyint(v)) + y_zero_point;
}

class KernelContext;
// The parameters of a QLinearAdd/QLinearMul node whose scales and zero points are known
// (kernels/q_linear_binary.cc).
QLinearBinaryParams ReadQLinearBinaryParams(const KernelContext& ctx);

// c[i] = QLinearBinaryValue(a[i], b[b_step ? i : 0]) for `count` bytes of int8 (`is_signed`) or
// uint8; b_step 0 broadcasts one b value. Vectorized where the CPU has AVX-512.
void QLinearBinaryRow(const QLinearBinaryParams& p, bool is_signed, const uint8_t* a,
                      const uint8_t* b, int b_step, int64_t count, uint8_t* c);

// dst[i] = table[src[i]] for `count` bytes (AVX-512 VBMI permutes where the CPU has them).
void Int8LookupRow(const uint8_t* table, const uint8_t* src, int64_t count, uint8_t* dst);

// acc[i] = max(acc[i], src[i]) for `count` int8 (`is_signed`) or uint8 values.
void Int8MaxInto(uint8_t* acc, const uint8_t* src, int64_t count, bool is_signed);

}  // namespace lwai

#endif  // LWAI_KERNELS_INT8_ELEMENTWISE_H_
