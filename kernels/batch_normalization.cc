// BatchNormalization (ONNX 15), inference form: y = (x - mean) / sqrt(var + epsilon) * scale + B
// per channel (axis 1). Folded into y = x * a + b, precomputed when the statistics are
// constants and otherwise computed per channel at eval.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

struct BatchNormState : OpState {
  float epsilon = 1e-5f;
  int64_t channels = 0, spatial = 1;
  std::vector<float> scale, shift;  // empty when computed at eval
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(5, 5));
  for (int i = 0; i < 5; ++i) LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(i, DataType::kFloat32));
  if (ctx.node().GetInt("training_mode", 0) != 0) {
    return ctx.Unsupported("training_mode=1 is not supported (inference only)");
  }
  for (int o = 1; o < ctx.num_outputs(); ++o) {
    if (ctx.has_output(o)) {
      return ctx.Unsupported("running mean/variance outputs exist only in training mode");
    }
  }
  const Shape& x = ctx.input(0).shape;
  if (x.rank < 2) return ctx.ShapeMismatch("input must have rank >= 2, got " + x.ToString());
  auto state = std::make_unique<BatchNormState>();
  BatchNormState& s = *state;
  s.epsilon = ctx.node().GetFloat("epsilon", 1e-5f);
  s.channels = x[1];
  for (int i = 2; i < x.rank; ++i) s.spatial *= x[i];
  bool known = true;
  for (int i = 1; i < 5; ++i) {
    const TensorView& t = ctx.input(i);
    if (t.shape.rank != 1 || t.shape[0] != s.channels) {
      return ctx.ShapeMismatch("input " + std::to_string(i) + " " + t.shape.ToString() +
                               " must be [" + std::to_string(s.channels) + "] for input " +
                               x.ToString());
    }
    known &= t.data != nullptr;
  }
  if (known) {
    const float* gamma = ctx.input(1).Data<const float>();
    const float* beta = ctx.input(2).Data<const float>();
    const float* mean = ctx.input(3).Data<const float>();
    const float* var = ctx.input(4).Data<const float>();
    s.scale.resize(s.channels);
    s.shift.resize(s.channels);
    for (int64_t c = 0; c < s.channels; ++c) {
      s.scale[c] = gamma[c] / std::sqrt(var[c] + s.epsilon);
      s.shift[c] = beta[c] - mean[c] * s.scale[c];
    }
  }
  ctx.output(0).dtype = DataType::kFloat32;
  ctx.output(0).shape = x;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const BatchNormState& s = *ctx.state<BatchNormState>();
  const float* x = ctx.input(0).Data<const float>();
  const float* gamma = ctx.input(1).Data<const float>();
  const float* beta = ctx.input(2).Data<const float>();
  const float* mean = ctx.input(3).Data<const float>();
  const float* var = ctx.input(4).Data<const float>();
  float* y = ctx.output(0).Data<float>();
  const bool precomputed = !s.scale.empty();
  const int64_t planes = ctx.input(0).shape[0] * s.channels;
  const int64_t min_planes = s.spatial >= 4096 ? 1 : 4096 / (s.spatial + 1) + 1;
  ctx.thread_pool()->ParallelFor(planes, min_planes, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t c = p % s.channels;
      float a, b;
      if (precomputed) {
        a = s.scale[c];
        b = s.shift[c];
      } else {
        a = gamma[c] / std::sqrt(var[c] + s.epsilon);
        b = beta[c] - mean[c] * a;
      }
      const float* in = x + p * s.spatial;
      float* out = y + p * s.spatial;
      for (int64_t i = 0; i < s.spatial; ++i) out[i] = in[i] * a + b;
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kBatchNormalizationKernel = {OpType::BatchNormalization, Prepare,
                                                             Eval};

}  // namespace lwai
