#include "kernels/transpose_2d.h"

#include <algorithm>
#include <cstring>

#include "runtime/thread_pool.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define LWAI_HAS_AVX2_PATH 1
#endif

namespace lwai {
namespace {

using Element = uint32_t;
constexpr int64_t kBlock = 8;

// A tile of up to kBlock x kBlock elements, element by element.
void TransposeTile(const Element* src, int64_t rows, int64_t cols, int64_t src_stride, Element* dst,
                   int64_t dst_stride) {
  for (int64_t c = 0; c < cols; ++c) {
    for (int64_t r = 0; r < rows; ++r) dst[c * dst_stride + r] = src[r * src_stride + c];
  }
}

#ifdef LWAI_HAS_AVX2_PATH
// A full 8 x 8 tile through eight AVX registers.
__attribute__((target("avx2"))) void TransposeTile8x8Avx2(const Element* src, int64_t src_stride,
                                                          Element* dst, int64_t dst_stride) {
  const float* s = reinterpret_cast<const float*>(src);
  float* d = reinterpret_cast<float*>(dst);
  __m256 r0 = _mm256_loadu_ps(s + 0 * src_stride);
  __m256 r1 = _mm256_loadu_ps(s + 1 * src_stride);
  __m256 r2 = _mm256_loadu_ps(s + 2 * src_stride);
  __m256 r3 = _mm256_loadu_ps(s + 3 * src_stride);
  __m256 r4 = _mm256_loadu_ps(s + 4 * src_stride);
  __m256 r5 = _mm256_loadu_ps(s + 5 * src_stride);
  __m256 r6 = _mm256_loadu_ps(s + 6 * src_stride);
  __m256 r7 = _mm256_loadu_ps(s + 7 * src_stride);
  // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r0 = _mm256_permute2f128_ps(u0, u4, 0x20);
  r1 = _mm256_permute2f128_ps(u1, u5, 0x20);
  r2 = _mm256_permute2f128_ps(u2, u6, 0x20);
  r3 = _mm256_permute2f128_ps(u3, u7, 0x20);
  r4 = _mm256_permute2f128_ps(u0, u4, 0x31);
  r5 = _mm256_permute2f128_ps(u1, u5, 0x31);
  r6 = _mm256_permute2f128_ps(u2, u6, 0x31);
  r7 = _mm256_permute2f128_ps(u3, u7, 0x31);
  _mm256_storeu_ps(d + 0 * dst_stride, r0);
  _mm256_storeu_ps(d + 1 * dst_stride, r1);
  _mm256_storeu_ps(d + 2 * dst_stride, r2);
  _mm256_storeu_ps(d + 3 * dst_stride, r3);
  _mm256_storeu_ps(d + 4 * dst_stride, r4);
  _mm256_storeu_ps(d + 5 * dst_stride, r5);
  _mm256_storeu_ps(d + 6 * dst_stride, r6);
  _mm256_storeu_ps(d + 7 * dst_stride, r7);
}

bool HasAvx2() {
  static const bool supported = __builtin_cpu_supports("avx2") != 0;
  return supported;
}
#endif

// Rows [row_begin, row_end) of the source, in 8 x 8 tiles, column panels of 64 so that the
// destination lines a panel writes stay in L1 while the source rows stream by.
void TransposeRange(const Element* src, int64_t row_begin, int64_t row_end, int64_t cols,
                    int64_t src_stride, Element* dst, int64_t dst_stride) {
  constexpr int64_t kPanel = 64;
#ifdef LWAI_HAS_AVX2_PATH
  const bool avx2 = HasAvx2();
#else
  const bool avx2 = false;
#endif
  for (int64_t c0 = 0; c0 < cols; c0 += kPanel) {
    const int64_t c1 = std::min(cols, c0 + kPanel);
    for (int64_t r = row_begin; r < row_end; r += kBlock) {
      const int64_t tile_rows = std::min(kBlock, row_end - r);
      for (int64_t c = c0; c < c1; c += kBlock) {
        const int64_t tile_cols = std::min(kBlock, c1 - c);
        const Element* s = src + r * src_stride + c;
        Element* d = dst + c * dst_stride + r;
#ifdef LWAI_HAS_AVX2_PATH
        if (avx2 && tile_rows == kBlock && tile_cols == kBlock) {
          TransposeTile8x8Avx2(s, src_stride, d, dst_stride);
          continue;
        }
#endif
        TransposeTile(s, tile_rows, tile_cols, src_stride, d, dst_stride);
      }
    }
  }
  (void)avx2;
}

}  // namespace

void Transpose2D(const void* src, int64_t rows, int64_t cols, int64_t src_stride, void* dst,
                 int64_t dst_stride) {
  TransposeRange(static_cast<const Element*>(src), 0, rows, cols, src_stride,
                 static_cast<Element*>(dst), dst_stride);
}

void Transpose2DBatch(const void* src, int64_t batch, int64_t rows, int64_t cols,
                      int64_t src_stride, int64_t src_batch_stride, void* dst, int64_t dst_stride,
                      int64_t dst_batch_stride, ThreadPool* pool) {
  if (batch <= 0 || rows <= 0 || cols <= 0) return;
  const auto* in = static_cast<const Element*>(src);
  auto* out = static_cast<Element*>(dst);
  // Jobs of up to 64 source rows by 512 columns of one matrix.
  constexpr int64_t kJobRows = 64, kJobCols = 512;
  const int64_t row_jobs = (rows + kJobRows - 1) / kJobRows;
  const int64_t col_jobs = (cols + kJobCols - 1) / kJobCols;
  const int64_t jobs_per_matrix = row_jobs * col_jobs;
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t job = begin; job < end; ++job) {
      const int64_t b = job / jobs_per_matrix;
      const int64_t in_matrix = job - b * jobs_per_matrix;
      const int64_t r0 = in_matrix / col_jobs * kJobRows;
      const int64_t c0 = in_matrix % col_jobs * kJobCols;
      TransposeRange(in + b * src_batch_stride + c0, r0, std::min(rows, r0 + kJobRows),
                     std::min(cols - c0, kJobCols), src_stride,
                     out + b * dst_batch_stride + c0 * dst_stride, dst_stride);
    }
  };
  const int64_t jobs = batch * jobs_per_matrix;
  if (pool == nullptr) {
    run(0, jobs);
    return;
  }
  pool->ParallelFor(jobs, 1, run);
}

}  // namespace lwai
