// Int8 matrix products with fused requantization, the core of lwai's quantized convolutions:
//   Y[m][n] = requantize(sum_k W[m][k] * B[k][n])
// with W int8 (the weights, packed once) and B uint8 (the input image's im2col rows, or its
// channel planes for 1x1 convolutions), Y int8 or uint8. Inputs whose type is int8 are made
// uint8 by adding 128 (flipping the sign bit while packing); the requantization's per-row
// offset carries the zero-point corrections, so the integer sums are exact.
//
// Layout: W is packed into blocks of 8 rows, each stored as [depth / 4][8 rows][4 values]; B is
// packed per run into panels of 32 columns, [depth / 4][32 columns][4 values], by the thread that
// uses them, a chunk of panels at a time. One step of the
// micro-kernel multiplies 4 depth values of 8 rows by those of 32 columns: on CPUs with
// AVX-512 VNNI that is 16 `vpdpbusd` instructions (64 multiply-adds each) on 16 accumulators,
// with the weights broadcast from memory; a portable implementation computes the same sums
// elsewhere. The requantization (offset, scale, round half to even, zero point, clamp) runs on
// the accumulators before they leave the registers.
//
// Threads split the work by output rows and column panels, never along the depth, so results
// do not depend on the thread count; they are the same on both implementations (float rounding
// of the scale is identical).
#ifndef LWAI_KERNELS_INT8_GEMM_H_
#define LWAI_KERNELS_INT8_GEMM_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "lwai/status.h"

namespace lwai {

class ThreadPool;

// How the int32 sums of one output row m become 8-bit values:
//   y = clamp(round_half_even(float(sum + row_offset[m]) * row_scale[m]) + y_zero_point,
//             y_min, y_max)
// The pointers are borrowed: they must outlive every Int8Gemm call that uses them.
struct Int8Requantization {
  const int32_t* row_offset = nullptr;  // rows values
  const float* row_scale = nullptr;     // rows values
  int32_t y_zero_point = 0;
  int32_t y_min = 0, y_max = 255;  // within the output type's range
  bool y_signed = false;           // int8 output (else uint8)
  // Float output instead (y is float32, ldy counts floats): y = fma(float(sum + row_offset[m]),
  // row_scale[m], row_bias[m]) (bias 0 when row_bias is null); the 8-bit fields are ignored.
  bool float_output = false;
  const float* row_bias = nullptr;
  // Y stored transposed: element (m, n) at y[n * ldy + m] (A * W^T written as A's rows).
  bool y_transposed = false;
};

// One value of that requantization, as every int8 kernel computes it: the clamp runs in float
// before rounding (the bounds are integers, so this equals clamping after rounding) and sends NaN
// to the lower bound, as the AVX-512 max instruction does; the sum wraps like SIMD additions.
// `lo` and `hi` are y_min - y_zero_point and y_max - y_zero_point.
inline int32_t Int8Requantize(int32_t sum, int32_t offset, float scale, float lo, float hi,
                              int32_t y_zero_point) {
  const int32_t shifted =
      static_cast<int32_t>(static_cast<uint32_t>(sum) + static_cast<uint32_t>(offset));
  float v = static_cast<float>(shifted) * scale;
  v = v > lo ? v : lo;
  v = v < hi ? v : hi;
  return static_cast<int32_t>(std::nearbyint(v)) + y_zero_point;
}

// Dynamic quantization of a float operand to uint8, as ONNX's DynamicQuantizeLinear defines it:
// the range [min(0, min x), max(0, max x)] (NaNs ignored) in 255 steps, the zero point rounded
// half to even and saturated.
struct DynamicUint8Parameters {
  float scale = 1.0f;
  int32_t zero_point = 0;
};
DynamicUint8Parameters DynamicUint8ParametersOf(const float* x, int64_t count);

// y[i] = QuantizeUint8(x[i], p) for `count` values, vectorized where the CPU allows.
void QuantizeUint8Row(const float* x, int64_t count, const DynamicUint8Parameters& p, uint8_t* y);

// round_half_even(x / scale) + zero_point, saturated to [0, 255]; NaN becomes the zero point.
inline uint8_t QuantizeUint8(float x, const DynamicUint8Parameters& p) {
  const float q = std::nearbyint(x / p.scale) + static_cast<float>(p.zero_point);
  if (std::isnan(q)) return static_cast<uint8_t>(p.zero_point);
  return q <= 0.0f ? 0 : (q >= 255.0f ? 255 : static_cast<uint8_t>(q));
}

// W (rows x depth, int8, row-major) packed for the micro-kernel. Immutable after Create, so one
// packing can be shared by any number of threads and sessions.
class Int8GemmWeights {
 public:
  static constexpr int kRowBlock = 8;

