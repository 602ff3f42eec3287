// float32 elementwise operators with Eigen's vectorized array math, split into chunks across
// the session's threads.
#include <cstdint>
#include <limits>
#include <memory>

#include "backends/eigen/eigen_config.h"
#include "backends/eigen/eigen_kernels.h"
#include "backends/eigen/eigen_math.h"
#include "kernels/common.h"
#include "kernels/resize.h"
#include "runtime/thread_pool.h"
#include "unsupported/Eigen/SpecialFunctions"

namespace lwai {
namespace eigen {
namespace {

using ConstArray = Eigen::Map<const Eigen::ArrayXf>;
using Array = Eigen::Map<Eigen::ArrayXf>;

// Elements per chunk below which a loop stays on one thread.
constexpr int64_t kMinChunk = 16384;

struct UnaryState : OpState {
  float alpha = 0.01f;              // LeakyRelu, Swish, HardSigmoid
  float beta = 0.5f;                // HardSigmoid
  bool tanh_approximation = false;  // Gelu
};

// log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)); NaN stays NaN.
template <typename X>
auto Softplus(const X& x) {
  return (x > 0.0f).select(x, 0.0f) + (-x.abs()).exp().log1p();
}

// Eigen's fast erf clamps its argument with min/max, which turns NaN into a number: NaN is put
// back where the input had it.
template <typename X>
auto Erf(const X& x) {
  return (x == x).select(x.erf(), x);
}

template <typename Fn>
void ForChunks(KernelContext& ctx, int64_t count, const Fn& fn) {
  ctx.thread_pool()->ParallelFor(count, kMinChunk, fn);
}

template <typename Op>
Status RunUnary(KernelContext& ctx, const Op& op) {
  const float* in = ctx.input(0).Data<const float>();
  float* out = ctx.output(0).Data<float>();
  ForChunks(ctx, ctx.output(0).NumElements(), [&](int64_t begin, int64_t end) {
    Array(out + begin, end - begin) = op(ConstArray(in + begin, end - begin));
  });
  return Status::Ok();
}

// How a binary operator reads its operands: `full` has the output's shape; the other operand
// (`partial`) is, flattened, a vector of `mid` values each repeated `inner` times, the whole
// pattern repeated for every outer index. Same shapes: mid = size, inner = 1; scalar: mid = 1.
struct BinaryState : OpState {
  bool fast = false;
  bool partial_is_a = false;  // a is the broadcast operand (order matters for Sub, Div)
  int64_t mid = 1, inner = 1;
};

// Fills *s when `partial` (right-aligned) varies only along one contiguous run of dims that
// equal the output's; returns false otherwise.
bool PlanBroadcast(const Shape& partial, const Shape& out, BinaryState* s) {
  const int offset = out.rank - partial.rank;
  int first = -1, last = -1;
  for (int d = 0; d < partial.rank; ++d) {
    if (partial[d] == 1) continue;
    if (partial[d] != out[offset + d]) return false;
    if (first < 0) first = d;
    if (last >= 0 && last != d - 1) return false;  // a 1 between two non-1 dims
    last = d;
  }
  s->mid = 1;
  s->inner = 1;
  if (first < 0) {
    s->inner = out.NumElements();
  } else {
    for (int d = first; d <= last; ++d) s->mid *= partial[d];
    for (int d = offset + last + 1; d < out.rank; ++d) s->inner *= out[d];
  }
  return true;
}

struct AddOp {
  template <typename X, typename Y>
  auto operator()(const X& x, const Y& y) const {
    return x + y;
  }
};
struct SubOp {
  template <typename X, typename Y>
  auto operator()(const X& x, const Y& y) const {
    return x - y;
  }
};
struct MulOp {
  template <typename X, typename Y>
  auto operator()(const X& x, const Y& y) const {
    return x * y;
  }
};
struct DivOp {
  template <typename X, typename Y>
  auto operator()(const X& x, const Y& y) const {
    return x / y;
  }
};

// op(a, b) where `partial` is a or b (per s.partial_is_a); `Op` takes (array, array),
// (array, float) and (float, array).
template <typename Op>
void RunBinaryFast(KernelContext& ctx, const BinaryState& s) {
  const Op op;
  const float* full = ctx.input(s.partial_is_a ? 1 : 0).Data<const float>();
  const float* partial = ctx.input(s.partial_is_a ? 0 : 1).Data<const float>();
  float* out = ctx.output(0).Data<float>();
  const bool swapped = s.partial_is_a;
  ForChunks(ctx, ctx.output(0).NumElements(), [&](int64_t begin, int64_t end) {
    int64_t e = begin;
    while (e < end) {
      if (s.inner == 1) {
        // partial is a vector of mid values, repeated.
        const int64_t offset = e % s.mid;
        const int64_t len = std::min(end - e, s.mid - offset);
        const ConstArray f(full + e, len), p(partial + offset, len);
        Array o(out + e, len);
        if (swapped) {
          o = op(p, f);
        } else {
          o = op(f, p);
        }
        e += len;
      } else {
        // partial is one value per run of `inner` elements.
        const int64_t run = e / s.inner;
        const int64_t len = std::min(end, (run + 1) * s.inner) - e;
        const float v = partial[run % s.mid];
        const ConstArray f(full + e, len);
        Array o(out + e, len);
        if (swapped) {
          o = op(v, f);
        } else {
          o = op(f, v);
        }
        e += len;
      }
    }
  });
}

}  // namespace

Status PrepareUnary(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  ctx.RequestScratch(0);
  auto state = std::make_unique<UnaryState>();
  const OpType op = ctx.node().op;
  const float default_alpha =
      op == OpType::Swish ? 1.0f : (op == OpType::HardSigmoid ? 0.2f : 0.01f);
  state->alpha = ctx.node().GetFloat("alpha", default_alpha);
  state->beta = ctx.node().GetFloat("beta", 0.5f);
  state->tanh_approximation = ctx.node().GetString("approximate", "none") == "tanh";
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalUnary(KernelContext& ctx) {
  switch (ctx.node().op) {
    case OpType::Relu:
      return RunUnary(ctx, [](const ConstArray& x) { return x.max(0.0f); });
    case OpType::Clip: {
      const float lo = ctx.has_input(1) ? ctx.input(1).Data<const float>()[0]
                                        : -std::numeric_limits<float>::infinity();
      const float hi = ctx.has_input(2) ? ctx.input(2).Data<const float>()[0]
                                        : std::numeric_limits<float>::infinity();
      // min(max(x, lo), hi): every value becomes hi when lo > hi, as the spec says.
      return RunUnary(ctx, [lo, hi](const ConstArray& x) { return x.max(lo).min(hi); });
    }
    case OpType::Sigmoid:
      return RunUnary(ctx, [](const ConstArray& x) { return Logistic(x); });
    case OpType::Tanh:
      return RunUnary(ctx, [](const ConstArray& x) { return Tanh(x); });
    case OpType::Exp:
      return RunUnary(ctx, [](const ConstArray& x) { return Exp(x); });
    case OpType::Sqrt:
      return RunUnary(ctx, [](const ConstArray& x) { return x.sqrt(); });
    case OpType::Neg:
      return RunUnary(ctx, [](const ConstArray& x) { return -x; });
    case OpType::Abs:
      return RunUnary(ctx, [](const ConstArray& x) { return x.abs(); });
    case OpType::Erf:
      return RunUnary(ctx, [](const ConstArray& x) { return Erf(x); });
    case OpType::Swish: {
      const float alpha = ctx.state<UnaryState>()->alpha;
      return RunUnary(ctx, [alpha](const ConstArray& x) { return x * Logistic(alpha * x); });
    }
    case OpType::Gelu:
      if (ctx.state<UnaryState>()->tanh_approximation) {
        // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
        return RunUnary(ctx, [](const ConstArray& x) {
          return 0.5f * x * (1.0f + Tanh(0.7978845608f * (x + 0.044715f * x.cube())));
        });
      }
      return RunUnary(ctx, [](const ConstArray& x) {
        return 0.5f * x * (1.0f + Erf(x * 0.70710678118654752f));
      });
    case OpType::HardSigmoid: {
      const float alpha = ctx.state<UnaryState>()->alpha;
      const float beta = ctx.state<UnaryState>()->beta;
      // Selects, not min/max: NaN stays NaN.
      return RunUnary(ctx, [alpha, beta](const ConstArray& x) {
        const auto y = alpha * x + beta;
        return (y < 0.0f).select(0.0f, (y > 1.0f).select(1.0f, y));
      });
    }
    case OpType::Softplus:
      return RunUnary(ctx, [](const ConstArray& x) { return Softplus(x); });
    case OpType::Mish:
      return RunUnary(ctx, [](const ConstArray& x) { return x * Tanh(Softplus(x)); });
    case OpType::LeakyRelu: {
      const float alpha = ctx.state<UnaryState>()->alpha;
      // Exact: one of the two terms is zero.
      return RunUnary(ctx,
                      [alpha](const ConstArray& x) { return x.max(0.0f) + alpha * x.min(0.0f); });
    }
    default:
      return ctx.Unsupported(LWAI_MSG("not an Eigen unary operator"));
  }
}

Status PrepareBinary(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  ctx.RequestScratch(0);
  auto state = std::make_unique<BinaryState>();
  const TensorView& a = ctx.input(0);
  const TensorView& b = ctx.input(1);
  const Shape& out = ctx.output(0).shape;
  if (ctx.output(0).dtype == DataType::kFloat32) {
    if (a.shape == out) {
      state->fast = PlanBroadcast(b.shape, out, state.get());
    } else if (b.shape == out) {
      state->partial_is_a = true;
      state->fast = PlanBroadcast(a.shape, out, state.get());
    }
    // Runs shorter than this are cheaper in the reference's index loop.
    const int64_t run = state->inner == 1 ? state->mid : state->inner;
    if (run < 8 && run < out.NumElements()) state->fast = false;
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status PrepareResize(KernelContext& ctx) { return ReferenceOf(ctx).prepare(ctx); }

Status EvalResize(KernelContext& ctx) {
  return IsSpatialResize(ctx) ? EvalSpatialResize(ctx) : ReferenceOf(ctx).eval(ctx);
}

Status EvalBinary(KernelContext& ctx) {
  const BinaryState& s = *ctx.state<BinaryState>();
  if (!s.fast) return ReferenceOf(ctx).eval(ctx);
  switch (ctx.node().op) {
    case OpType::Add:
      RunBinaryFast<AddOp>(ctx, s);
      break;
    case OpType::Sub:
      RunBinaryFast<SubOp>(ctx, s);
      break;
    case OpType::Mul:
      RunBinaryFast<MulOp>(ctx, s);
      break;
    case OpType::Div:
      RunBinaryFast<DivOp>(ctx, s);
      break;
    default:
      return ctx.Unsupported(LWAI_MSG("not an Eigen binary operator"));
  }
  return Status::Ok();
}

}  // namespace eigen
}  // namespace lwai
