// Slice (ONNX 13): starts/ends/axes/steps inputs (known at prepare), negative steps, bounds
// clamped as in numpy. Any dtype, moved as elements of its byte size.
#include <memory>
#include <string>
#include <vector>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

struct SliceState : OpState {
  StridedView view;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(3, 5));
  const TensorView& x = ctx.input(0);
  LWAI_RETURN_IF_ERROR(ExpectSizedDtype(ctx, x.dtype));
  const int rank = x.shape.rank;
  std::vector<int64_t> starts, ends, axes, steps;
  LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 1, &starts));
  LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 2, &ends));
  if (ctx.has_input(3)) {
    LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 3, &axes));
  } else {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (ctx.has_input(4)) {
    LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 4, &steps));
  } else {
    steps.assign(starts.size(), 1);
  }
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    return ctx.InvalidModel(LWAI_MSG(
        "starts " + IntsToString(starts) + ", ends " + IntsToString(ends) + ", axes " +
        IntsToString(axes) + " and steps " + IntsToString(steps) + " must have the same length"));
  }
  uint32_t mask = 0;
  LWAI_RETURN_IF_ERROR(AxesToMask(ctx, axes, rank, &mask));
  auto state = std::make_unique<SliceState>();
  StridedView& v = state->view;
  v.rank = rank;
  ComputeStrides(x.shape, v.strides);
  for (int d = 0; d < rank; ++d) v.dims[d] = x.shape[d];
  for (size_t i = 0; i < axes.size(); ++i) {
    const int d = static_cast<int>(axes[i] < 0 ? axes[i] + rank : axes[i]);
    const int64_t n = x.shape[d];
    const int64_t step = steps[i];
    if (step == 0) return ctx.InvalidModel(LWAI_MSG("steps " + IntsToString(steps) + " contain 0"));
    int64_t start = starts[i] < 0 ? starts[i] + n : starts[i];
    int64_t end = ends[i] < 0 ? ends[i] + n : ends[i];
    // Positive steps clamp to [0, n], negative ones to [-1, n - 1].
    const int64_t low = step > 0 ? 0 : -1;
    const int64_t high = step > 0 ? n : n - 1;
    start = start < low ? low : (start > high ? high : start);
    end = end < low ? low : (end > high ? high : end);
    int64_t count = 0;
    if (step > 0 && end > start) count = 1 + (end - start - 1) / step;
    // Steps beyond n take one element; capping them avoids negating the lowest int64.
    if (step < 0 && start > end) count = 1 + (start - end - 1) / (step < -n ? n + 1 : -step);
    v.dims[d] = count;
    if (count > 0) v.offset += start * v.strides[d];
    v.strides[d] = count > 1 ? v.strides[d] * step : 0;
  }
  Shape out;
  out.rank = rank;
  for (int d = 0; d < rank; ++d) out[d] = v.dims[d];
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = out;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const TensorView& x = ctx.input(0);
  StridedCopy(ctx.state<SliceState>()->view, x.data, ctx.output(0).data, DataTypeSize(x.dtype));
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kSliceKernel = {OpType::Slice, Prepare, Eval};

}  // namespace lwai
