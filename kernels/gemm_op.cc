// Gemm (ONNX 13): Y = alpha * A' * B' + beta * C, with A' and B' optionally transposed and C
// broadcast unidirectionally to [M, N], then the fused Relu/Clip activation; float32 or float64.
// The file is not named gemm.cc because that is the shared matrix multiply routine.
#include <algorithm>
#include <memory>
#include <string>

#include "kernels/common.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

struct GemmState : OpState {
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f, beta = 1.0f;
  bool has_c = false;
  int64_t c_row_stride = 0, c_col_stride = 0;  // 0 along broadcast dims
  FusedActivation activation;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
  const DataType dtype = ctx.input(0).dtype;
  if (dtype != DataType::kFloat32 && dtype != DataType::kFloat64) {
    return ctx.Unsupported(
        LWAI_MSG("A must be float32 or float64, got " + std::string(DataTypeName(dtype))));
  }
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(1, dtype));
  const Shape& a = ctx.input(0).shape;
  const Shape& b = ctx.input(1).shape;
  if (a.rank != 2 || b.rank != 2) {
    return ctx.ShapeMismatch(
        LWAI_MSG("A and B must be 2-D, got " + a.ToString() + " and " + b.ToString()));
  }
  auto state = std::make_unique<GemmState>();
  GemmState& s = *state;
  s.trans_a = ctx.node().GetInt("transA", 0) != 0;
  s.trans_b = ctx.node().GetInt("transB", 0) != 0;
  s.alpha = ctx.node().GetFloat("alpha", 1.0f);
  s.beta = ctx.node().GetFloat("beta", 1.0f);
  s.m = s.trans_a ? a[1] : a[0];
  s.k = s.trans_a ? a[0] : a[1];
  const int64_t k_b = s.trans_b ? b[1] : b[0];
  s.n = s.trans_b ? b[0] : b[1];
  if (k_b != s.k) {
    return ctx.ShapeMismatch(LWAI_MSG("inner dimensions differ: A " + a.ToString() + " (transA " +
                                      std::to_string(s.trans_a) + ") and B " + b.ToString() +
                                      " (transB " + std::to_string(s.trans_b) + ")"));
  }
  if (ctx.has_input(2)) {
    LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(2, dtype));
    const Shape& c = ctx.input(2).shape;
    const int64_t rows = c.rank == 2 ? c[0] : 1;
    const int64_t cols = c.rank >= 1 ? c[c.rank - 1] : 1;
    if (c.rank > 2 || (rows != 1 && rows != s.m) || (cols != 1 && cols != s.n)) {
      return ctx.ShapeMismatch(LWAI_MSG("C " + c.ToString() + " cannot be broadcast to [" +
                                        std::to_string(s.m) + ", " + std::to_string(s.n) + "]"));
    }
    s.has_c = true;
    s.c_row_stride = rows == 1 ? 0 : cols;
    s.c_col_stride = cols == 1 ? 0 : 1;
  }
  LWAI_RETURN_IF_ERROR(ParseFusedActivation(ctx, &s.activation));
  TensorView& y = ctx.output(0);
  y.dtype = dtype;
  y.shape = Shape({s.m, s.n});
  if (dtype == DataType::kFloat32)
    ctx.RequestScratch(
        GemmScratchBytes(ctx.thread_pool()->num_threads(), s.m, s.k, s.n, s.trans_b));
  ctx.SetState(std::move(state));
  return Status::Ok();
}

// The float64 path: a plain loop.
void EvalDouble(KernelContext& ctx, const GemmState& s) {
  const double* a = ctx.input(0).Data<const double>();
  const double* b = ctx.input(1).Data<const double>();
  const double* c = s.has_c ? ctx.input(2).Data<const double>() : nullptr;
  double* y = ctx.output(0).Data<double>();
  const int64_t a_row = s.trans_a ? 1 : s.k, a_col = s.trans_a ? s.m : 1;
  const int64_t b_row = s.trans_b ? 1 : s.n, b_col = s.trans_b ? s.k : 1;
  for (int64_t i = 0; i < s.m; ++i) {
    for (int64_t j = 0; j < s.n; ++j) {
      double sum = 0.0;
      for (int64_t p = 0; p < s.k; ++p) sum += a[i * a_row + p * a_col] * b[p * b_row + j * b_col];
      double v = s.alpha * sum;
      if (c) v += s.beta * c[i * s.c_row_stride + j * s.c_col_stride];
      y[i * s.n + j] =
          s.activation.enabled
              ? std::min<double>(std::max<double>(v, s.activation.min), s.activation.max)
              : v;
    }
  }
}

Status Eval(KernelContext& ctx) {
  const GemmState& s = *ctx.state<GemmState>();
  if (ctx.input(0).dtype == DataType::kFloat64) {
    EvalDouble(ctx, s);
    return Status::Ok();
  }
  float* y = ctx.output(0).Data<float>();
  GemmArgs args;
  args.limits = &ctx.limits();
  args.m = s.m;
  args.n = s.n;
  args.k = s.k;
  args.a = ctx.input(0).Data<const float>();
  args.lda = s.trans_a ? s.m : s.k;
  args.trans_a = s.trans_a;
  args.b = ctx.input(1).Data<const float>();
  args.ldb = s.trans_b ? s.k : s.n;
  args.trans_b = s.trans_b;
  args.c = y;
  args.ldc = s.n;
  Gemm(args, ctx.scratch(), ctx.thread_pool());

  const float* c = s.has_c && s.beta != 0.0f ? ctx.input(2).Data<const float>() : nullptr;
  if (s.alpha == 1.0f && c == nullptr && !s.activation.enabled) return Status::Ok();
  ctx.thread_pool()->ParallelFor(s.m, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float* row = y + i * s.n;
      for (int64_t j = 0; j < s.n; ++j) {
        float v = s.alpha * row[j];
        if (c) v += s.beta * c[i * s.c_row_stride + j * s.c_col_stride];
        row[j] = s.activation.enabled ? ApplyActivation(s.activation, v) : v;
      }
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kGemmKernel = {OpType::Gemm, Prepare, Eval};

}  // namespace lwai
