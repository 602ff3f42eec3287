// Gather (ONNX 13): data of any dtype, int32/int64 indices (negative count from the end) along
// `axis`. Indices are checked at eval before anything is written.
#include <cstring>
#include <memory>
#include <string>

#include "kernels/common.h"

namespace lwai {
namespace {

struct GatherState : OpState {
  int axis = 0;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const TensorView& data = ctx.input(0);
  const TensorView& indices = ctx.input(1);
  if (indices.dtype != DataType::kInt32 && indices.dtype != DataType::kInt64) {
    return ctx.InvalidModel(LWAI_MSG(std::string("indices must be int32 or int64, got ") +
                                     DataTypeName(indices.dtype)));
  }
  if (DataTypeSize(data.dtype) == 0) {
    return ctx.Unsupported(LWAI_MSG(std::string("dtype ") + DataTypeName(data.dtype)));
  }
  const int64_t axis_attr = ctx.node().GetInt("axis", 0);
  int axis = 0;
  if (!NormalizeAxis(axis_attr, data.shape.rank, &axis)) {
    return ctx.InvalidModel(LWAI_MSG("axis " + std::to_string(axis_attr) +
                                     " is out of range for data " + data.shape.ToString()));
  }
  if (data.shape.rank - 1 + indices.shape.rank > kMaxRank) {
    return ctx.Unsupported(LWAI_MSG("output rank " +
                                    std::to_string(data.shape.rank - 1 + indices.shape.rank) +
                                    " is above " + std::to_string(kMaxRank)));
  }
  Shape out;
  for (int d = 0; d < axis; ++d) out[out.rank++] = data.shape[d];
  for (int d = 0; d < indices.shape.rank; ++d) out[out.rank++] = indices.shape[d];
  for (int d = axis + 1; d < data.shape.rank; ++d) out[out.rank++] = data.shape[d];
  auto state = std::make_unique<GatherState>();
  state->axis = axis;
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = data.dtype;
  ctx.output(0).shape = out;
  return Status::Ok();
}

int64_t IndexAt(const TensorView& indices, int64_t i) {
  return indices.dtype == DataType::kInt64 ? indices.Data<const int64_t>()[i]
                                           : indices.Data<const int32_t>()[i];
}

Status Eval(KernelContext& ctx) {
  const int axis = ctx.state<GatherState>()->axis;
  const TensorView& data = ctx.input(0);
  const TensorView& indices = ctx.input(1);
  const int64_t bound = data.shape[axis];
  const int64_t count = indices.NumElements();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t index = IndexAt(indices, i);
    if (index < -bound || index >= bound) {
      return ctx.Error(StatusCode::kInvalidArgument,
                       LWAI_MSG("index " + std::to_string(index) + " is out of range for axis " +
                                std::to_string(axis) + " of size " + std::to_string(bound) +
                                " (valid: " + std::to_string(-bound) + " to " +
                                std::to_string(bound - 1) + ")"));
    }
  }
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= data.shape[d];
  for (int d = axis + 1; d < data.shape.rank; ++d) inner *= data.shape[d];
  const size_t slice = static_cast<size_t>(inner) * DataTypeSize(data.dtype);
  if (slice == 0) return Status::Ok();
  const char* src = data.Data<const char>();
  char* dst = ctx.output(0).Data<char>();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < count; ++i) {
      int64_t index = IndexAt(indices, i);
      if (index < 0) index += bound;
      std::memcpy(dst, src + (o * bound + index) * slice, slice);
      dst += slice;
    }
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kGatherKernel = {OpType::Gather, Prepare, Eval};

}  // namespace lwai
