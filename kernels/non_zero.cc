// NonZero (ONNX 13): the indices of the non-zero elements as int64 [rank, count], in row-major
// order. The output shape depends on the values: input 0 must be known at prepare.
#include <string>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

int64_t CountNonZero(const TensorView& x) {
  int64_t count = 0;
  DispatchNumericOrBool(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* data = x.Data<const T>();
    const int64_t n = x.NumElements();
    for (int64_t i = 0; i < n; ++i) count += data[i] != T(0) ? 1 : 0;
  });
  return count;
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const TensorView& x = ctx.input(0);
  if (!DispatchNumericOrBool(x.dtype, [](auto) {})) {
    return ctx.Unsupported(LWAI_MSG(std::string("dtype ") + DataTypeName(x.dtype) +
                                    " (expected a numeric type or bool)"));
  }
  if (x.data == nullptr) return ctx.ValueNeeded(0);
  ctx.output(0).dtype = DataType::kInt64;
  ctx.output(0).shape = Shape({x.shape.rank, CountNonZero(x)});
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const TensorView& x = ctx.input(0);
  TensorView& y = ctx.output(0);
  const int64_t count = y.shape[1];
  int64_t* out = y.Data<int64_t>();
  DispatchNumericOrBool(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* data = x.Data<const T>();
    int64_t i = 0, j = 0;
    ForEachIndex(x.shape, [&](const int64_t* index) {
      if (data[i++] != T(0) && j < count) {
        for (int d = 0; d < x.shape.rank; ++d) out[d * count + j] = index[d];
        ++j;
      }
    });
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kNonZeroKernel = {OpType::NonZero, Prepare, Eval};

}  // namespace lwai
