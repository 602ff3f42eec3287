// Transposes a matrix of 4-byte elements (float32, int32): the layout conversions between NCHW
// and NHWC at partition boundaries and the Transpose operator's two-axis case. Blocks of 8 x 8
// go through AVX2 registers where the CPU has AVX2 (chosen at run time), else through a portable
// tiled loop; both move the same bytes, so results are identical.
//
// Thread safety: stateless; concurrent calls on disjoint outputs are safe.
#ifndef LWAI_KERNELS_TRANSPOSE_2D_H_
#define LWAI_KERNELS_TRANSPOSE_2D_H_

#include <cstdint>

namespace lwai {

class ThreadPool;

// dst[c * dst_stride + r] = src[r * src_stride + c] for r < rows, c < cols, 4-byte elements.
// src and dst must not overlap; strides are in elements (src_stride >= cols, dst_stride >=
// rows).
void Transpose2D(const void* src, int64_t rows, int64_t cols, int64_t src_stride, void* dst,
                 int64_t dst_stride);

// The same for `batch` matrices `src_batch_stride` and `dst_batch_stride` elements apart, the
// work split over `pool`'s threads (null: the calling thread).
void Transpose2DBatch(const void* src, int64_t batch, int64_t rows, int64_t cols,
                      int64_t src_stride, int64_t src_batch_stride, void* dst, int64_t dst_stride,
                      int64_t dst_batch_stride, ThreadPool* pool);

}  // namespace lwai

#endif  // LWAI_KERNELS_TRANSPOSE_2D_H_
