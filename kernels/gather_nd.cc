// GatherND (ONNX 13): gathers slices of data addressed by the last axis of indices, after
// batch_dims leading batch axes; negative indices count from the end, checked at eval.
#include <cstring>
#include <memory>
#include <string>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

struct GatherNDState : OpState {
  int batch_dims = 0;
  int k = 0;                 // length of each index tuple
  int64_t per_batch = 1;     // index tuples per batch
  int64_t batch_stride = 1;  // data elements per batch
  int64_t slice = 1;         // elements per gathered slice
  int64_t tuples = 1;        // index tuples in all
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const TensorView& data = ctx.input(0);
  const TensorView& indices = ctx.input(1);
  LWAI_RETURN_IF_ERROR(ExpectSizedDtype(ctx, data.dtype));
  LWAI_RETURN_IF_ERROR(ExpectIndexDtype(ctx, 1, "indices"));
  const int r = data.shape.rank, q = indices.shape.rank;
  const int64_t b = ctx.node().GetInt("batch_dims", 0);
  if (q < 1 || r < 1 || b < 0 || b >= q || b >= r) {
    return ctx.InvalidModel(
        LWAI_MSG("batch_dims " + std::to_string(b) + " must be below the ranks of " + "data " +
                 data.shape.ToString() + " and indices " + indices.shape.ToString()));
  }
  const int64_t k = indices.shape[q - 1];
  if (k < 0 || k > r - b) {
    return ctx.ShapeMismatch(LWAI_MSG("indices " + indices.shape.ToString() + " address " +
                                      std::to_string(k) + " axes, data " + data.shape.ToString() +
                                      " has " + std::to_string(r - b) + " after batch_dims"));
  }
  auto state = std::make_unique<GatherNDState>();
  GatherNDState& s = *state;
  s.batch_dims = static_cast<int>(b);
  s.k = static_cast<int>(k);
  Shape out;
  for (int d = 0; d < q - 1; ++d) out[out.rank++] = indices.shape[d];
  for (int d = static_cast<int>(b + k); d < r; ++d) {
    if (out.rank >= kMaxRank)
      return ctx.Unsupported(LWAI_MSG("output rank above " + std::to_string(kMaxRank)));
    out[out.rank++] = data.shape[d];
  }
  for (int d = 0; d < b; ++d) {
    if (indices.shape[d] != data.shape[d]) {
      return ctx.ShapeMismatch(LWAI_MSG("batch dimensions of indices " + indices.shape.ToString() +
                                        " and data " + data.shape.ToString() + " differ"));
    }
  }
  for (int d = static_cast<int>(b); d < q - 1; ++d) s.per_batch *= indices.shape[d];
  for (int d = 0; d < q - 1; ++d) s.tuples *= indices.shape[d];
  for (int d = static_cast<int>(b); d < r; ++d) s.batch_stride *= data.shape[d];
  for (int d = static_cast<int>(b + k); d < r; ++d) s.slice *= data.shape[d];
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = data.dtype;
  ctx.output(0).shape = out;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const GatherNDState& s = *ctx.state<GatherNDState>();
  const TensorView& data = ctx.input(0);
  const TensorView& indices = ctx.input(1);
  const int64_t tuples = s.tuples;
  for (int64_t i = 0; i < tuples * s.k; ++i) {
    const int axis = s.batch_dims + static_cast<int>(i % s.k);
    const int64_t index = IndexAt(indices, i);
    const int64_t bound = data.shape[axis];
    if (index < -bound || index >= bound) return IndexOutOfRange(ctx, index, axis, bound);
  }
  int64_t strides[kMaxRank];
  ComputeStrides(data.shape, strides);
  const size_t element = DataTypeSize(data.dtype);
  const size_t slice_bytes = static_cast<size_t>(s.slice) * element;
  if (slice_bytes == 0 || s.per_batch == 0) return Status::Ok();
  const char* src = data.Data<const char>();
  char* dst = ctx.output(0).Data<char>();
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t offset = t / s.per_batch * s.batch_stride;
    for (int j = 0; j < s.k; ++j) {
      const int axis = s.batch_dims + j;
      int64_t index = IndexAt(indices, t * s.k + j);
      if (index < 0) index += data.shape[axis];
      offset += index * strides[axis];
    }
    std::memcpy(dst + t * slice_bytes, src + offset * element, slice_bytes);
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kGatherNDKernel = {OpType::GatherND, Prepare, Eval};

}  // namespace lwai
