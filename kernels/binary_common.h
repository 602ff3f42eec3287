// Shared shape logic and loops for elementwise binary operators with numpy broadcasting
// (Add, Sub, Mul, Div). float32 for math; int32/int64 so shape arithmetic runs too.
#ifndef LWAI_KERNELS_BINARY_COMMON_H_
#define LWAI_KERNELS_BINARY_COMMON_H_

#include "kernels/common.h"
#include "kernels/kernel_api.h"

namespace lwai {

// Two inputs of the same dtype (float32, int32 or int64); output broadcast shape.
Status PrepareBinary(KernelContext& ctx);

template <typename T, typename Fn>
void EvalBinaryTyped(KernelContext& ctx, const Fn& fn) {
  const TensorView& a = ctx.input(0);
  const TensorView& b = ctx.input(1);
  TensorView& out = ctx.output(0);
  const T* pa = a.Data<const T>();
  const T* pb = b.Data<const T>();
  T* po = out.Data<T>();
  const int64_t n = out.NumElements();
  if (a.shape == out.shape && b.shape == out.shape) {
    for (int64_t i = 0; i < n; ++i) po[i] = fn(pa[i], pb[i]);
    return;
  }
  if (b.NumElements() == 1 && a.shape == out.shape) {
    const T bv = pb[0];
    for (int64_t i = 0; i < n; ++i) po[i] = fn(pa[i], bv);
    return;
  }
  int64_t a_strides[kMaxRank], b_strides[kMaxRank];
  BroadcastStrides(a.shape, out.shape, a_strides);
  BroadcastStrides(b.shape, out.shape, b_strides);
  ForEachBroadcast(out.shape, a_strides, b_strides,
                   [&](int64_t o, int64_t ia, int64_t ib) { po[o] = fn(pa[ia], pb[ib]); });
}

// Dispatches on dtype; `Op` is a functor type with a templated call operator.
template <typename Op>
Status EvalBinary(KernelContext& ctx) {
  switch (ctx.output(0).dtype) {
    case DataType::kFloat32:
      EvalBinaryTyped<float>(ctx, Op());
      return Status::Ok();
    case DataType::kInt32:
      EvalBinaryTyped<int32_t>(ctx, Op());
      return Status::Ok();
    case DataType::kInt64:
      EvalBinaryTyped<int64_t>(ctx, Op());
      return Status::Ok();
    default:
      return ctx.Unsupported(std::string("dtype ") + DataTypeName(ctx.output(0).dtype));
  }
}

}  // namespace lwai

#endif  // LWAI_KERNELS_BINARY_COMMON_H_
