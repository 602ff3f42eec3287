// Shared shape logic and loops for elementwise operators with numpy broadcasting: arithmetic
// (Add, Sub, Mul, Div, Mod, Pow), comparisons, logical and bitwise operators, variadic
// Max/Min/Sum/Mean, Where, PRelu and Expand.
#ifndef LWAI_KERNELS_BINARY_COMMON_H_
#define LWAI_KERNELS_BINARY_COMMON_H_

#include <string>
#include <type_traits>

#include "kernels/common.h"
#include "kernels/dispatch.h"
#include "kernels/kernel_api.h"

namespace lwai {

// dtype groups accepted by the operators of this group.
bool IsFloatType(DataType dtype);
bool IsIntegerType(DataType dtype);
bool IsUnsignedType(DataType dtype);
bool IsNumericType(DataType dtype);
bool IsBoolType(DataType dtype);

// Two inputs of one dtype that `accepts` (`expected` names the accepted dtypes for errors),
// broadcast together. The output gets `out_dtype`, or the inputs' dtype when kUndefined.
Status PrepareBroadcastBinary(KernelContext& ctx, bool (*accepts)(DataType), const char* expected,
                              DataType out_dtype = DataType::kUndefined);

// Add, Sub, Mul, Div: two numeric inputs of the same dtype; output broadcast shape.
Status PrepareBinary(KernelContext& ctx);

// Unsupported-dtype error for eval paths that prepare should have ruled out.
Status UnsupportedDtype(const KernelContext& ctx, DataType dtype);

// Integer arithmetic that wraps around like numpy instead of overflowing (undefined in C++):
// computed in an unsigned type at least as wide as unsigned int.
template <typename T>
using WrapType = std::common_type_t<std::make_unsigned_t<T>, unsigned>;

template <typename T>
T WrapAdd(T a, T b) {
  return static_cast<T>(static_cast<WrapType<T>>(a) + static_cast<WrapType<T>>(b));
}
template <typename T>
T WrapSub(T a, T b) {
  return static_cast<T>(static_cast<WrapType<T>>(a) - static_cast<WrapType<T>>(b));
}
template <typename T>
T WrapMul(T a, T b) {
  return static_cast<T>(static_cast<WrapType<T>>(a) * static_cast<WrapType<T>>(b));
}

// out[i] = fn(a[ia], b[ib]) over the broadcast of a and b into out, with fast paths for
// equal shapes and scalar operands.
template <typename TA, typename TB, typename TO, typename Fn>
void BroadcastLoop(const TensorView& a, const TensorView& b, TensorView& out, const Fn& fn) {
  const TA* pa = a.Data<const TA>();
  const TB* pb = b.Data<const TB>();
  TO* po = out.Data<TO>();
  const int64_t n = out.NumElements();
  if (n == 0) return;
  const bool a_full = a.shape == out.shape;
  const bool b_full = b.shape == out.shape;
  if (a_full && b_full) {
    for (int64_t i = 0; i < n; ++i) po[i] = fn(pa[i], pb[i]);
    return;
  }
  if (a_full && b.NumElements() == 1) {
    const TB bv = pb[0];
    for (int64_t i = 0; i < n; ++i) po[i] = fn(pa[i], bv);
    return;
  }
  if (b_full && a.NumElements() == 1) {
    const TA av = pa[0];
    for (int64_t i = 0; i < n; ++i) po[i] = fn(av, pb[i]);
    return;
  }
  int64_t a_strides[kMaxRank], b_strides[kMaxRank];
  BroadcastStrides(a.shape, out.shape, a_strides);
  BroadcastStrides(b.shape, out.shape, b_strides);
  ForEachBroadcast(out.shape, a_strides, b_strides,
                   [&](int64_t o, int64_t ia, int64_t ib) { po[o] = fn(pa[ia], pb[ib]); });
}

template <typename T, typename Fn>
void EvalBinaryTyped(KernelContext& ctx, const Fn& fn) {
  BroadcastLoop<T, T, T>(ctx.input(0), ctx.input(1), ctx.output(0), fn);
}

// Same-dtype inputs and output, numeric dtypes; `Op` is a functor with a templated call
// operator.
template <typename Op>
Status EvalBinary(KernelContext& ctx) {
  const DataType dtype = ctx.output(0).dtype;
  if (dtype == DataType::kFloat32) {  // The common case first.
    EvalBinaryTyped<float>(ctx, Op());
    return Status::Ok();
  }
  if (!DispatchNumeric(dtype, [&](auto t) { EvalBinaryTyped<decltype(t)>(ctx, Op()); }))
    return UnsupportedDtype(ctx, dtype);
  return Status::Ok();
}

// Comparisons: numeric inputs of one dtype, bool output.
template <typename Op>
Status EvalCompare(KernelContext& ctx) {
  const DataType dtype = ctx.input(0).dtype;
  if (!DispatchNumericOrBool(dtype, [&](auto t) {
        using T = decltype(t);
        BroadcastLoop<T, T, bool>(ctx.input(0), ctx.input(1), ctx.output(0), Op());
      }))
    return UnsupportedDtype(ctx, dtype);
  return Status::Ok();
}

// Variadic operators (Max, Min, Sum, Mean): 1..N inputs of one dtype that `accepts`, all
// broadcast together; the output has their dtype.
Status PrepareVariadic(KernelContext& ctx, bool (*accepts)(DataType), const char* expected);

// Folds the inputs into the output with fn: out = fn(...fn(fn(in0, in1), in2)..., inN).
template <typename T, typename Fn>
void EvalVariadicTyped(KernelContext& ctx, const Fn& fn) {
  TensorView& out = ctx.output(0);
  const int n = ctx.num_inputs();
  if (n == 1) {
    // One input: a broadcast copy (its shape is the output shape).
    CopyInputToOutput(ctx);
    return;
  }
  BroadcastLoop<T, T, T>(ctx.input(0), ctx.input(1), out, fn);
  for (int i = 2; i < n; ++i) BroadcastLoop<T, T, T>(out, ctx.input(i), out, fn);
}

// Copies `in` broadcast to `out`'s shape (same dtype), any element size.
void BroadcastCopy(const TensorView& in, TensorView& out);

}  // namespace lwai

#endif  // LWAI_KERNELS_BINARY_COMMON_H_
