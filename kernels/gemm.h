// The portable single-precision matrix multiply used by the reference Conv, Gemm and MatMul.
#ifndef LWAI_KERNELS_GEMM_H_
#define LWAI_KERNELS_GEMM_H_

#include <cstddef>
#include <cstdint>

namespace lwai {

class ThreadPool;
struct ExecutionLimits;

struct GemmArgs {
  int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;  // m x k (or k x m when trans_a), row stride lda
  int64_t lda = 0;
  bool trans_a = false;
  const float* b = nullptr;  // k x n (or n x k when trans_b), row stride ldb
  int64_t ldb = 0;
  bool trans_b = false;
  float* c = nullptr;  // m x n, row stride ldc
  int64_t ldc = 0;
  bool accumulate = false;  // C += A*B instead of C = A*B
  // When set, the product stops between blocks once these limits expire (C is then partial;
  // the executor reports the deadline or cancellation after the node).
  const ExecutionLimits* limits = nullptr;
};

// Scratch bytes that Gemm needs for an m x k by k x n product (0 for a few rows, or a small B
// not transposed: B is then read in place).
size_t GemmScratchBytes(int num_threads, int64_t m, int64_t k, int64_t n, bool trans_b = false);

// C = A * B (or C += A * B). `scratch` must hold GemmScratchBytes(pool threads, m, k, n).
void Gemm(const GemmArgs& args, void* scratch, ThreadPool* pool);

}  // namespace lwai

#endif  // LWAI_KERNELS_GEMM_H_
