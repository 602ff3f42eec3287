// Attention (4-D float32, additive or no mask, no cache) computed block by block: for a block
// of query rows, the scores against every key, their softmax and the product with V stay in a
// per-thread buffer sized for the L2 cache, so the [queries x keys] score matrix is never
// written to memory. With AVX-512, K and V are packed once per head into lwai's GEMM panels
// (PointwiseConv) and the softmax uses a vectorized exp; otherwise Eigen's products and exp.
// Causal masks, softcap, KV caches, bool masks and the extra outputs run the reference kernel.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>

#include "backends/eigen/eigen_config.h"
#include "backends/eigen/eigen_kernels.h"
#include "backends/eigen/eigen_math.h"
#include "kernels/common.h"
#include "kernels/pointwise_conv.h"
#include "runtime/thread_pool.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 warns about _mm512_undefined_ps() inside _mm512_min_ps/_mm512_max_ps.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#define LWAI_ATTENTION_AVX512 1
#endif

namespace lwai {
namespace eigen {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Packed = PointwiseConv::Packed;

struct AttentionState : OpState {
  std::unique_ptr<OpState> reference;  // set when the reference kernel runs
  int64_t batch = 0, q_heads = 0, kv_heads = 0, q_seq = 0, kv_seq = 0, head = 0, v_head = 0;
  float scale = 1.0f;
  bool has_mask = false;
  int64_t mask_strides[4] = {};  // over [batch, q_heads, q_seq, key]
  bool packed = false;           // lwai's GEMM on packed K and V (else Eigen)
  int64_t block_rows = 0;        // query rows per block
  int slots = 1;                 // threads, each with its own block buffer
  // Scratch layout (bytes, 64-byte multiples): Packed records, packed K and V per (batch, kv
  // head), then per slot the scores block and the GEMM's scratch.
  size_t records_bytes = 0, k_bytes = 0, v_bytes = 0, slot_bytes = 0, scores_bytes = 0;
};

size_t Align64(size_t bytes) { return (bytes + 63) / 64 * 64; }

#ifdef LWAI_ATTENTION_AVX512
#define LWAI_AVX512 __attribute__((target("avx512f,fma")))
// exp(x) within about 1 ulp (Cody-Waite reduction, degree-6 polynomial, 2^n by scalef). NaN
// propagates (the clamps take x as their second operand); x <= -110 gives exactly 0.
LWAI_AVX512 inline __m512 Exp16(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-110.0f), _mm512_min_ps(_mm512_set1_ps(88.72283935546875f), x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

// row = softmax(row * scale + mask) in place (mask may be null).
LWAI_AVX512 void SoftmaxRowAvx512(float* row, const float* mask, int64_t n, float scale) {
  const __m512 vscale = _mm512_set1_ps(scale);
  __m512 vmax = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t c = 0; c < n; c += 16) {
    const __mmask16 k = n - c >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (n - c)) - 1);
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, row + c), vscale);
    if (mask != nullptr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, mask + c));
    _mm512_mask_storeu_ps(row + c, k, v);
    vmax = _mm512_mask_max_ps(vmax, k, vmax, v);
  }
  const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
  __m512 sum = _mm512_setzero_ps();
  for (int64_t c = 0; c < n; c += 16) {
    const __mmask16 k = n - c >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (n - c)) - 1);
    const __m512 e = Exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, row + c), max));
    _mm512_mask_storeu_ps(row + c, k, e);
    sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(k, e));
  }
  const __m512 inverse = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
  for (int64_t c = 0; c < n; c += 16) {
    const __mmask16 k = n - c >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (n - c)) - 1);
    _mm512_mask_storeu_ps(row + c, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, row + c), inverse));
  }
}
#endif

void SoftmaxRowEigen(float* data, const float* mask, int64_t n, float scale) {
  Eigen::Map<Eigen::ArrayXf> row(data, n);
  row *= scale;
  if (mask != nullptr) row += Eigen::Map<const Eigen::ArrayXf>(mask, n);
  const float max = row.maxCoeff();
  row = Exp(row - max);
  row *= 1.0f / row.sum();
}

}  // namespace

