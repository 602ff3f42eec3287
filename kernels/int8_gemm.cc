#include "kernels/int8_gemm.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <string>

#include "runtime/thread_pool.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 warns about _mm512_undefined_ps() inside _mm512_min_ps/_mm512_max_ps.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define LWAI_INT8_X86 1
#define LWAI_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#endif

namespace lwai {
namespace {

constexpr int kRows = Int8GemmWeights::kRowBlock;
constexpr int kColumns = 32;                       // columns per packed panel
constexpr int64_t kPanelQuadBytes = kColumns * 4;  // one depth quad of a panel
// Panels computed against one weight block before moving to the next: their bytes stay in L2.
constexpr int64_t kChunkBytes = 256 * 1024;

struct Tile {
  const int8_t* weights;  // one packed block of kRows rows
  const uint8_t* panel;   // one packed panel of kColumns columns
  int64_t quads;
  int rows, columns;  // valid rows and columns of the tile
  int64_t row0;       // first output row (for the requantization arrays)
  uint8_t* y;         // output element (row0, first column), as bytes
  int64_t ldy;
  // With row constants: d[m] for the weights' rows, and the panel's column byte sums.
  const int32_t* row_constants = nullptr;
  const int32_t* column_sums = nullptr;
  // Consecutive panels of the same rows: `panels` of them, panel_bytes apart in the packed
  // buffer, each kColumns further along Y (`columns` counts the last one's).
  int panels = 1;
  int64_t panel_bytes = 0;
};

// Tile t's panel p as a one-panel tile.
inline Tile PanelOf(const Tile& t, int p, bool y_transposed, int64_t element_bytes) {
  Tile one = t;
  one.panels = 1;
  one.panel = t.panel + p * t.panel_bytes;
  one.column_sums = reinterpret_cast<const int32_t*>(
      reinterpret_cast<const uint8_t*>(t.column_sums) + p * t.panel_bytes);
  if (p + 1 < t.panels) one.columns = kColumns;
  const int64_t step = y_transposed ? kColumns * t.ldy : kColumns;
  one.y = t.y + p * step * element_bytes;
  return one;
}

// The sum's offset for row r of tile t at column c: the row's offset and, with row constants,
// d[m] times the column's byte sum (wrapping, as the SIMD additions do).
inline int32_t TileOffset(const Tile& t, int32_t offset, int r, int c) {
  if (t.row_constants == nullptr) return offset;
  return static_cast<int32_t>(static_cast<uint32_t>(offset) +
                              static_cast<uint32_t>(t.row_constants[t.row0 + r]) *
                                  static_cast<uint32_t>(t.column_sums[c]));
}

// A tile whose output is transposed (Y^T) is computed into a local buffer of kRows rows of
// kColumns values, then copied out column by column: 8 (rows) contiguous values per column.
constexpr int kLocalBytes = kRows * kColumns * 4;

template <typename T>
void CopyTransposed(const T* local, const Tile& t) {
  T* y = reinterpret_cast<T*>(t.y);
  for (int c = 0; c < t.columns; ++c) {
    for (int r = 0; r < t.rows; ++r) y[c * t.ldy + r] = local[r * kColumns + c];
  }
}

void StoreTransposed(const uint8_t* local, const Tile& t, bool float_output) {
  if (float_output) {
    CopyTransposed(reinterpret_cast<const float*>(local), t);
  } else {
    CopyTransposed(local, t);
  }
}

void PortablePanel(const Tile& t, const Int8Requantization& rq) {
  int32_t acc[kRows][kColumns] = {};
  for (int64_t q = 0; q < t.quads; ++q) {
    const int8_t* w = t.weights + q * kRows * 4;
    const uint8_t* b = t.panel + q * kPanelQuadBytes;
    for (int r = 0; r < kRows; ++r) {
      for (int c = 0; c < kColumns; ++c) {
        acc[r][c] += w[r * 4] * b[c * 4] + w[r * 4 + 1] * b[c * 4 + 1] +
                     w[r * 4 + 2] * b[c * 4 + 2] + w[r * 4 + 3] * b[c * 4 + 3];
      }
    }
  }
  const float lo = static_cast<float>(rq.y_min - rq.y_zero_point);
  const float hi = static_cast<float>(rq.y_max - rq.y_zero_point);
  alignas(64) uint8_t local[kLocalBytes];
  uint8_t* const base = rq.y_transposed ? local : t.y;
  const int64_t ld = rq.y_transposed ? kColumns : t.ldy;
  for (int r = 0; r < t.rows; ++r) {
    const int32_t offset = rq.row_offset[t.row0 + r];
    const float scale = rq.row_scale[t.row0 + r];
    if (rq.float_output) {
      float* out = reinterpret_cast<float*>(base) + r * ld;
      const float bias = rq.row_bias != nullptr ? rq.row_bias[t.row0 + r] : 0.0f;
      for (int c = 0; c < t.columns; ++c) {
        const int32_t shifted = static_cast<int32_t>(
            static_cast<uint32_t>(acc[r][c]) + static_cast<uint32_t>(TileOffset(t, offset, r, c)));
        out[c] = std::fma(static_cast<float>(shifted), scale, bias);
      }
      continue;
    }
    uint8_t* out = base + r * ld;
    for (int c = 0; c < t.columns; ++c) {
      const int32_t v =
          Int8Requantize(acc[r][c], TileOffset(t, offset, r, c), scale, lo, hi, rq.y_zero_point);
      out[c] = static_cast<uint8_t>(v & 0xFF);  // two's complement byte for int8 outputs
    }
  }
  if (rq.y_transposed) StoreTransposed(local, t, rq.float_output);
}

void PortableTile(const Tile& t, const Int8Requantization& rq) {
  for (int p = 0; p < t.panels; ++p) {
    PortablePanel(PanelOf(t, p, rq.y_transposed, rq.float_output ? 4 : 1), rq);
  }
}

#ifdef LWAI_INT8_X86
// The first `lanes` (at most 16) of a vector.
inline __mmask16 LaneMask(int64_t lanes) {
  return static_cast<__mmask16>(lanes >= 16 ? 0xFFFF : (1u << lanes) - 1u);
}

// Int8Requantize of 16 sums (with `offset` added), stored as bytes under `mask`.
struct Requantizer {
  __m512 lo, hi;
  __m512i zero_point;
};
LWAI_VNNI inline Requantizer RequantizerOf(const Int8Requantization& rq) {
  return {_mm512_set1_ps(static_cast<float>(rq.y_min - rq.y_zero_point)),
          _mm512_set1_ps(static_cast<float>(rq.y_max - rq.y_zero_point)),
          _mm512_set1_epi32(rq.y_zero_point)};
}
// The 16 requantized bytes.
LWAI_VNNI inline __m128i Requantized(const Requantizer& r, __m512i sum, __m512i offset,
                                     __m512 scale) {
  __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(sum, offset)), scale);
  f = _mm512_min_ps(_mm512_max_ps(f, r.lo), r.hi);
  return _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(f), r.zero_point));
}
LWAI_VNNI inline void StoreRequantized(const Requantizer& r, __m512i sum, __m512i offset,
                                       __m512 scale, __mmask16 mask, uint8_t* out) {
  _mm_mask_storeu_epi8(out, mask, Requantized(r, sum, offset, scale));
}

