// Shared shape logic and loop for elementwise float32 operators with one input.
#ifndef LWAI_KERNELS_UNARY_COMMON_H_
#define LWAI_KERNELS_UNARY_COMMON_H_

#include "kernels/kernel_api.h"
#include "runtime/thread_pool.h"

namespace lwai {

// One float32 input (extra inputs allowed up to max_inputs, e.g. Clip's min/max); the output
// has the input's shape and dtype.
Status PrepareUnaryFloat(KernelContext& ctx, int max_inputs = 1);

// out[i] = fn(in[i]) over all elements, split across the thread pool.
template <typename Fn>
Status EvalUnaryFloat(KernelContext& ctx, const Fn& fn) {
  const float* in = ctx.input(0).Data<const float>();
  float* out = ctx.output(0).Data<float>();
  ctx.thread_pool()->ParallelFor(ctx.output(0).NumElements(), 16384,
                                 [&](int64_t begin, int64_t end) {
                                   for (int64_t i = begin; i < end; ++i) out[i] = fn(in[i]);
                                 });
  return Status::Ok();
}

}  // namespace lwai

#endif  // LWAI_KERNELS_UNARY_COMMON_H_
