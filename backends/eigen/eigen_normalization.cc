// Softmax over the last axis and LayerNormalization over trailing axes on float32 rows, with
// Eigen's vectorized exp and reductions, rows split across the session's threads. Other axes,
// broadcast scales and the optional mean/inverse-deviation outputs run the reference kernel,
// whose state this kernel keeps.
#include <algorithm>
#include <cmath>
#include <memory>

#include "backends/eigen/eigen_config.h"
#include "backends/eigen/eigen_kernels.h"
#include "backends/eigen/eigen_math.h"
#include "kernels/group_norm.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace eigen {
namespace {

using ConstRow = Eigen::Map<const Eigen::ArrayXf>;
using Row = Eigen::Map<Eigen::ArrayXf>;

struct RowsState : OpState {
  std::unique_ptr<OpState> reference;  // set when the reference kernel runs
  int64_t rows = 0, cols = 0;
  int64_t inner = 1;  // Softmax: elements after the axis (1 for the last axis)
  float epsilon = 1e-5f;
};

// Rows per chunk so that a chunk holds about 16K elements.
int64_t RowsPerChunk(int64_t cols) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, cols));
}

// Calls fn(input row, output row) for every row of input 0 and output 0, rows split across the
// session's threads.
template <typename Fn>
void ForEachRow(KernelContext& ctx, const RowsState& s, const Fn& fn) {
  const float* x = ctx.input(0).Data<const float>();
  float* y = ctx.output(0).Data<float>();
  const int64_t cols = s.cols;
  ctx.thread_pool()->ParallelFor(s.rows, RowsPerChunk(cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      Row out(y + r * cols, cols);
      fn(ConstRow(x + r * cols, cols), out);
    }
  });
}

// Normalized axis of a rank-`rank` tensor, or -1 when out of range (the reference checked).
int NormalizedAxis(int64_t axis, int rank) {
  if (axis < 0) axis += rank;
  return axis >= 0 && axis < rank ? static_cast<int>(axis) : -1;
}

}  // namespace

