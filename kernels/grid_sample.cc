// GridSample (ONNX 22): samples an N x C x <spatial> input (2-D or 3-D) at the normalized
// coordinates of an N x <out spatial> x r grid; modes linear / nearest / cubic (A = -0.75),
// padding_mode zeros / border / reflection, align_corners.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "kernels/common.h"
#include "kernels/dispatch.h"
#include "kernels/pool_group_common.h"
#include "kernels/spatial_common.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

enum class Mode { kLinear, kNearest, kCubic };
enum class Padding { kZeros, kBorder, kReflection };

struct GridSampleState : OpState {
  Mode mode = Mode::kLinear;
  Padding padding = Padding::kZeros;
  bool align_corners = false;
  int rank = 0;                      // spatial rank r
  int64_t in[kMaxSpatialRank] = {};  // input spatial sizes
  int64_t batch = 0, channels = 0, in_size = 1, points = 1;
};

// Reflects x into [lo, hi] by mirroring at the borders.
double Reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    const double dx = lo - x;
    const int64_t n = static_cast<int64_t>(dx / range);
    const double r = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const double dx = x - hi;
    const int64_t n = static_cast<int64_t>(dx / range);
    const double r = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

struct AxisSample {
  int taps = 0;
  int64_t index[4];  // -1: zero padding
  double weight[4];
};

// The taps of one axis for the unnormalized coordinate x.
void SampleAxis(const GridSampleState& s, double x, int64_t size, AxisSample* a) {
  const double lo = s.align_corners ? 0.0 : -0.5;
  const double hi = s.align_corners ? static_cast<double>(size - 1) : size - 0.5;
  if (s.mode == Mode::kNearest) x = std::nearbyint(x);
  if (x < lo || x > hi) {
    if (s.padding == Padding::kBorder) {
      x = std::min(std::max(x, 0.0), static_cast<double>(size - 1));
    } else if (s.padding == Padding::kReflection) {
      x = Reflect(x, lo, hi);
    }
  }
  int64_t first;
  if (s.mode == Mode::kNearest) {
    a->taps = 1;
    first = static_cast<int64_t>(x);  // truncation, as the reference casts to int
    a->weight[0] = 1;
  } else {
    first = static_cast<int64_t>(std::floor(x));
    const double t = x - static_cast<double>(first);
    if (s.mode == Mode::kLinear) {
      a->taps = 2;
      a->weight[0] = 1 - t;
      a->weight[1] = t;
    } else {
      a->taps = 4;
      CubicWeights(t, -0.75, a->weight);
      first -= 1;
    }
  }
  for (int t = 0; t < a->taps; ++t) {
    int64_t i = first + t;
    if (i < 0 || i >= size) {
      if (s.padding == Padding::kZeros) {
        i = -1;
      } else if (s.padding == Padding::kBorder) {
        i = i < 0 ? 0 : size - 1;
      } else {
        i = static_cast<int64_t>(Reflect(static_cast<double>(i), lo, hi));
        i = std::min(std::max<int64_t>(i, 0), size - 1);
      }
    }
    a->index[t] = i;
  }
}

