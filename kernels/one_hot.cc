// OneHot (ONNX 11): output[..., d, ...] (d inserted at `axis`) is values[1] where the index
// equals d and values[0] elsewhere; negative indices add depth, ones outside [-depth, depth)
// give all values[0]. depth (input 1) must be known at prepare. Indices of any numeric dtype,
// values of any dtype.
#include <cstring>
#include <memory>
#include <string>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

struct OneHotState : OpState {
  int axis = 0;
  int64_t depth = 0;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const TensorView& indices = ctx.input(0);
  const TensorView& values = ctx.input(2);
  if (!DispatchNumeric(indices.dtype, [](auto) {})) {
    return ctx.InvalidModel(
        LWAI_MSG(std::string("indices must be numeric, got ") + DataTypeName(indices.dtype)));
  }
  LWAI_RETURN_IF_ERROR(ExpectSizedDtype(ctx, values.dtype));
  if (values.NumElements() != 2) {
    return ctx.ShapeMismatch(
        LWAI_MSG("values must hold [off_value, on_value], got " + values.shape.ToString()));
  }
  double depth = 0;
  LWAI_RETURN_IF_ERROR(ReadScalarAsDouble(ctx, 1, &depth));
  if (!(depth >= 1 && depth < 9.0e15)) {
    return ctx.InvalidModel(LWAI_MSG("depth must be positive, got " + std::to_string(depth)));
  }
  const int rank = indices.shape.rank + 1;
  if (rank > kMaxRank) {
    return ctx.Unsupported(
        LWAI_MSG("output rank " + std::to_string(rank) + " is above " + std::to_string(kMaxRank)));
  }
  auto state = std::make_unique<OneHotState>();
  const int64_t axis_attr = ctx.node().GetInt("axis", -1);
  if (!NormalizeAxis(axis_attr, rank, &state->axis)) {
    return ctx.InvalidModel(LWAI_MSG("axis " + std::to_string(axis_attr) +
                                     " is out of range for rank " + std::to_string(rank)));
  }
  state->depth = static_cast<int64_t>(depth);
  Shape out;
  out.rank = rank;
  for (int d = 0, next = 0; d < rank; ++d) {
    out[d] = d == state->axis ? state->depth : indices.shape[next++];
  }
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = values.dtype;
  ctx.output(0).shape = out;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const OneHotState& s = *ctx.state<OneHotState>();
  const TensorView& indices = ctx.input(0);
  const TensorView& values = ctx.input(2);
  TensorView& y = ctx.output(0);
  const size_t element = DataTypeSize(y.dtype);
  DispatchByElementSize(element, [&](auto tag) {
    using T = decltype(tag);
    const T off = values.Data<const T>()[0];
    T* out = y.Data<T>();
    const int64_t n = y.NumElements();
    for (int64_t i = 0; i < n; ++i) out[i] = off;
  });
  int64_t inner = 1;
  for (int d = s.axis; d < indices.shape.rank; ++d) inner *= indices.shape[d];
  const char* on = values.Data<const char>() + element;
  char* out = y.Data<char>();
  const int64_t count = indices.NumElements();
  DispatchNumeric(indices.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* idx = indices.Data<const T>();
    for (int64_t i = 0; i < count; ++i) {
      const double v = static_cast<double>(idx[i]);
      if (!(v > -static_cast<double>(s.depth) - 1 && v < static_cast<double>(s.depth))) continue;
      int64_t k = static_cast<int64_t>(v);
      if (k < 0) k += s.depth;
      if (k < 0 || k >= s.depth) continue;
      const int64_t o = i / inner, r = i % inner;
      std::memcpy(out + ((o * s.depth + k) * inner + r) * element, on, element);
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kOneHotKernel = {OpType::OneHot, Prepare, Eval};

}  // namespace lwai
