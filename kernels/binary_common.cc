#include "kernels/binary_common.h"

#include <cstring>

namespace lwai {

bool IsFloatType(DataType dtype) {
  return dtype == DataType::kFloat32 || dtype == DataType::kFloat64;
}

bool IsUnsignedType(DataType dtype) {
  return dtype == DataType::kUInt8 || dtype == DataType::kUInt16 || dtype == DataType::kUInt32 ||
         dtype == DataType::kUInt64;
}

bool IsIntegerType(DataType dtype) {
  return IsUnsignedType(dtype) || dtype == DataType::kInt8 || dtype == DataType::kInt16 ||
         dtype == DataType::kInt32 || dtype == DataType::kInt64;
}

bool IsNumericType(DataType dtype) { return IsFloatType(dtype) || IsIntegerType(dtype); }

bool IsBoolType(DataType dtype) { return dtype == DataType::kBool; }

Status UnsupportedDtype(const KernelContext& ctx, DataType dtype) {
  return ctx.Unsupported(LWAI_MSG(std::string("dtype ") + DataTypeName(dtype)));
}

Status PrepareBroadcastBinary(KernelContext& ctx, bool (*accepts)(DataType), const char* expected,
                              DataType out_dtype) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const TensorView& a = ctx.input(0);
  const TensorView& b = ctx.input(1);
  if (a.dtype != b.dtype) {
    return ctx.InvalidModel(LWAI_MSG(std::string("input dtypes differ: ") + DataTypeName(a.dtype) +
                                     " vs " + DataTypeName(b.dtype)));
  }
  if (!accepts(a.dtype)) {
    return ctx.Unsupported(
        LWAI_MSG(std::string("dtype ") + DataTypeName(a.dtype) + " (supported: " + expected + ")"));
  }
  Shape shape;
  Status status = BroadcastShapes(a.shape, b.shape, &shape);
  if (!status.ok()) return ctx.ShapeMismatch(LWAI_MSG(status.message()));
  TensorView& out = ctx.output(0);
  out.shape = shape;
  out.dtype = out_dtype == DataType::kUndefined ? a.dtype : out_dtype;
  return Status::Ok();
}

Status PrepareBinary(KernelContext& ctx) {
  return PrepareBroadcastBinary(ctx, IsNumericType, "float32, float64, int8..int64, uint8..uint64");
}

Status PrepareVariadic(KernelContext& ctx, bool (*accepts)(DataType), const char* expected) {
  const int n = ctx.num_inputs();
  if (n < 1) return ctx.InvalidModel(LWAI_MSG("expected at least 1 input, got 0"));
  if (ctx.num_outputs() < 1) return ctx.InvalidModel(LWAI_MSG("expected 1 output, got 0"));
  for (int i = 0; i < n; ++i) {
    if (!ctx.has_input(i))
      return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(i) + " is missing"));
  }
  const DataType dtype = ctx.input(0).dtype;
  if (!accepts(dtype)) {
    return ctx.Unsupported(
        LWAI_MSG(std::string("dtype ") + DataTypeName(dtype) + " (supported: " + expected + ")"));
  }
  Shape shape = ctx.input(0).shape;
  for (int i = 1; i < n; ++i) {
    const TensorView& in = ctx.input(i);
    if (in.dtype != dtype) {
      return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(i) + " has dtype " +
                                       DataTypeName(in.dtype) + ", expected " +
                                       DataTypeName(dtype) + " like input 0"));
    }
    Shape next;
    Status status = BroadcastShapes(shape, in.shape, &next);
    if (!status.ok()) return ctx.ShapeMismatch(LWAI_MSG(status.message()));
    shape = next;
  }
  TensorView& out = ctx.output(0);
  out.shape = shape;
  out.dtype = dtype;
  return Status::Ok();
}

void BroadcastCopy(const TensorView& in, TensorView& out) {
  const int64_t n = out.NumElements();
  if (n == 0) return;
  const size_t size = DataTypeSize(out.dtype);
  if (in.shape == out.shape) {
    if (in.data != out.data) std::memcpy(out.data, in.data, static_cast<size_t>(n) * size);
    return;
  }
  DispatchByElementSize(size, [&](auto t) {
    using T = decltype(t);
    const T* src = in.Data<const T>();
    T* dst = out.Data<T>();
    if (in.NumElements() == 1) {
      const T v = src[0];
      for (int64_t i = 0; i < n; ++i) dst[i] = v;
      return;
    }
    int64_t in_strides[kMaxRank];
    int64_t zero_strides[kMaxRank] = {};
    BroadcastStrides(in.shape, out.shape, in_strides);
    ForEachBroadcast(out.shape, in_strides, zero_strides,
                     [&](int64_t o, int64_t i, int64_t) { dst[o] = src[i]; });
  });
}

}  // namespace lwai
