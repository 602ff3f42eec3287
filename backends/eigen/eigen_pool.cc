// MaxPool and AveragePool on float32 of any spatial rank (1-D audio and text, 3-D video), as
// separable passes: a window's max (or sum) is the max (or sum) along one axis of the maxima
// (sums) along the others, and the average's divisor is the product of the per-axis tap counts.
// Each pass reduces one axis over contiguous rows, so a k x k window costs 2k per output, not k^2.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "backends/eigen/eigen_kernels.h"
#include "kernels/common.h"
#include "kernels/spatial_common.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace eigen {
namespace {

struct SeparablePoolState : OpState {
  bool max = true;
  bool count_include_pad = false;
  WindowGeometry g;
  int64_t planes = 0;
  // Element counts of the buffers between passes (passes run last axis first).
  int64_t buffer_elements = 0;
};

// Taps k in [*lo, *hi) whose coordinate start + k * dilation lies in [begin, end).
void Taps(int64_t start, int64_t dilation, int64_t kernel, int64_t begin, int64_t end, int64_t* lo,
          int64_t* hi) {
  *lo = start >= begin ? 0 : (begin - start + dilation - 1) / dilation;
  *hi = start >= end ? 0 : (end - 1 - start) / dilation + 1;
  *hi = std::min(*hi, kernel);
  *hi = std::max(*hi, *lo);
}

// One pass: reduces axis `d` of a tensor viewed as [outer, g.input[d], inner] into
// [outer, g.output[d], inner]. False when the run's limits stopped it.
bool PoolAxis(KernelContext& ctx, const SeparablePoolState& s, int d, const float* in, float* out,
              int64_t outer, int64_t inner) {
  const WindowGeometry& g = s.g;
  const int64_t len_in = g.input[d], len_out = g.output[d];
  const int64_t min_chunk = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, len_out * inner));
  std::atomic<bool> stopped{false};
  ctx.thread_pool()->ParallelFor(outer, min_chunk, [&](int64_t begin, int64_t end) {
    WorkMeter meter(ctx.limits());
    for (int64_t o_outer = begin; o_outer < end; ++o_outer) {
      if (stopped || meter.Add(len_out * (g.kernel[d] + 1) * inner)) {
        stopped = true;
        return;
      }
      const float* src = in + o_outer * len_in * inner;
      float* dst_plane = out + o_outer * len_out * inner;
      for (int64_t o = 0; o < len_out; ++o) {
        float* dst = dst_plane + o * inner;
        const int64_t start = o * g.strides[d] - g.pad_begin[d];
        int64_t lo, hi;
        Taps(start, g.dilations[d], g.kernel[d], 0, len_in, &lo, &hi);
        if (lo == hi) {
          std::fill(dst, dst + inner, s.max ? -std::numeric_limits<float>::infinity() : 0.0f);
          continue;
        }
        const float* first = src + (start + lo * g.dilations[d]) * inner;
        std::copy(first, first + inner, dst);
        for (int64_t k = lo + 1; k < hi; ++k) {
          const float* row = src + (start + k * g.dilations[d]) * inner;
          if (s.max) {
            // NaN wins, as in the reference kernel.
            for (int64_t i = 0; i < inner; ++i) {
              dst[i] = (row[i] > dst[i] || row[i] != row[i]) ? row[i] : dst[i];
            }
          } else {
            for (int64_t i = 0; i < inner; ++i) dst[i] += row[i];
          }
        }
        if (!s.max) {
          int64_t count = hi - lo;
          if (s.count_include_pad) {
            // Padding counts, but not the part of a ceil_mode window beyond the end padding.
            int64_t padded_lo, padded_hi;
            Taps(start, g.dilations[d], g.kernel[d], -g.pad_begin[d], len_in + g.pad_end[d],
                 &padded_lo, &padded_hi);
            count = padded_hi - padded_lo;
          }
          const float scale = 1.0f / static_cast<float>(count);
          for (int64_t i = 0; i < inner; ++i) dst[i] *= scale;
        }
      }
    }
  });
  return !stopped;
}

}  // namespace

bool ClaimsPool(const Graph& graph, const Node& node) {
  if (node.inputs.size() != 1 || node.inputs[0] < 0 || node.outputs.empty()) return false;
  if (node.outputs.size() > 1 && node.outputs[1] >= 0) return false;  // MaxPool Indices
  const TensorDesc& x = graph.tensors[node.inputs[0]];
  return x.dtype == DataType::kFloat32 && (!x.shape_known || x.shape.size() >= 3);
}

Status PreparePool(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  const Shape& x = ctx.input(0).shape;
  auto state = std::make_unique<SeparablePoolState>();
  SeparablePoolState& s = *state;
  s.max = ctx.node().op == OpType::MaxPool;
  s.count_include_pad = ctx.node().GetInt("count_include_pad", 0) != 0;
  const std::vector<int64_t> kernel = ctx.node().GetInts("kernel_shape");
  LWAI_RETURN_IF_ERROR(ComputeWindowGeometry(ctx, x, kernel.data(), true, &s.g));
  s.planes = x[0] * x[1];
  // After pooling axes r-1 .. d: planes x input[0..d-1] x output[d..r-1].
  const int rank = s.g.spatial_rank;
  for (int d = rank - 1; d >= 1; --d) {
    int64_t elements = s.planes;
    for (int a = 0; a < d; ++a) elements *= s.g.input[a];
    for (int a = d; a < rank; ++a) elements *= s.g.output[a];
    s.buffer_elements = std::max(s.buffer_elements, elements);
  }
  const int buffers = std::min(rank - 1, 2);
  ctx.RequestScratch(static_cast<size_t>(buffers * s.buffer_elements) * sizeof(float));
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalPool(KernelContext& ctx) {
  const SeparablePoolState& s = *ctx.state<SeparablePoolState>();
  const WindowGeometry& g = s.g;
  const int rank = g.spatial_rank;
  if (ctx.output(0).NumElements() == 0) return Status::Ok();
  float* buffers[2] = {static_cast<float*>(ctx.scratch()),
                       static_cast<float*>(ctx.scratch()) + s.buffer_elements};
  const float* in = ctx.input(0).Data<const float>();
  for (int d = rank - 1; d >= 0; --d) {
    float* out = d == 0 ? ctx.output(0).Data<float>() : buffers[(rank - 1 - d) % 2];
    int64_t outer = s.planes, inner = 1;
    for (int a = 0; a < d; ++a) outer *= g.input[a];
    for (int a = d + 1; a < rank; ++a) inner *= g.output[a];
    if (!PoolAxis(ctx, s, d, in, out, outer, inner)) {
      return ctx.limits().Check(ctx.node());
    }
    in = out;
  }
  return Status::Ok();
}

}  // namespace eigen
}  // namespace lwai
