// Softmax (ONNX 13) over one axis (default -1), subtracting the maximum for stability.
#include <cmath>
#include <memory>
#include <string>

#include "kernels/common.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

struct SoftmaxState : OpState {
  int64_t outer = 1, size = 1, inner = 1;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(0, DataType::kFloat32));
  const Shape& x = ctx.input(0).shape;
  const int64_t axis_attr = ctx.node().GetInt("axis", -1);
  int axis = 0;
  if (x.rank == 0 || !NormalizeAxis(axis_attr, x.rank, &axis)) {
    return ctx.InvalidModel("axis " + std::to_string(axis_attr) + " is out of range for input " +
                            x.ToString());
  }
  auto state = std::make_unique<SoftmaxState>();
  for (int d = 0; d < axis; ++d) state->outer *= x[d];
  state->size = x[axis];
  for (int d = axis + 1; d < x.rank; ++d) state->inner *= x[d];
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = DataType::kFloat32;
  ctx.output(0).shape = x;
  return Status::Ok();
}

// Softmax of the `size` values in[0], in[stride], ...
void SoftmaxLine(const float* in, float* out, int64_t size, int64_t stride) {
  float max = in[0];
  for (int64_t i = 1; i < size; ++i) max = in[i * stride] > max ? in[i * stride] : max;
  float sum = 0.0f;
  for (int64_t i = 0; i < size; ++i) {
    out[i * stride] = std::exp(in[i * stride] - max);
    sum += out[i * stride];
  }
  const float scale = 1.0f / sum;
  for (int64_t i = 0; i < size; ++i) out[i * stride] *= scale;
}

Status Eval(KernelContext& ctx) {
  const SoftmaxState& s = *ctx.state<SoftmaxState>();
  if (s.size == 0) return Status::Ok();
  const float* x = ctx.input(0).Data<const float>();
  float* y = ctx.output(0).Data<float>();
  const int64_t lines = s.outer * s.inner;
  ctx.thread_pool()->ParallelFor(lines, 4096 / s.size + 1, [&](int64_t begin, int64_t end) {
    for (int64_t line = begin; line < end; ++line) {
      const int64_t offset = (line / s.inner) * s.size * s.inner + line % s.inner;
      SoftmaxLine(x + offset, y + offset, s.size, s.inner);
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kSoftmaxKernel = {OpType::Softmax, Prepare, Eval};

}  // namespace lwai
