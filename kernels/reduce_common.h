// Shared by the reduce group's kernels: reductions over a set of axes (ReduceXxx), per-axis
// lines (ArgMax, Softmax, ...), normalization statistics and the negative log-likelihood loss.
#ifndef LWAI_KERNELS_REDUCE_COMMON_H_
#define LWAI_KERNELS_REDUCE_COMMON_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels/common.h"
#include "kernels/dispatch.h"
#include "runtime/thread_pool.h"

namespace lwai {

// A shape seen around one axis: outer * size * inner elements; a line is the `size` elements
// at one (outer, inner) position, `inner` apart.
struct AxisSplit {
  int64_t outer = 1, size = 1, inner = 1;

  int64_t lines() const { return outer * inner; }
  int64_t LineOffset(int64_t line) const { return (line / inner) * size * inner + line % inner; }
};

// Splits `shape` at `axis` (possibly negative); InvalidModel naming the attribute when out of
// range. *normalized receives the axis in [0, rank) when not null.
Status SplitAtAxis(const KernelContext& ctx, const Shape& shape, int64_t axis, AxisSplit* split,
                   int* normalized = nullptr);

// Float operators applied line by line along the "axis" attribute, with the output shaped like
// the input (Softmax, LogSoftmax, Hardmax, LpNormalization).
struct AlongAxisState : OpState {
  AxisSplit split;
};
Status PrepareAlongAxis(KernelContext& ctx, int64_t default_axis);

// Calls line_fn(in, out, split) for every line of input 0 / output 0 (pointers to the line's
// first element, typed by the input's float dtype), on the session's threads.
template <typename LineFn>
void EvalAlongAxis(KernelContext& ctx, const LineFn& line_fn) {
  const AxisSplit& s = ctx.state<AlongAxisState>()->split;
  if (s.size == 0) return;
  DispatchFloat(ctx.input(0).dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* x = ctx.input(0).Data<const T>();
    T* y = ctx.output(0).Data<T>();
    ctx.thread_pool()->ParallelFor(s.lines(), 4096 / s.size + 1, [&](int64_t begin, int64_t end) {
      for (int64_t line = begin; line < end; ++line) {
        const int64_t offset = s.LineOffset(line);
        line_fn(x + offset, y + offset, s);
      }
    });
  });
}

// A reduction of `input` over the axes in `mask`.
struct ReducePlan {
  Shape input;
  int64_t out_strides[kMaxRank] = {};  // output stride of each input axis, 0 on reduced axes
  int64_t out_count = 1;               // output elements
  int64_t group = 1;                   // input elements per output element
};

// Fills *plan; *out_shape receives the reduced shape (reduced axes kept as 1 when keepdims).
void MakeReducePlan(const Shape& input, uint32_t mask, bool keepdims, ReducePlan* plan,
                    Shape* out_shape);

// Calls fn(in_index, out_index) for every input element, in row-major input order.
template <typename Fn>
void ForEachReduced(const ReducePlan& plan, const Fn& fn) {
  int64_t in_strides[kMaxRank];
  ComputeStrides(plan.input, in_strides);
  ForEachBroadcast(plan.input, in_strides, plan.out_strides,
                   [&](int64_t i, int64_t, int64_t o) { fn(i, o); });
}

