// IEEE binary16 conversions, shared by Cast and anything else that reads float16.
#ifndef LWAI_KERNELS_CAST_COMMON_H_
#define LWAI_KERNELS_CAST_COMMON_H_

#include <cstdint>

namespace lwai {

// Exact: every half value is a float.
float HalfToFloat(uint16_t bits);
// Rounds to nearest, ties to even; overflow gives infinity, NaN stays NaN.
uint16_t DoubleToHalf(double value);
inline uint16_t FloatToHalf(float value) { return DoubleToHalf(value); }

}  // namespace lwai

#endif  // LWAI_KERNELS_CAST_COMMON_H_
