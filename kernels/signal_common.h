// Helpers shared by the signal operators (windows, DFT, STFT, MelWeightMatrix).
#ifndef LWAI_KERNELS_SIGNAL_COMMON_H_
#define LWAI_KERNELS_SIGNAL_COMMON_H_

#include <cstdint>

#include "kernels/kernel_api.h"

namespace lwai {

// HannWindow/HammingWindow/BlackmanWindow (ONNX 17): input 0 is the scalar size, attributes
// output_datatype (default float32) and periodic (default 1).
Status PrepareWindow(KernelContext& ctx);
// Writes w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), N = size (periodic) or
// size - 1 (symmetric).
Status EvalCosineWindow(KernelContext& ctx, double a0, double a1, double a2);

// Reads input i, a scalar (one element) integer known at prepare time.
Status ReadIntScalar(const KernelContext& ctx, int i, const char* name, int64_t* value);

// twiddles[2m], twiddles[2m + 1] = cos, sin of 2 pi m / n, for m in [0, n).
void ComputeTwiddles(int64_t n, double* twiddles);

// The first `bins` outputs of the n-point DFT of x (interleaved complex, `count` <= n values,
// zero padded to n): y[k] = sum_j x[j] e^(-+2 pi i j k / n), '+' and scaled by 1/n when
// `inverse`. y is interleaved complex. x must have room for n values and is overwritten.
// Radix-2 FFT when n is a power of two, direct O(n^2) otherwise.
void DftLine(double* x, int64_t count, int64_t n, int64_t bins, bool inverse,
             const double* twiddles, double* y);

}  // namespace lwai

#endif  // LWAI_KERNELS_SIGNAL_COMMON_H_
