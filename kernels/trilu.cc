// Trilu (ONNX 14): keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two
// axes and zeroes the rest; k is the optional scalar input 1 (default 0). Any dtype.
#include <string>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 2));
  const TensorView& x = ctx.input(0);
  LWAI_RETURN_IF_ERROR(ExpectSizedDtype(ctx, x.dtype));
  if (x.shape.rank < 2) {
    return ctx.ShapeMismatch(LWAI_MSG("input must have rank >= 2, got " + x.shape.ToString()));
  }
  if (ctx.has_input(1)) {
    LWAI_RETURN_IF_ERROR(ExpectIndexDtype(ctx, 1, "k"));
    if (ctx.input(1).NumElements() != 1) {
      return ctx.ShapeMismatch(
          LWAI_MSG("k must be a scalar, got " + ctx.input(1).shape.ToString()));
    }
  }
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = x.shape;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const TensorView& x = ctx.input(0);
  const bool upper = ctx.node().GetInt("upper", 1) != 0;
  const int64_t k = ctx.has_input(1) ? IndexAt(ctx.input(1), 0) : 0;
  const int64_t rows = x.shape[x.shape.rank - 2];
  const int64_t cols = x.shape[x.shape.rank - 1];
  const int64_t matrices = rows * cols == 0 ? 0 : x.NumElements() / (rows * cols);
  DispatchByElementSize(DataTypeSize(x.dtype), [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.Data<const T>();
    T* dst = ctx.output(0).Data<T>();
    for (int64_t m = 0; m < matrices; ++m) {
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t base = (m * rows + i) * cols;
        for (int64_t j = 0; j < cols; ++j) {
          const bool keep = upper ? j - i >= k : j - i <= k;
          dst[base + j] = keep ? src[base + j] : T(0);
        }
      }
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kTriluKernel = {OpType::Trilu, Prepare, Eval};

}  // namespace lwai
