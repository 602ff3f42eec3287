// Sum (opset 13): elementwise sum of 1..N float inputs with numpy broadcasting.
#include "kernels/binary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareVariadic(ctx, IsFloatType, "float32, float64"); }

Status Eval(KernelContext& ctx) {
  const DataType dtype = ctx.output(0).dtype;
  if (!DispatchFloat(dtype, [&](auto t) {
        using T = decltype(t);
        EvalVariadicTyped<T>(ctx, [](T a, T b) { return a + b; });
      }))
    return UnsupportedDtype(ctx, dtype);
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kSumKernel = {OpType::Sum, Prepare, Eval};

}  // namespace lwai
