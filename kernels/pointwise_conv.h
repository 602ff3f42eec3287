// Pointwise (1x1, stride 1) convolution in NHWC, which is also a fully connected layer:
//   y[p][o] = clamp(bias[o] + sum_i x[p][i] * w[o][i], act_min, act_max)
// over pixels (or batch rows) p.
//
// The weights are packed once into column panels of 32 output channels (the last one 16 or 32
// wide, zero-padded), each panel stored K-major ([in_channels][panel width]) and the panels one
// after the other, so one pass over the packed weights is one sequential stream. Run computes
// blocks of pixel rows (sized so the rows' inputs stay in L2) in blocks of 512 input channels
// against every panel, with a register-blocked micro-kernel (up to 12 rows x 32 columns of
// accumulators; partial sums are kept exactly in the output between channel blocks), bias and
// clamp fused in the store. The rows of a block are first copied to scratch with a row stride
// of an odd number of cache lines (input strides of 1024 or 2048 floats would put all twelve
// rows of a tile in one L1 set). With few pixels every weight is read once per Run; threads then
// split the panels, with many pixels they split the rows. The in-channel sum is never split, so
// results do not depend on the thread count.
//
// An AVX-512 implementation is chosen at run time when the CPU has it; otherwise a portable
// one runs (same results up to rounding).
#ifndef LWAI_KERNELS_POINTWISE_CONV_H_
#define LWAI_KERNELS_POINTWISE_CONV_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "lwai/status.h"

namespace lwai {

class ThreadPool;

class PointwiseConv {
 public:
  // Output channels per packed weight panel.
  static constexpr int kPanel = 32;

  // weights: [out_channels][in_channels] (ONNX Conv OIHW with 1x1 kernels, or Gemm B with
  // transB=1), or [in_channels][out_channels] when `weights_transposed` (Gemm B with
  // transB=0). bias: out_channels values or nullptr (zero bias). Both are only read during the
  // call: the packed copy is owned by the returned object (about 4 * in * out bytes). Fails
  // with InvalidArgument when `weights` is null, a channel count is outside [1, 1 << 20] or the
  // packed weights would exceed 4 GiB.
  static Result<std::unique_ptr<PointwiseConv>> Create(const float* weights,
                                                       bool weights_transposed, const float* bias,
                                                       int in_channels, int out_channels);

  // Scratch bytes that Run needs for `pixels` rows with `threads` threads (which must be the
  // pool's num_threads(), or 1 for a null pool): a copy of a block of input rows per thread,
  // at most 384 KiB per thread; 0 for pixels <= 1.
  size_t ScratchBytes(int64_t pixels, int threads) const;

  // input: `pixels` rows of in_channels floats, starting every `input_stride` floats. output:
  // `pixels` rows of out_channels floats written every `output_stride` floats (floats in
  // between are not touched, so the output can be a channel slice of a larger tensor).
  // Applies the bias, then clamps to [act_min, act_max] (-inf/+inf: none; 0/+inf: Relu).
  // Preconditions (checked by the caller): pixels >= 0, input_stride >= in_channels,
  // output_stride >= out_channels, input and output do not overlap, `scratch` has
  // ScratchBytes(pixels, pool ? pool->num_threads() : 1) bytes (64-byte alignment is best but
  // not required; may be null when that is 0). `pool` may be null (single-threaded). Thread-safe
  // for concurrent calls with distinct scratch and output. Results are identical for every thread
  // count.
  void Run(const float* input, int64_t pixels, int input_stride, float* output, int output_stride,
           float act_min, float act_max, void* scratch, ThreadPool* pool) const;

