// Concat (ONNX 13): any dtype, copied as bytes.
#include <cstring>
#include <memory>
#include <string>

#include "kernels/common.h"

namespace lwai {
namespace {

struct ConcatState : OpState {
  int axis = 0;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1 << 20));
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i))
      return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(i) + " is missing"));
  }
  const TensorView& first = ctx.input(0);
  if (ctx.node().FindAttribute("axis") == nullptr) {
    return ctx.InvalidModel(LWAI_MSG("attribute 'axis' is required"));
  }
  const int64_t axis_attr = ctx.node().GetInt("axis", 0);
  int axis = 0;
  if (!NormalizeAxis(axis_attr, first.shape.rank, &axis)) {
    return ctx.InvalidModel(LWAI_MSG("axis " + std::to_string(axis_attr) +
                                     " is out of range for rank " +
                                     std::to_string(first.shape.rank)));
  }
  Shape out = first.shape;
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    const TensorView& t = ctx.input(i);
    if (t.dtype != first.dtype) {
      return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(i) + " has dtype " +
                                       DataTypeName(t.dtype) + ", input 0 has " +
                                       DataTypeName(first.dtype)));
    }
    bool fits = t.shape.rank == first.shape.rank;
    for (int d = 0; fits && d < t.shape.rank; ++d) fits = d == axis || t.shape[d] == out[d];
    if (!fits) {
      return ctx.ShapeMismatch(LWAI_MSG("input " + std::to_string(i) + " " + t.shape.ToString() +
                                        " does not fit input 0 " + first.shape.ToString() +
                                        " along axis " + std::to_string(axis)));
    }
    out[axis] += t.shape[axis];
  }
  auto state = std::make_unique<ConcatState>();
  state->axis = axis;
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = first.dtype;
  ctx.output(0).shape = out;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const int axis = ctx.state<ConcatState>()->axis;
  TensorView& y = ctx.output(0);
  const size_t element = DataTypeSize(y.dtype);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= y.shape[d];
  for (int d = axis + 1; d < y.shape.rank; ++d) inner *= y.shape[d];
  const size_t out_row = static_cast<size_t>(y.shape[axis] * inner) * element;
  size_t offset = 0;  // bytes into each output row
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const TensorView& t = ctx.input(i);
    const size_t row = static_cast<size_t>(t.shape[axis] * inner) * element;
    if (row == 0) continue;
    const char* src = t.Data<const char>();
    char* dst = y.Data<char>() + offset;
    for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + o * out_row, src + o * row, row);
    offset += row;
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kConcatKernel = {OpType::Concat, Prepare, Eval};

}  // namespace lwai
