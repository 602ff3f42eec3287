// CumSum (ONNX 14): cumulative sum along the axis input (a scalar), exclusive, reverse.
#include <string>

#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const TensorView& x = ctx.input(0);
  if (!DispatchNumeric(x.dtype, [](auto) {})) {
    return ctx.Unsupported(LWAI_MSG(std::string("input dtype ") + DataTypeName(x.dtype) +
                                    " is not supported (expected a numeric type)"));
  }
  const TensorView& axis = ctx.input(1);
  if (axis.dtype != DataType::kInt32 && axis.dtype != DataType::kInt64) {
    return ctx.InvalidModel(
        LWAI_MSG(std::string("axis must be int32 or int64, got ") + DataTypeName(axis.dtype)));
  }
  if (axis.NumElements() != 1) {
    return ctx.ShapeMismatch(LWAI_MSG("axis must be a scalar, got " + axis.shape.ToString()));
  }
  if (x.shape.rank == 0)
    return ctx.ShapeMismatch(LWAI_MSG("input must have rank >= 1, got a scalar"));
  if (axis.data != nullptr) {
    AxisSplit split;
    LWAI_RETURN_IF_ERROR(SplitAtAxis(ctx, x.shape, IntAt(axis, 0), &split));
  }
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = x.shape;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const TensorView& x = ctx.input(0);
  // The axis may only be known now; it does not change the output shape.
  AxisSplit s;
  LWAI_RETURN_IF_ERROR(SplitAtAxis(ctx, x.shape, IntAt(ctx.input(1), 0), &s));
  const bool exclusive = ctx.node().GetInt("exclusive", 0) != 0;
  const bool reverse = ctx.node().GetInt("reverse", 0) != 0;
  DispatchNumeric(x.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* in = x.Data<const T>();
    T* out = ctx.output(0).Data<T>();
    const int64_t step = reverse ? -s.inner : s.inner;
    for (int64_t line = 0; line < s.lines(); ++line) {
      int64_t offset = s.LineOffset(line) + (reverse ? (s.size - 1) * s.inner : 0);
      T sum = T(0);
      for (int64_t i = 0; i < s.size; ++i, offset += step) {
        const T v = in[offset];
        if (exclusive) {
          out[offset] = sum;
          sum += v;
        } else {
          sum += v;
          out[offset] = sum;
        }
      }
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kCumSumKernel = {OpType::CumSum, Prepare, Eval};

}  // namespace lwai
