#include "kernels/cast_common.h"

#include <cmath>

namespace lwai {

float HalfToFloat(uint16_t bits) {
  const int exponent = (bits >> 10) & 0x1F;
  const int mantissa = bits & 0x3FF;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    magnitude = mantissa == 0 ? INFINITY : NAN;
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa + 1024), exponent - 25);
  }
  return (bits & 0x8000) ? -magnitude : magnitude;
}

namespace {

// Rounds a non-negative value to an integer, ties to even.
double RoundHalfEven(double x) {
  const double floor = std::floor(x);
  const double diff = x - floor;
  if (diff > 0.5) return floor + 1.0;
  if (diff < 0.5) return floor;
  return std::fmod(floor, 2.0) == 0.0 ? floor : floor + 1.0;
}

}  // namespace

// All arithmetic below is exact in double except the explicit rounding.
uint16_t DoubleToHalf(double value) {
  const uint16_t sign = std::signbit(value) ? 0x8000 : 0;
  const double a = std::fabs(value);
  if (std::isnan(value)) return sign | 0x7E00;
  // 65520 is halfway between the largest half (65504) and 2^16; the tie rounds up to even.
  if (a >= 65520.0) return sign | 0x7C00;
  if (a < std::ldexp(1.0, -14)) {
    // Subnormal in units of 2^-24; rounding up to 1024 gives the smallest normal, as wanted.
    return sign | static_cast<uint16_t>(RoundHalfEven(a * std::ldexp(1.0, 24)));
  }
  int exponent = 0;
  std::frexp(a, &exponent);  // a = f * 2^exponent, f in [0.5, 1)
  --exponent;                // a = (1 + m / 1024) * 2^exponent
  double mantissa = RoundHalfEven((std::ldexp(a, -exponent) - 1.0) * 1024.0);
  if (mantissa == 1024.0) {
    mantissa = 0.0;
    ++exponent;
  }
  return sign | static_cast<uint16_t>(((exponent + 15) << 10) | static_cast<int>(mantissa));
}

}  // namespace lwai
