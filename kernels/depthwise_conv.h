// Depthwise 2-D convolution (one filter per channel) in NHWC with fused bias and clamp:
//   y[n][oy][ox][c] = clamp(bias[c] + sum over valid (ky, kx) of
//                     x[n][oy*sy + ky*dy - pad_top][ox*sx + kx*dx - pad_left][c] * w[c][ky][kx])
// Only the taps that fall inside the image are computed: on the thin maps of text-line models
// (2-3 rows under a 5x5 kernel) most of a padded window is zeros, which indirection-buffer
// kernels multiply anyway. Interior pixels run in register blocks of 8 pixels x 16 channels
// that share each weight load; border pixels clip their windows.
//
// An AVX-512 implementation is chosen at run time when the CPU has it; otherwise a portable
// one runs (same results up to rounding; the sum over taps runs in the same order in both).
#ifndef LWAI_KERNELS_DEPTHWISE_CONV_H_
#define LWAI_KERNELS_DEPTHWISE_CONV_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "lwai/status.h"

namespace lwai {

class ThreadPool;

struct DepthwiseGeometry {
  int batch = 0, height = 0, width = 0;
  int kernel_h = 0, kernel_w = 0;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0;
  int out_height = 0, out_width = 0;
};

class DepthwiseConv {
 public:
  // weights: ONNX layout [channels][1][kernel_h][kernel_w]; bias: channels values or nullptr.
  // Both are only read during the call (packed tap-major into the returned object). Fails with
  // InvalidArgument for null weights, channels outside [1, 1 << 20] or a kernel outside
  // [1, 64] x [1, 64].
  static Result<std::unique_ptr<DepthwiseConv>> Create(const float* weights, const float* bias,
                                                       int channels, int kernel_h, int kernel_w);

  // input: [batch][height][width] pixels of `channels` floats, `input_stride` floats apart;
  // output: [batch][out_height][out_width] pixels, `output_stride` floats apart (floats in
  // between untouched). Clamps to [act_min, act_max]. Preconditions (checked by the caller):
  // the geometry matches the kernel given to Create, strides and dilations >= 1, pads >= 0,
  // the output size follows from the geometry, strides >= channels, no overlap of input and
  // output. `pool` may be null. Thread-safe for concurrent calls with distinct outputs;
  // results do not depend on the thread count.
  void Run(const DepthwiseGeometry& g, const float* input, int input_stride, float* output,
           int output_stride, float act_min, float act_max, ThreadPool* pool) const;

  int channels() const { return channels_; }

  DepthwiseConv(const DepthwiseConv&) = delete;
  DepthwiseConv& operator=(const DepthwiseConv&) = delete;

 private:
  DepthwiseConv() = default;
  int channels_ = 0, padded_ = 0, kernel_h_ = 0, kernel_w_ = 0;
  std::vector<float> storage_;  // [taps][padded channels] weights, then bias; 64-byte aligned
  const float* weights_ = nullptr;
  const float* bias_ = nullptr;
};

// Whether DepthwiseConv has its fast (AVX-512) implementation on this CPU: only then is it
// worth timing against XNNPACK's depthwise convolution (ChooseFasterKernel), which wins on
// some shapes (wide maps with stride 2) and loses on others (thin maps, few channels).
bool DepthwiseConvHasFastPath();

namespace depthwise_internal {
// Tests only: when true, Run uses the portable implementation even where AVX-512 exists.
void SetForcePortableForTesting(bool force);
}  // namespace depthwise_internal

}  // namespace lwai

#endif  // LWAI_KERNELS_DEPTHWISE_CONV_H_
