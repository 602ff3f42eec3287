// GatherElements (ONNX 13): output[i] = data[i with axis coordinate = indices[i]]; int32/int64
// indices, negative ones count from the end, checked at eval. Any dtype.
#include <memory>
#include <string>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

struct GatherElementsState : OpState {
  int axis = 0;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const TensorView& data = ctx.input(0);
  const TensorView& indices = ctx.input(1);
  LWAI_RETURN_IF_ERROR(ExpectSizedDtype(ctx, data.dtype));
  LWAI_RETURN_IF_ERROR(ExpectIndexDtype(ctx, 1, "indices"));
  const int64_t axis_attr = ctx.node().GetInt("axis", 0);
  int axis = 0;
  if (!NormalizeAxis(axis_attr, data.shape.rank, &axis)) {
    return ctx.InvalidModel(LWAI_MSG("axis " + std::to_string(axis_attr) +
                                     " is out of range for data " + data.shape.ToString()));
  }
  if (indices.shape.rank != data.shape.rank) {
    return ctx.ShapeMismatch(LWAI_MSG("indices " + indices.shape.ToString() +
                                      " must have the rank of data " + data.shape.ToString()));
  }
  for (int d = 0; d < data.shape.rank; ++d) {
    if (d != axis && indices.shape[d] > data.shape[d]) {
      return ctx.ShapeMismatch(LWAI_MSG("indices " + indices.shape.ToString() + " exceed data " +
                                        data.shape.ToString() + " along axis " +
                                        std::to_string(d)));
    }
  }
  auto state = std::make_unique<GatherElementsState>();
  state->axis = axis;
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = data.dtype;
  ctx.output(0).shape = indices.shape;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const int axis = ctx.state<GatherElementsState>()->axis;
  const TensorView& data = ctx.input(0);
  const TensorView& indices = ctx.input(1);
  const int64_t bound = data.shape[axis];
  const int64_t count = indices.NumElements();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t index = IndexAt(indices, i);
    if (index < -bound || index >= bound) return IndexOutOfRange(ctx, index, axis, bound);
  }
  int64_t strides[kMaxRank];
  ComputeStrides(data.shape, strides);
  DispatchByElementSize(DataTypeSize(data.dtype), [&](auto tag) {
    using T = decltype(tag);
    const T* src = data.Data<const T>();
    T* dst = ctx.output(0).Data<T>();
    int64_t i = 0;
    ForEachIndex(indices.shape, [&](const int64_t* index) {
      int64_t k = IndexAt(indices, i);
      if (k < 0) k += bound;
      int64_t offset = 0;
      for (int d = 0; d < data.shape.rank; ++d) offset += (d == axis ? k : index[d]) * strides[d];
      dst[i++] = src[offset];
    });
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kGatherElementsKernel = {OpType::GatherElements, Prepare, Eval};

}  // namespace lwai
