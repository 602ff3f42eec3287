#include "kernels/int8_elementwise.h"

#include <algorithm>
#include <cmath>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 warns about _mm512_undefined_ps() inside _mm512_min_ps/_mm512_max_ps.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define LWAI_INT8_ELEMENTWISE_X86 1
#define LWAI_AVX512BW __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#endif

namespace lwai {
namespace {

template <bool kSigned>
int32_t Load(const uint8_t* p) {
  return kSigned ? static_cast<int32_t>(static_cast<int8_t>(*p)) : static_cast<int32_t>(*p);
}

template <bool kSigned>
void PortableRow(const QLinearBinaryParams& p, const uint8_t* a, const uint8_t* b, int b_step,
                 int64_t count, uint8_t* c) {
  for (int64_t i = 0; i < count; ++i) {
    const int32_t v = QLinearBinaryValue(p, Load<kSigned>(a + i), Load<kSigned>(b + i * b_step));
    c[i] = static_cast<uint8_t>(v & 0xFF);
  }
}

#ifdef LWAI_INT8_ELEMENTWISE_X86
bool CpuHasAvx512Bw() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
  return has;
}

template <bool kSigned>
LWAI_AVX512BW __m512i Widen(__mmask16 mask, const uint8_t* p) {
  const __m128i bytes = _mm_maskz_loadu_epi8(mask, p);
  return kSigned ? _mm512_cvtepi8_epi32(bytes) : _mm512_cvtepu8_epi32(bytes);
}

template <bool kSigned>
LWAI_AVX512BW void Avx512Row(const QLinearBinaryParams& p, const uint8_t* a, const uint8_t* b,
                             int b_step, int64_t count, uint8_t* c) {
  const __m512i za = _mm512_set1_epi32(p.a_zero_point), zb = _mm512_set1_epi32(p.b_zero_point);
  const __m512i zc = _mm512_set1_epi32(p.c_zero_point);
  const __m512 ra = _mm512_set1_ps(p.a_ratio), rb = _mm512_set1_ps(p.b_ratio);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(p.c_min - p.c_zero_point));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(p.c_max - p.c_zero_point));
  const __m512i b_broadcast = _mm512_set1_epi32(Load<kSigned>(b));
  for (int64_t i = 0; i < count; i += 16) {
    const int64_t lanes = std::min<int64_t>(16, count - i);
    const __mmask16 mask = static_cast<__mmask16>(lanes == 16 ? 0xFFFF : (1u << lanes) - 1u);
    const __m512i av = _mm512_sub_epi32(Widen<kSigned>(mask, a + i), za);
    const __m512i bv = _mm512_sub_epi32(b_step ? Widen<kSigned>(mask, b + i) : b_broadcast, zb);
    __m512 v;
    if (p.multiply) {
      v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_mullo_epi32(av, bv)), ra);
    } else {
      v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(av), ra, _mm512_mul_ps(_mm512_cvtepi32_ps(bv), rb));
    }
    v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), zc);
    _mm_mask_storeu_epi8(c + i, mask, _mm512_cvtepi32_epi8(q));
  }
}
LWAI_AVX512BW void MaxIntoAvx512(uint8_t* acc, const uint8_t* src, int64_t count, bool is_signed) {
  for (int64_t i = 0; i < count; i += 64) {
    const int64_t lanes = std::min<int64_t>(64, count - i);
    const __mmask64 mask = lanes == 64 ? ~__mmask64{0} : (__mmask64{1} << lanes) - 1;
    const __m512i a = _mm512_maskz_loadu_epi8(mask, acc + i);
    const __m512i b = _mm512_maskz_loadu_epi8(mask, src + i);
    _mm512_mask_storeu_epi8(acc + i, mask,
                            is_signed ? _mm512_max_epi8(a, b) : _mm512_max_epu8(a, b));
  }
}

bool CpuHasVbmi() {
  static const bool has = CpuHasAvx512Bw() && __builtin_cpu_supports("avx512vbmi");
  return has;
}

__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void LookupAvx512(const uint8_t* table,
                                                                         const uint8_t* src,
                                                                         int64_t count,
                                                                         uint8_t* dst) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  for (int64_t i = 0; i < count; i += 64) {
    const int64_t lanes = std::min<int64_t>(64, count - i);
    const __mmask64 mask = lanes == 64 ? ~__mmask64{0} : (__mmask64{1} << lanes) - 1;
    const __m512i index = _mm512_maskz_loadu_epi8(mask, src + i);
    // Entries 0-127 from t0:t1, 128-255 from t2:t3 (the permutes use the low 7 index bits).
    const __m512i low = _mm512_permutex2var_epi8(t0, index, t1);
    const __m512i high = _mm512_permutex2var_epi8(t2, index, t3);
    const __m512i value = _mm512_mask_blend_epi8(_mm512_movepi8_mask(index), low, high);
    _mm512_mask_storeu_epi8(dst + i, mask, value);
  }
}
#endif

}  // namespace

void Int8RequantizeTable(bool is_signed, float x_scale, int32_t x_zero_point, float y_scale,
                         int32_t y_zero_point, uint8_t table[256]) {
  const int32_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
  const float ratio = x_scale / y_scale;
  const float lo_f = static_cast<float>(lo - y_zero_point);
  const float hi_f = static_cast<float>(hi - y_zero_point);
  for (int b = 0; b < 256; ++b) {
    const int32_t x = is_signed ? static_cast<int8_t>(b) : b;
    float v = static_cast<float>(x - x_zero_point) * ratio;
    v = v > lo_f ? v : lo_f;  // NaN goes to the lower bound
    v = v < hi_f ? v : hi_f;
    table[b] =
        static_cast<uint8_t>((static_cast<int32_t>(std::nearbyint(v)) + y_zero_point) & 0xFF);
  }
}

void Int8LookupRow(const uint8_t* table, const uint8_t* src, int64_t count, uint8_t* dst) {
#ifdef LWAI_INT8_ELEMENTWISE_X86
  if (CpuHasVbmi()) {
    LookupAvx512(table, src, count, dst);
    return;
  }
#endif
  for (int64_t i = 0; i < count; ++i) dst[i] = table[src[i]];
}

void Int8MaxInto(uint8_t* acc, const uint8_t* src, int64_t count, bool is_signed) {
#ifdef LWAI_INT8_ELEMENTWISE_X86
  if (CpuHasAvx512Bw()) {
    MaxIntoAvx512(acc, src, count, is_signed);
    return;
  }
#endif
  for (int64_t i = 0; i < count; ++i) {
    if (is_signed) {
      acc[i] =
          static_cast<uint8_t>(std::max(static_cast<int8_t>(acc[i]), static_cast<int8_t>(src[i])));
    } else {
      acc[i] = std::max(acc[i], src[i]);
    }
  }
}

void QLinearBinaryRow(const QLinearBinaryParams& p, bool is_signed, const uint8_t* a,
                      const uint8_t* b, int b_step, int64_t count, uint8_t* c) {
#ifdef LWAI_INT8_ELEMENTWISE_X86
  if (CpuHasAvx512Bw()) {
    if (is_signed) {
      Avx512Row<true>(p, a, b, b_step, count, c);
    } else {
      Avx512Row<false>(p, a, b, b_step, count, c);
    }
    return;
  }
#endif
  if (is_signed) {
    PortableRow<true>(p, a, b, b_step, count, c);
  } else {
    PortableRow<false>(p, a, b, b_step, count, c);
  }
}

}  // namespace lwai