// A full float tile for Y^T, kept in `local` as 4 blocks of 8 columns, each 8 rows of 8 floats
// ([block][row][column % 8]): two rounds of two-source permutes give each column's 8 rows.
LWAI_VNNI void StoreFloatBlocksTransposed(const float* local, float* y, int64_t ldy) {
  // Round 1: (column j < 4 or j - 4, row r < 4) -> j * 4 + r, from rows r * 8 + j of a pair.
  alignas(64) static constexpr int32_t kLow[16] = {0, 8,  16, 24, 1, 9,  17, 25,
                                                   2, 10, 18, 26, 3, 11, 19, 27};
  alignas(64) static constexpr int32_t kHigh[16] = {4, 12, 20, 28, 5, 13, 21, 29,
                                                    6, 14, 22, 30, 7, 15, 23, 31};
  // Round 2: columns 2k and 2k + 1, rows 0-3 from the first source and 4-7 from the second.
  alignas(64) static constexpr int32_t kPair0[16] = {0, 1, 2, 3, 16, 17, 18, 19,
                                                     4, 5, 6, 7, 20, 21, 22, 23};
  alignas(64) static constexpr int32_t kPair1[16] = {8,  9,  10, 11, 24, 25, 26, 27,
                                                     12, 13, 14, 15, 28, 29, 30, 31};
  const __m512i low = _mm512_load_si512(kLow), high = _mm512_load_si512(kHigh);
  const __m512i pair0 = _mm512_load_si512(kPair0), pair1 = _mm512_load_si512(kPair1);
  for (int block = 0; block < kColumns / 8; ++block) {
    const float* in = local + 64 * block;
    const __m512 rows01 = _mm512_load_ps(in), rows23 = _mm512_load_ps(in + 16);
    const __m512 rows45 = _mm512_load_ps(in + 32), rows67 = _mm512_load_ps(in + 48);
    const __m512 top[2] = {_mm512_permutex2var_ps(rows01, low, rows23),
                           _mm512_permutex2var_ps(rows01, high, rows23)};
    const __m512 bottom[2] = {_mm512_permutex2var_ps(rows45, low, rows67),
                              _mm512_permutex2var_ps(rows45, high, rows67)};
    float* out = y + 8 * block * ldy;
    for (int half = 0; half < 2; ++half) {
      for (int k = 0; k < 2; ++k) {
        const __m512 columns =
            _mm512_permutex2var_ps(top[half], k == 0 ? pair0 : pair1, bottom[half]);
        const int64_t c = 4 * half + 2 * k;
        _mm256_storeu_ps(out + c * ldy, _mm512_castps512_ps256(columns));
        _mm256_storeu_ps(out + (c + 1) * ldy,
                         _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(columns), 1)));
      }
    }
  }
}

#define LWAI_VNNI_VBMI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi")))

bool CpuHasVbmi() {
  static const bool has = __builtin_cpu_supports("avx512vbmi");
  return has;
}

// A full byte tile for Y^T, kept in `local` as 4 blocks of 8 columns, each 8 rows of 8 bytes
// ([block][row][column % 8]): each block is one vpermb away from 8 columns of 8 rows.
LWAI_VNNI_VBMI void StoreBlocksTransposed(const uint8_t* local, uint8_t* y, int64_t ldy) {
  alignas(64) static constexpr uint8_t kIndex[64] = {
      0,  8,  16, 24, 32, 40, 48, 56, 1,  9,  17, 25, 33, 41, 49, 57, 2,  10, 18, 26, 34, 42,
      50, 58, 3,  11, 19, 27, 35, 43, 51, 59, 4,  12, 20, 28, 36, 44, 52, 60, 5,  13, 21, 29,
      37, 45, 53, 61, 6,  14, 22, 30, 38, 46, 54, 62, 7,  15, 23, 31, 39, 47, 55, 63};
  const __m512i index = _mm512_load_si512(kIndex);
  for (int block = 0; block < kColumns / 8; ++block) {
    const __m512i columns = _mm512_permutexvar_epi8(index, _mm512_load_si512(local + 64 * block));
    uint8_t* out = y + 8 * block * ldy;
    // Columns 2p and 2p + 1 are 128-bit lane p (the lane index must be a constant).
    const __m128i lanes[4] = {
        _mm512_extracti32x4_epi32(columns, 0), _mm512_extracti32x4_epi32(columns, 1),
        _mm512_extracti32x4_epi32(columns, 2), _mm512_extracti32x4_epi32(columns, 3)};
    for (int pair = 0; pair < 4; ++pair) {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(out + 2 * pair * ldy), lanes[pair]);
      _mm_storeh_pd(reinterpret_cast<double*>(out + (2 * pair + 1) * ldy),
                    _mm_castsi128_pd(lanes[pair]));
    }
  }
}

// Rows of a tile accumulated together: all 8 rows x 2 vectors, 16 accumulators (with 4 rows,
// 8 accumulators, ResNet-50's 3x3 layer shape ran at 351 GMAC/s per core on AMD Zen 5, with 8:
// 406). The row loops must unroll fully, or the accumulators live in memory at half the rate.
constexpr int kGroupRows = 8;

