// Shape logic and loop for elementwise operators with one float32, int32 or int64 input
// (Neg, Abs).
#ifndef LWAI_KERNELS_NUMERIC_UNARY_COMMON_H_
#define LWAI_KERNELS_NUMERIC_UNARY_COMMON_H_

#include <string>
#include <type_traits>

#include "kernels/kernel_api.h"
#include "runtime/thread_pool.h"

namespace lwai {

// One float32/int32/int64 input; the output has its shape and dtype.
Status PrepareUnaryNumeric(KernelContext& ctx);

// Negation that wraps instead of overflowing for the most negative integer.
template <typename T>
T WrappingNegate(T x) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(std::make_unsigned_t<T>(0) - static_cast<std::make_unsigned_t<T>>(x));
  } else {
    return -x;
  }
}

template <typename T, typename Op>
void EvalUnaryNumericTyped(KernelContext& ctx, const Op& op) {
  const T* in = ctx.input(0).Data<const T>();
  T* out = ctx.output(0).Data<T>();
  ctx.thread_pool()->ParallelFor(ctx.output(0).NumElements(), 16384,
                                 [&](int64_t begin, int64_t end) {
                                   for (int64_t i = begin; i < end; ++i) out[i] = op(in[i]);
                                 });
}

// `Op` is a functor type with a templated call operator.
template <typename Op>
Status EvalUnaryNumeric(KernelContext& ctx) {
  switch (ctx.output(0).dtype) {
    case DataType::kFloat32:
      EvalUnaryNumericTyped<float>(ctx, Op());
      return Status::Ok();
    case DataType::kInt32:
      EvalUnaryNumericTyped<int32_t>(ctx, Op());
      return Status::Ok();
    case DataType::kInt64:
      EvalUnaryNumericTyped<int64_t>(ctx, Op());
      return Status::Ok();
    default:
      return ctx.Unsupported(std::string("dtype ") + DataTypeName(ctx.output(0).dtype));
  }
}

}  // namespace lwai

#endif  // LWAI_KERNELS_NUMERIC_UNARY_COMMON_H_