Status PrepareSoftmax(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  auto state = std::make_unique<RowsState>();
  state->reference = std::move(ctx.state_owner_);
  const TensorView& x = ctx.input(0);
  const int axis = NormalizedAxis(ctx.node().GetInt("axis", -1), x.shape.rank);
  if (x.dtype == DataType::kFloat32 && x.shape.rank > 0 && axis >= 0 && x.shape[axis] > 0 &&
      x.shape.NumElements() > 0) {
    // [rows, cols, inner]: softmax over cols, for every row and every inner position.
    state->cols = x.shape[axis];
    state->inner = 1;
    for (int d = axis + 1; d < x.shape.rank; ++d) state->inner *= x.shape[d];
    state->rows = x.shape.NumElements() / (state->cols * state->inner);
    state->reference.reset();
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalSoftmax(KernelContext& ctx) {
  const auto& s = *ctx.state<RowsState>();
  if (s.reference != nullptr) return EvalReference(ctx, s.reference.get());
  if (s.inner == 1) {
    ForEachRow(ctx, s, [](const ConstRow& in, Row& out) {
      const float max = in.maxCoeff();
      out = Exp(in - max);
      out *= 1.0f / out.sum();
    });
    return Status::Ok();
  }
  // A middle axis (detection heads' distribution over bins): vectorized across the inner
  // positions, a block of kBlock of them at a time, the max and sum kept on the stack.
  constexpr int64_t kBlock = 256;
  const float* x = ctx.input(0).Data<const float>();
  float* y = ctx.output(0).Data<float>();
  const int64_t cols = s.cols, inner = s.inner;
  const int64_t blocks_per_row = (inner + kBlock - 1) / kBlock;
  const int64_t min_chunk = std::max<int64_t>(1, 64 / std::max<int64_t>(1, cols));
  ctx.thread_pool()->ParallelFor(
      s.rows * blocks_per_row, min_chunk, [&](int64_t begin, int64_t end) {
        float max_storage[kBlock], sum_storage[kBlock];
        for (int64_t item = begin; item < end; ++item) {
          const int64_t row = item / blocks_per_row;
          const int64_t first = (item % blocks_per_row) * kBlock;
          const int64_t width = std::min(kBlock, inner - first);
          const float* in = x + row * cols * inner + first;
          float* out = y + row * cols * inner + first;
          Eigen::Map<Eigen::ArrayXf> max(max_storage, width), sum(sum_storage, width);
          max = ConstRow(in, width);
          for (int64_t c = 1; c < cols; ++c) max = max.max(ConstRow(in + c * inner, width));
          sum.setZero();
          for (int64_t c = 0; c < cols; ++c) {
            Row o(out + c * inner, width);
            o = Exp(ConstRow(in + c * inner, width) - max);
            sum += o;
          }
          sum = sum.inverse();
          for (int64_t c = 0; c < cols; ++c) Row(out + c * inner, width) *= sum;
        }
      });
  return Status::Ok();
}

Status PrepareLayerNormalization(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  auto state = std::make_unique<RowsState>();
  state->reference = std::move(ctx.state_owner_);
  const TensorView& x = ctx.input(0);
  const int axis = NormalizedAxis(ctx.node().GetInt("axis", -1), x.shape.rank);
  bool fast =
      x.dtype == DataType::kFloat32 && axis >= 0 && !ctx.has_output(1) && !ctx.has_output(2);
  if (fast) {
    state->cols = 1;
    for (int d = axis; d < x.shape.rank; ++d) state->cols *= x.shape[d];
    state->rows = state->cols > 0 ? x.shape.NumElements() / state->cols : 0;
    // Scale and bias with one value per row element (no broadcast inside the row).
    fast = state->cols > 0 && ctx.input(1).NumElements() == state->cols &&
           (!ctx.has_input(2) || ctx.input(2).NumElements() == state->cols);
  }
  if (fast) {
    state->epsilon = ctx.node().GetFloat("epsilon", 1e-5f);
    state->reference.reset();
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalLayerNormalization(KernelContext& ctx) {
  const auto& s = *ctx.state<RowsState>();
  if (s.reference != nullptr) return EvalReference(ctx, s.reference.get());
  const ConstRow scale(ctx.input(1).Data<const float>(), s.cols);
  const float* bias = ctx.has_input(2) ? ctx.input(2).Data<const float>() : nullptr;
  const int64_t cols = s.cols;
  const float epsilon = s.epsilon;
  ForEachRow(ctx, s, [&](const ConstRow& in, Row& out) {
    const float mean = in.mean();
    out = in - mean;
    const float inv = 1.0f / std::sqrt(out.square().mean() + epsilon);
    if (bias != nullptr) {
      out = out * inv * scale + ConstRow(bias, cols);
    } else {
      out = out * inv * scale;
    }
  });
  return Status::Ok();
}

// InstanceNormalization: rows are the (n, c) planes; scale and bias are per channel.
Status PrepareInstanceNormalization(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  auto state = std::make_unique<RowsState>();
  state->reference = std::move(ctx.state_owner_);
  const TensorView& x = ctx.input(0);
  if (x.dtype == DataType::kFloat32 && x.shape.rank >= 2 && x.shape[1] > 0) {
    state->cols = 1;
    for (int d = 2; d < x.shape.rank; ++d) state->cols *= x.shape[d];
    state->rows = x.shape[0] * x.shape[1];
    state->inner = x.shape[1];  // channels, to find a row's scale and bias
    state->epsilon = ctx.node().GetFloat("epsilon", 1e-5f);
    state->reference.reset();
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalInstanceNormalization(KernelContext& ctx) {
  const auto& s = *ctx.state<RowsState>();
  if (s.reference != nullptr) return EvalReference(ctx, s.reference.get());
  if (s.cols == 0) return Status::Ok();
  const float* scale = ctx.input(1).Data<const float>();
  const float* bias = ctx.input(2).Data<const float>();
  const float* x = ctx.input(0).Data<const float>();
  float* y = ctx.output(0).Data<float>();
  const int64_t cols = s.cols, channels = s.inner;
  const float epsilon = s.epsilon;
  ctx.thread_pool()->ParallelFor(s.rows, RowsPerChunk(cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const ConstRow in(x + r * cols, cols);
      Row out(y + r * cols, cols);
      // Float sums of 1024 values, added in double: planes of audio frames and whole images
      // hold 10^5-10^6 values.
      double sum = 0.0;
      for (int64_t i = 0; i < cols; i += 1024) {
        sum += ConstRow(x + r * cols + i, std::min<int64_t>(1024, cols - i)).sum();
      }
      const double mean = sum / static_cast<double>(cols);
      out = in - static_cast<float>(mean);
      double squares = 0.0;
      for (int64_t i = 0; i < cols; i += 1024) {
        squares += ConstRow(y + r * cols + i, std::min<int64_t>(1024, cols - i)).square().sum();
      }
      const double variance = squares / static_cast<double>(cols);
      const float a = scale[r % channels] / static_cast<float>(std::sqrt(variance + epsilon));
      out = out * a + bias[r % channels];
    }
  });
  return Status::Ok();
}

// GroupNormalization (ONNX 21, float32, per-channel scale and bias): kernels/group_norm.h.
struct GroupNormState : OpState {
  std::unique_ptr<OpState> reference;  // set when the reference kernel runs
  GroupNormShape shape;
};

Status PrepareGroupNormalization(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  auto state = std::make_unique<GroupNormState>();
  state->reference = std::move(ctx.state_owner_);
  const TensorView& x = ctx.input(0);
  if (x.dtype == DataType::kFloat32 && x.shape.rank >= 2 &&
      ctx.node().GetInt("stash_type", 1) == 1) {
    GroupNormShape& g = state->shape;
    g.batch = x.shape[0];
    g.channels = x.shape[1];
    g.groups = ctx.node().GetInt("num_groups", 1);  // the reference checked it divides C
    g.pixels = 1;
    for (int d = 2; d < x.shape.rank; ++d) g.pixels *= x.shape[d];
    g.epsilon = ctx.node().GetFloat("epsilon", 1e-5f);
    if (!ctx.shape_only()) ctx.RequestScratch(GroupNormScratchBytes(g, false));
    state->reference.reset();
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalGroupNormalization(KernelContext& ctx) {
  const auto& s = *ctx.state<GroupNormState>();
  if (s.reference != nullptr) return EvalReference(ctx, s.reference.get());
  GroupNormNchw(s.shape, ctx.input(0).Data<const float>(), ctx.input(1).Data<const float>(),
                ctx.input(2).Data<const float>(), ctx.output(0).Data<float>(), ctx.scratch(),
                ctx.thread_pool());
  return Status::Ok();
}

}  // namespace eigen
}  // namespace lwai
