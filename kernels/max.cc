// Max (opset 13): elementwise maximum of 1..N numeric inputs with numpy broadcasting; NaN
// propagates like numpy.maximum.
#include "kernels/binary_common.h"

namespace lwai {
namespace {

struct MaxOp {
  template <typename T>
  T operator()(T a, T b) const {
    return (a > b || a != a) ? a : b;
  }
};

Status Prepare(KernelContext& ctx) {
  return PrepareVariadic(ctx, IsNumericType, "float32, float64, int8..int64, uint8..uint64");
}

Status Eval(KernelContext& ctx) {
  const DataType dtype = ctx.output(0).dtype;
  if (!DispatchNumeric(dtype, [&](auto t) { EvalVariadicTyped<decltype(t)>(ctx, MaxOp()); }))
    return UnsupportedDtype(ctx, dtype);
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kMaxKernel = {OpType::Max, Prepare, Eval};

}  // namespace lwai
