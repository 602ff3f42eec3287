// Attention (ONNX 24): scaled dot-product attention with 3-D or 4-D Q/K/V, bool or additive
// masks, causal masking, softcap, grouped KV heads, past/present KV cache, nonpad_kv_seqlen
// and the qk_matmul_output modes.
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "kernels/common.h"
#include "kernels/dispatch.h"

namespace lwai {
namespace {

struct AttentionState : OpState {
  bool three_d = false;
  int64_t batch = 0, q_heads = 0, kv_heads = 0, q_seq = 0, kv_seq = 0, past = 0, total = 0;
  int64_t head = 0, v_head = 0;
  double scale = 1.0;
  double softcap = 0.0;
  bool causal = false;
  int mode = 0;
  bool has_mask = false, bool_mask = false;
  int64_t mask_len = 0;          // last dimension of the mask (<= total)
  int64_t mask_strides[4] = {};  // broadcast strides over [batch, q_heads, q_seq, key]
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(3, 7));
  const DataType dtype = ctx.input(0).dtype;
  if (dtype != DataType::kFloat32 && dtype != DataType::kFloat64) {
    return ctx.Unsupported(
        LWAI_MSG("Q must be float32 or float64, got " + std::string(DataTypeName(dtype))));
  }
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(1, dtype));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(2, dtype));
  const Shape& q = ctx.input(0).shape;
  const Shape& k = ctx.input(1).shape;
  const Shape& v = ctx.input(2).shape;
  if (q.rank != k.rank || q.rank != v.rank || (q.rank != 3 && q.rank != 4)) {
    return ctx.ShapeMismatch(LWAI_MSG("Q, K and V must all be 3-D or all 4-D, got " + q.ToString() +
                                      ", " + k.ToString() + ", " + v.ToString()));
  }
  const Node& node = ctx.node();
  auto state = std::make_unique<AttentionState>();
  AttentionState& s = *state;
  s.three_d = q.rank == 3;
  s.batch = q[0];
  if (k[0] != s.batch || v[0] != s.batch) {
    return ctx.ShapeMismatch(LWAI_MSG("batch sizes differ: " + q.ToString() + ", " + k.ToString() +
                                      ", " + v.ToString()));
  }
  if (s.three_d) {
    s.q_heads = node.GetInt("q_num_heads", 0);
    s.kv_heads = node.GetInt("kv_num_heads", 0);
    if (s.q_heads <= 0 || s.kv_heads <= 0) {
      return ctx.InvalidModel(
          LWAI_MSG("3-D inputs need positive q_num_heads and kv_num_heads, got " +
                   std::to_string(s.q_heads) + " and " + std::to_string(s.kv_heads)));
    }
    if (q[2] % s.q_heads != 0 || k[2] % s.kv_heads != 0 || v[2] % s.kv_heads != 0) {
      return ctx.ShapeMismatch(LWAI_MSG("hidden sizes " + q.ToString() + ", " + k.ToString() +
                                        ", " + v.ToString() +
                                        " are not divisible by the head counts"));
    }
    s.q_seq = q[1];
    s.kv_seq = k[1];
    s.head = q[2] / s.q_heads;
    if (k[2] / s.kv_heads != s.head) {
      return ctx.ShapeMismatch(LWAI_MSG("K head size " + std::to_string(k[2] / s.kv_heads) +
                                        " differs from Q head size " + std::to_string(s.head)));
    }
    s.v_head = v[2] / s.kv_heads;
    if (v[1] != s.kv_seq) return ctx.ShapeMismatch(LWAI_MSG("K and V sequence lengths differ"));
  } else {
    s.q_heads = q[1];
    s.kv_heads = k[1];
    s.q_seq = q[2];
    s.kv_seq = k[2];
    s.head = q[3];
    s.v_head = v[3];
    if (k[3] != s.head || v[1] != s.kv_heads || v[2] != s.kv_seq) {
      return ctx.ShapeMismatch(LWAI_MSG("K " + k.ToString() + " or V " + v.ToString() +
                                        " does not match Q " + q.ToString()));
    }
  }
  if (s.kv_heads <= 0 || s.q_heads % s.kv_heads != 0) {
    return ctx.ShapeMismatch(LWAI_MSG("q heads (" + std::to_string(s.q_heads) +
                                      ") must be a multiple of kv heads (" +
                                      std::to_string(s.kv_heads) + ")"));
  }
  if (ctx.has_input(4) != ctx.has_input(5)) {
    return ctx.InvalidModel(LWAI_MSG("past_key and past_value must be given together"));
  }
  if (ctx.has_input(4)) {
    LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(4, dtype));
    LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(5, dtype));
    const Shape& pk = ctx.input(4).shape;
    const Shape& pv = ctx.input(5).shape;
    if (pk.rank != 4 || pv.rank != 4 || pk[0] != s.batch || pk[1] != s.kv_heads ||
        pk[3] != s.head || pv[0] != s.batch || pv[1] != s.kv_heads || pv[2] != pk[2] ||
        pv[3] != s.v_head) {
      return ctx.ShapeMismatch(LWAI_MSG("past_key " + pk.ToString() + " / past_value " +
                                        pv.ToString() +
                                        " do not match [batch, kv_heads, past, head]"));
    }
    s.past = pk[2];
  }
  s.total = s.past + s.kv_seq;
  if (ctx.has_input(6)) {
    const TensorView& lens = ctx.input(6);
    if (lens.dtype != DataType::kInt64 || lens.NumElements() != s.batch) {
      return ctx.InvalidModel(LWAI_MSG("nonpad_kv_seqlen must be int64 [batch], got " +
                                       std::string(DataTypeName(lens.dtype)) + " " +
                                       lens.shape.ToString()));
    }
  }
  if (ctx.has_input(3)) {
    const TensorView& mask = ctx.input(3);
    s.has_mask = true;
    s.bool_mask = mask.dtype == DataType::kBool;
    if (!s.bool_mask && mask.dtype != dtype) {
      return ctx.InvalidModel(LWAI_MSG("attn_mask must be bool or " +
                                       std::string(DataTypeName(dtype)) + ", got " +
                                       DataTypeName(mask.dtype)));
    }
    const Shape& m = mask.shape;
    const Shape target({s.batch, s.q_heads, s.q_seq, m.rank > 0 ? m[m.rank - 1] : 1});
    bool ok = m.rank >= 1 && m.rank <= 4 && m[m.rank - 1] <= s.total;
    for (int i = 0; ok && i < m.rank - 1; ++i) {
      const int64_t want = target[4 - m.rank + i];
      ok = m[i] == 1 || m[i] == want;
    }
    if (!ok) {
      return ctx.ShapeMismatch(LWAI_MSG("attn_mask " + m.ToString() + " does not broadcast to [" +
                                        std::to_string(s.batch) + ", " + std::to_string(s.q_heads) +
                                        ", " + std::to_string(s.q_seq) +
                                        ", <= " + std::to_string(s.total) + "]"));
    }
    s.mask_len = m[m.rank - 1];
    BroadcastStrides(m, target, s.mask_strides);
  }
  const float scale = node.GetFloat("scale", 0.0f);
  s.scale = scale != 0.0f ? static_cast<double>(scale) : 1.0 / std::sqrt(double(s.head));
  s.softcap = node.GetFloat("softcap", 0.0f);
  s.causal = node.GetInt("is_causal", 0) != 0;
  s.mode = static_cast<int>(node.GetInt("qk_matmul_output_mode", 0));
  if (s.mode < 0 || s.mode > 3) {
    return ctx.InvalidModel(
        LWAI_MSG("qk_matmul_output_mode must be 0..3, got " + std::to_string(s.mode)));
  }

  TensorView& y = ctx.output(0);
  y.dtype = dtype;
  y.shape = s.three_d ? Shape({s.batch, s.q_seq, s.q_heads * s.v_head})
                      : Shape({s.batch, s.q_heads, s.q_seq, s.v_head});
  if (ctx.has_output(1)) {
    ctx.output(1).dtype = dtype;
    ctx.output(1).shape = Shape({s.batch, s.kv_heads, s.total, s.head});
  }
  if (ctx.has_output(2)) {
    ctx.output(2).dtype = dtype;
    ctx.output(2).shape = Shape({s.batch, s.kv_heads, s.total, s.v_head});
  }
  if (ctx.has_output(3)) {
    ctx.output(3).dtype = dtype;
    ctx.output(3).shape = Shape({s.batch, s.q_heads, s.q_seq, s.total});
  }
  ctx.RequestScratch(static_cast<size_t>(s.total) * sizeof(double));
  ctx.SetState(std::move(state));
  return Status::Ok();
}