// The ReduceXxx operators (opset 18 form: optional axes input, keepdims, noop_with_empty_axes).
enum class ReduceKind { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

struct ReduceState : OpState {
  ReducePlan plan;
  bool noop = false;  // empty axes with noop_with_empty_axes: output = input
};

Status PrepareReduce(KernelContext& ctx, ReduceKind kind);

namespace reduce_internal {

template <typename T>
T AbsValue(T v) {
  if constexpr (std::is_unsigned<T>::value || std::is_same<T, bool>::value) {
    return v;
  } else {
    return v < T(0) ? T(-v) : v;
  }
}

template <typename T>
bool IsNan(T v) {
  if constexpr (std::is_floating_point<T>::value) {
    return std::isnan(v);
  } else {
    return false;
  }
}

template <ReduceKind kKind, typename T>
T Identity() {
  if constexpr (kKind == ReduceKind::kMax) {
    return std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                : std::numeric_limits<T>::lowest();
  } else if constexpr (kKind == ReduceKind::kMin) {
    return std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity()
                                                : std::numeric_limits<T>::max();
  } else if constexpr (kKind == ReduceKind::kProd) {
    return T(1);
  } else {
    return T(0);
  }
}

template <ReduceKind kKind, typename T>
void ReduceTyped(const ReducePlan& plan, const T* x, T* y, T* max_scratch) {
  std::fill(y, y + plan.out_count, Identity<kKind, T>());
  if constexpr (kKind == ReduceKind::kLogSumExp) {
    // Subtract each group's maximum before exp so that large inputs do not overflow.
    T* m = max_scratch;
    std::fill(m, m + plan.out_count, -std::numeric_limits<T>::infinity());
    ForEachReduced(plan, [&](int64_t i, int64_t o) {
      if (x[i] > m[o]) m[o] = x[i];
    });
    for (int64_t o = 0; o < plan.out_count; ++o) {
      if (!std::isfinite(m[o])) m[o] = T(0);
    }
    ForEachReduced(plan, [&](int64_t i, int64_t o) { y[o] += std::exp(x[i] - m[o]); });
    for (int64_t o = 0; o < plan.out_count; ++o) y[o] = std::log(y[o]) + m[o];
    return;
  }
  ForEachReduced(plan, [&](int64_t i, int64_t o) {
    const T v = x[i];
    if constexpr (kKind == ReduceKind::kSum || kKind == ReduceKind::kMean ||
                  kKind == ReduceKind::kLogSum) {
      y[o] += v;
    } else if constexpr (kKind == ReduceKind::kMax) {
      if (v > y[o] || IsNan(v)) y[o] = v;
    } else if constexpr (kKind == ReduceKind::kMin) {
      if (v < y[o] || IsNan(v)) y[o] = v;
    } else if constexpr (kKind == ReduceKind::kProd) {
      y[o] *= v;
    } else if constexpr (kKind == ReduceKind::kL1) {
      y[o] += AbsValue(v);
    } else {  // kL2, kSumSquare
      y[o] += v * v;
    }
  });
  if constexpr (kKind == ReduceKind::kMean) {
    if (std::is_floating_point<T>::value || plan.group != 0) {
      for (int64_t o = 0; o < plan.out_count; ++o) y[o] = y[o] / static_cast<T>(plan.group);
    }
  } else if constexpr (kKind == ReduceKind::kL2) {
    for (int64_t o = 0; o < plan.out_count; ++o) y[o] = std::sqrt(y[o]);
  } else if constexpr (kKind == ReduceKind::kLogSum) {
    for (int64_t o = 0; o < plan.out_count; ++o) y[o] = std::log(y[o]);
  }
}

}  // namespace reduce_internal

// Eval of the ReduceXxx operators; each kernel instantiates only its own kind.
template <ReduceKind kKind>
Status EvalReduce(KernelContext& ctx) {
  const ReduceState& s = *ctx.state<ReduceState>();
  const TensorView& in = ctx.input(0);
  TensorView& out = ctx.output(0);
  if (s.noop) {
    CopyInputToOutput(ctx);
    return Status::Ok();
  }
  auto run = [&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_same<T, bool>::value &&
                  !(kKind == ReduceKind::kMax || kKind == ReduceKind::kMin)) {
      return;
    } else if constexpr (!std::is_floating_point<T>::value &&
                         (kKind == ReduceKind::kL2 || kKind == ReduceKind::kLogSum ||
                          kKind == ReduceKind::kLogSumExp)) {
      return;
    } else {
      reduce_internal::ReduceTyped<kKind, T>(s.plan, in.Data<const T>(), out.Data<T>(),
                                             static_cast<T*>(ctx.scratch()));
    }
  };
  if (kKind == ReduceKind::kMax || kKind == ReduceKind::kMin) {
    DispatchNumericOrBool(in.dtype, run);
  } else if (kKind == ReduceKind::kL2 || kKind == ReduceKind::kLogSum ||
             kKind == ReduceKind::kLogSumExp) {
    DispatchFloat(in.dtype, run);
  } else {
    DispatchNumeric(in.dtype, run);
  }
  return Status::Ok();
}

// ArgMax / ArgMin (ONNX 13): axis, keepdims, select_last_index; int64 output.
struct ArgReduceState : OpState {
  AxisSplit split;
  bool select_last = false;
};
Status PrepareArgReduce(KernelContext& ctx);

