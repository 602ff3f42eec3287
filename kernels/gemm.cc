#include "kernels/gemm.h"

#include <algorithm>
#include <cstring>

#include "kernels/kernel_api.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

// Register block: kMr rows of A times kNr columns of B accumulate in registers. B is packed
// into kKc x kNr panels so the inner loop reads it contiguously; A is read in place.
constexpr int64_t kMr = 4;
constexpr int64_t kNr = 16;
constexpr int64_t kKc = 256;
constexpr int64_t kNc = 256;

// Floats of packed B that one thread needs.
int64_t PackFloatsPerThread(int64_t k, int64_t n) {
  return std::min(k, kKc) * std::min((n + kNr - 1) / kNr * kNr, kNc);
}

// Packs B[k0:k0+kc, n0:n0+nc] into panels of kNr columns, zero-padded.
void PackB(const GemmArgs& g, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* packed) {
  for (int64_t panel = 0; panel < nc; panel += kNr) {
    const int64_t width = std::min(kNr, nc - panel);
    for (int64_t k = 0; k < kc; ++k) {
      float* dst = packed + panel * kc + k * kNr;
      if (!g.trans_b) {
        const float* src = g.b + (k0 + k) * g.ldb + n0 + panel;
        for (int64_t j = 0; j < width; ++j) dst[j] = src[j];
      } else {
        for (int64_t j = 0; j < width; ++j) dst[j] = g.b[(n0 + panel + j) * g.ldb + k0 + k];
      }
      for (int64_t j = width; j < kNr; ++j) dst[j] = 0.0f;
    }
  }
}

// acc[kMr][kNr] = A[rows, k0:k0+kc] * panel; stored to C (first k block) or added to it.
// Rows past the edge read the last valid row and are never stored.
template <bool kTransA>
void MicroKernel(const GemmArgs& g, int64_t row0, int64_t rows, int64_t k0, int64_t kc,
                 const float* panel, int64_t col0, int64_t cols, bool add) {
  float acc[kMr][kNr] = {};
  const float* a_rows[kMr];
  for (int64_t r = 0; r < kMr; ++r) {
    const int64_t row = row0 + std::min(r, rows - 1);
    a_rows[r] = kTransA ? g.a + k0 * g.lda + row : g.a + row * g.lda + k0;
  }
  const int64_t a_step = kTransA ? g.lda : 1;
  for (int64_t k = 0; k < kc; ++k) {
    const float* b = panel + k * kNr;
    for (int64_t r = 0; r < kMr; ++r) {
      const float a = a_rows[r][k * a_step];
      for (int64_t j = 0; j < kNr; ++j) acc[r][j] += a * b[j];
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    float* c = g.c + (row0 + r) * g.ldc + col0;
    if (add) {
      for (int64_t j = 0; j < cols; ++j) c[j] += acc[r][j];
    } else {
      for (int64_t j = 0; j < cols; ++j) c[j] = acc[r][j];
    }
  }
}

void GemmColumns(const GemmArgs& g, int64_t n_begin, int64_t n_end, float* packed) {
  for (int64_t n0 = n_begin; n0 < n_end; n0 += kNc) {
    const int64_t nc = std::min(kNc, n_end - n0);
    for (int64_t k0 = 0; k0 < g.k; k0 += kKc) {
      if (g.limits != nullptr && g.limits->Expired()) return;
      const int64_t kc = std::min(kKc, g.k - k0);
      PackB(g, k0, kc, n0, nc, packed);
      const bool add = g.accumulate || k0 > 0;
      for (int64_t row0 = 0; row0 < g.m; row0 += kMr) {
        const int64_t rows = std::min(kMr, g.m - row0);
        for (int64_t panel = 0; panel < nc; panel += kNr) {
          const float* b = packed + panel * kc;
          const int64_t cols = std::min(kNr, nc - panel);
          if (g.trans_a) {
            MicroKernel<true>(g, row0, rows, k0, kc, b, n0 + panel, cols, add);
          } else {
            MicroKernel<false>(g, row0, rows, k0, kc, b, n0 + panel, cols, add);
          }
        }
      }
    }
  }
}

}  // namespace

size_t GemmScratchBytes(int num_threads, int64_t k, int64_t n) {
  return static_cast<size_t>(num_threads * PackFloatsPerThread(k, n)) * sizeof(float);
}

void Gemm(const GemmArgs& g, void* scratch, ThreadPool* pool) {
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0) {
    if (!g.accumulate) {
      for (int64_t r = 0; r < g.m; ++r) std::memset(g.c + r * g.ldc, 0, g.n * sizeof(float));
    }
    return;
  }
  float* packs = static_cast<float*>(scratch);
  const int threads = pool->num_threads();
  // Split columns into kNr-aligned ranges, one per thread.
  const int64_t panels = (g.n + kNr - 1) / kNr;
  const int64_t panels_per_thread = (panels + threads - 1) / threads;
  const int64_t chunks = (panels + panels_per_thread - 1) / panels_per_thread;
  pool->ParallelFor(chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t chunk = begin; chunk < end; ++chunk) {
      const int64_t n_begin = chunk * panels_per_thread * kNr;
      const int64_t n_end = std::min(g.n, n_begin + panels_per_thread * kNr);
      GemmColumns(g, n_begin, n_end, packs + chunk * PackFloatsPerThread(g.k, g.n));
    }
  });
}

}  // namespace lwai
