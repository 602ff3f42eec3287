// BatchNormalization (ONNX 15), inference form (float32, float64): y = (x - mean) / sqrt(var +
// epsilon) * scale + B per channel (axis 1). Folded into y = x * a + b, precomputed when the
// statistics are constants and otherwise computed per channel at eval.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "kernels/dispatch.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

struct BatchNormState : OpState {
  double epsilon = 1e-5;
  int64_t channels = 0, spatial = 1;
  std::vector<double> scale, shift;  // empty when computed at eval
};

template <typename T>
void Normalize(const BatchNormState& s, KernelContext& ctx) {
  const T* x = ctx.input(0).Data<const T>();
  const T* gamma = ctx.input(1).Data<const T>();
  const T* beta = ctx.input(2).Data<const T>();
  const T* mean = ctx.input(3).Data<const T>();
  const T* var = ctx.input(4).Data<const T>();
  T* y = ctx.output(0).Data<T>();
  // Per channel y = x * a + b, a and b in the scratch (computed in T, as prepare does).
  T* a = static_cast<T*>(ctx.scratch());
  T* b = a + s.channels;
  const T epsilon = static_cast<T>(s.epsilon);
  for (int64_t c = 0; c < s.channels; ++c) {
    if (!s.scale.empty()) {
      a[c] = static_cast<T>(s.scale[c]);
      b[c] = static_cast<T>(s.shift[c]);
    } else {
      a[c] = gamma[c] / std::sqrt(var[c] + epsilon);
      b[c] = beta[c] - mean[c] * a[c];
    }
  }
  const int64_t batch = ctx.input(0).shape[0];
  if (s.spatial >= 16) {
    // Planes of one channel.
    const int64_t planes = batch * s.channels;
    const int64_t min_planes = s.spatial >= 4096 ? 1 : 4096 / (s.spatial + 1) + 1;
    ctx.thread_pool()->ParallelFor(planes, min_planes, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        const int64_t c = p % s.channels;
        const T* in = x + p * s.spatial;
        T* out = y + p * s.spatial;
        for (int64_t i = 0; i < s.spatial; ++i) out[i] = in[i] * a[c] + b[c];
      }
    });
    return;
  }
  // Few values per channel ([N, C] after a linear layer, as LeViT normalizes): whole rows.
  const int64_t row = s.channels * s.spatial;
  ctx.thread_pool()->ParallelFor(batch, 4096 / (row + 1) + 1, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const T* in = x + n * row;
      T* out = y + n * row;
      if (s.spatial == 1) {
        for (int64_t c = 0; c < s.channels; ++c) out[c] = in[c] * a[c] + b[c];
        continue;
      }
      for (int64_t c = 0; c < s.channels; ++c) {
        for (int64_t i = 0; i < s.spatial; ++i) {
          out[c * s.spatial + i] = in[c * s.spatial + i] * a[c] + b[c];
        }
      }
    }
  });
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(5, 5));
  const DataType dtype = ctx.input(0).dtype;
  LWAI_RETURN_IF_ERROR(ExpectFloatInput(ctx, 0));
  for (int i = 1; i < 5; ++i) LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(i, dtype));
  if (ctx.node().GetInt("training_mode", 0) != 0) {
    return ctx.Unsupported(LWAI_MSG("training_mode=1 is not supported (inference only)"));
  }
  for (int o = 1; o < ctx.num_outputs(); ++o) {
    if (ctx.has_output(o)) {
      return ctx.Unsupported(LWAI_MSG("running mean/variance outputs exist only in training mode"));
    }
  }
  const Shape& x = ctx.input(0).shape;
  if (x.rank < 2)
    return ctx.ShapeMismatch(LWAI_MSG("input must have rank >= 2, got " + x.ToString()));
  auto state = std::make_unique<BatchNormState>();
  BatchNormState& s = *state;
  s.epsilon = ctx.node().GetFloat("epsilon", 1e-5f);
  s.channels = x[1];
  for (int i = 2; i < x.rank; ++i) {
    if (!CheckedMul(s.spatial, x[i], &s.spatial)) {
      return ctx.ShapeMismatch(LWAI_MSG("input " + x.ToString() + " has too many elements"));
    }
  }
  bool known = true;
  for (int i = 1; i < 5; ++i) {
    const TensorView& t = ctx.input(i);
    if (t.shape.rank != 1 || t.shape[0] != s.channels) {
      return ctx.ShapeMismatch(LWAI_MSG("input " + std::to_string(i) + " " + t.shape.ToString() +
                                        " must be [" + std::to_string(s.channels) + "] for input " +
                                        x.ToString()));
    }
    known &= t.data != nullptr;
  }
  if (known) {
    s.scale.resize(s.channels);
    s.shift.resize(s.channels);
    DispatchFloat(dtype, [&](auto type) {
      using T = decltype(type);
      const T* gamma = ctx.input(1).Data<const T>();
      const T* beta = ctx.input(2).Data<const T>();
      const T* mean = ctx.input(3).Data<const T>();
      const T* var = ctx.input(4).Data<const T>();
      for (int64_t c = 0; c < s.channels; ++c) {
        // Computed in T so that float32 results match the per-eval path.
        const T a = gamma[c] / std::sqrt(var[c] + static_cast<T>(s.epsilon));
        s.scale[c] = a;
        s.shift[c] = beta[c] - mean[c] * a;
      }
    });
  }
  ctx.output(0).dtype = dtype;
  ctx.output(0).shape = x;
  if (!ctx.shape_only()) {
    ctx.RequestScratch(2 * static_cast<size_t>(s.channels) * DataTypeSize(dtype));
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const BatchNormState& s = *ctx.state<BatchNormState>();
  DispatchFloat(ctx.input(0).dtype, [&](auto type) { Normalize<decltype(type)>(s, ctx); });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kBatchNormalizationKernel = {OpType::BatchNormalization, Prepare,
                                                             Eval};

}  // namespace lwai
