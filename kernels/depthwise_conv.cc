#include "kernels/depthwise_conv.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>

#include "runtime/thread_pool.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 warns about _mm512_undefined_ps() inside _mm512_min_ps/_mm512_max_ps.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#define LWAI_DEPTHWISE_AVX512 1
#define LWAI_AVX512 __attribute__((target("avx512f,avx512vl,fma")))
#endif

namespace lwai {
namespace {

constexpr int kLanes = 16;
constexpr int kBlock = 8;  // interior pixels per register block

std::atomic<bool> g_force_portable{false};

// Taps [*k0, *k1) of a kernel axis that land inside [0, size) for output coordinate o.
void TapRange(int o, int stride, int dilation, int pad, int size, int kernel, int* k0, int* k1) {
  const int64_t start = static_cast<int64_t>(o) * stride - pad;
  if (start > size - 1) {
    *k0 = *k1 = 0;
    return;
  }
  const int64_t lo = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
  const int64_t hi = (size - 1 - start) / dilation + 1;  // exclusive
  *k0 = static_cast<int>(std::min<int64_t>(lo, kernel));
  *k1 = static_cast<int>(std::max<int64_t>(*k0, std::min<int64_t>(hi, kernel)));
}

// What one output row needs: its input rows' valid taps and the interior columns, where the
// whole kernel width lies inside the image.
struct RowSpan {
  int ky0 = 0, ky1 = 0;
  int interior_begin = 0, interior_end = 0;
};

RowSpan MakeRowSpan(const DepthwiseGeometry& g, int oy) {
  RowSpan r;
  TapRange(oy, g.stride_h, g.dilation_h, g.pad_top, g.height, g.kernel_h, &r.ky0, &r.ky1);
  const int64_t reach = static_cast<int64_t>(g.kernel_w - 1) * g.dilation_w;
  const int64_t begin = (g.pad_left + g.stride_w - 1) / g.stride_w;
  const int64_t last_start = static_cast<int64_t>(g.width) - 1 + g.pad_left - reach;
  const int64_t end = last_start < 0 ? 0 : last_start / g.stride_w + 1;
  r.interior_begin = static_cast<int>(std::min<int64_t>(begin, g.out_width));
  r.interior_end = static_cast<int>(std::clamp<int64_t>(end, r.interior_begin, g.out_width));
  return r;
}

struct RowArgs {
  const DepthwiseGeometry* g;
  const float* image;  // the batch element's first pixel
  int in_stride;
  float* out_row;  // the output row's first pixel
  int out_stride;
  int oy;
  int channels, padded;
  const float* weights;  // [taps][padded]
  const float* bias;     // [padded]
  float lo, hi;
};

void PortableRow(const RowArgs& a, const RowSpan& span) {
  const DepthwiseGeometry& g = *a.g;
  for (int ox = 0; ox < g.out_width; ++ox) {
    int kx0, kx1;
    TapRange(ox, g.stride_w, g.dilation_w, g.pad_left, g.width, g.kernel_w, &kx0, &kx1);
    float* dst = a.out_row + static_cast<int64_t>(ox) * a.out_stride;
    for (int c = 0; c < a.channels; ++c) {
      float acc = a.bias[c];
      for (int ky = span.ky0; ky < span.ky1; ++ky) {
        const int iy = a.oy * g.stride_h + ky * g.dilation_h - g.pad_top;
        for (int kx = kx0; kx < kx1; ++kx) {
          const int ix = ox * g.stride_w + kx * g.dilation_w - g.pad_left;
          acc += a.image[(static_cast<int64_t>(iy) * g.width + ix) * a.in_stride + c] *
                 a.weights[(ky * g.kernel_w + kx) * a.padded + c];
        }
      }
      dst[c] = std::min(a.hi, std::max(a.lo, acc));
    }
  }
}

#ifdef LWAI_DEPTHWISE_AVX512
// One output pixel, kVectors channel vectors at a time (independent accumulator chains).
template <int kVectors>
LWAI_AVX512 inline void PixelChannelsAvx512(const RowArgs& a, const RowSpan& span, int ox, int kx0,
                                            int kx1, int c, float* dst) {
  const DepthwiseGeometry& g = *a.g;
  __mmask16 mask[kVectors];
  __m512 acc[kVectors];
  for (int v = 0; v < kVectors; ++v) {
    const int left = a.channels - c - v * kLanes;
    mask[v] = left >= kLanes ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1);
    acc[v] = _mm512_load_ps(a.bias + c + v * kLanes);
  }
  for (int ky = span.ky0; ky < span.ky1; ++ky) {
    const int iy = a.oy * g.stride_h + ky * g.dilation_h - g.pad_top;
    const float* in_row = a.image + static_cast<int64_t>(iy) * g.width * a.in_stride + c;
    const float* w_row = a.weights + ky * g.kernel_w * a.padded + c;
    for (int kx = kx0; kx < kx1; ++kx) {
      const int ix = ox * g.stride_w + kx * g.dilation_w - g.pad_left;
      const float* in = in_row + static_cast<int64_t>(ix) * a.in_stride;
      const float* w = w_row + kx * a.padded;
      for (int v = 0; v < kVectors; ++v) {
        acc[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask[v], in + v * kLanes),
                                 _mm512_load_ps(w + v * kLanes), acc[v]);
      }
    }
  }
  const __m512 lo = _mm512_set1_ps(a.lo), hi = _mm512_set1_ps(a.hi);
  for (int v = 0; v < kVectors; ++v) {
    _mm512_mask_storeu_ps(dst + c + v * kLanes, mask[v],
                          _mm512_min_ps(hi, _mm512_max_ps(lo, acc[v])));
  }
}

