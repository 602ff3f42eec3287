// Gemm and MatMul on Eigen's single-threaded GEMM/GEMV. Each output matrix is cut into tiles
// whose size depends only on (m, n, k); tiles are independent Eigen products spread over the
// session's threads, so the result is the same for any thread count.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>

#include "backends/eigen/eigen_config.h"
#include "backends/eigen/eigen_kernels.h"
#include "kernels/common.h"
#include "kernels/pointwise_conv.h"
#include "kernels/shared_packing.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace eigen {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ColMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using Stride = Eigen::OuterStride<>;

struct Tiling {
  int64_t tile_m = 1, tile_n = 1;
  int64_t tiles_m = 1, tiles_n = 1;
  int64_t count() const { return tiles_m * tiles_n; }
};

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// At most 256 x 256 per tile (bounds Eigen's packing buffers); products of at least 2^21
// multiply-adds get >= 4 tiles when the shape allows, so that two threads stay busy.
Tiling ChooseTiling(int64_t m, int64_t n, int64_t k) {
  constexpr int64_t kMaxTile = 256;
  Tiling t;
  if (m <= 0 || n <= 0) return t;
  int64_t tiles_m = CeilDiv(m, kMaxTile);
  int64_t tiles_n = CeilDiv(n, kMaxTile);
  if (m * n * std::max<int64_t>(k, 1) >= (int64_t{1} << 21)) {
    while (tiles_m * tiles_n < 4) {
      const int64_t rows = m / tiles_m, cols = n / tiles_n;
      if (rows >= 96 && rows >= cols) {
        tiles_m *= 2;
      } else if (cols >= 128) {
        tiles_n *= 2;
      } else {
        break;
      }
    }
  }
  t.tile_m = CeilDiv(m, tiles_m);
  t.tile_n = std::min(n, CeilDiv(CeilDiv(n, tiles_n), 16) * 16);
  t.tiles_m = CeilDiv(m, t.tile_m);
  t.tiles_n = CeilDiv(n, t.tile_n);
  return t;
}

// One output matrix: y = alpha * op(a) * op(b) (+ beta * c) then clamp, tile by tile.
struct Product {
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f, beta = 0.0f;
  int64_t c_row_stride = 0, c_col_stride = 0;
  FusedActivation activation;
  Tiling tiling;
};

template <bool kTransA, bool kTransB>
void RunTile(const Product& p, const float* a, const float* b, const float* c, float* y,
             int64_t tile) {
  using AMatrix = std::conditional_t<kTransA, ColMatrix, RowMatrix>;
  using BMatrix = std::conditional_t<kTransB, ColMatrix, RowMatrix>;
  // op(A) is m x k: stored row-major (lda = k) or, transposed, column-major (lda = m).
  const Eigen::Map<const AMatrix, Eigen::Unaligned, Stride> am(a, p.m, p.k,
                                                               Stride(kTransA ? p.m : p.k));
  const Eigen::Map<const BMatrix, Eigen::Unaligned, Stride> bm(b, p.k, p.n,
                                                               Stride(kTransB ? p.k : p.n));
  Eigen::Map<RowMatrix, Eigen::Unaligned, Stride> ym(y, p.m, p.n, Stride(p.n));
  const Tiling& t = p.tiling;
  const int64_t i0 = (tile / t.tiles_n) * t.tile_m;
  const int64_t j0 = (tile % t.tiles_n) * t.tile_n;
  const int64_t rows = std::min(t.tile_m, p.m - i0);
  const int64_t cols = std::min(t.tile_n, p.n - j0);
  auto yt = ym.block(i0, j0, rows, cols);
  if (c != nullptr) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* c_row = c + (i0 + r) * p.c_row_stride;
      if (p.c_col_stride == 0) {
        yt.row(r).setConstant(p.beta * c_row[0]);
      } else {
        yt.row(r) = p.beta * Eigen::Map<const Eigen::RowVectorXf>(c_row + j0, cols);
      }
    }
    if (p.k > 0) {
      yt.noalias() += p.alpha * (am.middleRows(i0, rows) * bm.middleCols(j0, cols));
    }
  } else if (p.k > 0) {
    yt.noalias() = am.middleRows(i0, rows) * bm.middleCols(j0, cols);
    if (p.alpha != 1.0f) yt *= p.alpha;
  } else {
    yt.setZero();
  }
  if (p.activation.enabled) {
    yt = yt.cwiseMax(p.activation.min).cwiseMin(p.activation.max);
  }
}

using TileFn = void (*)(const Product&, const float*, const float*, const float*, float*, int64_t);

