// AVX-512 implementation of PointwiseConv (see pointwise_conv.cc). Compiled for any x86-64
// target through function attributes; used only when the CPU has AVX-512F.
#include "kernels/pointwise_conv.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 warns about _mm512_undefined_ps() inside _mm512_min_ps/_mm512_max_ps.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#define LWAI_AVX512 __attribute__((target("avx512f,avx512vl,fma")))

namespace lwai::pointwise_internal {
namespace {

using Packed = PointwiseConv::Packed;

constexpr int kLanes = 16;
constexpr int kMaxRows = 12;  // micro-kernel rows: 12 x 2 vectors = 24 accumulators

// Which part of the in-channel sum a kernel call computes.
enum Part {
  kWhole,   // all of it: start from the bias, clamp and store
  kFirst,   // the first block: start from the bias, store the partial sums
  kMiddle,  // start from the stored partial sums, store them
  kLast,    // start from the stored partial sums, clamp and store
};

// y[MR][16 NV] = clamp(bias + x[MR][k] * w[k][16 NV]); x rows ldx apart, w packed (aligned,
// 16 NV floats per k), y rows ldy apart, last vector stored under `tail`. Partial sums kept in
// y between K blocks are the exact float accumulators, so K blocking does not change results.
template <int MR, int NV>
LWAI_AVX512 void Kernel(int k_size, const float* x, int64_t ldx, const float* w, const float* bias,
                        float* y, int64_t ldy, __mmask16 tail, float lo, float hi, Part part) {
  __m512 acc[MR][NV];
  if (part == kWhole || part == kFirst) {
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) {
      const __m512 b = _mm512_load_ps(bias + j * kLanes);
#pragma GCC unroll 12
      for (int r = 0; r < MR; ++r) acc[r][j] = b;
    }
  } else {
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 2
      for (int j = 0; j < NV; ++j) {
        acc[r][j] = j + 1 < NV ? _mm512_loadu_ps(y + r * ldy + j * kLanes)
                               : _mm512_maskz_loadu_ps(tail, y + r * ldy + j * kLanes);
      }
    }
  }
  const float* x0 = x;
  const float* x1 = x + 4 * ldx;
  const float* x2 = x + 8 * ldx;
  for (int k = 0; k < k_size; ++k) {
    __m512 wv[NV];
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) wv[j] = _mm512_load_ps(w + j * kLanes);
    w += NV * kLanes;
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const float* row = (r < 4 ? x0 : r < 8 ? x1 : x2) + (r % 4) * ldx;
      const __m512 a = _mm512_set1_ps(row[k]);
#pragma GCC unroll 2
      for (int j = 0; j < NV; ++j) acc[r][j] = _mm512_fmadd_ps(a, wv[j], acc[r][j]);
    }
  }
  const bool clamp = part == kWhole || part == kLast;
  const __m512 vlo = _mm512_set1_ps(clamp ? lo : -__builtin_inff());
  const __m512 vhi = _mm512_set1_ps(clamp ? hi : __builtin_inff());
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    float* dst = y + r * ldy;
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) {
      const __m512 v = _mm512_min_ps(vhi, _mm512_max_ps(vlo, acc[r][j]));
      if (j + 1 < NV) {
        _mm512_storeu_ps(dst + j * kLanes, v);
      } else {
        _mm512_mask_storeu_ps(dst + j * kLanes, tail, v);
      }
    }
  }
}

// One row, K split over four accumulator sets (the FMA latency would otherwise bound it).
template <int NV>
LWAI_AVX512 void KernelRow(int k_size, const float* x, int64_t /*ldx*/, const float* w,
                           const float* bias, float* y, int64_t /*ldy*/, __mmask16 tail, float lo,
                           float hi, Part part) {
  __m512 acc[4][NV];
  const bool first = part == kWhole || part == kFirst;
#pragma GCC unroll 2
  for (int j = 0; j < NV; ++j) {
    acc[0][j] = first        ? _mm512_load_ps(bias + j * kLanes)
                : j + 1 < NV ? _mm512_loadu_ps(y + j * kLanes)
                             : _mm512_maskz_loadu_ps(tail, y + j * kLanes);
    acc[1][j] = _mm512_setzero_ps();
    acc[2][j] = _mm512_setzero_ps();
    acc[3][j] = _mm512_setzero_ps();
  }
  int k = 0;
  for (; k + 4 <= k_size; k += 4) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      const __m512 a = _mm512_set1_ps(x[k + u]);
#pragma GCC unroll 2
      for (int j = 0; j < NV; ++j) {
        acc[u][j] = _mm512_fmadd_ps(a, _mm512_load_ps(w + (u * NV + j) * kLanes), acc[u][j]);
      }
    }
    w += 4 * NV * kLanes;
  }
  for (; k < k_size; ++k) {
    const __m512 a = _mm512_set1_ps(x[k]);
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) {
      acc[0][j] = _mm512_fmadd_ps(a, _mm512_load_ps(w + j * kLanes), acc[0][j]);
    }
    w += NV * kLanes;
  }
  const bool clamp = part == kWhole || part == kLast;
  const __m512 vlo = _mm512_set1_ps(clamp ? lo : -__builtin_inff());
  const __m512 vhi = _mm512_set1_ps(clamp ? hi : __builtin_inff());
