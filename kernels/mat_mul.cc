// MatMul (ONNX 13): numpy matmul. 1-D operands are promoted to matrices (and the added
// dimension removed again); batch dimensions broadcast. One Gemm per output matrix, or a
// single Gemm when B has no batch of its own (A's batch then folds into M). float64 and integer
// types use a plain loop (integers wrap around).
//
// lwai extension, made by the FuseMatMulBias pass (float32 only): an optional third input, a
// bias of n values added to every output row, and a fused Relu/Clip ("activation" attribute,
// as on Conv and Gemm) applied after it.
#include <memory>
#include <string>

#include "kernels/common.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

struct MatMulState : OpState {
  int64_t m = 0, n = 0, k = 0;
  Shape batch;                       // broadcast batch shape
  int64_t a_strides[kMaxRank] = {};  // in elements, 0 along broadcast batch dims
  int64_t b_strides[kMaxRank] = {};
  bool bias = false;
  FusedActivation activation;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
  const DataType dtype = ctx.input(0).dtype;
  if (!DispatchNumeric(dtype, [](auto) {})) {
    return ctx.Unsupported(LWAI_MSG("unsupported dtype " + std::string(DataTypeName(dtype))));
  }
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(1, dtype));
  const Shape& a = ctx.input(0).shape;
  const Shape& b = ctx.input(1).shape;
  if (a.rank < 1 || b.rank < 1) {
    return ctx.ShapeMismatch(
        LWAI_MSG("inputs must have rank >= 1, got " + a.ToString() + " and " + b.ToString()));
  }
  auto state = std::make_unique<MatMulState>();
  MatMulState& s = *state;
  s.m = a.rank == 1 ? 1 : a[a.rank - 2];
  s.k = a[a.rank - 1];
  s.n = b.rank == 1 ? 1 : b[b.rank - 1];
  const int64_t k_b = b.rank == 1 ? b[0] : b[b.rank - 2];
  if (k_b != s.k) {
    return ctx.ShapeMismatch(
        LWAI_MSG("inner dimensions differ: " + a.ToString() + " x " + b.ToString()));
  }
  Shape a_batch, b_batch;
  a_batch.rank = a.rank > 2 ? a.rank - 2 : 0;
  b_batch.rank = b.rank > 2 ? b.rank - 2 : 0;
  for (int i = 0; i < a_batch.rank; ++i) a_batch[i] = a[i];
  for (int i = 0; i < b_batch.rank; ++i) b_batch[i] = b[i];
  Status status = BroadcastShapes(a_batch, b_batch, &s.batch);
  if (!status.ok()) {
    return ctx.ShapeMismatch(LWAI_MSG("batch dimensions of " + a.ToString() + " and " +
                                      b.ToString() + " do not broadcast"));
  }
  BroadcastStrides(a_batch, s.batch, s.a_strides);
  BroadcastStrides(b_batch, s.batch, s.b_strides);
  for (int i = 0; i < s.batch.rank; ++i) {
    s.a_strides[i] *= s.m * s.k;
    s.b_strides[i] *= s.k * s.n;
  }
  s.bias = ctx.has_input(2);
  if (s.bias || ctx.node().FindAttribute("activation") != nullptr) {
    if (dtype != DataType::kFloat32) {
      return ctx.Unsupported(LWAI_MSG("a fused bias or activation needs float32, got " +
                                      std::string(DataTypeName(dtype))));
    }
    LWAI_RETURN_IF_ERROR(ParseFusedActivation(ctx, &s.activation));
  }
  if (s.bias) {
    LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(2, dtype));
    if (ctx.input(2).NumElements() != s.n) {
      return ctx.ShapeMismatch(LWAI_MSG("bias " + ctx.input(2).shape.ToString() + " must hold " +
                                        std::to_string(s.n) + " values, one per output column"));
    }
  }
  TensorView& y = ctx.output(0);
  y.dtype = dtype;
  y.shape = s.batch;
  if (a.rank > 1) y.shape[y.shape.rank++] = s.m;
  if (b.rank > 1) y.shape[y.shape.rank++] = s.n;
  // When B has no batch of its own, A's (contiguous) batch folds into M.
  if (dtype != DataType::kFloat32) {
    ctx.SetState(std::move(state));
    return Status::Ok();
  }
  if (b_batch.NumElements() == 1) {
    s.m *= s.batch.NumElements();
    s.batch = Shape();
  }
  ctx.RequestScratch(GemmScratchBytes(ctx.thread_pool()->num_threads(), s.m, s.k, s.n));
  ctx.SetState(std::move(state));
  return Status::Ok();
}

