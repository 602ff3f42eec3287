// Range (ONNX 11): start + i * delta for i in [0, max(ceil((limit - start) / delta), 0)); the
// three scalar inputs must be known at prepare. float32/64, int16/32/64.
#include <cmath>
#include <memory>
#include <string>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

bool RangeDtype(DataType dtype) {
  return dtype == DataType::kFloat32 || dtype == DataType::kFloat64 || dtype == DataType::kInt16 ||
         dtype == DataType::kInt32 || dtype == DataType::kInt64;
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const DataType dtype = ctx.input(0).dtype;
  if (!RangeDtype(dtype)) {
    return ctx.Unsupported(LWAI_MSG(std::string("dtype ") + DataTypeName(dtype) +
                                    " (expected float32, float64, int16, int32 or int64)"));
  }
  for (int i = 0; i < 3; ++i) {
    const TensorView& t = ctx.input(i);
    if (t.dtype != dtype || t.NumElements() != 1) {
      return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(i) + " must be a " +
                                       DataTypeName(dtype) + " scalar, got " +
                                       DataTypeName(t.dtype) + " " + t.shape.ToString()));
    }
    if (t.data == nullptr) return ctx.ValueNeeded(i);
  }
  int64_t count = 0;
  Status status = Status::Ok();
  DispatchNumeric(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T start = ctx.input(0).Data<const T>()[0];
    const T limit = ctx.input(1).Data<const T>()[0];
    const T delta = ctx.input(2).Data<const T>()[0];
    if (delta == 0) {
      status = ctx.InvalidModel(LWAI_MSG("delta is 0"));
      return;
    }
    const double n = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) /
                               static_cast<double>(delta));
    if (!(n < 9.0e15)) {
      status = ctx.InvalidModel(LWAI_MSG("range has too many elements"));
      return;
    }
    count = n > 0 ? static_cast<int64_t>(n) : 0;
  });
  LWAI_RETURN_IF_ERROR(status);
  ctx.output(0).dtype = dtype;
  ctx.output(0).shape = Shape({count});
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  TensorView& y = ctx.output(0);
  DispatchNumeric(y.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T start = ctx.input(0).Data<const T>()[0];
    const T delta = ctx.input(2).Data<const T>()[0];
    T* out = y.Data<T>();
    const int64_t n = y.NumElements();
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(start + static_cast<T>(i) * delta);
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kRangeKernel = {OpType::Range, Prepare, Eval};

}  // namespace lwai
