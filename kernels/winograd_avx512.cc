// AVX-512 implementation of the Winograd F(4x4, 3x3) stages (see winograd.cc). Compiled for
// any x86-64 target through function attributes; used only when the CPU has AVX-512F.
#include "kernels/winograd_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 warns about _mm512_undefined_ps() inside _mm512_min_ps/_mm512_max_ps.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <limits>

#define LWAI_AVX512 __attribute__((target("avx512f,avx512vl,fma")))
#define LWAI_AVX512_INLINE inline __attribute__((always_inline, target("avx512f,avx512vl,fma")))

namespace lwai::winograd_internal {
namespace {

using Packed = Winograd3x3::Packed;

constexpr int kRows = 6;  // GEMM micro-kernel rows (x up to 4 vectors of 16 columns)

LWAI_AVX512_INLINE __mmask16 TailMask(int lanes) {
  return lanes >= kLanes ? static_cast<__mmask16>(0xFFFF)
                         : static_cast<__mmask16>((1u << lanes) - 1u);
}

// r = B^T d for six vectors.
LWAI_AVX512_INLINE void InputRow(const __m512 d[6], __m512 r[6]) {
  const __m512 four = _mm512_set1_ps(4.0f);
  const __m512 five = _mm512_set1_ps(5.0f);
  const __m512 t0 = _mm512_fnmadd_ps(four, d[2], d[4]);  // d4 - 4 d2
  const __m512 t1 = _mm512_fnmadd_ps(four, d[1], d[3]);  // d3 - 4 d1
  const __m512 t2 = _mm512_sub_ps(d[4], d[2]);
  const __m512 t3 = _mm512_add_ps(_mm512_sub_ps(d[3], d[1]), _mm512_sub_ps(d[3], d[1]));
  r[0] = _mm512_fmadd_ps(four, d[0], _mm512_fnmadd_ps(five, d[2], d[4]));
  r[1] = _mm512_add_ps(t0, t1);
  r[2] = _mm512_sub_ps(t0, t1);
  r[3] = _mm512_add_ps(t2, t3);
  r[4] = _mm512_sub_ps(t2, t3);
  r[5] = _mm512_fmadd_ps(four, d[1], _mm512_fnmadd_ps(five, d[3], d[5]));
}

// o = A^T m for six vectors.
LWAI_AVX512_INLINE void OutputRow(const __m512 m[6], __m512 o[4]) {
  const __m512 a = _mm512_add_ps(m[1], m[2]);
  const __m512 b = _mm512_sub_ps(m[1], m[2]);
  const __m512 c = _mm512_add_ps(m[3], m[4]);
  const __m512 d = _mm512_sub_ps(m[3], m[4]);
  o[0] = _mm512_add_ps(_mm512_add_ps(m[0], a), c);
  o[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d, b);
  o[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), c, a);
  o[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d, b), m[5]);
}

LWAI_AVX512 void InputTransform(const Geometry& g, const Packed& p, int64_t tile_begin, int count,
                                int chunk_begin, int chunk_end, const BlockBuffers& buf) {
  const size_t vs = buf.v_point_stride;
  for (int row = 0; row < count; ++row) {
    const TileOrigin origin = LocateTile(g, tile_begin + row);
    const int64_t n = origin.image;
    const int y0 = origin.y - g.pad_top;
    const int x0 = origin.x - g.pad_left;
    const float* image = g.input + n * g.height * g.width * static_cast<int64_t>(g.input_stride);
    const bool interior = y0 >= 0 && y0 + kAlpha <= g.height && x0 >= 0 && x0 + kAlpha <= g.width;
    float* dst_row = buf.v + static_cast<size_t>(row) * buf.ldv;
    for (int chunk = chunk_begin; chunk < chunk_end; ++chunk) {
      const int c0 = chunk * kLanes;
      const __mmask16 mask = TailMask(p.in_channels - c0);
      __m512 t[6][6];
      for (int i = 0; i < 6; ++i) {
        const int y = y0 + i;
        __m512 d[6];
        if (interior) {
          const float* src = image + (static_cast<int64_t>(y) * g.width + x0) * g.input_stride + c0;
          for (int j = 0; j < 6; ++j) d[j] = _mm512_maskz_loadu_ps(mask, src + j * g.input_stride);
        } else if (y < 0 || y >= g.height) {
          for (int j = 0; j < 6; ++j) t[i][j] = _mm512_setzero_ps();
          continue;
        } else {
          const float* src = image + (static_cast<int64_t>(y) * g.width + x0) * g.input_stride + c0;
          for (int j = 0; j < 6; ++j) {
            const int x = x0 + j;
            d[j] = (x >= 0 && x < g.width)
                       ? _mm512_maskz_loadu_ps(mask, src + static_cast<int64_t>(j) * g.input_stride)
                       : _mm512_setzero_ps();
          }
        }
        InputRow(d, t[i]);
      }
      float* dst = dst_row + c0;
      for (int j = 0; j < 6; ++j) {
        const __m512 col[6] = {t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j]};
        __m512 r[6];
        InputRow(col, r);
        for (int i = 0; i < 6; ++i) _mm512_store_ps(dst + (i * 6 + j) * vs, r[i]);
      }
    }
  }
}