template <bool kMax>
Status EvalArgReduce(KernelContext& ctx) {
  const ArgReduceState& s = *ctx.state<ArgReduceState>();
  const TensorView& in = ctx.input(0);
  int64_t* y = ctx.output(0).Data<int64_t>();
  const AxisSplit& sp = s.split;
  DispatchNumeric(in.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* x = in.Data<const T>();
    for (int64_t line = 0; line < sp.lines(); ++line) {
      const T* p = x + sp.LineOffset(line);
      int64_t best = 0;
      for (int64_t i = 1; i < sp.size; ++i) {
        const T v = p[i * sp.inner], b = p[best * sp.inner];
        const bool better =
            kMax ? (s.select_last ? v >= b : v > b) : (s.select_last ? v <= b : v < b);
        if (better) best = i;
      }
      y[line] = best;
    }
  });
  return Status::Ok();
}

// Mean and (population) variance of n contiguous values, accumulated in double.
template <typename T>
void MeanVariance(const T* x, int64_t n, double* mean, double* variance) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const double m = n > 0 ? sum / static_cast<double>(n) : 0.0;
  double sq = 0.0;
  for (int64_t i = 0; i < n; ++i) sq += (x[i] - m) * (x[i] - m);
  *mean = m;
  *variance = n > 0 ? sq / static_cast<double>(n) : 0.0;
}

// LayerNormalization / RMSNormalization: rows made of the trailing dims from `axis`, with the
// scale (input 1) and optional bias (input 2) broadcast unidirectionally to those dims.
struct RowNormState : OpState {
  int64_t rows = 1;
  Shape row_shape;
  int64_t scale_strides[kMaxRank] = {};
  int64_t bias_strides[kMaxRank] = {};
  float epsilon = 1e-5f;
};
// Validates the inputs (max_inputs 2 or 3), stash_type and shapes; sets output 0. *axis
// receives the normalized axis.
Status PrepareRowNorm(KernelContext& ctx, int max_inputs, RowNormState* state, int* axis);

// Calls fn(j, scale_index, bias_index) for the elements j of one row.
template <typename Fn>
void ForEachRowElement(const RowNormState& s, const Fn& fn) {
  ForEachBroadcast(s.row_shape, s.scale_strides, s.bias_strides, fn);
}

// Negative log-likelihood loss over log-probabilities `logp` [N, C, D] (D: the flattened
// trailing dims) and `target` [N, D] (int32 or int64 values, read through `target_at`).
// reduction: 0 none (loss [N, D]), 1 sum, 2 mean (weighted by the gathered weights).
// Returns false when a target that is not ignore_index is outside [0, C).
enum class LossReduction { kNone, kSum, kMean };
Status ParseLossReduction(const KernelContext& ctx, LossReduction* reduction);

template <typename T, typename TargetFn>
bool NllLoss(const T* logp, int64_t n, int64_t c, int64_t d, const TargetFn& target_at,
             const T* weight, bool has_ignore, int64_t ignore_index, LossReduction reduction,
             T* loss) {
  double total = 0.0, weight_total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      const int64_t t = target_at(i * d + j);
      T value = T(0);
      double w = 0.0;
      if (!(has_ignore && t == ignore_index)) {
        if (t < 0 || t >= c) return false;
        w = weight ? static_cast<double>(weight[t]) : 1.0;
        value = static_cast<T>(-static_cast<double>(logp[(i * c + t) * d + j]) * w);
      }
      if (reduction == LossReduction::kNone) loss[i * d + j] = value;
      total += value;
      weight_total += w;
    }
  }
  if (reduction == LossReduction::kSum) loss[0] = static_cast<T>(total);
  if (reduction == LossReduction::kMean) loss[0] = static_cast<T>(total / weight_total);
  return true;
}

// Shape checks and output shape of the losses: input [N, C, d...], target [N, d...] int32/64,
// optional weight [C].
Status PrepareLoss(KernelContext& ctx, LossReduction reduction, int64_t* n, int64_t* c, int64_t* d);

// Reads element i of an int32 or int64 tensor.
inline int64_t IntAt(const TensorView& t, int64_t i) {
  return t.dtype == DataType::kInt64 ? t.Data<const int64_t>()[i] : t.Data<const int32_t>()[i];
}

}  // namespace lwai

#endif  // LWAI_KERNELS_REDUCE_COMMON_H_