// How far ahead the micro-kernel prefetches weights (blocks lie one after another). Large weights
// stream from memory once per run; without it a 3x3 layer of ResNet-50's last stage took 0.65 ms
// instead of 0.45 with its weights in cache (0.47 with).
constexpr int kWeightPrefetchBytes = 8192;
template <int kVectors>
LWAI_VNNI inline __attribute__((always_inline)) void VnniTile(const Tile& t,
                                                              const Int8Requantization& rq) {
  const Requantizer requantizer = RequantizerOf(rq);
  alignas(64) uint8_t local[kLocalBytes];
  uint8_t* const base = rq.y_transposed ? local : t.y;
  const int64_t ld = rq.y_transposed ? kColumns : t.ldy;
  // Full byte tiles of Y^T go through 8 x 8 blocks (StoreBlocksTransposed).
  const bool full = kVectors == 2 && rq.y_transposed && t.rows == kRows && t.columns == kColumns;
  const bool blocked = full && !rq.float_output && CpuHasVbmi();
  const bool float_blocked = full && rq.float_output;
  for (int r0 = 0; r0 < t.rows; r0 += kGroupRows) {
    __m512i acc[kGroupRows][kVectors];
    for (int r = 0; r < kGroupRows; ++r) {
      for (int v = 0; v < kVectors; ++v) acc[r][v] = _mm512_setzero_si512();
    }
    const int32_t* w = reinterpret_cast<const int32_t*>(t.weights) + r0;
    const uint8_t* b = t.panel;
#pragma GCC unroll 2
    for (int64_t q = 0; q < t.quads; ++q, w += kRows, b += kPanelQuadBytes) {
      if ((q & 1) == 0) {  // one 64-byte line per two quads
        _mm_prefetch(reinterpret_cast<const char*>(w) + kWeightPrefetchBytes, _MM_HINT_T0);
      }
      __m512i bv[kVectors];
      for (int v = 0; v < kVectors; ++v) bv[v] = _mm512_loadu_si512(b + 64 * v);
#pragma GCC unroll 8
      for (int r = 0; r < kGroupRows; ++r) {
        const __m512i wr = _mm512_set1_epi32(w[r]);
        for (int v = 0; v < kVectors; ++v) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], bv[v], wr);
      }
    }
    for (int g = 0; g < kGroupRows && r0 + g < t.rows; ++g) {
      const int r = r0 + g;
      const __m512i row_offset = _mm512_set1_epi32(rq.row_offset[t.row0 + r]);
      __m512i offsets[kVectors];
      for (int v = 0; v < kVectors; ++v) {
        offsets[v] =
            t.row_constants == nullptr
                ? row_offset
                : _mm512_add_epi32(
                      row_offset, _mm512_mullo_epi32(_mm512_set1_epi32(t.row_constants[t.row0 + r]),
                                                     _mm512_loadu_si512(t.column_sums + 16 * v)));
      }
      const __m512 scale = _mm512_set1_ps(rq.row_scale[t.row0 + r]);
      if (rq.float_output) {
        const __m512 bias = _mm512_set1_ps(rq.row_bias != nullptr ? rq.row_bias[t.row0 + r] : 0.0f);
        float* out = reinterpret_cast<float*>(base) + r * ld;
        for (int v = 0; v < kVectors; ++v) {
          const int lanes = std::min(16, t.columns - 16 * v);
          if (lanes <= 0) break;
          const __m512 f = _mm512_fmadd_ps(
              _mm512_cvtepi32_ps(_mm512_add_epi32(acc[g][v], offsets[v])), scale, bias);
          if (float_blocked) {
            float* blocks = reinterpret_cast<float*>(local) + 128 * v + 8 * r;
            _mm256_store_ps(blocks, _mm512_castps512_ps256(f));
            _mm256_store_ps(blocks + 64,
                            _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1)));
            continue;
          }
          _mm512_mask_storeu_ps(out + 16 * v, LaneMask(lanes), f);
        }
        continue;
      }
      if (blocked) {
        for (int v = 0; v < kVectors; ++v) {
          const __m128i bytes = Requantized(requantizer, acc[g][v], offsets[v], scale);
          _mm_storel_epi64(reinterpret_cast<__m128i*>(local + 128 * v + 8 * r), bytes);
          _mm_storeh_pd(reinterpret_cast<double*>(local + 128 * v + 64 + 8 * r),
                        _mm_castsi128_pd(bytes));
        }
        continue;
      }
      if (t.columns == 16 * kVectors) {  // plain stores (a masked narrowing store is slow)
        for (int v = 0; v < kVectors; ++v) {
          _mm_storeu_si128(reinterpret_cast<__m128i*>(base + r * ld + 16 * v),
                           Requantized(requantizer, acc[g][v], offsets[v], scale));
        }
        continue;
      }
      for (int v = 0; v < kVectors; ++v) {
        const int lanes = std::min(16, t.columns - 16 * v);
        if (lanes <= 0) break;
        StoreRequantized(requantizer, acc[g][v], offsets[v], scale, LaneMask(lanes),
                         base + r * ld + 16 * v);
      }
    }
  }
  if (blocked) {
    StoreBlocksTransposed(local, t.y, t.ldy);
  } else if (float_blocked) {
    StoreFloatBlocksTransposed(reinterpret_cast<const float*>(local), reinterpret_cast<float*>(t.y),
                               t.ldy);
  } else if (rq.y_transposed) {
    StoreTransposed(local, t, rq.float_output);
  }
}

LWAI_VNNI void VnniRequantizeRow(const int32_t* sum, int64_t count, int32_t offset_value,
                                 float scale_value, const Int8Requantization& rq, uint8_t* out) {
  const Requantizer requantizer = RequantizerOf(rq);
  const __m512i offset = _mm512_set1_epi32(offset_value);
  const __m512 scale = _mm512_set1_ps(scale_value);
  for (int64_t i = 0; i < count; i += 16) {
    const __mmask16 mask = LaneMask(count - i);
    StoreRequantized(requantizer, _mm512_maskz_loadu_epi32(mask, sum + i), offset, scale, mask,
                     out + i);
  }
}

LWAI_VNNI void VnniScaledRow(const uint8_t* x, bool is_signed, int32_t zero_point,
                             int32_t multiplier, int64_t count, int32_t offset_value,
                             float scale_value, const Int8Requantization& rq, uint8_t* out) {
  const Requantizer requantizer = RequantizerOf(rq);
  const __m512i offset = _mm512_set1_epi32(offset_value);
  const __m512 scale = _mm512_set1_ps(scale_value);
  const __m512i zero = _mm512_set1_epi32(zero_point), factor = _mm512_set1_epi32(multiplier);
  for (int64_t i = 0; i < count; i += 16) {
    const __mmask16 mask = LaneMask(count - i);
    const __m128i bytes = _mm_maskz_loadu_epi8(mask, x + i);
    const __m512i values = is_signed ? _mm512_cvtepi8_epi32(bytes) : _mm512_cvtepu8_epi32(bytes);
    const __m512i sum = _mm512_mullo_epi32(_mm512_sub_epi32(values, zero), factor);
    StoreRequantized(requantizer, sum, offset, scale, mask, out + i);
  }
}

// Loads 16 inputs of a stride-2 row: the even floats of p[0, 32).
template <int kStride>
LWAI_VNNI __m512 LoadStrided(const float* p, __mmask16 mask) {
  if (kStride == 1) return _mm512_maskz_loadu_ps(mask, p);
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
}

template <int kStride>
LWAI_VNNI void DepthwiseSumsRowAvx512(const float* const* rows, const float* taps, int num_taps,
                                      int64_t count, int32_t* sums) {
  int64_t o = 0;
  // Four independent sums per tap: the FMA latency is hidden.
  for (; o + 64 <= count; o += 64) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    for (int t = 0; t < num_taps; ++t) {
      const __m512 w = _mm512_set1_ps(taps[t]);
      const float* r = rows[t] + o * kStride;
      a0 = _mm512_fmadd_ps(w, LoadStrided<kStride>(r, 0xFFFF), a0);
      a1 = _mm512_fmadd_ps(w, LoadStrided<kStride>(r + 16 * kStride, 0xFFFF), a1);
      a2 = _mm512_fmadd_ps(w, LoadStrided<kStride>(r + 32 * kStride, 0xFFFF), a2);
      a3 = _mm512_fmadd_ps(w, LoadStrided<kStride>(r + 48 * kStride, 0xFFFF), a3);
    }
    _mm512_storeu_si512(sums + o, _mm512_cvttps_epi32(a0));
    _mm512_storeu_si512(sums + o + 16, _mm512_cvttps_epi32(a1));
    _mm512_storeu_si512(sums + o + 32, _mm512_cvttps_epi32(a2));
    _mm512_storeu_si512(sums + o + 48, _mm512_cvttps_epi32(a3));
  }
  for (; o < count; o += 16) {
    const int64_t lanes = std::min<int64_t>(16, count - o);
    const __mmask16 mask = LaneMask(lanes);
    __m512 a = _mm512_setzero_ps();
    for (int t = 0; t < num_taps; ++t) {
      a = _mm512_fmadd_ps(_mm512_set1_ps(taps[t]),
                          LoadStrided<kStride>(rows[t] + o * kStride, mask), a);
    }
    _mm512_mask_storeu_epi32(sums + o, mask, _mm512_cvttps_epi32(a));
  }
}