// c[MR x 16 NV] = a[MR x k] * b[k x 16 NV]; rows of a lda apart, of b ldb apart (aligned).
template <int MR, int NV>
LWAI_AVX512 void Kernel(int k_size, const float* a, size_t lda, const float* b, size_t ldb,
                        float* c, size_t ldc) {
  __m512 acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[r][j] = _mm512_setzero_ps();
  }
  const float* a_rows[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) a_rows[r] = a + r * lda;
  for (int k = 0; k < k_size; ++k) {
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = _mm512_load_ps(b + j * 16);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(a_rows[r][k]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[r][j] = _mm512_fmadd_ps(av, bv[j], acc[r][j]);
    }
    b += ldb;
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) _mm512_store_ps(c + r * ldc + j * 16, acc[r][j]);
  }
}

using KernelFn = void (*)(int, const float*, size_t, const float*, size_t, float*, size_t);

template <int MR>
constexpr KernelFn KernelFor(int nv) {
  return nv == 1   ? Kernel<MR, 1>
         : nv == 2 ? Kernel<MR, 2>
         : nv == 3 ? Kernel<MR, 3>
                   : Kernel<MR, 4>;
}

KernelFn KernelTable(int mr, int nv) {
  switch (mr) {
    case 1:
      return KernelFor<1>(nv);
    case 2:
      return KernelFor<2>(nv);
    case 3:
      return KernelFor<3>(nv);
    case 4:
      return KernelFor<4>(nv);
    case 5:
      return KernelFor<5>(nv);
    default:
      return KernelFor<6>(nv);
  }
}

void Gemm(const Packed& p, int xi, int col_begin, int col_end, int rows, const BlockBuffers& buf) {
  const float* a = buf.v + xi * buf.v_point_stride;
  const float* weights = p.weights + xi * PointStride(p);
  for (int col = col_begin; col < col_end;) {
    const int panel = col / kPanel;
    const int width = PanelWidth(p, panel);
    const int end = std::min(col_end, panel * kPanel + width);
    const int nv = (end - col) / kLanes;
    const float* w = weights + PanelOffset(p, panel) + (col - panel * kPanel);
    float* c = buf.m + xi * buf.m_point_stride + col;
    const KernelFn full = KernelTable(kRows, nv);
    int r0 = 0;
    for (; r0 + kRows <= rows; r0 += kRows) {
      full(p.in_channels, a + static_cast<size_t>(r0) * buf.ldv, buf.ldv, w, width,
           c + static_cast<size_t>(r0) * buf.ldm, buf.ldm);
    }
    if (r0 < rows) {
      KernelTable(rows - r0, nv)(p.in_channels, a + static_cast<size_t>(r0) * buf.ldv, buf.ldv, w,
                                 width, c + static_cast<size_t>(r0) * buf.ldm, buf.ldm);
    }
    col = end;
  }
}

LWAI_AVX512 void OutputTransform(const Geometry& g, const Packed& p, int64_t tile_begin, int count,
                                 int chunk_begin, int chunk_end, const BlockBuffers& buf) {
  const size_t ms = buf.m_point_stride;
  const __m512 vmin = _mm512_set1_ps(g.activation_min);
  const __m512 vmax = _mm512_set1_ps(g.activation_max);
  const bool clamp = g.activation_min > -std::numeric_limits<float>::max() ||
                     g.activation_max < std::numeric_limits<float>::max();
  const int64_t os = g.output_stride;
  for (int row = 0; row < count; ++row) {
    const TileOrigin origin = LocateTile(g, tile_begin + row);
    const int64_t n = origin.image;
    const int oy0 = origin.y;
    const int ox0 = origin.x;
    const int rows_valid = std::min(kTile, g.out_height - oy0);
    const int cols_valid = std::min(kTile, g.out_width - ox0);
    float* out = g.output + ((n * g.out_height + oy0) * g.out_width + ox0) * os;
    const float* src_row = buf.m + static_cast<size_t>(row) * buf.ldm;
    for (int chunk = chunk_begin; chunk < chunk_end; ++chunk) {
      const int c0 = chunk * kLanes;
      const __mmask16 mask = TailMask(p.out_channels - c0);
      const float* src = src_row + c0;
      __m512 t[6][4];
      for (int i = 0; i < 6; ++i) {
        __m512 m[6];
        for (int j = 0; j < 6; ++j) m[j] = _mm512_load_ps(src + (i * 6 + j) * ms);
        // Column 1 of A^T is all ones, so a constant added to point (1, 1) reaches every
        // output of the tile: the bias costs one add per tile instead of sixteen.
        if (i == 1) m[1] = _mm512_add_ps(m[1], _mm512_load_ps(p.bias + c0));
        OutputRow(m, t[i]);
      }
      for (int j = 0; j < 4; ++j) {
        if (j >= cols_valid) break;
        const __m512 col[6] = {t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j]};
        __m512 o[4];
        OutputRow(col, o);
        float* dst = out + j * os + c0;
        for (int r = 0; r < 4; ++r) {
          if (r >= rows_valid) break;
          const __m512 v = clamp ? _mm512_min_ps(_mm512_max_ps(o[r], vmin), vmax) : o[r];
          _mm512_mask_storeu_ps(dst + r * g.out_width * os, mask, v);
        }
      }
    }
  }
}

const Impl kAvx512Impl = {InputTransform, Gemm, OutputTransform};

}  // namespace

const Impl* Avx512Impl() {
  static const bool supported = __builtin_cpu_supports("avx512f") != 0;
  return supported ? &kAvx512Impl : nullptr;
}

}  // namespace lwai::winograd_internal

#else  // not x86-64

namespace lwai::winograd_internal {
const Impl* Avx512Impl() { return nullptr; }
}  // namespace lwai::winograd_internal

#endif