  // For weights known only at run time (a MatMul's B computed by the graph): the same kernel on
  // weights packed into caller memory, with zero bias. PackedBytes is the memory PackInto
  // needs (0 when the shape is outside the limits of Create); the memory must be 64-byte
  // aligned. weights: [in_channels][out_channels] with rows `row_stride` floats apart, or
  // [out_channels][in_channels] (rows contiguous) when `transposed` is false. The returned
  // Packed points into `memory`. RunPacked and PackedScratchBytes are Run and ScratchBytes for
  // it, with the same preconditions and results (HasFastPath says whether they beat a generic
  // GEMM on this CPU).
  static bool HasFastPath();
  static size_t PackedBytes(int in_channels, int out_channels);
  struct Packed;
  static Packed PackInto(const float* weights, bool transposed, int64_t row_stride, int in_channels,
                         int out_channels, void* memory);
  static size_t PackedScratchBytes(int in_channels, int out_channels, int64_t pixels, int threads);
  static void RunPacked(const Packed& packed, const float* input, int64_t pixels, int input_stride,
                        float* output, int output_stride, float act_min, float act_max,
                        void* scratch, ThreadPool* pool);

  PointwiseConv(const PointwiseConv&) = delete;
  PointwiseConv& operator=(const PointwiseConv&) = delete;

  int in_channels() const { return packed_.in_channels; }
  int out_channels() const { return packed_.out_channels; }

  // Internal: the packed weights, exposed for the implementation files.
  struct Packed {
    int in_channels = 0;
    int out_channels = 0;
    int out_channels_padded = 0;  // rounded up to 16
    int panels = 0;               // ceil(out_channels_padded / kPanel)
    // Panel j (columns [32 j, 32 j + width_j)) starts at float 32 * j * in_channels and is
    // [in_channels][width_j]; width_j is 32 except maybe 16 for the last panel. 64-byte
    // aligned; zero in the padded columns.
    const float* weights = nullptr;
    const float* bias = nullptr;  // out_channels_padded values, zero-padded
  };
  const Packed& packed() const { return packed_; }

 private:
  PointwiseConv() = default;

  std::vector<float> storage_;  // packed weights then bias, 64-byte aligned inside
  Packed packed_;
};

// Whether PointwiseConv is expected to beat XNNPACK's convolution / fully connected operator
// for this shape (one pixel row per output position): up to 4 rows, or up to 64 rows with
// weights at least as large as a core's L2 cache (see pointwise_conv.cc for what was measured).
// Without AVX-512 it answers false.
bool PointwiseConvIsProfitable(int64_t pixels, int in_channels, int out_channels);
// The per-core L2 cache size the rule uses (from the OS; 1 MiB where it does not say).
int64_t CoreL2Bytes();

namespace pointwise_internal {
// Tests only: when true, Run uses the portable implementation even where AVX-512 exists.
void SetForcePortableForTesting(bool force);
// Whether the AVX-512 implementation is available on this CPU and build.
bool HasAvx512();

// Computes output rows [0, rows) for panels [panel_begin, panel_end): x is rows x in_channels
// (rows ldx floats apart), y likewise with ldy. Fused bias and clamp to [lo, hi]. The
// in-channel sum runs in blocks of k_block channels, keeping partial sums in y (exactly: the
// results do not depend on k_block). `buffer` (64-byte aligned, rows * BufferStride(k_block)
// floats) receives copies of the inputs, or is null to read x in place.
using ComputeFn = void (*)(const PointwiseConv::Packed& p, const float* x, int rows, int64_t ldx,
                           int panel_begin, int panel_end, float* y, int64_t ldy, float lo,
                           float hi, int k_block, float* buffer);
// Row stride of the input buffer for k_block channels: an odd number of 64-byte lines.
inline int BufferStride(int k_block) { return (k_block + 15) / 16 / 2 * 32 + 16; }
// The AVX-512 implementation (pointwise_conv_avx512.cc), or null when this CPU or build target
// lacks AVX-512.
ComputeFn Avx512Compute();
}  // namespace pointwise_internal

}  // namespace lwai

#endif  // LWAI_KERNELS_POINTWISE_CONV_H_