  // Fails with InvalidArgument when rows or depth is outside [1, 1 << 20] or rows * depth
  // exceeds 1 << 30. `weights` is only read during the call.
  static Result<std::unique_ptr<Int8GemmWeights>> Create(const int8_t* weights, int64_t rows,
                                                         int64_t depth);
  // W - z for 8-bit weights with zero points (int8 when `is_signed`, else uint8; z per row when
  // num_zero_points == rows, else one for all). Each row is stored as int8 values S and a row
  // constant d with W - z = S + d; d is 0 for rows whose W - z fits int8, and Int8Gemm adds
  // d[m] * (column byte sum) for the others. Same limits as Create; num_zero_points must be 1 or
  // rows.
  static Result<std::unique_ptr<Int8GemmWeights>> CreateWithZeroPoints(const uint8_t* weights,
                                                                       bool is_signed,
                                                                       const int32_t* zero_points,
                                                                       int64_t num_zero_points,
                                                                       int64_t rows, int64_t depth);

  int64_t rows() const { return rows_; }
  int64_t depth() const { return depth_; }
  // Groups of 4 depth values (the last one zero-padded).
  int64_t depth_quads() const { return (depth_ + 3) / 4; }
  // sum_k W[m][k] (with zero points: sum_k (W[m][k] - z[m])) for each row: what a zero point z
  // of B contributes is -z times this.
  const int32_t* row_sums() const { return row_sums_.data(); }
  // The row constants d (see CreateWithZeroPoints), or null when every one is 0.
  const int32_t* row_constants() const {
    return row_constants_.empty() ? nullptr : row_constants_.data();
  }
  const int8_t* block(int64_t b) const {
    return packed_.data() + b * depth_quads() * kRowBlock * 4;
  }

