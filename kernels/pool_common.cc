#include "kernels/pool_common.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/common.h"
#include "kernels/dispatch.h"
#include "kernels/spatial_common.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

struct PoolState : OpState {
  PoolKind kind = PoolKind::kMax;
  bool count_include_pad = false;
  bool column_major_indices = false;
  int64_t p = 2;
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

// Accumulator type: the element type for max, float or double for the sums.
template <typename T>
using SumType = typename std::conditional<std::is_same<T, double>::value, double, float>::type;

// Reduces the taps [k_lo, k_hi) of one window: max (with the offset of the first maximum in
// *arg), sum, or sum of |x|^p.
template <typename T>
SumType<T> ReduceWindow(const PoolState& s, const T* in, const int64_t* start, const int64_t* k_lo,
                        const int64_t* k_hi, int64_t* arg) {
  const WindowGeometry& g = s.g;
  const int last = g.spatial_rank - 1;
  T best = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                : std::numeric_limits<T>::lowest();
  SumType<T> sum = 0;
  *arg = -1;
  int64_t k[kMaxSpatialRank];
  for (int d = 0; d < g.spatial_rank; ++d) {
    if (k_lo[d] == k_hi[d]) return s.kind == PoolKind::kMax ? static_cast<SumType<T>>(best) : sum;
    k[d] = k_lo[d];
  }
  const int64_t dilation = g.dilations[last];
  for (;;) {
    int64_t base = start[last];
    for (int d = 0; d < last; ++d) base += (start[d] + k[d] * g.dilations[d]) * s.in_strides[d];
    const T* row = in + base;
    if (s.kind == PoolKind::kMax) {
      for (int64_t kk = k_lo[last]; kk < k_hi[last]; ++kk) {
        const T v = row[kk * dilation];
        // A NaN in the window makes the result NaN (its first position is the index).
        if (v > best || *arg < 0 || (v != v && best == best)) {
          best = v;
          *arg = base + kk * dilation;
        }
      }
    } else if (s.kind == PoolKind::kAverage) {
      for (int64_t kk = k_lo[last]; kk < k_hi[last]; ++kk) sum += row[kk * dilation];
    } else {
      for (int64_t kk = k_lo[last]; kk < k_hi[last]; ++kk) {
        const SumType<T> v = std::abs(static_cast<SumType<T>>(row[kk * dilation]));
        sum += s.p == 2 ? v * v : (s.p == 1 ? v : std::pow(v, static_cast<SumType<T>>(s.p)));
      }
    }
    int d = last - 1;
    for (; d >= 0; --d) {
      if (++k[d] < k_hi[d]) break;
      k[d] = k_lo[d];
    }
    if (d < 0) break;
  }
  return s.kind == PoolKind::kMax ? static_cast<SumType<T>>(best) : sum;
}

// Row-major offset within a plane -> the storage_order=1 (column-major) offset.
int64_t ToColumnMajor(const WindowGeometry& g, int64_t offset) {
  int64_t result = 0, stride = 1;
  int64_t coords[kMaxSpatialRank];
  for (int d = g.spatial_rank - 1; d >= 0; --d) {
    coords[d] = offset % g.input[d];
    offset /= g.input[d];
  }
  for (int d = 0; d < g.spatial_rank; ++d) {
    result += coords[d] * stride;
    stride *= g.input[d];
  }
  return result;
}

// False when the run's limits stopped it before the plane was done.
template <typename T>
bool PoolPlane(const PoolState& s, const T* in, T* out, int64_t* indices, int64_t index_base,
               WorkMeter& meter) {
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
    if (meter.Add(count + 1)) return false;
    int64_t arg;
    const SumType<T> acc = ReduceWindow(s, in, start, k_lo, k_hi, &arg);
    if (s.kind == PoolKind::kMax) {
      out[i] = static_cast<T>(acc);
      if (indices != nullptr) {
        const int64_t offset = arg < 0 ? 0 : (s.column_major_indices ? ToColumnMajor(g, arg) : arg);
        indices[i] = index_base + offset;
      }
    } else if (s.kind == PoolKind::kAverage) {
      const int64_t divisor = s.count_include_pad ? padded_count : count;
      out[i] = divisor > 0 ? static_cast<T>(acc / static_cast<SumType<T>>(divisor)) : T(0);
    } else {
      out[i] = static_cast<T>(s.p == 2   ? std::sqrt(acc)
                              : s.p == 1 ? acc
                                         : std::pow(acc, 1 / static_cast<SumType<T>>(s.p)));
    }
    for (int d = g.spatial_rank - 1; d >= 0; --d) {
      if (++o[d] < g.output[d]) break;
      o[d] = 0;
    }
  }
  return true;
}

