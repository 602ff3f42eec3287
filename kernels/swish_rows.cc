#include "kernels/swish_rows.h"

#include <cstring>

namespace lwai {
namespace {

// e^v for v in [-87, 87]: v = n ln 2 + r with |r| <= ln 2 / 2, e^r by a degree-6 polynomial,
// 2^n through the exponent bits.
inline float ExpClamped(float v) {
  const float n = __builtin_floorf(v * 1.44269504088896341f + 0.5f);
  const float r = v - n * 0.693145751953125f - n * 1.42860682030941723212e-6f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

}  // namespace

void SiluRange(const float* x, float* y, int64_t count) {
  // Branch-free so that it vectorizes. sigmoid(v) = 1 / (1 + e^-v); beyond |v| = 87 it is 0 or
  // 1 to float precision (0 exactly below, so that -inf * sigmoid(-inf) is NaN as in the
  // reference). A NaN v gives a clamped, finite e, and v * s is NaN again.
  for (int64_t i = 0; i < count; ++i) {
    const float v = x[i];
    const float t = -v;
    float clamped = t < 87.0f ? t : 87.0f;  // NaN becomes 87 here, never reaching the int cast
    clamped = clamped > -87.0f ? clamped : -87.0f;
    const float s = t > 87.0f ? 0.0f : 1.0f / (1.0f + ExpClamped(clamped));
    y[i] = v * s;
  }
}

}  // namespace lwai