template <typename T>
void Run(KernelContext& ctx, const AttentionState& s) {
  const T* q = ctx.input(0).Data<const T>();
  const T* k = ctx.input(1).Data<const T>();
  const T* v = ctx.input(2).Data<const T>();
  const T* past_k = s.past > 0 ? ctx.input(4).Data<const T>() : nullptr;
  const T* past_v = s.past > 0 ? ctx.input(5).Data<const T>() : nullptr;
  const int64_t* nonpad = ctx.has_input(6) ? ctx.input(6).Data<const int64_t>() : nullptr;
  const void* mask = s.has_mask ? ctx.input(3).data : nullptr;
  T* y = ctx.output(0).Data<T>();
  T* qk_out = ctx.has_output(3) ? ctx.output(3).Data<T>() : nullptr;
  double* scores = static_cast<double*>(ctx.scratch());
  const double inf = std::numeric_limits<double>::infinity();
  const int64_t group = s.q_heads / s.kv_heads;

  // Row pointers in either layout; position `pos` counts past entries first.
  auto key_row = [&](int64_t b, int64_t h, int64_t pos) -> const T* {
    if (pos < s.past) return past_k + ((b * s.kv_heads + h) * s.past + pos) * s.head;
    pos -= s.past;
    return s.three_d ? k + ((b * s.kv_seq + pos) * s.kv_heads + h) * s.head
                     : k + ((b * s.kv_heads + h) * s.kv_seq + pos) * s.head;
  };
  auto value_row = [&](int64_t b, int64_t h, int64_t pos) -> const T* {
    if (pos < s.past) return past_v + ((b * s.kv_heads + h) * s.past + pos) * s.v_head;
    pos -= s.past;
    return s.three_d ? v + ((b * s.kv_seq + pos) * s.kv_heads + h) * s.v_head
                     : v + ((b * s.kv_heads + h) * s.kv_seq + pos) * s.v_head;
  };

  // Long sequences stop at the run's deadline (the executor then reports it).
  WorkMeter meter(ctx.limits());
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      const int64_t kv_h = h / group;
      for (int64_t i = 0; i < s.q_seq; ++i) {
        if (meter.Add(s.total * (s.head + s.v_head + 4))) return;
        const T* q_row = s.three_d ? q + ((b * s.q_seq + i) * s.q_heads + h) * s.head
                                   : q + ((b * s.q_heads + h) * s.q_seq + i) * s.head;
        T* qk_row = qk_out ? qk_out + ((b * s.q_heads + h) * s.q_seq + i) * s.total : nullptr;
        const int64_t mask_base =
            b * s.mask_strides[0] + h * s.mask_strides[1] + i * s.mask_strides[2];
        double max_score = -inf;
        for (int64_t j = 0; j < s.total; ++j) {
          const T* k_row = key_row(b, kv_h, j);
          double dot = 0.0;
          for (int64_t d = 0; d < s.head; ++d) dot += double(q_row[d]) * double(k_row[d]);
          double score = dot * s.scale;
          if (qk_row && s.mode == 0) qk_row[j] = static_cast<T>(score);
          double bias = 0.0;
          if (s.has_mask) {
            if (j >= s.mask_len) {
              bias = -inf;
            } else if (s.bool_mask) {
              if (!static_cast<const bool*>(mask)[mask_base + j * s.mask_strides[3]]) bias = -inf;
            } else {
              bias = double(static_cast<const T*>(mask)[mask_base + j * s.mask_strides[3]]);
            }
          }
          if (s.causal && j - s.past > i) bias = -inf;
          if (nonpad && j >= nonpad[b]) bias = -inf;
          score += bias;
          if (qk_row && s.mode == 1) qk_row[j] = static_cast<T>(score);
          if (s.softcap > 0.0) score = s.softcap * std::tanh(score / s.softcap);
          if (qk_row && s.mode == 2) qk_row[j] = static_cast<T>(score);
          scores[j] = score;
          if (score > max_score) max_score = score;
        }
        double sum = 0.0;
        for (int64_t j = 0; j < s.total; ++j) {
          scores[j] = std::exp(scores[j] - max_score);
          sum += scores[j];
        }
        for (int64_t j = 0; j < s.total; ++j) {
          scores[j] /= sum;
          if (qk_row && s.mode == 3) qk_row[j] = static_cast<T>(scores[j]);
        }
        T* y_row = s.three_d ? y + ((b * s.q_seq + i) * s.q_heads + h) * s.v_head
                             : y + ((b * s.q_heads + h) * s.q_seq + i) * s.v_head;
        for (int64_t d = 0; d < s.v_head; ++d) {
          double acc = 0.0;
          for (int64_t j = 0; j < s.total; ++j) acc += scores[j] * double(value_row(b, kv_h, j)[d]);
          y_row[d] = static_cast<T>(acc);
        }
      }
    }
  }
  // present_key / present_value: [batch, kv_heads, total, head].
  for (int which = 1; which <= 2; ++which) {
    if (!ctx.has_output(which)) continue;
    T* out = ctx.output(which).Data<T>();
    const int64_t width = which == 1 ? s.head : s.v_head;
    for (int64_t b = 0; b < s.batch; ++b) {
      for (int64_t h = 0; h < s.kv_heads; ++h) {
        for (int64_t j = 0; j < s.total; ++j) {
          const T* row = which == 1 ? key_row(b, h, j) : value_row(b, h, j);
          T* dst = out + ((b * s.kv_heads + h) * s.total + j) * width;
          for (int64_t d = 0; d < width; ++d) dst[d] = row[d];
        }
      }
    }
  }
}

Status Eval(KernelContext& ctx) {
  const AttentionState& s = *ctx.state<AttentionState>();
  DispatchFloat(ctx.input(0).dtype, [&](auto t) { Run<decltype(t)>(ctx, s); });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kAttentionKernel = {OpType::Attention, Prepare, Eval};

}  // namespace lwai