TileFn SelectTileFn(bool trans_a, bool trans_b) {
  if (trans_a) return trans_b ? RunTile<true, true> : RunTile<true, false>;
  return trans_b ? RunTile<false, true> : RunTile<false, false>;
}

struct GemmState : OpState {
  Product product;
  bool use_c = false;
  // A linear layer (constant B, C absent or a constant row, alpha and beta 1, A not
  // transposed): B and C packed once into lwai's pointwise GEMM, as MatMul's weights are.
  std::shared_ptr<const PointwiseConv> packed_b;
};

struct MatMulState : OpState {
  Product product;
  // A constant 2-D B (weights): packed once, every row of A against it (lwai's pointwise GEMM).
  std::shared_ptr<const PointwiseConv> packed_b;
  // Otherwise, with the fast path: each B matrix is packed into scratch when running, then the
  // same GEMM runs; scratch holds pack_bytes of packed B, then the GEMM's own scratch.
  bool pack_when_running = false;
  size_t pack_bytes = 0;
  // lwai's fused bias (n values, input 2) and Relu/Clip; the packed B carries a constant bias.
  bool bias = false;
  bool bias_packed = false;
  FusedActivation activation;
  Shape batch;  // broadcast batch shape (rank 0 when A's batch folds into M)
  int64_t a_strides[kMaxRank] = {};
  int64_t b_strides[kMaxRank] = {};
};

// Offsets of batch element `matrix` in A and B (through broadcast strides).
void BatchOffsets(const MatMulState& s, int64_t matrix, int64_t* a_offset, int64_t* b_offset) {
  int64_t rest = matrix;
  for (int d = s.batch.rank - 1; d >= 0; --d) {
    const int64_t index = rest % s.batch[d];
    rest /= s.batch[d];
    *a_offset += index * s.a_strides[d];
    *b_offset += index * s.b_strides[d];
  }
}

// y = clamp(y + bias) over every output row, for the paths whose GEMM did not apply them.
void AddBiasAndClamp(KernelContext& ctx, const MatMulState& s) {
  if (!s.bias && !s.activation.enabled) return;
  const Product& p = s.product;
  const float* bias = s.bias ? ctx.input(2).Data<const float>() : nullptr;
  float* y = ctx.output(0).Data<float>();
  const int64_t rows = s.batch.NumElements() * p.m;
  const float lo = s.activation.min, hi = s.activation.max;
  const bool clamp = s.activation.enabled;
  const int64_t min_rows = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, p.n));
  ctx.thread_pool()->ParallelFor(rows, min_rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* row = y + r * p.n;
      for (int64_t j = 0; j < p.n; ++j) {
        const float v = bias != nullptr ? row[j] + bias[j] : row[j];
        row[j] = clamp ? (v < lo ? lo : (v > hi ? hi : v)) : v;
      }
    }
  });
}

// Fewest rows of A for which packing B when running pays.
constexpr int64_t kMinRowsToPack = 16;

}  // namespace