LWAI_VNNI void CenteredFloatsAvx512(const uint8_t* src, bool is_signed, int32_t zero_point,
                                    int64_t rows, int64_t count, float* dst, int64_t dst_stride) {
  const __m512i zero = _mm512_set1_epi32(zero_point);
  for (int64_t r = 0; r < rows; ++r, src += count, dst += dst_stride) {
    for (int64_t i = 0; i < count; i += 16) {
      const int64_t lanes = std::min<int64_t>(16, count - i);
      const __mmask16 mask = LaneMask(lanes);
      const __m128i bytes = _mm_maskz_loadu_epi8(mask, src + i);
      const __m512i wide = is_signed ? _mm512_cvtepi8_epi32(bytes) : _mm512_cvtepu8_epi32(bytes);
      _mm512_mask_storeu_ps(dst + i, mask, _mm512_cvtepi32_ps(_mm512_sub_epi32(wide, zero)));
    }
  }
}

// min(0, x...) and max(0, x...) over `count` (a multiple of 16) floats, NaNs ignored (the
// instructions return their second operand when one is NaN).
LWAI_VNNI void RangeAvx512(const float* x, int64_t count, float* lo, float* hi) {
  __m512 vlo = _mm512_setzero_ps(), vhi = _mm512_setzero_ps();
  for (int64_t i = 0; i < count; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    vlo = _mm512_min_ps(v, vlo);
    vhi = _mm512_max_ps(v, vhi);
  }
  *lo = std::min(*lo, _mm512_reduce_min_ps(vlo));
  *hi = std::max(*hi, _mm512_reduce_max_ps(vhi));
}

// QuantizeUint8 of `count` (a multiple of 16) floats, with the same operations.
LWAI_VNNI void QuantizeUint8Avx512(const float* x, int64_t count, float scale, int32_t zero_point,
                                   uint8_t* y) {
  const __m512 vscale = _mm512_set1_ps(scale);
  const __m512 vzero = _mm512_set1_ps(static_cast<float>(zero_point));
  const __m512 top = _mm512_set1_ps(255.0f);
  for (int64_t i = 0; i < count; i += 16) {
    __m512 q = _mm512_roundscale_ps(_mm512_div_ps(_mm512_loadu_ps(x + i), vscale),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_add_ps(q, vzero);
    q = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(q, q, _CMP_UNORD_Q), q, vzero);
    q = _mm512_min_ps(_mm512_max_ps(q, _mm512_setzero_ps()), top);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                     _mm512_cvtusepi32_epi8(_mm512_cvtps_epu32(q)));
  }
}

// Byte indices that give each 32-bit lane i the 4 bytes at i * stride + j.
template <int kStride>
struct WindowIndexTable {
  alignas(64) uint8_t bytes[64];
  constexpr WindowIndexTable() : bytes() {
    for (int i = 0; i < 64; ++i) bytes[i] = static_cast<uint8_t>(i / 4 * kStride + i % 4);
  }
};
constexpr WindowIndexTable<1> kWindowIndex1;
constexpr WindowIndexTable<2> kWindowIndex2;

template <int kStride>
LWAI_VNNI_VBMI void DepthwiseRowVbmi(const uint8_t* const* rows, int64_t kh, int64_t kw,
                                     const int8_t* w, int64_t count, int32_t offset_value,
                                     float scale_value, const Int8Requantization& rq, uint8_t* y) {
  const __m512i index = _mm512_load_si512(kStride == 1 ? kWindowIndex1.bytes : kWindowIndex2.bytes);
  const int groups = static_cast<int>((kw + 3) / 4);
  __m512i weights[16];  // [ky][group], kh * groups <= 16
  for (int64_t ky = 0; ky < kh; ++ky) {
    for (int g = 0; g < groups; ++g) {
      int8_t quad[4] = {0, 0, 0, 0};
      for (int j = 0; j < 4 && 4 * g + j < kw; ++j) quad[j] = w[ky * kw + 4 * g + j];
      int32_t packed;
      std::memcpy(&packed, quad, 4);
      weights[ky * groups + g] = _mm512_set1_epi32(packed);
    }
  }
  const Requantizer requantizer = RequantizerOf(rq);
  const __m512i offset = _mm512_set1_epi32(offset_value);
  const __m512 scale = _mm512_set1_ps(scale_value);
  if (kh == 3 && groups == 1) {  // 3x3 and 3x1 kernels, unrolled
    const uint8_t *row0 = rows[0], *row1 = rows[1], *row2 = rows[2];
    for (int64_t o = 0; o < count; o += 16) {
      const int64_t at = o * kStride;
      __m512i acc = _mm512_dpbusd_epi32(
          _mm512_setzero_si512(), _mm512_permutexvar_epi8(index, _mm512_loadu_si512(row0 + at)),
          weights[0]);
      acc = _mm512_dpbusd_epi32(acc, _mm512_permutexvar_epi8(index, _mm512_loadu_si512(row1 + at)),
                                weights[1]);
      acc = _mm512_dpbusd_epi32(acc, _mm512_permutexvar_epi8(index, _mm512_loadu_si512(row2 + at)),
                                weights[2]);
      StoreRequantized(requantizer, acc, offset, scale, LaneMask(count - o), y + o);
    }
    return;
  }
  for (int64_t o = 0; o < count; o += 16) {
    __m512i acc = _mm512_setzero_si512();
    for (int64_t ky = 0; ky < kh; ++ky) {
      const uint8_t* row = rows[ky] + o * kStride;
      for (int g = 0; g < groups; ++g) {
        const __m512i window = _mm512_permutexvar_epi8(index, _mm512_loadu_si512(row + 4 * g));
        acc = _mm512_dpbusd_epi32(acc, window, weights[ky * groups + g]);
      }
    }
    StoreRequantized(requantizer, acc, offset, scale, LaneMask(count - o), y + o);
  }
}

LWAI_VNNI void VnniTileAny(const Tile& t, const Int8Requantization& rq) {
  const int64_t element_bytes = rq.float_output ? 4 : 1;
  for (int p = 0; p < t.panels; ++p) {
    const Tile one = PanelOf(t, p, rq.y_transposed, element_bytes);
    if (one.columns > 16) {
      VnniTile<2>(one, rq);
    } else {
      VnniTile<1>(one, rq);
    }
  }
}