LWAI_AVX512 void PixelAvx512(const RowArgs& a, const RowSpan& span, int ox) {
  const DepthwiseGeometry& g = *a.g;
  int kx0, kx1;
  TapRange(ox, g.stride_w, g.dilation_w, g.pad_left, g.width, g.kernel_w, &kx0, &kx1);
  float* dst = a.out_row + static_cast<int64_t>(ox) * a.out_stride;
  int c = 0;
  for (; c + 4 * kLanes <= a.channels; c += 4 * kLanes) {
    PixelChannelsAvx512<4>(a, span, ox, kx0, kx1, c, dst);
  }
  for (; c < a.channels; c += kLanes) PixelChannelsAvx512<1>(a, span, ox, kx0, kx1, c, dst);
}

// kBlock interior pixels starting at ox: every tap of the kernel width is inside the image.
LWAI_AVX512 void BlockAvx512(const RowArgs& a, const RowSpan& span, int ox) {
  const DepthwiseGeometry& g = *a.g;
  const __m512 lo = _mm512_set1_ps(a.lo), hi = _mm512_set1_ps(a.hi);
  const int64_t pixel_step = static_cast<int64_t>(g.stride_w) * a.in_stride;
  for (int c = 0; c < a.channels; c += kLanes) {
    const __mmask16 mask =
        a.channels - c >= kLanes ? 0xFFFF : static_cast<__mmask16>((1u << (a.channels - c)) - 1);
    __m512 acc[kBlock];
    const __m512 b = _mm512_load_ps(a.bias + c);
    for (int p = 0; p < kBlock; ++p) acc[p] = b;
    for (int ky = span.ky0; ky < span.ky1; ++ky) {
      const int iy = a.oy * g.stride_h + ky * g.dilation_h - g.pad_top;
      const float* in_row = a.image + static_cast<int64_t>(iy) * g.width * a.in_stride + c;
      const float* w_row = a.weights + ky * g.kernel_w * a.padded + c;
      for (int kx = 0; kx < g.kernel_w; ++kx) {
        const __m512 w = _mm512_load_ps(w_row + kx * a.padded);
        const float* in =
            in_row +
            static_cast<int64_t>(ox * g.stride_w + kx * g.dilation_w - g.pad_left) * a.in_stride;
        for (int p = 0; p < kBlock; ++p) {
          acc[p] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, in + p * pixel_step), w, acc[p]);
        }
      }
    }
    float* dst = a.out_row + static_cast<int64_t>(ox) * a.out_stride + c;
    for (int p = 0; p < kBlock; ++p) {
      _mm512_mask_storeu_ps(dst + static_cast<int64_t>(p) * a.out_stride, mask,
                            _mm512_min_ps(hi, _mm512_max_ps(lo, acc[p])));
    }
  }
}

