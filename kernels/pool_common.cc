#include "kernels/pool_common.h"

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "kernels/spatial_common.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

struct PoolState : OpState {
  PoolKind kind = PoolKind::kMax;
  bool count_include_pad = false;
  WindowGeometry g;
  int64_t planes = 0, in_size = 1, out_size = 1;
  int64_t in_strides[kMaxSpatialRank] = {};
};

// The kernel taps k in [*k_lo, *k_hi) whose coordinate start + k * dilation is in [lo, hi).
void TapRange(int64_t start, int64_t dilation, int64_t kernel, int64_t lo, int64_t hi,
              int64_t* k_lo, int64_t* k_hi) {
  *k_lo = start >= lo ? 0 : (lo - start + dilation - 1) / dilation;
  *k_hi = start >= hi ? 0 : (hi - 1 - start) / dilation + 1;
  if (*k_hi > kernel) *k_hi = kernel;
  if (*k_hi < *k_lo) *k_hi = *k_lo;
}

// Max or sum over the taps [k_lo, k_hi) of one window.
float ReduceWindow(const PoolState& s, const float* in, const int64_t* start, const int64_t* k_lo,
                   const int64_t* k_hi) {
  const WindowGeometry& g = s.g;
  const int last = g.spatial_rank - 1;
  const bool is_max = s.kind == PoolKind::kMax;
  float acc = is_max ? -std::numeric_limits<float>::infinity() : 0.0f;
  int64_t k[kMaxSpatialRank];
  for (int d = 0; d < g.spatial_rank; ++d) {
    if (k_lo[d] == k_hi[d]) return acc;
    k[d] = k_lo[d];
  }
  for (;;) {
    int64_t base = start[last];
    for (int d = 0; d < last; ++d) base += (start[d] + k[d] * g.dilations[d]) * s.in_strides[d];
    const float* row = in + base;
    const int64_t dilation = g.dilations[last];
    for (int64_t kk = k_lo[last]; kk < k_hi[last]; ++kk) {
      const float v = row[kk * dilation];
      if (is_max) {
        if (v > acc) acc = v;
      } else {
        acc += v;
      }
    }
    int d = last - 1;
    for (; d >= 0; --d) {
      if (++k[d] < k_hi[d]) break;
      k[d] = k_lo[d];
    }
    if (d < 0) return acc;
  }
}

void PoolPlane(const PoolState& s, const float* in, float* out) {
  const WindowGeometry& g = s.g;
  int64_t o[kMaxSpatialRank] = {};
  for (int64_t i = 0; i < s.out_size; ++i) {
    int64_t start[kMaxSpatialRank], k_lo[kMaxSpatialRank], k_hi[kMaxSpatialRank];
    int64_t count = 1, padded_count = 1;
    for (int d = 0; d < g.spatial_rank; ++d) {
      start[d] = o[d] * g.strides[d] - g.pad_begin[d];
      TapRange(start[d], g.dilations[d], g.kernel[d], 0, g.input[d], &k_lo[d], &k_hi[d]);
      count *= k_hi[d] - k_lo[d];
      int64_t p_lo, p_hi;
      // Padding counts, but not the part of a ceil_mode window beyond the end padding.
      TapRange(start[d], g.dilations[d], g.kernel[d], -g.pad_begin[d], g.input[d] + g.pad_end[d],
               &p_lo, &p_hi);
      padded_count *= p_hi - p_lo;
    }
    const float acc = ReduceWindow(s, in, start, k_lo, k_hi);
    if (s.kind == PoolKind::kMax) {
      out[i] = acc;
    } else {
      const int64_t divisor = s.count_include_pad ? padded_count : count;
      out[i] = divisor > 0 ? acc / static_cast<float>(divisor) : 0.0f;
    }
    for (int d = g.spatial_rank - 1; d >= 0; --d) {
      if (++o[d] < g.output[d]) break;
      o[d] = 0;
    }
  }
}

}  // namespace

Status PreparePool(KernelContext& ctx, PoolKind kind) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(0, DataType::kFloat32));
  if (kind == PoolKind::kMax && ctx.has_output(1)) {
    return ctx.Unsupported("the Indices output is not supported");
  }
  const Shape& x = ctx.input(0).shape;
  if (x.rank < 3) return ctx.ShapeMismatch("input must be N x C x spatial..., got " + x.ToString());
  const std::vector<int64_t> kernel = ctx.node().GetInts("kernel_shape");
  if (static_cast<int>(kernel.size()) != x.rank - 2) {
    return ctx.InvalidModel("attribute 'kernel_shape' has " + std::to_string(kernel.size()) +
                            " values, expected " + std::to_string(x.rank - 2) + " for input " +
                            x.ToString());
  }
  auto state = std::make_unique<PoolState>();
  PoolState& s = *state;
  s.kind = kind;
  s.count_include_pad = ctx.node().GetInt("count_include_pad", 0) != 0;
  LWAI_RETURN_IF_ERROR(ComputeWindowGeometry(ctx, x, kernel.data(), true, &s.g));
  s.planes = x[0] * x[1];
  TensorView& y = ctx.output(0);
  y.dtype = DataType::kFloat32;
  y.shape = x;
  for (int d = s.g.spatial_rank - 1; d >= 0; --d) {
    s.in_strides[d] = s.in_size;
    s.in_size *= s.g.input[d];
    s.out_size *= s.g.output[d];
    y.shape[d + 2] = s.g.output[d];
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalPool(KernelContext& ctx) {
  const PoolState& s = *ctx.state<PoolState>();
  const float* x = ctx.input(0).Data<const float>();
  float* y = ctx.output(0).Data<float>();
  ctx.thread_pool()->ParallelFor(s.planes, 1, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) PoolPlane(s, x + p * s.in_size, y + p * s.out_size);
  });
  return Status::Ok();
}

Status PrepareGlobalPool(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(0, DataType::kFloat32));
  const Shape& x = ctx.input(0).shape;
  if (x.rank < 3) return ctx.ShapeMismatch("input must be N x C x spatial..., got " + x.ToString());
  TensorView& y = ctx.output(0);
  y.dtype = DataType::kFloat32;
  y.shape = x;
  for (int d = 2; d < x.rank; ++d) y.shape[d] = 1;
  return Status::Ok();
}

Status EvalGlobalPool(KernelContext& ctx, PoolKind kind) {
  const TensorView& x = ctx.input(0);
  const int64_t planes = x.shape[0] * x.shape[1];
  const int64_t size = planes > 0 ? x.NumElements() / planes : 0;
  const float* in = x.Data<const float>();
  float* out = ctx.output(0).Data<float>();
  const int64_t min_planes = size >= 4096 ? 1 : 4096 / (size + 1) + 1;
  ctx.thread_pool()->ParallelFor(planes, min_planes, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const float* plane = in + p * size;
      if (kind == PoolKind::kMax) {
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t i = 0; i < size; ++i) m = plane[i] > m ? plane[i] : m;
        out[p] = m;
      } else {
        float sum = 0.0f;
        for (int64_t i = 0; i < size; ++i) sum += plane[i];
        out[p] = size > 0 ? sum / static_cast<float>(size) : 0.0f;
      }
    }
  });
  return Status::Ok();
}

}  // namespace lwai
