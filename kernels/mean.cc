// Mean (opset 13): elementwise mean of 1..N float inputs with numpy broadcasting.
#include "kernels/binary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareVariadic(ctx, IsFloatType, "float32, float64"); }

Status Eval(KernelContext& ctx) {
  const DataType dtype = ctx.output(0).dtype;
  if (!DispatchFloat(dtype, [&](auto t) {
        using T = decltype(t);
        EvalVariadicTyped<T>(ctx, [](T a, T b) { return a + b; });
        const T count = static_cast<T>(ctx.num_inputs());
        T* out = ctx.output(0).Data<T>();
        const int64_t n = ctx.output(0).NumElements();
        for (int64_t i = 0; i < n; ++i) out[i] /= count;
      }))
    return UnsupportedDtype(ctx, dtype);
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kMeanKernel = {OpType::Mean, Prepare, Eval};

}  // namespace lwai
