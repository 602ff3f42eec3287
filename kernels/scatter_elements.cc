// ScatterElements (ONNX 18): output = data with updates[i] combined (reduction none, add, mul,
// max, min) into the element at i with its axis coordinate replaced by indices[i]. int32/int64
// indices, negative ones count from the end, checked at eval. Also serves the deprecated
// Scatter (the importer renames it).
#include <cstring>
#include <memory>
#include <string>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

struct ScatterElementsState : OpState {
  int axis = 0;
  ScatterReduction reduction = ScatterReduction::kNone;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const TensorView& data = ctx.input(0);
  const TensorView& indices = ctx.input(1);
  const TensorView& updates = ctx.input(2);
  LWAI_RETURN_IF_ERROR(ExpectSizedDtype(ctx, data.dtype));
  LWAI_RETURN_IF_ERROR(ExpectIndexDtype(ctx, 1, "indices"));
  if (updates.dtype != data.dtype) {
    return ctx.InvalidModel(LWAI_MSG(std::string("updates have dtype ") +
                                     DataTypeName(updates.dtype) + ", data has " +
                                     DataTypeName(data.dtype)));
  }
  auto state = std::make_unique<ScatterElementsState>();
  LWAI_RETURN_IF_ERROR(ParseScatterReduction(ctx, data.dtype, &state->reduction));
  const int64_t axis_attr = ctx.node().GetInt("axis", 0);
  if (!NormalizeAxis(axis_attr, data.shape.rank, &state->axis)) {
    return ctx.InvalidModel(LWAI_MSG("axis " + std::to_string(axis_attr) +
                                     " is out of range for data " + data.shape.ToString()));
  }
  if (updates.shape != indices.shape) {
    return ctx.ShapeMismatch(LWAI_MSG("updates " + updates.shape.ToString() +
                                      " must have the shape of " + "indices " +
                                      indices.shape.ToString()));
  }
  bool fits = indices.shape.rank == data.shape.rank;
  for (int d = 0; fits && d < data.shape.rank; ++d) {
    fits = d == state->axis || indices.shape[d] <= data.shape[d];
  }
  if (!fits) {
    return ctx.ShapeMismatch(LWAI_MSG("indices " + indices.shape.ToString() + " do not fit data " +
                                      data.shape.ToString()));
  }
  ctx.SetState(std::move(state));
  ctx.RequestScratch(static_cast<size_t>(indices.NumElements()) * sizeof(int64_t));
  ctx.output(0).dtype = data.dtype;
  ctx.output(0).shape = data.shape;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const ScatterElementsState& s = *ctx.state<ScatterElementsState>();
  const TensorView& data = ctx.input(0);
  const TensorView& indices = ctx.input(1);
  const int64_t bound = data.shape[s.axis];
  const int64_t count = indices.NumElements();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t index = IndexAt(indices, i);
    if (index < -bound || index >= bound) return IndexOutOfRange(ctx, index, s.axis, bound);
  }
  CopyInputToOutput(ctx);
  int64_t strides[kMaxRank];
  ComputeStrides(data.shape, strides);
  int64_t* offsets = static_cast<int64_t*>(ctx.scratch());
  int64_t i = 0;
  ForEachIndex(indices.shape, [&](const int64_t* index) {
    int64_t k = IndexAt(indices, i);
    if (k < 0) k += bound;
    int64_t offset = 0;
    for (int d = 0; d < data.shape.rank; ++d) offset += (d == s.axis ? k : index[d]) * strides[d];
    offsets[i++] = offset;
  });
  ScatterSlices(s.reduction, data.dtype, ctx.output(0).data, ctx.input(2).data, count, 1,
                [&](int64_t u) { return offsets[u]; });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kScatterElementsKernel = {OpType::ScatterElements, Prepare, Eval};

}  // namespace lwai
