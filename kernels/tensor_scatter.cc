// TensorScatter (ONNX 24): copies past_cache and writes update along `axis` starting at
// write_indices[batch] (0 when omitted); mode "circular" wraps positions modulo the axis size,
// "linear" requires them to fit. Any dtype, copied as bytes.
#include <cstring>
#include <memory>
#include <string>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

struct TensorScatterState : OpState {
  int axis = 0;
  bool circular = false;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
  const TensorView& cache = ctx.input(0);
  const TensorView& update = ctx.input(1);
  LWAI_RETURN_IF_ERROR(ExpectSizedDtype(ctx, cache.dtype));
  if (update.dtype != cache.dtype) {
    return ctx.InvalidModel(LWAI_MSG(std::string("update has dtype ") + DataTypeName(update.dtype) +
                                     ", past_cache has " + DataTypeName(cache.dtype)));
  }
  auto state = std::make_unique<TensorScatterState>();
  const std::string mode = ctx.node().GetString("mode", "linear");
  if (mode != "linear" && mode != "circular") {
    return ctx.InvalidModel(LWAI_MSG("mode must be linear or circular, got '" + mode + "'"));
  }
  state->circular = mode == "circular";
  const int64_t axis_attr = ctx.node().GetInt("axis", -2);
  const int rank = cache.shape.rank;
  if (!NormalizeAxis(axis_attr, rank, &state->axis) || state->axis == 0) {
    return ctx.InvalidModel(LWAI_MSG("axis " + std::to_string(axis_attr) +
                                     " must name a non-batch axis of past_cache " +
                                     cache.shape.ToString()));
  }
  bool fits = update.shape.rank == rank;
  for (int d = 0; fits && d < rank; ++d) {
    fits = d == state->axis ? update.shape[d] <= cache.shape[d] : update.shape[d] == cache.shape[d];
  }
  if (!fits) {
    return ctx.ShapeMismatch(LWAI_MSG("update " + update.shape.ToString() +
                                      " does not fit past_cache " + cache.shape.ToString() +
                                      " along axis " + std::to_string(state->axis)));
  }
  if (ctx.has_input(2)) {
    LWAI_RETURN_IF_ERROR(ExpectIndexDtype(ctx, 2, "write_indices"));
    if (ctx.input(2).shape != Shape({cache.shape[0]})) {
      return ctx.ShapeMismatch(LWAI_MSG("write_indices " + ctx.input(2).shape.ToString() +
                                        " must have shape [" + std::to_string(cache.shape[0]) +
                                        "]"));
    }
  }
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = cache.dtype;
  ctx.output(0).shape = cache.shape;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const TensorScatterState& s = *ctx.state<TensorScatterState>();
  const TensorView& cache = ctx.input(0);
  const TensorView& update = ctx.input(1);
  const int64_t max_len = cache.shape[s.axis];
  const int64_t len = update.shape[s.axis];
  const bool has_indices = ctx.has_input(2);
  if (has_indices && !s.circular) {
    for (int64_t b = 0; b < cache.shape[0]; ++b) {
      const int64_t start = IndexAt(ctx.input(2), b);
      if (start < 0 || start + len > max_len) {
        return ctx.Error(StatusCode::kInvalidArgument,
                         LWAI_MSG("write index " + std::to_string(start) + " of batch " +
                                  std::to_string(b) + " cannot hold " + std::to_string(len) +
                                  " positions of an axis of size " + std::to_string(max_len)));
      }
    }
  }
  CopyInputToOutput(ctx);
  int64_t outer = 1, per_batch = 1, inner = DataTypeSize(cache.dtype);
  for (int d = 0; d < s.axis; ++d) outer *= cache.shape[d];
  for (int d = 1; d < s.axis; ++d) per_batch *= cache.shape[d];
  for (int d = s.axis + 1; d < cache.shape.rank; ++d) inner *= cache.shape[d];
  if (inner == 0 || max_len == 0) return Status::Ok();
  const char* src = update.Data<const char>();
  char* dst = ctx.output(0).Data<char>();
  for (int64_t o = 0; o < outer; ++o) {
    const int64_t start = has_indices ? IndexAt(ctx.input(2), o / per_batch) : 0;
    for (int64_t i = 0; i < len; ++i) {
      int64_t pos = start + i;
      if (s.circular) pos = (pos % max_len + max_len) % max_len;
      std::memcpy(dst + (o * max_len + pos) * inner, src + (o * len + i) * inner,
                  static_cast<size_t>(inner));
    }
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kTensorScatterKernel = {OpType::TensorScatter, Prepare, Eval};

}  // namespace lwai