// Calls fn(T()) for the dtypes the pool kind supports: float32/float64, and int8/uint8 for max.
template <typename Fn>
bool DispatchPool(PoolKind kind, DataType dtype, const Fn& fn) {
  if (DispatchFloat(dtype, fn)) return true;
  if (kind != PoolKind::kMax) return false;
  if (dtype == DataType::kInt8) return Call<int8_t>(fn);
  if (dtype == DataType::kUInt8) return Call<uint8_t>(fn);
  return false;
}

Status CheckPoolInput(const KernelContext& ctx, PoolKind kind) {
  const DataType dtype = ctx.input(0).dtype;
  if (!DispatchPool(kind, dtype, [](auto) {})) {
    return ctx.Unsupported(
        LWAI_MSG(std::string("input dtype ") + DataTypeName(dtype) + " is not supported" +
                 (kind == PoolKind::kMax ? " (expected float32, float64, int8 or uint8)"
                                         : " (expected float32 or float64)")));
  }
  const Shape& x = ctx.input(0).shape;
  if (x.rank < 3)
    return ctx.ShapeMismatch(LWAI_MSG("input must be N x C x spatial..., got " + x.ToString()));
  return Status::Ok();
}

Status ReadP(const KernelContext& ctx, int64_t* p) {
  *p = ctx.node().GetInt("p", 2);
  if (*p < 1)
    return ctx.InvalidModel(LWAI_MSG("attribute 'p' must be >= 1, got " + std::to_string(*p)));
  return Status::Ok();
}

}  // namespace