// sums[c] = the byte sum of column c of a packed panel (its padding is zero).
LWAI_VNNI void PanelColumnSumsVnni(const uint8_t* panel, int64_t quads, int32_t* sums) {
  const __m512i ones = _mm512_set1_epi8(1);
  __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
  for (int64_t q = 0; q < quads; ++q, panel += kPanelQuadBytes) {
    s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(panel), ones);
    s1 = _mm512_dpbusd_epi32(s1, _mm512_loadu_si512(panel + 64), ones);
  }
  _mm512_storeu_si512(sums, s0);
  _mm512_storeu_si512(sums + 16, s1);
}

LWAI_VNNI void CopyByteRowsAvx512(const uint8_t* src, int64_t src_stride, uint8_t* dst,
                                  int64_t dst_stride, int64_t rows, int64_t width, uint8_t flip) {
  const __m512i flip_bytes = _mm512_set1_epi8(static_cast<char>(flip));
  if (width <= 16) {  // narrow masked moves are cheaper
    const __mmask16 mask = static_cast<__mmask16>((uint32_t{1} << width) - 1);
    const __m128i flip16 = _mm_set1_epi8(static_cast<char>(flip));
    for (int64_t r = 0; r < rows; ++r, src += src_stride, dst += dst_stride) {
      _mm_mask_storeu_epi8(dst, mask, _mm_xor_si128(_mm_maskz_loadu_epi8(mask, src), flip16));
    }
    return;
  }
  if (width <= 64) {  // one masked move per row
    const __mmask64 mask = width == 64 ? ~__mmask64{0} : (__mmask64{1} << width) - 1;
    for (int64_t r = 0; r < rows; ++r, src += src_stride, dst += dst_stride) {
      const __m512i bytes = _mm512_maskz_loadu_epi8(mask, src);
      _mm512_mask_storeu_epi8(dst, mask, _mm512_xor_si512(bytes, flip_bytes));
    }
    return;
  }
  for (int64_t r = 0; r < rows; ++r, src += src_stride, dst += dst_stride) {
    for (int64_t i = 0; i < width; i += 64) {
      const __mmask64 mask = width - i >= 64 ? ~__mmask64{0} : (__mmask64{1} << (width - i)) - 1;
      const __m512i bytes = _mm512_maskz_loadu_epi8(mask, src + i);
      _mm512_mask_storeu_epi8(dst + i, mask, _mm512_xor_si512(bytes, flip_bytes));
    }
  }
}

// Every other byte (step 2) of short rows: 32 outputs per 64-byte masked load and permute.
LWAI_VNNI_VBMI void CopyEvenByteRowsVbmi(const uint8_t* src, int64_t src_stride, uint8_t* dst,
                                         int64_t dst_stride, int64_t rows, int64_t count) {
  alignas(64) static constexpr struct {
    uint8_t bytes[64];
  } kEven = {{0,  2,  4,  6,  8,  10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30,
              32, 34, 36, 38, 40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 62,
              0,  2,  4,  6,  8,  10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30,
              32, 34, 36, 38, 40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 62}};
  const __m512i even = _mm512_load_si512(kEven.bytes);
  for (int64_t r = 0; r < rows; ++r, src += src_stride, dst += dst_stride) {
    for (int64_t i = 0; i < count; i += 32) {
      const int64_t outputs = std::min<int64_t>(32, count - i);
      const int64_t inputs = 2 * outputs - 1;  // the last output's byte ends the read
      const __mmask64 read = inputs >= 64 ? ~__mmask64{0} : (__mmask64{1} << inputs) - 1;
      const __m512i bytes = _mm512_maskz_loadu_epi8(read, src + 2 * i);
      const __m256i picked = _mm512_castsi512_si256(_mm512_permutexvar_epi8(even, bytes));
      _mm256_mask_storeu_epi8(dst + i, static_cast<__mmask32>((uint64_t{1} << outputs) - 1),
                              picked);
    }
  }
}

bool CpuHasVnni() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512vnni");
  return has;
}
#else
bool CpuHasVnni() { return false; }
#endif

std::atomic<bool> g_force_portable{false};

using TileFn = void (*)(const Tile&, const Int8Requantization&);

TileFn SelectTile() {
#ifdef LWAI_INT8_X86
  if (CpuHasVnni() && !g_force_portable.load(std::memory_order_relaxed)) return VnniTileAny;
#endif
  return PortableTile;
}

void PanelColumnSums(const uint8_t* panel, int64_t quads, int32_t* sums) {
#ifdef LWAI_INT8_X86
  if (CpuHasVnni()) {
    PanelColumnSumsVnni(panel, quads, sums);
    return;
  }
#endif
  for (int c = 0; c < kColumns; ++c) sums[c] = 0;
  for (int64_t q = 0; q < quads; ++q, panel += kPanelQuadBytes) {
    for (int c = 0; c < kColumns; ++c) {
      sums[c] += panel[4 * c] + panel[4 * c + 1] + panel[4 * c + 2] + panel[4 * c + 3];
    }
  }
}

// Packs columns [column0, column0 + 32) of B (zero past `columns`, and past the depth) into one
// panel: panel[q][c][i] = B[4q + i][column0 + c] ^ b_xor.
void PackPanel(const uint8_t* b, int64_t ldb, const int64_t* row_offsets, uint8_t b_xor,
               int64_t depth, int64_t columns, int64_t column0, uint8_t* panel) {
  const int64_t quads = (depth + 3) / 4;
  const int64_t width = std::min<int64_t>(kColumns, columns - column0);
  for (int64_t q = 0; q < quads; ++q) {
    uint8_t* out = panel + q * kPanelQuadBytes;
    const uint8_t* rows[4];
    for (int i = 0; i < 4; ++i) {
      const int64_t k = 4 * q + i;
      rows[i] =
          k < depth ? b + (row_offsets != nullptr ? row_offsets[k] : k * ldb) + column0 : nullptr;
    }
#if defined(__SSE2__)
    if (width == kColumns && rows[3] != nullptr) {
      const __m128i flip = _mm_set1_epi8(static_cast<char>(b_xor));
      for (int half = 0; half < 2; ++half) {
        __m128i r[4];
        for (int i = 0; i < 4; ++i) {
          r[i] = _mm_xor_si128(
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[i] + 16 * half)), flip);
        }
        const __m128i p01lo = _mm_unpacklo_epi8(r[0], r[1]), p01hi = _mm_unpackhi_epi8(r[0], r[1]);
        const __m128i p23lo = _mm_unpacklo_epi8(r[2], r[3]), p23hi = _mm_unpackhi_epi8(r[2], r[3]);
        __m128i* dst = reinterpret_cast<__m128i*>(out + 64 * half);
        _mm_storeu_si128(dst + 0, _mm_unpacklo_epi16(p01lo, p23lo));
        _mm_storeu_si128(dst + 1, _mm_unpackhi_epi16(p01lo, p23lo));
        _mm_storeu_si128(dst + 2, _mm_unpacklo_epi16(p01hi, p23hi));
        _mm_storeu_si128(dst + 3, _mm_unpackhi_epi16(p01hi, p23hi));
      }
      continue;
    }
