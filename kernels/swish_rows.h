// Vectorizable x * sigmoid(x) (SiLU) for float32 runs, for backends that run it inside their own
// layouts: a polynomial exp the compiler turns into SIMD code (no libm calls), about 2 ulp from
// the exact value; NaN propagates, +inf stays, -inf gives NaN (-inf * 0) as the reference.
#ifndef LWAI_KERNELS_SWISH_ROWS_H_
#define LWAI_KERNELS_SWISH_ROWS_H_

#include <cstdint>

namespace lwai {

// y[i] = x[i] * sigmoid(x[i]) for i < count; x and y may be the same array.
void SiluRange(const float* x, float* y, int64_t count);

}  // namespace lwai

#endif  // LWAI_KERNELS_SWISH_ROWS_H_
