#include "kernels/tensor_common.h"

#include <string>

namespace lwai {
namespace {

template <typename T>
void StridedCopyTyped(const StridedView& v, const T* src, T* dst) {
  const int64_t total = [&] {
    int64_t n = 1;
    for (int d = 0; d < v.rank; ++d) n *= v.dims[d];
    return n;
  }();
  if (total == 0) return;
  if (v.rank == 0) {
    dst[0] = src[v.offset];
    return;
  }
  const int last = v.rank - 1;
  const int64_t width = v.dims[last];
  const int64_t step = v.strides[last];
  int64_t index[kMaxRank] = {};
  int64_t offset = v.offset;
  for (int64_t row = 0; row < total / width; ++row) {
    const T* s = src + offset;
    for (int64_t i = 0; i < width; ++i) dst[i] = s[i * step];
    dst += width;
    for (int d = last - 1; d >= 0; --d) {
      offset += v.strides[d];
      if (++index[d] < v.dims[d]) break;
      offset -= v.strides[d] * v.dims[d];
      index[d] = 0;
    }
  }
}

}  // namespace

StridedView PermutedView(const Shape& dims, const int* perm) {
  int64_t strides[kMaxRank];
  ComputeStrides(dims, strides);
  StridedView view;
  view.rank = dims.rank;
  for (int d = 0; d < dims.rank; ++d) {
    view.dims[d] = dims[perm[d]];
    view.strides[d] = strides[perm[d]];
  }
  return view;
}

void StridedCopy(const StridedView& view, const void* src, void* dst, size_t element_size) {
  DispatchByElementSize(element_size, [&](auto tag) {
    using T = decltype(tag);
    StridedCopyTyped(view, static_cast<const T*>(src), static_cast<T*>(dst));
  });
}

Status ExpectIndexDtype(const KernelContext& ctx, int i, const char* what) {
  const DataType dtype = ctx.input(i).dtype;
  if (dtype != DataType::kInt32 && dtype != DataType::kInt64) {
    return ctx.InvalidModel(
        LWAI_MSG(std::string(what) + " must be int32 or int64, got " + DataTypeName(dtype)));
  }
  return Status::Ok();
}

Status ExpectSizedDtype(const KernelContext& ctx, DataType dtype) {
  const size_t size = DataTypeSize(dtype);
  if (size != 1 && size != 2 && size != 4 && size != 8) {
    return ctx.Unsupported(LWAI_MSG(std::string("dtype ") + DataTypeName(dtype)));
  }
  return Status::Ok();
}

Status ReadScalarAsDouble(const KernelContext& ctx, int input, double* value) {
  if (!ctx.has_input(input)) {
    return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(input) + " is missing"));
  }
  const TensorView& t = ctx.input(input);
  if (t.data == nullptr) return ctx.ValueNeeded(input);
  if (t.NumElements() != 1) {
    return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(input) +
                                     " must hold one value, got " + t.shape.ToString()));
  }
  const bool known = DispatchNumericOrBool(t.dtype, [&](auto tag) {
    using T = decltype(tag);
    *value = static_cast<double>(t.Data<const T>()[0]);
  });
  if (!known) {
    return ctx.Unsupported(
        LWAI_MSG("input " + std::to_string(input) + " has dtype " + DataTypeName(t.dtype)));
  }
  return Status::Ok();
}

Status IndexOutOfRange(const KernelContext& ctx, int64_t index, int axis, int64_t bound) {
  return ctx.Error(
      StatusCode::kInvalidArgument,
      LWAI_MSG("index " + std::to_string(index) + " is out of range for axis " +
               std::to_string(axis) + " of size " + std::to_string(bound) +
               " (valid: " + std::to_string(-bound) + " to " + std::to_string(bound - 1) + ")"));
}

Status ParseScatterReduction(const KernelContext& ctx, DataType dtype,
                             ScatterReduction* reduction) {
  const std::string name = ctx.node().GetString("reduction", "none");
  if (name == "none") {
    *reduction = ScatterReduction::kNone;
    return Status::Ok();
  }
  if (name == "add") {
    *reduction = ScatterReduction::kAdd;
  } else if (name == "mul") {
    *reduction = ScatterReduction::kMul;
  } else if (name == "max") {
    *reduction = ScatterReduction::kMax;
  } else if (name == "min") {
    *reduction = ScatterReduction::kMin;
  } else {
    return ctx.InvalidModel(
        LWAI_MSG("reduction must be none, add, mul, max or min, got '" + name + "'"));
  }
  const bool numeric = DispatchNumericOrBool(dtype, [](auto) {});
  if (!numeric) {
    return ctx.Unsupported(LWAI_MSG("reduction '" + name + "' on dtype " + DataTypeName(dtype)));
  }
  return Status::Ok();
}

}  // namespace lwai
