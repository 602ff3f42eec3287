// PRelu (opset 16): out = x > 0 ? x : x * slope, with slope broadcast to x's shape.
#include <type_traits>

#include "kernels/binary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const TensorView& x = ctx.input(0);
  const TensorView& slope = ctx.input(1);
  if (x.dtype != slope.dtype) {
    return ctx.InvalidModel(LWAI_MSG(std::string("x and slope dtypes differ: ") +
                                     DataTypeName(x.dtype) + " vs " + DataTypeName(slope.dtype)));
  }
  if (!IsNumericType(x.dtype)) {
    return ctx.Unsupported(LWAI_MSG(std::string("dtype ") + DataTypeName(x.dtype) +
                                    " (supported: float32, float64, int8..int64, uint8..uint64)"));
  }
  Shape shape;
  Status status = BroadcastShapes(x.shape, slope.shape, &shape);
  if (!status.ok() || shape != x.shape) {
    return ctx.ShapeMismatch(LWAI_MSG("slope " + slope.shape.ToString() +
                                      " cannot be broadcast to x " + x.shape.ToString()));
  }
  ctx.output(0).shape = x.shape;
  ctx.output(0).dtype = x.dtype;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const DataType dtype = ctx.output(0).dtype;
  if (!DispatchNumeric(dtype, [&](auto t) {
        using T = decltype(t);
        BroadcastLoop<T, T, T>(ctx.input(0), ctx.input(1), ctx.output(0), [](T x, T s) {
          if constexpr (std::is_integral_v<T>) {
            return x > 0 ? x : WrapMul(x, s);
          } else {
            return x > 0 ? x : x * s;
          }
        });
      }))
    return UnsupportedDtype(ctx, dtype);
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kPReluKernel = {OpType::PRelu, Prepare, Eval};

}  // namespace lwai
