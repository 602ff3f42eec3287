// Shared shape logic and loops for elementwise operators with one input (the unary group).
#ifndef LWAI_KERNELS_UNARY_COMMON_H_
#define LWAI_KERNELS_UNARY_COMMON_H_

#include <cmath>
#include <cstdint>

#include "kernels/dispatch.h"
#include "kernels/kernel_api.h"
#include "runtime/thread_pool.h"

namespace lwai {

// One float32 input (extra inputs allowed up to max_inputs, e.g. Clip's min/max); the output
// has the input's shape and dtype.
Status PrepareUnaryFloat(KernelContext& ctx, int max_inputs = 1);

// out[i] = fn(in[i]) over all float32 elements, split across the thread pool.
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

// The input dtypes a unary operator accepts.
enum class UnaryDtypes {
  kFloat,          // float32, float64
  kSignedNumeric,  // float32, float64, int8/16/32/64
  kNumeric,        // floats and every integer type
  kInteger,        // int8..int64, uint8..uint64
  kBool,
};

// Input 0 of a dtype in `dtypes` (with up to max_inputs inputs in all); output 0 gets input 0's
// shape and its dtype, or out_dtype when that is given.
Status PrepareUnary(KernelContext& ctx, UnaryDtypes dtypes, int max_inputs = 1,
                    DataType out_dtype = DataType::kUndefined);

// The error for an input dtype the kernel was not built for (eval after a failed prepare).
Status UnsupportedUnaryDtype(const KernelContext& ctx);

// out[i] = fn(in[i]) with input elements of type T; the output element type is fn's result.
template <typename T, typename Fn>
void RunUnary(KernelContext& ctx, const Fn& fn) {
  using Out = decltype(fn(T()));
  const T* in = ctx.input(0).Data<const T>();
  Out* out = ctx.output(0).Data<Out>();
  ctx.thread_pool()->ParallelFor(ctx.output(0).NumElements(), 16384,
                                 [&](int64_t begin, int64_t end) {
                                   for (int64_t i = begin; i < end; ++i) out[i] = fn(in[i]);
                                 });
}

// RunUnary with T picked from input 0's dtype; fn is a generic lambda.
template <typename Fn>
Status EvalUnaryFloatTypes(KernelContext& ctx, const Fn& fn) {
  const bool ok =
      DispatchFloat(ctx.input(0).dtype, [&](auto t) { RunUnary<decltype(t)>(ctx, fn); });
  return ok ? Status::Ok() : UnsupportedUnaryDtype(ctx);
}
template <typename Fn>
Status EvalUnarySignedTypes(KernelContext& ctx, const Fn& fn) {
  const bool ok =
      DispatchSignedNumeric(ctx.input(0).dtype, [&](auto t) { RunUnary<decltype(t)>(ctx, fn); });
  return ok ? Status::Ok() : UnsupportedUnaryDtype(ctx);
}
template <typename Fn>
Status EvalUnaryNumericTypes(KernelContext& ctx, const Fn& fn) {
  const bool ok =
      DispatchNumeric(ctx.input(0).dtype, [&](auto t) { RunUnary<decltype(t)>(ctx, fn); });
  return ok ? Status::Ok() : UnsupportedUnaryDtype(ctx);
}
template <typename Fn>
Status EvalUnaryIntegerTypes(KernelContext& ctx, const Fn& fn) {
  const bool ok =
      DispatchInteger(ctx.input(0).dtype, [&](auto t) { RunUnary<decltype(t)>(ctx, fn); });
  return ok ? Status::Ok() : UnsupportedUnaryDtype(ctx);
}

// 1 / (1 + exp(-x)); exp() only sees non-positive arguments, so it never overflows.
template <typename T>
T StableSigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

// log(1 + exp(x)) without overflow for large x.
template <typename T>
T StableSoftplus(T x) {
  return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

// Up to two float attributes parsed in prepare (alpha/beta, lambd/bias, ...).
struct UnaryParams : OpState {
  float a = 0.0f;
  float b = 0.0f;
};
void SetUnaryParams(KernelContext& ctx, float a, float b = 0.0f);

}  // namespace lwai

#endif  // LWAI_KERNELS_UNARY_COMMON_H_
