// Resize's fast path for backends: float32 images resized along their last two axes only, with
// at most two taps per axis (nearest and linear modes), in one float pass per output plane,
// planes split across threads. Uses the state of the reference Resize prepare.
#ifndef LWAI_KERNELS_RESIZE_H_
#define LWAI_KERNELS_RESIZE_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/kernel_api.h"
#include "lwai/status.h"

namespace lwai {

class ThreadPool;

// After the reference Resize prepare on `ctx`: whether EvalSpatialResize applies.
bool IsSpatialResize(const KernelContext& ctx);
// Runs the resize of a node for which IsSpatialResize holds.
Status EvalSpatialResize(KernelContext& ctx);

// The same resize for backends that keep 4-D images in NHWC, with a pixel stride (channel slices
// of a larger buffer). Owns its taps and is immutable after Prepare: Run may be called from any
// thread.
class NhwcResize {
 public:
  // Runs the reference Resize prepare on `ctx` (input shape, sizes or scales readable). Null
  // (with Ok) when the input is not a rank-4 float tensor or some output samples outside the
  // input (tf_crop_and_resize); errors are the reference prepare's. Resizes of the two spatial
  // axes with at most two taps per axis (nearest, linear) take the fast path; any other runs
  // value by value.
  static Result<std::unique_ptr<NhwcResize>> Prepare(KernelContext& ctx);
  ~NhwcResize();

  // Scratch bytes Run needs with `threads` threads (the pool's num_threads()).
  size_t ScratchBytes(int threads) const;
  // x: [N, H, W] pixels of C floats, `x_stride` floats apart; y likewise with the output's H, W.
  // `scratch`: ScratchBytes(pool ? pool->num_threads() : 1) bytes.
  void Run(const float* x, int64_t x_stride, float* y, int64_t y_stride, void* scratch,
           ThreadPool* pool) const;

 private:
  explicit NhwcResize(std::unique_ptr<OpState> state) : state_(std::move(state)) {}
  void RunGeneric(const float* x, int64_t x_stride, float* y, int64_t y_stride,
                  ThreadPool* pool) const;
  std::unique_ptr<OpState> state_;
  bool spatial_ = true;
};

}  // namespace lwai

#endif  // LWAI_KERNELS_RESIZE_H_