#endif
    for (int64_t c = 0; c < kColumns; ++c) {
      for (int i = 0; i < 4; ++i) {
        out[c * 4 + i] = rows[i] != nullptr && c < width ? rows[i][c] ^ b_xor : 0;
      }
    }
  }
}

// PackPanel for B stored column by column (b[column * ldb + k], as A's rows are for A * W^T):
// each panel entry is 4 consecutive bytes of one column.
#ifdef LWAI_INT8_X86
// The full quads of a full panel: per quad, two gathers of 16 columns' 4 bytes.
LWAI_VNNI void PackFullQuadsColumnMajor(const uint8_t* b, int64_t ldb, uint8_t b_xor,
                                        int64_t full_quads, uint8_t* panel) {
  const __m512i rows =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(static_cast<int32_t>(ldb)));
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(b_xor));
  const uint8_t* second = b + 16 * ldb;
  for (int64_t q = 0; q < full_quads; ++q, panel += kPanelQuadBytes) {
    const __m512i lo = _mm512_i32gather_epi32(rows, b + 4 * q, 1);
    const __m512i hi = _mm512_i32gather_epi32(rows, second + 4 * q, 1);
    _mm512_storeu_si512(panel, _mm512_xor_si512(lo, flip));
    _mm512_storeu_si512(panel + 64, _mm512_xor_si512(hi, flip));
  }
}
#endif

void PackPanelColumnMajor(const uint8_t* b, int64_t ldb, uint8_t b_xor, int64_t depth,
                          int64_t columns, int64_t column0, uint8_t* panel) {
  const int64_t quads = (depth + 3) / 4, full_quads = depth / 4;
  const int64_t width = std::min<int64_t>(kColumns, columns - column0);
  const uint32_t flip = 0x01010101u * b_xor;
  int64_t first_quad = 0;  // quads packed by gathers
#ifdef LWAI_INT8_X86
  // Gathers take 32-bit byte offsets: columns 15 apart at most from each gather's base.
  if (width == kColumns && CpuHasVnni() && ldb <= (int64_t{1} << 26)) {
    PackFullQuadsColumnMajor(b + column0 * ldb, ldb, b_xor, full_quads, panel);
    first_quad = full_quads;
  }
#endif
  for (int64_t c = 0; c < kColumns; ++c) {
    const uint8_t* column = c < width ? b + (column0 + c) * ldb : nullptr;
    uint8_t* out = panel + first_quad * kPanelQuadBytes + c * 4;
    for (int64_t q = first_quad; q < quads; ++q, out += kPanelQuadBytes) {
      uint32_t v = 0;
      if (column != nullptr && q < full_quads) {
        std::memcpy(&v, column + 4 * q, 4);
        v ^= flip;
      } else if (column != nullptr) {
        uint8_t tail[4] = {0, 0, 0, 0};
        for (int64_t i = 0; 4 * q + i < depth; ++i) tail[i] = column[4 * q + i] ^ b_xor;
        std::memcpy(&v, tail, 4);
      }
      std::memcpy(out, &v, 4);
    }
  }
}

}  // namespace

namespace int8_gemm_internal {
void SetForcePortableForTesting(bool force) { g_force_portable.store(force); }
bool HasVnni() { return CpuHasVnni(); }
}  // namespace int8_gemm_internal