template <typename T>
void SampleBatch(const GridSampleState& s, const T* x, const T* grid, T* y, int64_t n) {
  const int r = s.rank;
  for (int64_t p = 0; p < s.points; ++p) {
    const T* g = grid + (n * s.points + p) * r;
    AxisSample axes[kMaxSpatialRank];
    for (int d = 0; d < r; ++d) {
      // The grid lists (x, y[, z]): the last spatial axis first.
      const double v = static_cast<double>(g[r - 1 - d]);
      const double size = static_cast<double>(s.in[d]);
      const double coord = s.align_corners ? (v + 1) / 2 * (size - 1) : ((v + 1) * size - 1) / 2;
      SampleAxis(s, static_cast<double>(static_cast<T>(coord)), s.in[d], &axes[d]);
    }
    for (int64_t c = 0; c < s.channels; ++c) {
      const T* plane = x + (n * s.channels + c) * s.in_size;
      double sum = 0;
      int t[kMaxSpatialRank] = {};
      for (;;) {
        double w = 1;
        int64_t offset = 0;
        bool zero = false;
        for (int d = 0; d < r; ++d) {
          const int64_t i = axes[d].index[t[d]];
          if (i < 0) {
            zero = true;
            break;
          }
          w *= axes[d].weight[t[d]];
          offset = offset * s.in[d] + i;
        }
        if (!zero) sum += w * static_cast<double>(plane[offset]);
        int d = r - 1;
        for (; d >= 0; --d) {
          if (++t[d] < axes[d].taps) break;
          t[d] = 0;
        }
        if (d < 0) break;
      }
      y[(n * s.channels + c) * s.points + p] = static_cast<T>(sum);
    }
  }
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  LWAI_RETURN_IF_ERROR(ExpectFloatInput(ctx, 0));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(1, ctx.input(0).dtype));
  const Shape& x = ctx.input(0).shape;
  const Shape& grid = ctx.input(1).shape;
  const int r = x.rank - 2;
  if (r < 1 || r > kMaxSpatialRank) {
    return ctx.ShapeMismatch(LWAI_MSG("input must be N x C x spatial..., got " + x.ToString()));
  }
  if (grid.rank != x.rank || grid[0] != x[0] || grid[grid.rank - 1] != r) {
    return ctx.ShapeMismatch(LWAI_MSG("grid " + grid.ToString() + " must be [" +
                                      std::to_string(x[0]) + ", <" + std::to_string(r) +
                                      " output sizes>, " + std::to_string(r) + "] for input " +
                                      x.ToString()));
  }
  auto state = std::make_unique<GridSampleState>();
  GridSampleState& s = *state;
  const std::string mode = ctx.node().GetString("mode", "linear");
  if (mode == "linear" || mode == "bilinear") {
    s.mode = Mode::kLinear;
  } else if (mode == "nearest") {
    s.mode = Mode::kNearest;
  } else if (mode == "cubic" || mode == "bicubic") {
    s.mode = Mode::kCubic;
  } else {
    return ctx.InvalidModel(
        LWAI_MSG("attribute 'mode' must be linear, nearest or cubic, got '" + mode + "'"));
  }
  const std::string padding = ctx.node().GetString("padding_mode", "zeros");
  if (padding == "zeros") {
    s.padding = Padding::kZeros;
  } else if (padding == "border") {
    s.padding = Padding::kBorder;
  } else if (padding == "reflection") {
    s.padding = Padding::kReflection;
  } else {
    return ctx.InvalidModel(LWAI_MSG(
        "attribute 'padding_mode' must be zeros, border or reflection, got '" + padding + "'"));
  }
  s.align_corners = ctx.node().GetInt("align_corners", 0) != 0;
  s.rank = r;
  s.batch = x[0];
  s.channels = x[1];
  Shape y = x;
  for (int d = 0; d < r; ++d) {
    s.in[d] = x[d + 2];
    s.in_size *= x[d + 2];
    s.points *= grid[d + 1];
    y[d + 2] = grid[d + 1];
  }
  if (s.in_size == 0 && y.NumElements() > 0) {
    return ctx.ShapeMismatch(LWAI_MSG("cannot sample an empty input " + x.ToString()));
  }
  ctx.output(0).dtype = ctx.input(0).dtype;
  ctx.output(0).shape = y;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const GridSampleState& s = *ctx.state<GridSampleState>();
  if (ctx.output(0).NumElements() == 0) return Status::Ok();
  DispatchFloat(ctx.input(0).dtype, [&](auto type) {
    using T = decltype(type);
    const T* x = ctx.input(0).Data<const T>();
    const T* grid = ctx.input(1).Data<const T>();
    T* y = ctx.output(0).Data<T>();
    ctx.thread_pool()->ParallelFor(s.batch, 1, [&](int64_t begin, int64_t end) {
      for (int64_t n = begin; n < end; ++n) SampleBatch<T>(s, x, grid, y, n);
    });
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kGridSampleKernel = {OpType::GridSample, Prepare, Eval};

}  // namespace lwai
