// GroupNormalization's fast path for float32 images, in NCHW (the Eigen backend) or in NHWC
// with a pixel stride (XNNPACK partitions): per image and group of C / G channels, the mean and
// variance over the group's values, then y = (x - mean) / sqrt(var + epsilon) * scale[c] +
// bias[c] applied as one multiply-add per value.
//
// The sums run over fixed chunks of the group (float sums within a chunk, added in double in
// chunk order), whatever the thread count, so results do not depend on it. Stateless and
// thread-safe; all memory comes from the caller's scratch.
#ifndef LWAI_KERNELS_GROUP_NORM_H_
#define LWAI_KERNELS_GROUP_NORM_H_

#include <cstddef>
#include <cstdint>

namespace lwai {

class ThreadPool;

struct GroupNormShape {
  int64_t batch = 0;
  int64_t channels = 0;  // a multiple of groups
  int64_t groups = 1;
  int64_t pixels = 0;  // values per channel (the product of the spatial dims)
  float epsilon = 1e-5f;
};

// Scratch bytes the functions below need for `shape` (64-byte aligned is best).
size_t GroupNormScratchBytes(const GroupNormShape& shape, bool nhwc);

// x, y: [N][C][pixels]. scale, bias: C values.
void GroupNormNchw(const GroupNormShape& shape, const float* x, const float* scale,
                   const float* bias, float* y, void* scratch, ThreadPool* pool);

// x: N images of `pixels` rows of C values, rows `x_stride` floats apart (>= C); y likewise.
void GroupNormNhwc(const GroupNormShape& shape, const float* x, int64_t x_stride,
                   const float* scale, const float* bias, float* y, int64_t y_stride, void* scratch,
                   ThreadPool* pool);

}  // namespace lwai

#endif  // LWAI_KERNELS_GROUP_NORM_H_