Status PrepareGemm(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  ctx.RequestScratch(0);
  if (ctx.shape_only()) return Status::Ok();
  auto state = std::make_unique<GemmState>();
  Product& p = state->product;
  const Shape& a = ctx.input(0).shape;
  const Shape& b = ctx.input(1).shape;
  p.trans_a = ctx.node().GetInt("transA", 0) != 0;
  p.trans_b = ctx.node().GetInt("transB", 0) != 0;
  p.alpha = ctx.node().GetFloat("alpha", 1.0f);
  p.beta = ctx.node().GetFloat("beta", 1.0f);
  p.m = p.trans_a ? a[1] : a[0];
  p.k = p.trans_a ? a[0] : a[1];
  p.n = p.trans_b ? b[0] : b[1];
  if (ctx.has_input(2) && p.beta != 0.0f) {
    // The reference prepare checked that C broadcasts to [m, n].
    const Shape& c = ctx.input(2).shape;
    const int64_t rows = c.rank == 2 ? c[0] : 1;
    const int64_t cols = c.rank >= 1 ? c[c.rank - 1] : 1;
    state->use_c = true;
    p.c_row_stride = rows == 1 ? 0 : cols;
    p.c_col_stride = cols == 1 ? 0 : 1;
  }
  LWAI_RETURN_IF_ERROR(ParseFusedActivation(ctx, &p.activation));
  p.tiling = ChooseTiling(p.m, p.n, p.k);
  const TensorView& b_view = ctx.input(1);
  const bool row_c = !ctx.has_input(2) || p.beta == 0.0f ||
                     (p.beta == 1.0f && ctx.input(2).data != nullptr &&
                      ctx.input(2).NumElements() == p.n && p.c_col_stride == 1);
  if (!p.trans_a && p.alpha == 1.0f && row_c && b_view.data != nullptr && p.m > 0 &&
      p.k <= (1 << 20) && p.n <= (1 << 20)) {
    const float* weights = b_view.Data<const float>();
    const float* bias = state->use_c ? ctx.input(2).Data<const float>() : nullptr;
    PackingKey key("pointwise");
    key.Constant(weights, ctx.IsModelConstant(1))
        .Constant(bias, ctx.IsModelConstant(2))
        .Param(p.trans_b ? 0 : 1)
        .Param(p.k)
        .Param(p.n);
    Result<std::shared_ptr<const PointwiseConv>> packed = SharedPacking<PointwiseConv>(key, [&] {
      return PointwiseConv::Create(weights, /*weights_transposed=*/!p.trans_b, bias,
                                   static_cast<int>(p.k), static_cast<int>(p.n));
    });
    if (packed.ok()) {
      state->packed_b = std::move(packed).value();
      ctx.RequestScratch(state->packed_b->ScratchBytes(p.m, ctx.thread_pool()->num_threads()));
      ctx.ReleaseConstantInput(1);
    }
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalGemm(KernelContext& ctx) {
  const GemmState& s = *ctx.state<GemmState>();
  const Product& p = s.product;
  if (s.packed_b != nullptr) {
    s.packed_b->Run(ctx.input(0).Data<const float>(), p.m, static_cast<int>(p.k),
                    ctx.output(0).Data<float>(), static_cast<int>(p.n), p.activation.min,
                    p.activation.max, ctx.scratch(), ctx.thread_pool());
    return Status::Ok();
  }
  const float* a = ctx.input(0).Data<const float>();
  const float* b = ctx.input(1).Data<const float>();
  const float* c = s.use_c ? ctx.input(2).Data<const float>() : nullptr;
  float* y = ctx.output(0).Data<float>();
  const TileFn fn = SelectTileFn(p.trans_a, p.trans_b);
  ctx.thread_pool()->ParallelFor(p.tiling.count(), 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) fn(p, a, b, c, y, t);
  });
  return Status::Ok();
}

