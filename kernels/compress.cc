// Compress (ONNX 11): keeps the slices along `axis` (the flattened input when absent) whose
// entry of the bool condition is true; a shorter condition drops the remaining slices. The
// condition (input 1) must be known at prepare. Any dtype, copied as bytes.
#include <cstring>
#include <memory>
#include <string>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

struct CompressState : OpState {
  int axis = 0;
  bool flatten = false;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const TensorView& x = ctx.input(0);
  const TensorView& condition = ctx.input(1);
  LWAI_RETURN_IF_ERROR(ExpectSizedDtype(ctx, x.dtype));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(1, DataType::kBool));
  if (condition.shape.rank != 1) {
    return ctx.ShapeMismatch(LWAI_MSG("condition must be 1-D, got " + condition.shape.ToString()));
  }
  if (condition.data == nullptr) return ctx.ValueNeeded(1);
  auto state = std::make_unique<CompressState>();
  const Attribute* axis_attr = ctx.node().FindAttribute("axis");
  int64_t n = x.NumElements();
  if (axis_attr == nullptr) {
    state->flatten = true;
  } else {
    if (!NormalizeAxis(axis_attr->i, x.shape.rank, &state->axis)) {
      return ctx.InvalidModel(LWAI_MSG("axis " + std::to_string(axis_attr->i) +
                                       " is out of range for input " + x.shape.ToString()));
    }
    n = x.shape[state->axis];
  }
  if (condition.NumElements() > n) {
    return ctx.ShapeMismatch(LWAI_MSG("condition " + condition.shape.ToString() +
                                      " is longer than the " + std::to_string(n) +
                                      " slices to select from"));
  }
  int64_t kept = 0;
  for (int64_t i = 0; i < condition.NumElements(); ++i) {
    kept += condition.Data<const uint8_t>()[i] != 0 ? 1 : 0;
  }
  Shape out = x.shape;
  if (state->flatten) {
    out = Shape({kept});
  } else {
    out[state->axis] = kept;
  }
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = out;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const CompressState& s = *ctx.state<CompressState>();
  const TensorView& x = ctx.input(0);
  const TensorView& condition = ctx.input(1);
  const int64_t kept = ctx.output(0).shape[s.flatten ? 0 : s.axis];
  int64_t outer = 1, inner = DataTypeSize(x.dtype), n = x.NumElements();
  if (!s.flatten) {
    n = x.shape[s.axis];
    for (int d = 0; d < s.axis; ++d) outer *= x.shape[d];
    for (int d = s.axis + 1; d < x.shape.rank; ++d) inner *= x.shape[d];
  }
  const char* src = x.Data<const char>();
  char* dst = ctx.output(0).Data<char>();
  const int64_t m = condition.NumElements();
  for (int64_t o = 0; o < outer; ++o) {
    int64_t written = 0;
    for (int64_t i = 0; i < m && written < kept; ++i) {
      if (condition.Data<const uint8_t>()[i] == 0) continue;
      std::memcpy(dst, src + (o * n + i) * inner, static_cast<size_t>(inner));
      dst += inner;
      ++written;
    }
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kCompressKernel = {OpType::Compress, Prepare, Eval};

}  // namespace lwai
