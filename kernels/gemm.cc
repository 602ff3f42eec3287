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

// Products with at most kMr rows (a batch-1 fully connected layer), and products whose B (not
// transposed) is small enough to stay in the first-level cache, read B in place: packing would
// copy all of B to read it a few times, and needs a scratch copy of it (16 KiB for a small
// convolution's im2col matrix, which on a microcontroller is RAM).
constexpr int64_t kDirectFloats = 4096;
bool IsDirect(int64_t m, int64_t k, int64_t n, bool trans_b) {
  return m <= kMr || (!trans_b && k <= kDirectFloats / std::max<int64_t>(n, 1));
}

// B not transposed: the micro-kernel's panel is B itself, row stride ldb, for each block of kMr
// rows; the last panel may be narrower than kNr.
template <bool kTransA>
void DirectColumns(const GemmArgs& g, int64_t n_begin, int64_t n_end) {
  for (int64_t n0 = n_begin; n0 < n_end; n0 += kNr) {
    const int64_t cols = std::min(kNr, n_end - n0);
    for (int64_t row0 = 0; row0 < g.m; row0 += kMr) {
      const int64_t rows = std::min(kMr, g.m - row0);
      float acc[kMr][kNr] = {};
      for (int64_t k = 0; k < g.k; ++k) {
        const float* b = g.b + k * g.ldb + n0;
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t row = row0 + r;
          const float a = kTransA ? g.a[k * g.lda + row] : g.a[row * g.lda + k];
          if (cols == kNr) {
            for (int64_t j = 0; j < kNr; ++j) acc[r][j] += a * b[j];
          } else {
            for (int64_t j = 0; j < cols; ++j) acc[r][j] += a * b[j];
          }
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        float* c = g.c + (row0 + r) * g.ldc + n0;
        for (int64_t j = 0; j < cols; ++j) c[j] = g.accumulate ? c[j] + acc[r][j] : acc[r][j];
      }
    }
  }
}

// B transposed (n x k, each output column's weights contiguous): one dot product per output,
// with kLanes partial sums that the compiler keeps in vector registers.
template <bool kTransA>
void DirectDots(const GemmArgs& g, int64_t n_begin, int64_t n_end) {
  constexpr int64_t kLanes = 16;
  for (int64_t j = n_begin; j < n_end; ++j) {
    if (g.limits != nullptr && (j & 255) == 0 && g.limits->Expired()) return;
    const float* b = g.b + j * g.ldb;
    for (int64_t r = 0; r < g.m; ++r) {
      float lanes[kLanes] = {};
      int64_t k = 0;
      if (!kTransA) {
        const float* a = g.a + r * g.lda;
        for (; k + kLanes <= g.k; k += kLanes) {
          for (int64_t i = 0; i < kLanes; ++i) lanes[i] += a[k + i] * b[k + i];
        }
      }
      float sum = 0.0f;
      for (; k < g.k; ++k) sum += (kTransA ? g.a[k * g.lda + r] : g.a[r * g.lda + k]) * b[k];
      for (int64_t width = kLanes / 2; width > 0; width /= 2) {
        for (int64_t i = 0; i < width; ++i) lanes[i] += lanes[i + width];
      }
      sum += lanes[0];
      float* c = g.c + r * g.ldc + j;
      *c = g.accumulate ? *c + sum : sum;
    }
  }
}

void DirectRange(const GemmArgs& g, int64_t n_begin, int64_t n_end) {
  if (g.trans_b) {
    g.trans_a ? DirectDots<true>(g, n_begin, n_end) : DirectDots<false>(g, n_begin, n_end);
  } else {
    g.trans_a ? DirectColumns<true>(g, n_begin, n_end) : DirectColumns<false>(g, n_begin, n_end);
  }
}

}  // namespace

size_t GemmScratchBytes(int num_threads, int64_t m, int64_t k, int64_t n, bool trans_b) {
  if (IsDirect(m, k, n, trans_b)) return 0;
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
      if (IsDirect(g.m, g.k, g.n, g.trans_b)) {
        DirectRange(g, n_begin, n_end);
      } else {
        GemmColumns(g, n_begin, n_end, packs + chunk * PackFloatsPerThread(g.k, g.n));
      }
    }
  });
}

}  // namespace lwai