DynamicUint8Parameters DynamicUint8ParametersOf(const float* x, int64_t count) {
  float lo = 0.0f, hi = 0.0f;
  int64_t i = 0;
#ifdef LWAI_INT8_X86
  if (CpuHasVnni() && !g_force_portable.load(std::memory_order_relaxed)) {
    i = count / 16 * 16;
    RangeAvx512(x, i, &lo, &hi);
  }
#endif
  for (; i < count; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  DynamicUint8Parameters p;
  p.scale = (hi == lo ? 1.0f : hi - lo) / 255.0f;
  const float zero_point = std::nearbyint(0.0f - lo / p.scale);
  // NaN when the range is infinite.
  p.zero_point =
      !(zero_point > 0.0f) ? 0 : (zero_point >= 255.0f ? 255 : static_cast<int32_t>(zero_point));
  return p;
}

void QuantizeUint8Row(const float* x, int64_t count, const DynamicUint8Parameters& p, uint8_t* y) {
  int64_t i = 0;
#ifdef LWAI_INT8_X86
  if (CpuHasVnni() && !g_force_portable.load(std::memory_order_relaxed)) {
    i = count / 16 * 16;
    QuantizeUint8Avx512(x, i, p.scale, p.zero_point, y);
  }
#endif
  for (; i < count; ++i) y[i] = QuantizeUint8(x[i], p);
}

Status Int8GemmWeights::CheckSize(int64_t rows, int64_t depth) {
  if (rows < 1 || depth < 1 || rows > (1 << 20) || depth > (1 << 20) ||
      rows * depth > (int64_t{1} << 30)) {
    return InvalidArgument(
        LWAI_MSG("Int8GemmWeights: rows and depth must be in [1, 1048576] with at most "
                 "2^30 weights, got " +
                 std::to_string(rows) + " x " + std::to_string(depth)));
  }
  return Status::Ok();
}

void Int8GemmWeights::Pack(const int8_t* weights, int64_t rows, int64_t depth) {
  rows_ = rows;
  depth_ = depth;
  const int64_t blocks = (rows + kRows - 1) / kRows;
  const int64_t quads = depth_quads();
  packed_.assign(static_cast<size_t>(blocks * quads * kRows * 4), 0);
  row_sums_.assign(static_cast<size_t>(rows), 0);
  for (int64_t m = 0; m < rows; ++m) {
    int8_t* block = packed_.data() + (m / kRows) * quads * kRows * 4;
    const int64_t r = m % kRows;
    int32_t sum = 0;
    for (int64_t k = 0; k < depth; ++k) {
      const int8_t v = weights[m * depth + k];
      block[(k / 4) * kRows * 4 + r * 4 + k % 4] = v;
      sum += v;
    }
    row_sums_[m] = sum;
  }
}

Result<std::unique_ptr<Int8GemmWeights>> Int8GemmWeights::Create(const int8_t* weights,
                                                                 int64_t rows, int64_t depth) {
  if (weights == nullptr) return InvalidArgument(LWAI_MSG("Int8GemmWeights: no weights"));
  LWAI_RETURN_IF_ERROR(CheckSize(rows, depth));
  std::unique_ptr<Int8GemmWeights> w(new Int8GemmWeights());
  w->Pack(weights, rows, depth);
  return w;
}

Result<std::unique_ptr<Int8GemmWeights>> Int8GemmWeights::CreateWithZeroPoints(
    const uint8_t* weights, bool is_signed, const int32_t* zero_points, int64_t num_zero_points,
    int64_t rows, int64_t depth) {
  if (weights == nullptr || zero_points == nullptr ||
      (num_zero_points != 1 && num_zero_points != rows)) {
    return InvalidArgument(LWAI_MSG("Int8GemmWeights: weights with 1 or " + std::to_string(rows) +
                                    " zero points expected, got " +
                                    std::to_string(num_zero_points)));
  }
  LWAI_RETURN_IF_ERROR(CheckSize(rows, depth));
  std::vector<int8_t> values(static_cast<size_t>(rows * depth));
  std::vector<int32_t> constants(static_cast<size_t>(rows), 0);
  bool any_constant = false;
  for (int64_t m = 0; m < rows; ++m) {
    const int32_t z = zero_points[num_zero_points == 1 ? 0 : m];
    const uint8_t* row = weights + m * depth;
    auto centered = [&](int64_t k) {
      return (is_signed ? static_cast<int32_t>(static_cast<int8_t>(row[k])) : row[k]) - z;
    };
    int32_t lo = centered(0), hi = lo;
    for (int64_t k = 1; k < depth; ++k) {
      lo = std::min(lo, centered(k));
      hi = std::max(hi, centered(k));
    }
    // A row spans at most 255 steps, so shifting its top to 127 keeps its bottom >= -128.
    const int32_t d = (lo >= -128 && hi <= 127) ? 0 : hi - 127;
    constants[m] = d;
    any_constant = any_constant || d != 0;
    for (int64_t k = 0; k < depth; ++k)
      values[m * depth + k] = static_cast<int8_t>(centered(k) - d);
  }
  std::unique_ptr<Int8GemmWeights> w(new Int8GemmWeights());
  w->Pack(values.data(), rows, depth);
  for (int64_t m = 0; m < rows; ++m) {
    w->row_sums_[m] =
        static_cast<int32_t>(static_cast<uint32_t>(w->row_sums_[m]) +
                             static_cast<uint32_t>(constants[m]) * static_cast<uint32_t>(depth));
  }
  if (any_constant) w->row_constants_ = std::move(constants);
  return w;
}

void Int8RequantizeRow(const int32_t* sum, int64_t count, int32_t offset, float scale,
                       const Int8Requantization& rq, uint8_t* out) {
#ifdef LWAI_INT8_X86
  if (CpuHasVnni() && !g_force_portable.load(std::memory_order_relaxed)) {
    VnniRequantizeRow(sum, count, offset, scale, rq, out);
    return;
  }
#endif
  const float lo = static_cast<float>(rq.y_min - rq.y_zero_point);
  const float hi = static_cast<float>(rq.y_max - rq.y_zero_point);
  for (int64_t i = 0; i < count; ++i) {
    out[i] =
        static_cast<uint8_t>(Int8Requantize(sum[i], offset, scale, lo, hi, rq.y_zero_point) & 0xFF);
  }
}

void Int8ScaledRow(const uint8_t* x, bool is_signed, int32_t zero_point, int32_t multiplier,
                   int64_t count, int32_t offset, float scale, const Int8Requantization& rq,
                   uint8_t* out) {
#ifdef LWAI_INT8_X86
  if (CpuHasVnni() && !g_force_portable.load(std::memory_order_relaxed)) {
    VnniScaledRow(x, is_signed, zero_point, multiplier, count, offset, scale, rq, out);
    return;
  }
#endif
  const float lo = static_cast<float>(rq.y_min - rq.y_zero_point);
  const float hi = static_cast<float>(rq.y_max - rq.y_zero_point);
  for (int64_t i = 0; i < count; ++i) {
    const int32_t value = is_signed ? static_cast<int8_t>(x[i]) : x[i];
    const int32_t sum = static_cast<int32_t>(static_cast<uint32_t>(value - zero_point) *
                                             static_cast<uint32_t>(multiplier));
    out[i] =
        static_cast<uint8_t>(Int8Requantize(sum, offset, scale, lo, hi, rq.y_zero_point) & 0xFF);
  }
}

bool Int8DepthwiseRowSupported(int64_t kw, int64_t stride) {
#ifdef LWAI_INT8_X86
  return CpuHasVnni() && CpuHasVbmi() && !g_force_portable.load(std::memory_order_relaxed) &&
         kw >= 1 && kw <= 8 && (stride == 1 || stride == 2);
#else
  (void)kw;
  (void)stride;
  return false;
#endif
}

void Int8DepthwiseRow(const uint8_t* const* rows, int64_t kh, int64_t kw, int64_t stride,
                      const int8_t* w, int64_t count, int32_t offset, float scale,
                      const Int8Requantization& rq, uint8_t* y) {
#ifdef LWAI_INT8_X86
  if (kh <= 8 && Int8DepthwiseRowSupported(kw, stride)) {
    if (stride == 1) {
      DepthwiseRowVbmi<1>(rows, kh, kw, w, count, offset, scale, rq, y);
    } else {
      DepthwiseRowVbmi<2>(rows, kh, kw, w, count, offset, scale, rq, y);
    }
    return;
  }
#endif
  const float lo = static_cast<float>(rq.y_min - rq.y_zero_point);
  const float hi = static_cast<float>(rq.y_max - rq.y_zero_point);
  for (int64_t o = 0; o < count; ++o) {
    int32_t sum = 0;
    for (int64_t ky = 0; ky < kh; ++ky) {
      for (int64_t kx = 0; kx < kw; ++kx) sum += w[ky * kw + kx] * rows[ky][o * stride + kx];
    }
    y[o] = static_cast<uint8_t>(Int8Requantize(sum, offset, scale, lo, hi, rq.y_zero_point) & 0xFF);
  }
}

void DepthwiseSumsRow(const float* const* rows, const float* taps, int num_taps, int64_t stride,
                      int64_t count, int32_t* sums) {
#ifdef LWAI_INT8_X86
  if (CpuHasVnni() && !g_force_portable.load(std::memory_order_relaxed)) {
    if (stride == 1) return DepthwiseSumsRowAvx512<1>(rows, taps, num_taps, count, sums);
    if (stride == 2) return DepthwiseSumsRowAvx512<2>(rows, taps, num_taps, count, sums);
  }
#endif
  for (int64_t o = 0; o < count; ++o) {
    float a = 0.0f;
    for (int t = 0; t < num_taps; ++t) a += taps[t] * rows[t][o * stride];
    sums[o] = static_cast<int32_t>(a);
  }
}

void CenteredFloats(const uint8_t* src, bool is_signed, int32_t zero_point, int64_t rows,
                    int64_t count, float* dst, int64_t dst_stride) {
#ifdef LWAI_INT8_X86
  if (CpuHasVnni() && !g_force_portable.load(std::memory_order_relaxed)) {
    CenteredFloatsAvx512(src, is_signed, zero_point, rows, count, dst, dst_stride);
    return;
  }
#endif
  for (int64_t r = 0; r < rows; ++r, src += count, dst += dst_stride) {
    for (int64_t i = 0; i < count; ++i) {
      const int32_t v = is_signed ? static_cast<int8_t>(src[i]) : src[i];
      dst[i] = static_cast<float>(v - zero_point);
    }
  }
}

void CopyByteRows(const uint8_t* src, int64_t src_stride, uint8_t* dst, int64_t dst_stride,
                  int64_t rows, int64_t width, uint8_t flip) {
#ifdef LWAI_INT8_X86
  if (CpuHasVnni()) {
    CopyByteRowsAvx512(src, src_stride, dst, dst_stride, rows, width, flip);
    return;
  }
#endif
  for (int64_t r = 0; r < rows; ++r, src += src_stride, dst += dst_stride) {
    if (flip == 0) {
      std::memcpy(dst, src, static_cast<size_t>(width));
    } else {
      for (int64_t i = 0; i < width; ++i) dst[i] = src[i] ^ flip;
    }
  }
}

void CopyByteRowsStrided(const uint8_t* src, int64_t src_stride, int64_t step, uint8_t* dst,
                         int64_t dst_stride, int64_t rows, int64_t count) {
  if (step == 1) {
    CopyByteRows(src, src_stride, dst, dst_stride, rows, count, 0);
    return;
  }
#ifdef LWAI_INT8_X86
  if (step == 2 && CpuHasVnni() && CpuHasVbmi()) {
    CopyEvenByteRowsVbmi(src, src_stride, dst, dst_stride, rows, count);
    return;
  }
#endif
  for (int64_t r = 0; r < rows; ++r, src += src_stride, dst += dst_stride) {
    for (int64_t i = 0; i < count; ++i) dst[i] = src[i * step];
  }
}

namespace {

// Panels per chunk: what fits kChunkBytes, and few enough that every thread gets chunks of its
// own when there are enough panels.
int64_t PanelsPerChunk(int64_t panels, int64_t panel_bytes, int threads) {
  const int64_t fits = std::max<int64_t>(1, kChunkBytes / panel_bytes);
  const int64_t shared = std::max<int64_t>(1, (panels + threads - 1) / threads);
  return std::min(fits, shared);
}

}  // namespace

// A packed panel followed by its 32 column sums (used with row constants).
int64_t PanelBytes(int64_t quads) { return quads * kPanelQuadBytes + kColumns * 4; }

size_t Int8GemmScratchBytes(int64_t depth, int64_t columns, int threads) {
  threads = std::max(threads, 1);
  const int64_t panel_bytes = PanelBytes((depth + 3) / 4);
  const int64_t panels = (columns + kColumns - 1) / kColumns;
  return static_cast<size_t>(threads * PanelsPerChunk(panels, panel_bytes, threads) * panel_bytes) +
         64;
}

void Int8Gemm(const Int8GemmWeights& w, const uint8_t* b, int64_t ldb, uint8_t b_xor,
              int64_t columns, const Int8Requantization& rq, void* y, int64_t ldy, void* scratch,
              ThreadPool* pool, bool b_column_major, const int64_t* b_row_offsets) {
  const int tasks = pool != nullptr ? pool->num_threads() : 1;
  const int64_t quads = w.depth_quads();
  const int64_t panel_bytes = PanelBytes(quads);
  const int64_t panels = (columns + kColumns - 1) / kColumns;
  const int64_t blocks = (w.rows() + kRows - 1) / kRows;
  const int64_t per_chunk = PanelsPerChunk(panels, panel_bytes, tasks);
  const int64_t full_chunks = panels / per_chunk;
  const int64_t last_panels = panels % per_chunk;  // of a last, smaller chunk
  const int64_t full_tiles = full_chunks * blocks * per_chunk;
  const int64_t tiles = panels * blocks;
  const TileFn tile_fn = SelectTile();
  const int64_t element_bytes = rq.float_output ? 4 : 1;
  // Each task takes an equal share of the tiles in the order chunk of panels, row block, panel,
  // and packs the panels of each chunk it meets into its own buffer right before using them
  // (from L2 then), reusing a block's weights from L1 across the chunk's panels. No thread waits
  // for another's packing.
  auto run_task = [&](int64_t task) {
    uint8_t* buffer = static_cast<uint8_t*>(scratch) + task * per_chunk * panel_bytes;
    int64_t packed_chunk = -1;
    Tile t;
    t.quads = quads;
    t.ldy = ldy;
    t.row_constants = w.row_constants();
    const int64_t begin = tiles * task / tasks, end = tiles * (task + 1) / tasks;
    for (int64_t item = begin; item < end; ++item) {
      int64_t block, panel;
      if (item < full_tiles) {
        const int64_t rest = item % (blocks * per_chunk);
        block = rest / per_chunk;
        panel = item / (blocks * per_chunk) * per_chunk + rest % per_chunk;
      } else {
        const int64_t rest = item - full_tiles;
        block = rest / last_panels;
        panel = full_chunks * per_chunk + rest % last_panels;
      }
      const int64_t chunk = panel / per_chunk;
      if (chunk != packed_chunk) {
        const int64_t first = chunk * per_chunk, last = std::min(panels, first + per_chunk);
        for (int64_t p = first; p < last; ++p) {
          uint8_t* packed = buffer + (p - first) * panel_bytes;
          if (b_column_major) {
            PackPanelColumnMajor(b, ldb, b_xor, w.depth(), columns, p * kColumns, packed);
          } else {
            PackPanel(b, ldb, b_row_offsets, b_xor, w.depth(), columns, p * kColumns, packed);
          }
          if (t.row_constants != nullptr) {
            PanelColumnSums(packed, quads,
                            reinterpret_cast<int32_t*>(packed + quads * kPanelQuadBytes));
          }
        }
        packed_chunk = chunk;
      }
      // This block's next panels of the chunk (those of this task) in one call.
      const int64_t chunk_end = std::min(panels, (chunk + 1) * per_chunk);
      const int64_t count = std::min(chunk_end - panel, end - item);
      const int64_t last = panel + count - 1;
      t.weights = w.block(block);
      t.rows = static_cast<int>(std::min<int64_t>(kRows, w.rows() - block * kRows));
      t.row0 = block * kRows;
      t.panel = buffer + (panel - chunk * per_chunk) * panel_bytes;
      t.column_sums = reinterpret_cast<const int32_t*>(t.panel + quads * kPanelQuadBytes);
      t.panels = static_cast<int>(count);
      t.panel_bytes = panel_bytes;
      t.columns = static_cast<int>(std::min<int64_t>(kColumns, columns - last * kColumns));
      const int64_t first =
          rq.y_transposed ? panel * kColumns * ldy + t.row0 : t.row0 * ldy + panel * kColumns;
      t.y = static_cast<uint8_t*>(y) + first * element_bytes;
      tile_fn(t, rq);
      item += count - 1;
    }
  };
  if (tasks == 1) {
    run_task(0);
    return;
  }
  pool->ParallelFor(tasks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) run_task(task);
  });
}

}  // namespace lwai