// Calls fn(batch_index, a_offset, b_offset) for every matrix of the broadcast batch.
template <typename Fn>
void ForEachMatrix(const MatMulState& s, const Fn& fn) {
  const int rank = s.batch.rank;
  const int64_t count = s.batch.NumElements();
  int64_t index[kMaxRank] = {};
  int64_t a_offset = 0, b_offset = 0;
  for (int64_t i = 0; i < count; ++i) {
    fn(i, a_offset, b_offset);
    for (int d = rank - 1; d >= 0; --d) {
      a_offset += s.a_strides[d];
      b_offset += s.b_strides[d];
      if (++index[d] < s.batch[d]) break;
      a_offset -= s.a_strides[d] * s.batch[d];
      b_offset -= s.b_strides[d] * s.batch[d];
      index[d] = 0;
    }
  }
}

template <typename T>
void EvalGeneric(KernelContext& ctx, const MatMulState& s) {
  const T* a = ctx.input(0).Data<const T>();
  const T* b = ctx.input(1).Data<const T>();
  T* y = ctx.output(0).Data<T>();
  ForEachMatrix(s, [&](int64_t i, int64_t a_offset, int64_t b_offset) {
    T* c = y + i * s.m * s.n;
    for (int64_t r = 0; r < s.m; ++r) {
      T* row = c + r * s.n;
      for (int64_t j = 0; j < s.n; ++j) row[j] = T(0);
      const T* a_row = a + a_offset + r * s.k;
      for (int64_t p = 0; p < s.k; ++p) {
        const T av = a_row[p];
        const T* b_row = b + b_offset + p * s.n;
        for (int64_t j = 0; j < s.n; ++j) row[j] = static_cast<T>(row[j] + av * b_row[j]);
      }
    }
  });
}

Status Eval(KernelContext& ctx) {
  const MatMulState& s = *ctx.state<MatMulState>();
  const DataType dtype = ctx.input(0).dtype;
  if (dtype != DataType::kFloat32) {
    DispatchNumeric(dtype, [&](auto t) { EvalGeneric<decltype(t)>(ctx, s); });
    return Status::Ok();
  }
  const float* a = ctx.input(0).Data<const float>();
  const float* b = ctx.input(1).Data<const float>();
  float* y = ctx.output(0).Data<float>();
  GemmArgs args;
  args.limits = &ctx.limits();
  args.m = s.m;
  args.n = s.n;
  args.k = s.k;
  args.lda = s.k;
  args.ldb = s.n;
  args.ldc = s.n;
  ForEachMatrix(s, [&](int64_t i, int64_t a_offset, int64_t b_offset) {
    args.a = a + a_offset;
    args.b = b + b_offset;
    args.c = y + i * s.m * s.n;
    Gemm(args, ctx.scratch(), ctx.thread_pool());
  });
  if (s.bias || s.activation.enabled) {
    const float* bias = s.bias ? ctx.input(2).Data<const float>() : nullptr;
    const int64_t rows = s.batch.NumElements() * s.m;
    for (int64_t r = 0; r < rows; ++r) {
      float* row = y + r * s.n;
      for (int64_t j = 0; j < s.n; ++j) {
        row[j] = ApplyActivation(s.activation, bias ? row[j] + bias[j] : row[j]);
      }
    }
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kMatMulKernel = {OpType::MatMul, Prepare, Eval};

}  // namespace lwai