void Avx512Row(const RowArgs& a, const RowSpan& span) {
  int ox = 0;
  for (; ox < span.interior_begin; ++ox) PixelAvx512(a, span, ox);
  for (; ox + kBlock <= span.interior_end; ox += kBlock) BlockAvx512(a, span, ox);
  for (; ox < a.g->out_width; ++ox) PixelAvx512(a, span, ox);
}

bool CpuHasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
  return has;
}
#else
bool CpuHasAvx512() { return false; }
#endif

bool UseAvx512() { return CpuHasAvx512() && !g_force_portable.load(std::memory_order_relaxed); }

}  // namespace

namespace depthwise_internal {
void SetForcePortableForTesting(bool force) { g_force_portable.store(force); }
}  // namespace depthwise_internal

Result<std::unique_ptr<DepthwiseConv>> DepthwiseConv::Create(const float* weights,
                                                             const float* bias, int channels,
                                                             int kernel_h, int kernel_w) {
  if (weights == nullptr) return InvalidArgument(LWAI_MSG("DepthwiseConv: weights are null"));
  if (channels < 1 || channels > (1 << 20) || kernel_h < 1 || kernel_h > 64 || kernel_w < 1 ||
      kernel_w > 64) {
    return InvalidArgument(LWAI_MSG("DepthwiseConv: channels " + std::to_string(channels) +
                                    ", kernel " + std::to_string(kernel_h) + "x" +
                                    std::to_string(kernel_w) +
                                    " outside [1, 1048576] and [1, 64]"));
  }
  std::unique_ptr<DepthwiseConv> conv(new DepthwiseConv());
  conv->channels_ = channels;
  conv->padded_ = (channels + kLanes - 1) / kLanes * kLanes;
  conv->kernel_h_ = kernel_h;
  conv->kernel_w_ = kernel_w;
  const int taps = kernel_h * kernel_w;
  const size_t padded = static_cast<size_t>(conv->padded_);
  conv->storage_.assign(padded * (taps + 1) + kLanes, 0.0f);
  float* base = conv->storage_.data();
  base += (kLanes - (reinterpret_cast<uintptr_t>(base) / sizeof(float)) % kLanes) % kLanes;
  for (int c = 0; c < channels; ++c) {
    for (int t = 0; t < taps; ++t)
      base[t * padded + c] = weights[static_cast<size_t>(c) * taps + t];
  }
  float* packed_bias = base + padded * taps;
  if (bias != nullptr) std::memcpy(packed_bias, bias, sizeof(float) * channels);
  conv->weights_ = base;
  conv->bias_ = packed_bias;
  return conv;
}

void DepthwiseConv::Run(const DepthwiseGeometry& g, const float* input, int input_stride,
                        float* output, int output_stride, float act_min, float act_max,
                        ThreadPool* pool) const {
  const int64_t rows = static_cast<int64_t>(g.batch) * g.out_height;
  if (rows <= 0 || g.out_width <= 0) return;
  [[maybe_unused]] const bool avx512 = UseAvx512();
  // About 16K multiply-adds per chunk of rows.
  const int64_t row_work =
      std::max<int64_t>(1, static_cast<int64_t>(g.out_width) * channels_ * kernel_h_ * kernel_w_);
  const int64_t min_chunk = std::max<int64_t>(1, 16384 / row_work);
  auto run_rows = [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int n = static_cast<int>(r / g.out_height);
      const int oy = static_cast<int>(r % g.out_height);
      RowArgs a{&g,
                input + static_cast<int64_t>(n) * g.height * g.width * input_stride,
                input_stride,
                output + r * g.out_width * output_stride,
                output_stride,
                oy,
                channels_,
                padded_,
                weights_,
                bias_,
                act_min,
                act_max};
      const RowSpan span = MakeRowSpan(g, oy);
#ifdef LWAI_DEPTHWISE_AVX512
      if (avx512) {
        Avx512Row(a, span);
        continue;
      }
#endif
      PortableRow(a, span);
    }
  };
  if (pool != nullptr) {
    pool->ParallelFor(rows, min_chunk, run_rows);
  } else {
    run_rows(0, rows);
  }
}

bool DepthwiseConvHasFastPath() { return UseAvx512(); }

}  // namespace lwai