Status PrepareMatMul(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  ctx.RequestScratch(0);
  if (ctx.shape_only()) return Status::Ok();
  auto state = std::make_unique<MatMulState>();
  MatMulState& s = *state;
  Product& p = s.product;
  const Shape& a = ctx.input(0).shape;
  const Shape& b = ctx.input(1).shape;
  p.m = a.rank == 1 ? 1 : a[a.rank - 2];
  p.k = a[a.rank - 1];
  p.n = b.rank == 1 ? 1 : b[b.rank - 1];
  // The reference prepare checked that the batch dimensions broadcast.
  Shape a_batch, b_batch;
  a_batch.rank = a.rank > 2 ? a.rank - 2 : 0;
  b_batch.rank = b.rank > 2 ? b.rank - 2 : 0;
  for (int i = 0; i < a_batch.rank; ++i) a_batch[i] = a[i];
  for (int i = 0; i < b_batch.rank; ++i) b_batch[i] = b[i];
  LWAI_RETURN_IF_ERROR(BroadcastShapes(a_batch, b_batch, &s.batch));
  BroadcastStrides(a_batch, s.batch, s.a_strides);
  BroadcastStrides(b_batch, s.batch, s.b_strides);
  for (int i = 0; i < s.batch.rank; ++i) {
    s.a_strides[i] *= p.m * p.k;
    s.b_strides[i] *= p.k * p.n;
  }
  // When B has no batch of its own, A's (contiguous) batch folds into M.
  if (b_batch.NumElements() == 1) {
    p.m *= s.batch.NumElements();
    s.batch = Shape();
  }
  p.tiling = ChooseTiling(p.m, p.n, p.k);
  s.bias = ctx.has_input(2);
  LWAI_RETURN_IF_ERROR(ParseFusedActivation(ctx, &s.activation));
  const TensorView& b_view = ctx.input(1);
  const float* bias = s.bias ? ctx.input(2).Data<const float>() : nullptr;
  if (b.rank == 2 && b_view.data != nullptr && p.k <= (1 << 20) && p.n <= (1 << 20) && p.m > 0 &&
      (!s.bias || bias != nullptr)) {
    const float* weights = b_view.Data<const float>();
    PackingKey key("pointwise");
    key.Constant(weights, ctx.IsModelConstant(1))
        .Constant(bias, ctx.IsModelConstant(2))
        .Param(1)
        .Param(p.k)
        .Param(p.n);
    Result<std::shared_ptr<const PointwiseConv>> packed = SharedPacking<PointwiseConv>(key, [&] {
      return PointwiseConv::Create(weights, /*weights_transposed=*/true, bias,
                                   static_cast<int>(p.k), static_cast<int>(p.n));
    });
    if (packed.ok()) {
      s.bias_packed = s.bias;
      s.packed_b = std::move(packed).value();
      ctx.RequestScratch(s.packed_b->ScratchBytes(p.m, ctx.thread_pool()->num_threads()));
      ctx.ReleaseConstantInput(1);
    }
  }
  // Packing a B matrix costs k * n copies against m * k * n multiply-adds.
  if (s.packed_b == nullptr && PointwiseConv::HasFastPath() && p.m >= kMinRowsToPack && p.k > 0 &&
      p.n > 0) {
    const size_t pack_bytes =
        PointwiseConv::PackedBytes(static_cast<int>(std::min<int64_t>(p.k, INT32_MAX)),
                                   static_cast<int>(std::min<int64_t>(p.n, INT32_MAX)));
    if (pack_bytes > 0 && p.m <= (1 << 30)) {
      s.pack_when_running = true;
      s.pack_bytes = (pack_bytes + 63) / 64 * 64;
      ctx.RequestScratch(s.pack_bytes + PointwiseConv::PackedScratchBytes(
                                            static_cast<int>(p.k), static_cast<int>(p.n), p.m,
                                            ctx.thread_pool()->num_threads()));
    }
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalMatMul(KernelContext& ctx) {
  const MatMulState& s = *ctx.state<MatMulState>();
  const Product& p = s.product;
  const float* a = ctx.input(0).Data<const float>();
  const float* b = ctx.input(1).Data<const float>();
  float* y = ctx.output(0).Data<float>();
  if (s.packed_b != nullptr) {
    // With a bias added afterwards, the clamp must wait for it too.
    constexpr float kInf = std::numeric_limits<float>::infinity();
    const bool clamp_now = !s.bias || s.bias_packed;
    s.packed_b->Run(a, p.m, static_cast<int>(p.k), y, static_cast<int>(p.n),
                    clamp_now ? s.activation.min : -kInf, clamp_now ? s.activation.max : kInf,
                    ctx.scratch(), ctx.thread_pool());
    if (!clamp_now) AddBiasAndClamp(ctx, s);
    return Status::Ok();
  }
  if (s.pack_when_running) {
    constexpr float kInf = std::numeric_limits<float>::infinity();
    char* scratch = static_cast<char*>(ctx.scratch());
    const int64_t matrices = s.batch.NumElements();
    WorkMeter meter(ctx.limits());
    for (int64_t matrix = 0; matrix < matrices; ++matrix) {
      // Many matrices stop at the run's deadline (the executor then reports it).
      if (meter.Add(p.m * p.n * p.k)) return Status::Ok();
      int64_t a_offset = 0, b_offset = 0;
      BatchOffsets(s, matrix, &a_offset, &b_offset);
      const PointwiseConv::Packed packed =
          PointwiseConv::PackInto(b + b_offset, /*transposed=*/true, p.n, static_cast<int>(p.k),
                                  static_cast<int>(p.n), scratch);
      PointwiseConv::RunPacked(packed, a + a_offset, p.m, static_cast<int>(p.k),
                               y + matrix * p.m * p.n, static_cast<int>(p.n), -kInf, kInf,
                               scratch + s.pack_bytes, ctx.thread_pool());
    }
    AddBiasAndClamp(ctx, s);
    return Status::Ok();
  }
  const int64_t tiles = p.tiling.count();
  const int64_t items = s.batch.NumElements() * tiles;
  const TileFn fn = RunTile<false, false>;
  // Small matrices: enough of them per chunk to be worth a thread (~64K multiply-adds).
  const int64_t tile_work = std::max<int64_t>(1, p.tiling.tile_m * p.tiling.tile_n * p.k);
  const int64_t min_chunk = std::max<int64_t>(1, (int64_t{1} << 16) / tile_work);
  ctx.thread_pool()->ParallelFor(items, min_chunk, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      // Many matrices stop at the run's deadline (a tile is at least ~64K multiply-adds).
      if (ctx.limits().Expired()) return;
      const int64_t matrix = item / tiles;
      int64_t a_offset = 0, b_offset = 0;
      BatchOffsets(s, matrix, &a_offset, &b_offset);
      fn(p, a + a_offset, b + b_offset, nullptr, y + matrix * p.m * p.n, item % tiles);
    }
  });
  AddBiasAndClamp(ctx, s);
  return Status::Ok();
}

}  // namespace eigen
}  // namespace lwai
