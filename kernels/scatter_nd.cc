// ScatterND (ONNX 18): output = data with the slices of updates combined (reduction none, add,
// mul, max, min) at the positions addressed by the last axis of indices; negative indices
// count from the end, checked at eval.
#include <memory>
#include <string>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

struct ScatterNDState : OpState {
  ScatterReduction reduction = ScatterReduction::kNone;
  int k = 0;           // length of each index tuple
  int64_t tuples = 1;  // index tuples in all
  int64_t slice = 1;   // elements per updated slice
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
  auto state = std::make_unique<ScatterNDState>();
  ScatterNDState& s = *state;
  LWAI_RETURN_IF_ERROR(ParseScatterReduction(ctx, data.dtype, &s.reduction));
  const int r = data.shape.rank, q = indices.shape.rank;
  if (q < 1 || indices.shape[q - 1] > r) {
    return ctx.ShapeMismatch(LWAI_MSG("indices " + indices.shape.ToString() +
                                      " cannot address data " + data.shape.ToString()));
  }
  s.k = static_cast<int>(indices.shape[q - 1]);
  // updates must be indices.shape[:-1] + data.shape[k:].
  Shape expected;
  for (int d = 0; d < q - 1; ++d) expected[expected.rank++] = indices.shape[d];
  for (int d = s.k; d < r && expected.rank < kMaxRank; ++d)
    expected[expected.rank++] = data.shape[d];
  if (q - 1 + r - s.k > kMaxRank || updates.shape != expected) {
    return ctx.ShapeMismatch(LWAI_MSG("updates " + updates.shape.ToString() + " must have shape " +
                                      expected.ToString()));
  }
  for (int d = 0; d < q - 1; ++d) s.tuples *= indices.shape[d];
  for (int d = s.k; d < r; ++d) s.slice *= data.shape[d];
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = data.dtype;
  ctx.output(0).shape = data.shape;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const ScatterNDState& s = *ctx.state<ScatterNDState>();
  const TensorView& data = ctx.input(0);
  const TensorView& indices = ctx.input(1);
  for (int64_t i = 0; i < s.tuples * s.k; ++i) {
    const int axis = static_cast<int>(i % s.k);
    const int64_t index = IndexAt(indices, i);
    const int64_t bound = data.shape[axis];
    if (index < -bound || index >= bound) return IndexOutOfRange(ctx, index, axis, bound);
  }
  CopyInputToOutput(ctx);
  int64_t strides[kMaxRank];
  ComputeStrides(data.shape, strides);
  ScatterSlices(s.reduction, data.dtype, ctx.output(0).data, ctx.input(2).data, s.tuples, s.slice,
                [&](int64_t t) {
                  int64_t offset = 0;
                  for (int j = 0; j < s.k; ++j) {
                    int64_t index = IndexAt(indices, t * s.k + j);
                    if (index < 0) index += data.shape[j];
                    offset += index * strides[j];
                  }
                  return offset;
                });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kScatterNDKernel = {OpType::ScatterND, Prepare, Eval};

}  // namespace lwai