 private:
  Int8GemmWeights() = default;
  static Status CheckSize(int64_t rows, int64_t depth);
  void Pack(const int8_t* weights, int64_t rows, int64_t depth);
  int64_t rows_ = 0, depth_ = 0;
  std::vector<int8_t> packed_;
  std::vector<int32_t> row_sums_;
  std::vector<int32_t> row_constants_;  // empty when all 0
};

// Scratch bytes Int8Gemm needs for `columns` columns with a pool of `threads` threads (packed B
// panels: each thread packs the chunks of panels it computes).
size_t Int8GemmScratchBytes(int64_t depth, int64_t columns, int threads);

// Y = requantize(W * B) for B [depth][columns] (row k at b + k * ldb), or, when
// `b_column_major`, B given by columns (column n at b + n * ldb, depth bytes each: the rows of
// a matrix A in A * W^T). Every byte of B is XORed with b_xor as it is packed. Weights with row
// constants (CreateWithZeroPoints) add d[m] times the column's byte sum (after the XOR) to each
// sum, so the product with W - z stays exact. With `b_row_offsets` (not column-major), row k of B
// starts at b + b_row_offsets[k] instead (ldb unused): e.g. the rows of an implicit im2col, each
// a window tap's run through a padded image. `scratch` holds
// Int8GemmScratchBytes(depth, columns, threads) bytes, 64-byte aligned.
void Int8Gemm(const Int8GemmWeights& w, const uint8_t* b, int64_t ldb, uint8_t b_xor,
              int64_t columns, const Int8Requantization& rq, void* y, int64_t ldy, void* scratch,
              ThreadPool* pool, bool b_column_major = false,
              const int64_t* b_row_offsets = nullptr);

// out[i] = Int8Requantize(sum[i], offset, scale, ...) for `count` sums, with rq's zero point and
// bounds, stored as bytes (int8 or uint8 as rq.y_signed says). Vectorized where the CPU allows.
void Int8RequantizeRow(const int32_t* sum, int64_t count, int32_t offset, float scale,
                       const Int8Requantization& rq, uint8_t* out);

// out[i] = Int8Requantize(multiplier * (x[i] - zero_point), offset, scale, ...) for `count` int8
// (`is_signed`) or uint8 values x, as Int8RequantizeRow stores them: a 1x1 depthwise convolution's
// plane (a per-channel affine map) in one pass. Vectorized where the CPU allows.
void Int8ScaledRow(const uint8_t* x, bool is_signed, int32_t zero_point, int32_t multiplier,
                   int64_t count, int32_t offset, float scale, const Int8Requantization& rq,
                   uint8_t* out);

// Depthwise window sums of one output row: sums[o] = sum_t taps[t] * rows[t][o * stride] for
// o < count, in float, which is exact for the values the int8 depthwise convolution feeds it
// (sums of integers below 2^24 in magnitude), converted to int32. rows[t] points at tap t's
// input for this row's first output; the vector path may read up to 31 floats past the last
// one used, which the caller's buffer must hold. Vectorized where the CPU has AVX-512 (strides 1
// and 2).
void DepthwiseSumsRow(const float* const* rows, const float* taps, int num_taps, int64_t stride,
                      int64_t count, int32_t* sums);

// Whether Int8DepthwiseRow runs on this CPU (AVX-512 VNNI and VBMI) for kernels `kw` wide
// (at most 8) with horizontal stride `stride` (1 or 2).
bool Int8DepthwiseRowSupported(int64_t kw, int64_t stride);

// One output row of an int8 depthwise convolution, requantized as Int8Gemm does it:
//   y[o] = requantize(sum_{ky < kh, kx < kw} w[ky * kw + kx] * rows[ky][o * stride + kx]
//                     + offset) * scale ...)
// for o < count, with rq's zero point and bounds. rows[ky] points at the uint8 input (padded
// rows, already shifted to uint8 for int8 inputs) of tap row ky for output 0; up to 64 bytes past
// the last one read must be readable. 4 taps of a row per `vpdpbusd`, each lane's 4 input bytes
// gathered by one `vpermb`.
void Int8DepthwiseRow(const uint8_t* const* rows, int64_t kh, int64_t kw, int64_t stride,
                      const int8_t* w, int64_t count, int32_t offset, float scale,
                      const Int8Requantization& rq, uint8_t* y);

// dst[r * dst_stride + i] = float(src[r * count + i] - zero_point) for `rows` rows of `count`
// int8 (`is_signed`) or uint8 values.
void CenteredFloats(const uint8_t* src, bool is_signed, int32_t zero_point, int64_t rows,
                    int64_t count, float* dst, int64_t dst_stride);

// dst[r * dst_stride + i] = src[r * src_stride + i] ^ flip for `rows` rows of `width` bytes:
// short rows (image rows into a padded plane, output rows out of a padded run) without a call per
// row where the CPU has AVX-512 (masked, so nothing past a row is read or written).
void CopyByteRows(const uint8_t* src, int64_t src_stride, uint8_t* dst, int64_t dst_stride,
                  int64_t rows, int64_t width, uint8_t flip);

// dst[r * dst_stride + i] = src[r * src_stride + i * step] for `rows` rows of `count` bytes
// (reads nothing past a row's last byte used): the column phases of strided windows. Vectorized
// for steps 1 and 2 where the CPU has AVX-512 (VBMI for step 2).
void CopyByteRowsStrided(const uint8_t* src, int64_t src_stride, int64_t step, uint8_t* dst,
                         int64_t dst_stride, int64_t rows, int64_t count);

namespace int8_gemm_internal {

// Tests only: when true, Int8Gemm uses the portable implementation even where VNNI exists.
void SetForcePortableForTesting(bool force);
// Whether this CPU runs the AVX-512 VNNI implementation.
bool HasVnni();
}  // namespace int8_gemm_internal

}  // namespace lwai

#endif  // LWAI_KERNELS_INT8_GEMM_H_
