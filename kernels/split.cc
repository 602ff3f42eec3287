// Split (ONNX 18): sizes from the `split` input (known at prepare), or num_outputs (default:
// the number of outputs) equal chunks with a smaller last one. Any dtype, copied as bytes.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

struct SplitState : OpState {
  int axis = 0;
  std::vector<int64_t> sizes;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 2));
  const TensorView& x = ctx.input(0);
  LWAI_RETURN_IF_ERROR(ExpectSizedDtype(ctx, x.dtype));
  const int64_t axis_attr = ctx.node().GetInt("axis", 0);
  int axis = 0;
  if (!NormalizeAxis(axis_attr, x.shape.rank, &axis)) {
    return ctx.InvalidModel(LWAI_MSG("axis " + std::to_string(axis_attr) +
                                     " is out of range for input " + x.shape.ToString()));
  }
  const int outputs = ctx.num_outputs();
  const int64_t n = x.shape[axis];
  std::vector<int64_t> sizes;
  if (ctx.has_input(1)) {
    LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 1, &sizes));
    int64_t sum = 0;
    for (int64_t s : sizes) {
      if (s < 0)
        return ctx.InvalidModel(LWAI_MSG("split " + IntsToString(sizes) + " has a negative size"));
      sum += s;
    }
    if (static_cast<int>(sizes.size()) != outputs || sum != n) {
      return ctx.ShapeMismatch(LWAI_MSG("split " + IntsToString(sizes) + " must have " +
                                        std::to_string(outputs) + " sizes summing to " +
                                        std::to_string(n) + " (axis " + std::to_string(axis) +
                                        " of " + x.shape.ToString() + ")"));
    }
  } else {
    const int64_t parts = ctx.node().GetInt("num_outputs", outputs);
    if (parts != outputs || parts < 1) {
      return ctx.InvalidModel(LWAI_MSG("num_outputs " + std::to_string(parts) +
                                       " does not match the " + std::to_string(outputs) +
                                       " outputs"));
    }
    const int64_t chunk = (n + parts - 1) / parts;
    int64_t left = n;
    for (int64_t i = 0; i < parts; ++i) {
      sizes.push_back(left < chunk ? left : chunk);
      left -= sizes.back();
    }
  }
  for (int i = 0; i < outputs; ++i) {
    if (!ctx.has_output(i)) continue;
    ctx.output(i).dtype = x.dtype;
    Shape shape = x.shape;
    shape[axis] = sizes[i];
    ctx.output(i).shape = shape;
  }
  auto state = std::make_unique<SplitState>();
  state->axis = axis;
  state->sizes = sizes;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const SplitState& s = *ctx.state<SplitState>();
  const int axis = s.axis;
  const TensorView& x = ctx.input(0);
  int64_t outer = 1, inner = DataTypeSize(x.dtype);
  for (int d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int d = axis + 1; d < x.shape.rank; ++d) inner *= x.shape[d];
  const int64_t in_row = x.shape[axis] * inner;
  int64_t offset = 0;  // bytes into each input row
  for (int i = 0; i < ctx.num_outputs(); ++i) {
    const int64_t row = s.sizes[i] * inner;
    if (ctx.has_output(i) && row > 0) {
      char* dst = ctx.output(i).Data<char>();
      for (int64_t o = 0; o < outer; ++o) {
        std::memcpy(dst + o * row, x.Data<const char>() + o * in_row + offset,
                    static_cast<size_t>(row));
      }
    }
    offset += row;
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kSplitKernel = {OpType::Split, Prepare, Eval};

}  // namespace lwai
