// Helpers shared by the convolution family (Conv, ConvTranspose, ConvInteger, QLinearConv,
// DeformConv, Col2Im): N-d channel/group validation, im2col / col2im over any spatial rank, a
// plain matrix multiply for the types the float Gemm does not cover, and the integer
// convolution core of ConvInteger and QLinearConv.
#ifndef LWAI_KERNELS_CONV_COMMON_H_
#define LWAI_KERNELS_CONV_COMMON_H_

#include <cstddef>
#include <cstdint>

#include "kernels/kernel_api.h"
#include "kernels/spatial_common.h"

namespace lwai {

struct FusedActivation;  // kernels/common.h

inline int64_t ProductOf(const int64_t* values, int count) {
  int64_t p = 1;
  for (int i = 0; i < count; ++i) p *= values[i];
  return p;
}

// The channel layout and window geometry of a forward convolution.
struct ConvShape {
  int64_t batch = 0, in_channels = 0, out_channels = 0, groups = 1;
  int64_t in_size = 0, out_size = 0, kernel_size = 0;  // products over the spatial axes
  WindowGeometry geometry;
  int64_t InPerGroup() const { return in_channels / groups; }
  int64_t OutPerGroup() const { return out_channels / groups; }
  // Rows of the im2col matrix of one group.
  int64_t ColRows() const { return InPerGroup() * kernel_size; }
};

// Validates X (N x C x spatial...) against W (M x C/group x kernel...), the "group" and
// "kernel_shape" attributes, computes the window geometry (strides, dilations, pads,
// auto_pad) and sets output 0's shape (dtype is left to the caller).
Status PrepareConvShape(KernelContext& ctx, int x_index, int w_index, ConvShape* shape);

// ConvTranspose's geometry for an N x C x spatial... input X and the kernel size, read from
// strides, dilations, pads, auto_pad, output_padding and output_shape. Seen as the forward
// convolution it is the adjoint of: g->input is the ConvTranspose output's spatial size and
// g->output X's.
Status ComputeTransposeGeometry(const KernelContext& ctx, const Shape& x, const int64_t* kernel,
                                WindowGeometry* g);

// col[(c * kernel_size + k) * out_size + o] = image value under kernel offset k at output
// position o of channel c, or 0 in the padding. `image` is channels x input spatial.
template <typename T>
void Im2ColNd(const WindowGeometry& g, const T* image, int64_t channels, T* col);

// The adjoint of Im2ColNd: adds every col element into the image position it was read from
// (positions outside the image are dropped). `image` must be initialized by the caller.
template <typename T>
void Col2ImNd(const WindowGeometry& g, const T* col, int64_t channels, T* image);

// C (m x n) = A (m x k, or k x m when trans_a) * B (k x n), accumulating in T.
template <typename T>
void SimpleGemm(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, bool trans_a, const T* b,
                int64_t ldb, T* c, int64_t ldc);

// The same product through the blocked float GEMM (kernels/gemm.h) for float, which needs
// `gemm_scratch` of GemmScratchBytes; other types use SimpleGemm and ignore it.
template <typename T>
void ConvGemm(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, bool trans_a, const T* b,
              int64_t ldb, T* c, int64_t ldc, void* gemm_scratch, ThreadPool* pool);

// Integer convolution: X int8/uint8 with a scalar zero point, W int8/uint8 with a scalar or
// per-output-channel zero point, int32 accumulators. Validates the zero points' shapes.
struct IntegerConvPlan {
  ConvShape shape;
  DataType x_type = DataType::kUndefined, w_type = DataType::kUndefined;
  // Scratch layout (bytes): converted weights, converted image group, im2col matrix.
  size_t w_offset = 0, x_offset = 0, col_offset = 0, scratch_bytes = 0;
};
// x_zp_index / w_zp_index may be absent inputs (-1 or omitted). Requests extra_scratch bytes
// after the plan's own (returned in plan->scratch_bytes as the offset where it starts).
Status PrepareIntegerConv(KernelContext& ctx, int x_index, int w_index, int x_zp_index,
                          int w_zp_index, IntegerConvPlan* plan);
// Writes N x M x out_size int32 accumulators (without bias) to `out`.
void RunIntegerConv(const KernelContext& ctx, const IntegerConvPlan& plan, int x_index, int w_index,
                    int x_zp_index, int w_zp_index, void* scratch, int32_t* out);

// Narrows [*lo, *hi], the range of a quantized output, by a fused activation given in real values
// (lwai's `activation` attribute on QLinearConv): to Q(act.min) and Q(act.max), where
// Q(v) = round_half_even(v / y_scale) + y_zero_point. Exact, since Q is monotonic: clamping
// before quantizing equals clamping after. Infinite bounds leave the range as it is.
void NarrowByFusedActivation(const FusedActivation& act, float y_scale, int32_t y_zero_point,
                             int32_t* lo, int32_t* hi);

// Checks input `index` of a quantized operator is a scale or zero point of `dtype`: one value
// (any rank), or `count` values along one axis; the error names it as `what`.
Status ExpectQuantizationParameter(const KernelContext& ctx, int index, DataType dtype,
                                   int64_t count, const char* what);

// The zero-point value of an optional int8/uint8 (or int32) tensor at element i (0 if absent).
int32_t ZeroPointAt(const KernelContext& ctx, int index, int64_t i);

}  // namespace lwai

#endif  // LWAI_KERNELS_CONV_COMMON_H_
