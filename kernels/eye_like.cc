// EyeLike (ONNX 22): a 2-D tensor of the input's shape with ones on diagonal k (j - i = k) and
// zeros elsewhere, of dtype `dtype` (default: the input's). Numeric and bool dtypes.
#include <cstring>
#include <memory>
#include <string>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const TensorView& x = ctx.input(0);
  if (x.shape.rank != 2) {
    return ctx.ShapeMismatch(LWAI_MSG("input must be 2-D, got " + x.shape.ToString()));
  }
  const DataType dtype =
      static_cast<DataType>(ctx.node().GetInt("dtype", static_cast<int64_t>(x.dtype)));
  if (!DispatchNumericOrBool(dtype, [](auto) {})) {
    return ctx.Unsupported(LWAI_MSG(std::string("output dtype ") + DataTypeName(dtype) +
                                    " (expected a numeric type or bool)"));
  }
  ctx.output(0).dtype = dtype;
  ctx.output(0).shape = x.shape;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  TensorView& y = ctx.output(0);
  const int64_t k = ctx.node().GetInt("k", 0);
  const int64_t rows = y.shape[0], cols = y.shape[1];
  if (y.ByteSize() > 0) std::memset(y.data, 0, y.ByteSize());
  DispatchNumericOrBool(y.dtype, [&](auto tag) {
    using T = decltype(tag);
    T* out = y.Data<T>();
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t j = i + k;
      if (j >= 0 && j < cols) out[i * cols + j] = T(1);
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kEyeLikeKernel = {OpType::EyeLike, Prepare, Eval};

}  // namespace lwai