#pragma GCC unroll 2
  for (int j = 0; j < NV; ++j) {
    const __m512 sum =
        _mm512_add_ps(_mm512_add_ps(acc[0][j], acc[1][j]), _mm512_add_ps(acc[2][j], acc[3][j]));
    const __m512 v = _mm512_min_ps(vhi, _mm512_max_ps(vlo, sum));
    if (j + 1 < NV) {
      _mm512_storeu_ps(y + j * kLanes, v);
    } else {
      _mm512_mask_storeu_ps(y + j * kLanes, tail, v);
    }
  }
}

using KernelFn = void (*)(int, const float*, int64_t, const float*, const float*, float*, int64_t,
                          __mmask16, float, float, Part);

template <int NV>
KernelFn KernelFor(int rows) {
  switch (rows) {
    case 1:
      return KernelRow<NV>;
    case 2:
      return Kernel<2, NV>;
    case 3:
      return Kernel<3, NV>;
    case 4:
      return Kernel<4, NV>;
    case 5:
      return Kernel<5, NV>;
    case 6:
      return Kernel<6, NV>;
    case 7:
      return Kernel<7, NV>;
    case 8:
      return Kernel<8, NV>;
    case 9:
      return Kernel<9, NV>;
    case 10:
      return Kernel<10, NV>;
    case 11:
      return Kernel<11, NV>;
    default:
      return Kernel<12, NV>;
  }
}

// Copies rows x kc floats (rows ldx apart) to dst (rows ldb apart).
LWAI_AVX512 void CopyBlock(const float* x, int rows, int64_t ldx, int kc, float* dst, int ldb) {
  const __mmask16 tail = static_cast<__mmask16>((1u << (kc % kLanes)) - 1u);
  for (int r = 0; r < rows; ++r) {
    const float* src = x + r * ldx;
    float* d = dst + static_cast<int64_t>(r) * ldb;
    int k = 0;
    for (; k + kLanes <= kc; k += kLanes) _mm512_storeu_ps(d + k, _mm512_loadu_ps(src + k));
    if (k < kc) _mm512_mask_storeu_ps(d + k, tail, _mm512_maskz_loadu_ps(tail, src + k));
  }
}

void Compute(const Packed& p, const float* x, int rows, int64_t ldx, int panel_begin, int panel_end,
             float* y, int64_t ldy, float lo, float hi, int k_block, float* buffer) {
  constexpr int kPanel = PointwiseConv::kPanel;
  const int k_size = p.in_channels;
  const int rem = rows % kMaxRows;
  // K blocks: each panel's block (k_block x 32 floats) stays in L1 while all rows pass over it.
  for (int k0 = 0; k0 < k_size; k0 += k_block) {
    const int kc = k_size - k0 < k_block ? k_size - k0 : k_block;
    const Part part = kc == k_size        ? kWhole
                      : k0 == 0           ? kFirst
                      : k0 + kc == k_size ? kLast
                                          : kMiddle;
    // The rows' inputs go to a buffer whose row stride is an odd number of cache lines: with
    // input strides of 1024 or 2048 floats the twelve rows of a tile would otherwise share one
    // L1 set.
    const float* xk = x + k0;
    int64_t ldk = ldx;
    if (buffer != nullptr) {
      const int ldb = BufferStride(kc);
      CopyBlock(xk, rows, ldx, kc, buffer, ldb);
      xk = buffer;
      ldk = ldb;
    }
    for (int panel = panel_begin; panel < panel_end; ++panel) {
      const int col = panel * kPanel;
      const int width = p.out_channels_padded - col < kPanel ? p.out_channels_padded - col : kPanel;
      const int nv = width / kLanes;
      const int valid = p.out_channels - (col + width - kLanes);  // columns of the last vector
      const __mmask16 tail = valid >= kLanes ? static_cast<__mmask16>(0xFFFF)
                                             : static_cast<__mmask16>((1u << valid) - 1u);
      const float* bias = p.bias + col;
      const KernelFn full = nv == 2 ? KernelFor<2>(kMaxRows) : KernelFor<1>(kMaxRows);
      const float* w =
          p.weights + static_cast<size_t>(col) * k_size + static_cast<size_t>(k0) * width;
      int r = 0;
      for (; r + kMaxRows <= rows; r += kMaxRows) {
        full(kc, xk + r * ldk, ldk, w, bias, y + r * ldy + col, ldy, tail, lo, hi, part);
      }
      if (rem > 0) {
        const KernelFn part_rows = nv == 2 ? KernelFor<2>(rem) : KernelFor<1>(rem);
        part_rows(kc, xk + r * ldk, ldk, w, bias, y + r * ldy + col, ldy, tail, lo, hi, part);
      }
    }
  }
}

}  // namespace

ComputeFn Avx512Compute() {
  static const bool supported = __builtin_cpu_supports("avx512f") != 0;
  return supported ? Compute : nullptr;
}

}  // namespace lwai::pointwise_internal

#else  // not x86-64

namespace lwai::pointwise_internal {
ComputeFn Avx512Compute() { return nullptr; }
}  // namespace lwai::pointwise_internal

#endif
