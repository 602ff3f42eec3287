// Elementwise arithmetic on quantized tensors (com.microsoft's QLinearAdd and QLinearMul, as
// ONNX Runtime's quantizers write them), one definition for the reference kernel and the int8
// backend:
//   Add: c = clamp(round_half_even(fma(a - za, sa / sc, (b - zb) * (sb / sc))) + zc)
//   Mul: c = clamp(round_half_even((a - za) * (b - zb) * (sa * sb / sc)) + zc)
// in float (the integer differences and their product are exact), clamped to the output
// type's range. NaN (from hostile scales) gives the lower bound.
#ifndef LWAI_KERNELS_INT8_ELEMENTWISE_H_
#define LWAI_KERNELS_INT8_ELEMENTWISE_H_

#include <cmath>
#include <cstdint>

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
