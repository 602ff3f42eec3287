#include "kernels/cast_common.h"

#include <cmath>
#include <cstring>

#include "kernels/common.h"
#include "runtime/thread_pool.h"

namespace lwai {

float BFloat16ToFloat(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof(value));
  return value;
}

uint16_t FloatToBFloat16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if (std::isnan(value)) return static_cast<uint16_t>((bits >> 16) | 0x0040);  // quiet NaN
  // Adding 0x7FFF plus the lowest kept bit rounds to nearest even; a carry into the exponent
  // is the right result (up to infinity).
  bits += 0x7FFF + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
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

// Encodes `value` in a 16-bit IEEE-style format with `mantissa_bits` stored mantissa bits and
// exponent bias `bias` (all-ones exponent for infinity/NaN), rounding to nearest even. All
// arithmetic is exact in double except the explicit rounding.
uint16_t EncodeFloat16Like(double value, int mantissa_bits, int bias) {
  const uint16_t sign = std::signbit(value) ? 0x8000 : 0;
  const int max_field = 2 * bias + 1;  // all-ones exponent field
  const uint16_t infinity = static_cast<uint16_t>(max_field << mantissa_bits);
  if (std::isnan(value)) {
    return static_cast<uint16_t>(sign | infinity | (1u << (mantissa_bits - 1)));
  }
  const double a = std::fabs(value);
  // Halfway between the largest finite value and 2^(bias + 1); the tie rounds up to even.
  const double overflow = std::ldexp(2.0 - std::ldexp(1.0, -mantissa_bits - 1), bias);
  if (a >= overflow) return sign | infinity;
  const double scale = static_cast<double>(1 << mantissa_bits);
  if (a < std::ldexp(1.0, 1 - bias)) {
    // Subnormal in units of 2^(1 - bias - mantissa_bits); rounding up to 2^mantissa_bits
    // gives the smallest normal, as wanted.
    return sign | static_cast<uint16_t>(RoundHalfEven(std::ldexp(a, bias - 1 + mantissa_bits)));
  }
  int exponent = 0;
  std::frexp(a, &exponent);  // a = f * 2^exponent, f in [0.5, 1)
  --exponent;                // a = (1 + m / scale) * 2^exponent
  double mantissa = RoundHalfEven((std::ldexp(a, -exponent) - 1.0) * scale);
  if (mantissa == scale) {
    mantissa = 0.0;
    ++exponent;
  }
  return sign |
         static_cast<uint16_t>(((exponent + bias) << mantissa_bits) | static_cast<int>(mantissa));
}

}  // namespace

uint16_t DoubleToHalf(double value) { return EncodeFloat16Like(value, 10, 15); }

uint16_t DoubleToBFloat16(double value) { return EncodeFloat16Like(value, 7, 127); }

float Float4E2M1ToFloat(uint8_t code) {
  static constexpr float kMagnitudes[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  const float magnitude = kMagnitudes[code & 0x7];
  return (code & 0x8) ? -magnitude : magnitude;
}

uint8_t DoubleToFloat4E2M1(double value) {
  // No NaN encoding: ml_dtypes gives the zero of the opposite sign.
  if (std::isnan(value)) return std::signbit(value) ? 0x0 : 0x8;
  const uint8_t sign = std::signbit(value) ? 0x8 : 0x0;
  const double a = std::fabs(value);
  // Each binade [2^e, 2^(e+1)) has two codes, spaced 2^(e-1); the subnormals 0 and 0.5 share
  // the spacing of [1, 2). Rounding to a multiple of the spacing may carry into the next
  // binade's first code, which is the right code. All products are exact.
  uint8_t code;
  if (a < 2.0) {
    code = static_cast<uint8_t>(RoundHalfEven(a * 2.0));  // 0..4: 0, 0.5, 1, 1.5, 2
  } else if (a < 4.0) {
    code = static_cast<uint8_t>(RoundHalfEven(a) + 2.0);  // 4..6: 2, 3, 4
  } else if (a < 6.0) {
    code = static_cast<uint8_t>(RoundHalfEven(a * 0.5) + 4.0);  // 6..7: 4, 6
  } else {
    code = 0x7;  // saturates, infinity included
  }
  return sign | code;
}

void CastElements(const TensorView& in, TensorView& out, ThreadPool* pool) {
  VisitCastType(in.dtype, [&](auto from) {
    VisitCastType(out.dtype, [&](auto to) {
      using FromTag = typename decltype(from)::Tag;
      using ToTag = typename decltype(to)::Tag;
      using From = typename decltype(from)::Storage;
      using To = typename decltype(to)::Storage;
      const From* src = in.Data<const From>();
      To* dst = out.Data<To>();
      pool->ParallelFor(out.NumElements(), 16384, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i)
          dst[i] = StoreElement<ToTag>(LoadElement<FromTag>(src[i]));
      });
    });
  });
}

}  // namespace lwai
