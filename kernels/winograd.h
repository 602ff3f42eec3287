// Winograd F(4x4, 3x3) convolution for 3x3, stride 1, dilation 1, group 1 float32
// convolutions in NHWC layout (used by the NHWC backends).
//
// The output is computed tile by tile (4x4 output pixels from 6x6 input pixels): input tiles
// are transformed (B^T d B), multiplied channel-wise with the pre-transformed weights
// (G g G^T) as 36 independent GEMMs [tiles x Cin] * [Cin x Cout], and transformed back
// (A^T m A) with bias and clamp fused. This does 4x fewer multiply-adds than direct
// convolution; the error stays below about 1.5e-5 of the largest output up to 512 input
// channels (tests/cpp/kernel_winograd_test.cc). F(6x6, 3x3) would save another 20% of the
// multiply-adds where tiles fit well, but doubles that error, needs 1.8x the weight memory
// and wastes more of the last tile (7x7 outputs need 12x12).
//
// An AVX-512 implementation is chosen at run time when the CPU has it; otherwise a portable
// one runs (same results up to rounding).
#ifndef LWAI_KERNELS_WINOGRAD_H_
#define LWAI_KERNELS_WINOGRAD_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "lwai/status.h"

namespace lwai {

class ThreadPool;

class Winograd3x3 {
 public:
  // Output tile size m of F(m, 3) and input tile size alpha = m + 2.
  static constexpr int kTile = 4;
  static constexpr int kAlpha = 6;

  // weights: ONNX layout [out_channels][in_channels][3][3]; bias: out_channels values or
  // nullptr (zero bias). Both are only read during the call: the weights are transformed and
  // packed into memory owned by the returned object (about 4 * 36 * in * out bytes).
  // Fails with InvalidArgument when `weights` is null, a channel count is outside
  // [1, 65536] or the transformed weights would exceed 4 GiB.
  static Result<std::unique_ptr<Winograd3x3>> Create(const float* weights, const float* bias,
                                                     int in_channels, int out_channels);

  // Scratch bytes that Run needs for this geometry when run with `threads` threads (which
  // must be the pool's num_threads(), or 1 for a null pool). The caller allocates them,
  // 64-byte aligned, and may reuse them between calls (but not for concurrent calls).
  size_t ScratchBytes(int batch, int height, int width, int pad_top, int pad_left, int pad_bottom,
                      int pad_right, int threads) const;

  // input: [batch][height][width] pixels, each pixel `in_channels` floats starting every
  // `input_pixel_stride` floats. output: [batch][out_h][out_w] pixels with
  // out_h = height + pad_top + pad_bottom - 2 (out_w likewise), each pixel `out_channels`
  // floats written every `output_pixel_stride` floats (floats in between are not touched, so
  // the output can be a channel slice of a larger tensor). Padding is with zeros. Applies the
  // bias, then clamps to [activation_min, activation_max] (-inf/+inf: none; 0/+inf: Relu).
  // Preconditions (checked by the caller, not here): batch >= 1, pads >= 0, out_h, out_w >= 1,
  // strides >= the channel counts, input and output do not overlap, and `scratch` is 64-byte
  // aligned with ScratchBytes(..., pool ? pool->num_threads() : 1) bytes. `pool` may be null
  // (single-threaded). Thread-safe for concurrent calls with distinct scratch and output.
  void Run(const float* input, int batch, int height, int width, int input_pixel_stride,
           int pad_top, int pad_left, int pad_bottom, int pad_right, float* output,
           int output_pixel_stride, float activation_min, float activation_max, void* scratch,
           ThreadPool* pool) const;

  Winograd3x3(const Winograd3x3&) = delete;
  Winograd3x3& operator=(const Winograd3x3&) = delete;

  int in_channels() const { return in_channels_; }
  int out_channels() const { return out_channels_; }

  // Internal: the packed weights, exposed for the implementation files.
  struct Packed {
    int in_channels = 0;
    int out_channels = 0;
    int out_channels_padded = 0;  // rounded up to 16
    // [36][panel][in_channels][panel width]: panels of 64 output channels (the last one
    // narrower, a multiple of 16), zero in the padded channels.
    const float* weights = nullptr;
    const float* bias = nullptr;  // out_channels_padded values, zero-padded
  };

 private:
  Winograd3x3() = default;

  int in_channels_ = 0;
  int out_channels_ = 0;
  std::vector<float> storage_;  // packed weights then bias, 64-byte aligned inside
  Packed packed_;
};

// Whether to run a 3x3 stride-1 layer with these channel counts and output size on the
// Winograd path rather than a direct convolution, from a model of their costs: F(4,3)
// multiplies 4x less than a direct convolution but transforms each tile's inputs and outputs,
// work that grows with the channel counts while the products grow with their product, and
// tiles that overhang the map compute outputs that are thrown away. So layers 32 channels wide
// each way on maps that fill their tiles win on any CPU with AVX-512 FMA (kYes), thin, tiny or
// poorly tiled ones lose (kNo), and in between the answer depends on the CPU (kMeasure: time
// both). Without AVX-512 the portable path cannot compete: kNo.
enum class WinogradChoice { kNo, kYes, kMeasure };
WinogradChoice ChooseWinograd(int in_channels, int out_channels, int out_height, int out_width);

}  // namespace lwai

#endif  // LWAI_KERNELS_WINOGRAD_H_
