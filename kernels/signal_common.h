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

// n-point DFTs of one direction, O(n log n) for every n: a radix-2 FFT when n is a power of
// two, Bluestein's chirp-z convolution (through power-of-two FFTs of size m >= 2n - 1)
// otherwise. All tables and work lines live in caller-provided scratch of ScratchBytes(n, bins)
// bytes (8-byte aligned), which must outlive the plan. Not thread-safe: one plan per thread.
class DftPlan {
 public:
  // Scratch for an n-point plan producing `bins` outputs per line; false when that size
  // overflows.
  static bool ScratchBytes(int64_t n, int64_t bins, uint64_t* bytes);
  DftPlan(int64_t n, int64_t bins, bool inverse, double* scratch);

  // The input line: fill the first `count` (<= n) interleaved complex values, then Transform.
  double* input() { return line_; }
  // y[k] = sum_j x[j] e^(-+2 pi i j k / n) for k < bins ('+' and scaled by 1/n when inverse),
  // x zero padded from count to n. Returns the interleaved output line (2 bins doubles), valid
  // until the next Transform. Overwrites input().
  const double* Transform(int64_t count);

 private:
  int64_t n_, bins_, m_;  // m_: size of the power-of-two FFTs (n itself, or Bluestein's)
  bool inverse_;
  double* twiddles_;    // 2 m: cos, sin of 2 pi k / m
  double* chirp_;       // 2 n: e^(-+i pi j^2 / n) (Bluestein only)
  double* kernel_fft_;  // 2 m: FFT of the conjugate chirp, wrapped (Bluestein only)
  double* work_;        // 2 m (Bluestein only)
  double* line_;        // 2 max(n, 1)
  double* output_;      // 2 bins
};

}  // namespace lwai

#endif  // LWAI_KERNELS_SIGNAL_COMMON_H_