Status PreparePool(KernelContext& ctx, PoolKind kind) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  LWAI_RETURN_IF_ERROR(CheckPoolInput(ctx, kind));
  if (kind != PoolKind::kMax && ctx.num_outputs() > 1) {
    return ctx.InvalidModel(
        LWAI_MSG("expected 1 output, got " + std::to_string(ctx.num_outputs())));
  }
  const Shape& x = ctx.input(0).shape;
  const std::vector<int64_t> kernel = ctx.node().GetInts("kernel_shape");
  if (static_cast<int>(kernel.size()) != x.rank - 2) {
    return ctx.InvalidModel(LWAI_MSG("attribute 'kernel_shape' has " +
                                     std::to_string(kernel.size()) + " values, expected " +
                                     std::to_string(x.rank - 2) + " for input " + x.ToString()));
  }
  auto state = std::make_unique<PoolState>();
  PoolState& s = *state;
  s.kind = kind;
  s.count_include_pad = ctx.node().GetInt("count_include_pad", 0) != 0;
  if (kind == PoolKind::kLp) LWAI_RETURN_IF_ERROR(ReadP(ctx, &s.p));
  const int64_t storage_order = ctx.node().GetInt("storage_order", 0);
  if (storage_order != 0 && storage_order != 1) {
    return ctx.InvalidModel(
        LWAI_MSG("attribute 'storage_order' must be 0 or 1, got " + std::to_string(storage_order)));
  }
  s.column_major_indices = storage_order == 1;
  LWAI_RETURN_IF_ERROR(ComputeWindowGeometry(ctx, x, kernel.data(), true, &s.g));
  s.planes = x[0] * x[1];
  TensorView& y = ctx.output(0);
  y.dtype = ctx.input(0).dtype;
  y.shape = x;
  for (int d = s.g.spatial_rank - 1; d >= 0; --d) {
    s.in_strides[d] = s.in_size;
    s.in_size *= s.g.input[d];
    s.out_size *= s.g.output[d];
    y.shape[d + 2] = s.g.output[d];
  }
  if (ctx.has_output(1)) {
    ctx.output(1).dtype = DataType::kInt64;
    ctx.output(1).shape = y.shape;
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalPool(KernelContext& ctx) {
  const PoolState& s = *ctx.state<PoolState>();
  int64_t* indices = ctx.has_output(1) ? ctx.output(1).Data<int64_t>() : nullptr;
  std::atomic<bool> stopped{false};
  DispatchPool(s.kind, ctx.input(0).dtype, [&](auto type) {
    using T = decltype(type);
    const T* x = ctx.input(0).Data<const T>();
    T* y = ctx.output(0).Data<T>();
    ctx.thread_pool()->ParallelFor(s.planes, 1, [&](int64_t begin, int64_t end) {
      WorkMeter meter(ctx.limits());
      for (int64_t p = begin; p < end; ++p) {
        if (!PoolPlane<T>(s, x + p * s.in_size, y + p * s.out_size,
                          indices != nullptr ? indices + p * s.out_size : nullptr, p * s.in_size,
                          meter)) {
          stopped = true;
          return;
        }
      }
    });
  });
  if (stopped) return ctx.limits().Check(ctx.node());
  return Status::Ok();
}

namespace {

struct GlobalPoolState : OpState {
  PoolKind kind = PoolKind::kMax;
  int64_t p = 2;
};

template <typename T>
void GlobalPoolPlanes(const GlobalPoolState& s, const T* in, T* out, int64_t size, int64_t begin,
                      int64_t end) {
  using Acc = SumType<T>;
  for (int64_t p = begin; p < end; ++p) {
    const T* plane = in + p * size;
    if (s.kind == PoolKind::kMax) {
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t i = 0; i < size; ++i) m = plane[i] > m ? plane[i] : m;
      out[p] = m;
    } else if (s.kind == PoolKind::kAverage) {
      Acc sum = 0;
      for (int64_t i = 0; i < size; ++i) sum += plane[i];
      out[p] = size > 0 ? static_cast<T>(sum / static_cast<Acc>(size)) : T(0);
    } else {
      Acc sum = 0;
      const Acc power = static_cast<Acc>(s.p);
      for (int64_t i = 0; i < size; ++i)
        sum += std::pow(std::abs(static_cast<Acc>(plane[i])), power);
      out[p] = static_cast<T>(std::pow(sum, 1 / power));
    }
  }
}

}  // namespace

Status PrepareGlobalPool(KernelContext& ctx, PoolKind kind) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const DataType dtype = ctx.input(0).dtype;
  LWAI_RETURN_IF_ERROR(ExpectFloatInput(ctx, 0));
  const Shape& x = ctx.input(0).shape;
  if (x.rank < 3)
    return ctx.ShapeMismatch(LWAI_MSG("input must be N x C x spatial..., got " + x.ToString()));
  auto state = std::make_unique<GlobalPoolState>();
  state->kind = kind;
  if (kind == PoolKind::kLp) LWAI_RETURN_IF_ERROR(ReadP(ctx, &state->p));
  TensorView& y = ctx.output(0);
  y.dtype = dtype;
  y.shape = x;
  for (int d = 2; d < x.rank; ++d) y.shape[d] = 1;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalGlobalPool(KernelContext& ctx) {
  const GlobalPoolState& s = *ctx.state<GlobalPoolState>();
  const TensorView& x = ctx.input(0);
  const int64_t planes = x.shape[0] * x.shape[1];
  const int64_t size = planes > 0 ? x.NumElements() / planes : 0;
  const int64_t min_planes = size >= 4096 ? 1 : 4096 / (size + 1) + 1;
  DispatchFloat(x.dtype, [&](auto type) {
    using T = decltype(type);
    const T* in = x.Data<const T>();
    T* out = ctx.output(0).Data<T>();
    ctx.thread_pool()->ParallelFor(planes, min_planes, [&](int64_t begin, int64_t end) {
      GlobalPoolPlanes<T>(s, in, out, size, begin, end);
    });
  });
  return Status::Ok();
}

}  // namespace lwai