Status PrepareAttention(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  auto state = std::make_unique<AttentionState>();
  AttentionState& s = *state;
  s.reference = std::move(ctx.state_owner_);
  const Node& node = ctx.node();
  const Shape& q = ctx.input(0).shape;
  const Shape& k = ctx.input(1).shape;
  const Shape& v = ctx.input(2).shape;
  bool fast = ctx.input(0).dtype == DataType::kFloat32 && q.rank == 4 && k.rank == 4 &&
              v.rank == 4 && !ctx.has_input(4) && !ctx.has_input(5) && !ctx.has_input(6) &&
              node.GetInt("is_causal", 0) == 0 && node.GetFloat("softcap", 0.0f) == 0.0f &&
              node.GetInt("qk_matmul_output_mode", 0) == 0;
  for (int o = 1; o < ctx.num_outputs() && fast; ++o) fast = !ctx.has_output(o);
  if (fast) {
    // The reference prepare checked the shapes against each other.
    s.batch = q[0], s.q_heads = q[1], s.q_seq = q[2], s.head = q[3];
    s.kv_heads = k[1], s.kv_seq = k[2], s.v_head = v[3];
    const float scale = node.GetFloat("scale", 0.0f);
    s.scale = scale != 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(s.head));
    fast = s.head <= (1 << 20) && s.kv_seq <= (1 << 20) && s.v_head <= (1 << 20) && s.head > 0 &&
           s.kv_seq > 0 && s.v_head > 0;
  }
  if (fast && ctx.has_input(3)) {
    // Additive float mask with one value per key (shorter masks have other semantics).
    const TensorView& mask = ctx.input(3);
    const Shape& m = mask.shape;
    fast = mask.dtype == DataType::kFloat32 && m.rank >= 1 && m[m.rank - 1] == s.kv_seq;
    if (fast) {
      s.has_mask = true;
      BroadcastStrides(m, Shape({s.batch, s.q_heads, s.q_seq, s.kv_seq}), s.mask_strides);
    }
  }
  if (!fast || ctx.output(0).NumElements() == 0) {
    ctx.SetState(std::move(state));
    return Status::Ok();
  }
  const int threads = ctx.thread_pool()->num_threads();
  // Query rows per block: the scores block (rows x keys) stays within 128 KiB.
  s.block_rows = std::clamp<int64_t>(32768 / s.kv_seq / 12 * 12, 12, 96);
  s.block_rows = std::min(s.block_rows, s.q_seq);
  s.scores_bytes = Align64(sizeof(float) * s.block_rows * s.kv_seq);
  s.packed = PointwiseConv::HasFastPath();
  const int64_t heads = s.batch * s.kv_heads;
  const int head = static_cast<int>(s.head), keys = static_cast<int>(s.kv_seq);
  const int v_head = static_cast<int>(s.v_head);
  size_t gemm_scratch = 0;
  if (s.packed) {
    s.records_bytes = Align64(sizeof(Packed) * 2 * heads);
    s.k_bytes = Align64(PointwiseConv::PackedBytes(head, keys));
    s.v_bytes = Align64(PointwiseConv::PackedBytes(keys, v_head));
    gemm_scratch =
        Align64(std::max(PointwiseConv::PackedScratchBytes(head, keys, s.block_rows, 1),
                         PointwiseConv::PackedScratchBytes(keys, v_head, s.block_rows, 1)));
    if (s.k_bytes == 0 || s.v_bytes == 0) s.packed = false;
  }
  const int64_t blocks = s.batch * s.q_heads * ((s.q_seq + s.block_rows - 1) / s.block_rows);
  s.slots = static_cast<int>(std::min<int64_t>(threads, blocks));
  s.slot_bytes = s.scores_bytes + gemm_scratch;
  int64_t bytes = 0, packed_bytes = 0, slot_total = 0;
  if (!CheckedMul(heads, static_cast<int64_t>(s.k_bytes + s.v_bytes), &packed_bytes) ||
      !CheckedMul(static_cast<int64_t>(s.slots), static_cast<int64_t>(s.slot_bytes), &slot_total) ||
      !CheckedAdd(packed_bytes + static_cast<int64_t>(s.records_bytes), slot_total, &bytes) ||
      bytes > (int64_t{1} << 40)) {
    return ctx.ShapeMismatch(LWAI_MSG("attention working memory too large"));
  }
  ctx.RequestScratch(static_cast<size_t>(bytes));
  s.reference.reset();
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalAttention(KernelContext& ctx) {
  const AttentionState& s = *ctx.state<AttentionState>();
  if (s.reference != nullptr) return EvalReference(ctx, s.reference.get());
  if (ctx.output(0).NumElements() == 0) return Status::Ok();
  const float* q = ctx.input(0).Data<const float>();
  const float* k = ctx.input(1).Data<const float>();
  const float* v = ctx.input(2).Data<const float>();
  const float* mask = s.has_mask ? ctx.input(3).Data<const float>() : nullptr;
  float* y = ctx.output(0).Data<float>();
  char* scratch = static_cast<char*>(ctx.scratch());
  ThreadPool* pool = ctx.thread_pool();
  const int64_t heads = s.batch * s.kv_heads;
  const int head = static_cast<int>(s.head), keys = static_cast<int>(s.kv_seq);
  const int v_head = static_cast<int>(s.v_head);
  Packed* records = reinterpret_cast<Packed*>(scratch);
  char* packed_base = scratch + s.records_bytes;
  if (s.packed) {
    pool->ParallelFor(heads, 1, [&](int64_t begin, int64_t end) {
      for (int64_t h = begin; h < end; ++h) {
        char* memory = packed_base + h * (s.k_bytes + s.v_bytes);
        // K [keys][head] is the [out][in] layout; V [keys][v_head] the [in][out] one.
        new (&records[2 * h]) Packed(
            PointwiseConv::PackInto(k + h * s.kv_seq * s.head, false, head, head, keys, memory));
        new (&records[2 * h + 1]) Packed(PointwiseConv::PackInto(
            v + h * s.kv_seq * s.v_head, true, v_head, keys, v_head, memory + s.k_bytes));
      }
    });
  }
  char* slot_base = packed_base + (s.packed ? heads * (s.k_bytes + s.v_bytes) : 0);
  const int64_t blocks_per_head = (s.q_seq + s.block_rows - 1) / s.block_rows;
  const int64_t items = s.batch * s.q_heads * blocks_per_head;
  const int64_t group = s.q_heads / s.kv_heads;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  // Long sequences stop at the run's deadline (the executor then reports it).
  std::atomic<bool> stopped{false};
  const int64_t item_work = s.block_rows * s.kv_seq * (s.head + s.v_head + 8);
  pool->ParallelFor(s.slots, 1, [&](int64_t slot_begin, int64_t slot_end) {
    WorkMeter meter(ctx.limits());
    for (int64_t slot = slot_begin; slot < slot_end; ++slot) {
      float* scores = reinterpret_cast<float*>(slot_base + slot * s.slot_bytes);
      void* gemm_scratch = slot_base + slot * s.slot_bytes + s.scores_bytes;
      for (int64_t item = slot * items / s.slots; item < (slot + 1) * items / s.slots; ++item) {
        if (stopped || meter.Add(item_work)) {
          stopped = true;
          return;
        }
        const int64_t block = item % blocks_per_head;
        const int64_t qh = item / blocks_per_head;  // batch * q_heads + q head
        const int64_t b = qh / s.q_heads, h = qh % s.q_heads;
        const int64_t kvh = b * s.kv_heads + h / group;
        const int64_t row0 = block * s.block_rows;
        const int64_t rows = std::min(s.block_rows, s.q_seq - row0);
        const float* q_rows = q + (qh * s.q_seq + row0) * s.head;
        float* y_rows = y + (qh * s.q_seq + row0) * s.v_head;
        if (s.packed) {
          PointwiseConv::RunPacked(records[2 * kvh], q_rows, rows, head, scores, keys, -kInf, kInf,
                                   gemm_scratch, nullptr);
        } else {
          Eigen::Map<const RowMatrix> qm(q_rows, rows, s.head);
          Eigen::Map<const RowMatrix> km(k + kvh * s.kv_seq * s.head, s.kv_seq, s.head);
          Eigen::Map<RowMatrix>(scores, rows, s.kv_seq).noalias() = qm * km.transpose();
        }
        for (int64_t r = 0; r < rows; ++r) {
          const float* mask_row = mask == nullptr
                                      ? nullptr
                                      : mask + b * s.mask_strides[0] + h * s.mask_strides[1] +
                                            (row0 + r) * s.mask_strides[2];
#ifdef LWAI_ATTENTION_AVX512
          if (s.packed) {
            SoftmaxRowAvx512(scores + r * s.kv_seq, mask_row, s.kv_seq, s.scale);
            continue;
          }
#endif
          SoftmaxRowEigen(scores + r * s.kv_seq, mask_row, s.kv_seq, s.scale);
        }
        if (s.packed) {
          PointwiseConv::RunPacked(records[2 * kvh + 1], scores, rows, keys, y_rows, v_head, -kInf,
                                   kInf, gemm_scratch, nullptr);
        } else {
          Eigen::Map<const RowMatrix> pm(scores, rows, s.kv_seq);
          Eigen::Map<const RowMatrix> vm(v + kvh * s.kv_seq * s.v_head, s.kv_seq, s.v_head);
          Eigen::Map<RowMatrix>(y_rows, rows, s.v_head).noalias() = pm * vm;
        }
      }
    }
  });
  return Status::Ok();
}

}  // namespace eigen
}  // namespace lwai
