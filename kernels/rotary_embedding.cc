// RotaryEmbedding (ONNX 23): rotates the first rotary_embedding_dim features of every head
// by cos/sin caches (indexed by position_ids when given), halves or interleaved pairs, for
// 4-D [batch, heads, seq, head] or 3-D [batch, seq, hidden] (num_heads) inputs.
#include <memory>
#include <string>

#include "kernels/dispatch.h"
#include "kernels/kernel_api.h"

namespace lwai {
namespace {

struct RotaryState : OpState {
  bool three_d = false, interleaved = false;
  int64_t batch = 0, heads = 0, seq = 0, head = 0, half = 0, max_pos = 0;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(3, 4));
  const DataType dtype = ctx.input(0).dtype;
  if (dtype != DataType::kFloat32 && dtype != DataType::kFloat64) {
    return ctx.Unsupported(
        LWAI_MSG("input must be float32 or float64, got " + std::string(DataTypeName(dtype))));
  }
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(1, dtype));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(2, dtype));
  const Shape& x = ctx.input(0).shape;
  auto state = std::make_unique<RotaryState>();
  RotaryState& s = *state;
  s.interleaved = ctx.node().GetInt("interleaved", 0) != 0;
  if (x.rank == 4) {
    s.batch = x[0];
    s.heads = x[1];
    s.seq = x[2];
    s.head = x[3];
  } else if (x.rank == 3) {
    s.three_d = true;
    s.heads = ctx.node().GetInt("num_heads", 0);
    if (s.heads <= 0 || x[2] % s.heads != 0) {
      return ctx.InvalidModel(LWAI_MSG("3-D input " + x.ToString() +
                                       " needs num_heads dividing the hidden size, got " +
                                       std::to_string(s.heads)));
    }
    s.batch = x[0];
    s.seq = x[1];
    s.head = x[2] / s.heads;
  } else {
    return ctx.ShapeMismatch(LWAI_MSG("input must be 3-D or 4-D, got " + x.ToString()));
  }
  int64_t rotary_dim = ctx.node().GetInt("rotary_embedding_dim", 0);
  if (rotary_dim == 0) rotary_dim = s.head;
  if (rotary_dim < 0 || rotary_dim > s.head || rotary_dim % 2 != 0) {
    return ctx.InvalidModel(
        LWAI_MSG("rotary_embedding_dim must be even and <= " + std::to_string(s.head) + ", got " +
                 std::to_string(rotary_dim)));
  }
  s.half = rotary_dim / 2;
  const Shape& cos = ctx.input(1).shape;
  if (ctx.input(2).shape != cos) {
    return ctx.ShapeMismatch(LWAI_MSG("cos_cache " + cos.ToString() + " and sin_cache " +
                                      ctx.input(2).shape.ToString() + " differ"));
  }
  if (ctx.has_input(3)) {
    const TensorView& pos = ctx.input(3);
    if (pos.dtype != DataType::kInt64 || pos.shape != Shape({s.batch, s.seq})) {
      return ctx.InvalidModel(LWAI_MSG("position_ids must be int64 [" + std::to_string(s.batch) +
                                       ", " + std::to_string(s.seq) + "], got " +
                                       DataTypeName(pos.dtype) + " " + pos.shape.ToString()));
    }
    if (cos.rank != 2 || cos[1] != s.half) {
      return ctx.ShapeMismatch(LWAI_MSG("cos_cache must be [max_position, " +
                                        std::to_string(s.half) + "], got " + cos.ToString()));
    }
    s.max_pos = cos[0];
  } else if (cos != Shape({s.batch, s.seq, s.half})) {
    return ctx.ShapeMismatch(LWAI_MSG("cos_cache must be " +
                                      Shape({s.batch, s.seq, s.half}).ToString() +
                                      " without position_ids, got " + cos.ToString()));
  }
  ctx.output(0).dtype = dtype;
  ctx.output(0).shape = x;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

template <typename T>
Status Run(KernelContext& ctx, const RotaryState& s) {
  const T* x = ctx.input(0).Data<const T>();
  const T* cos = ctx.input(1).Data<const T>();
  const T* sin = ctx.input(2).Data<const T>();
  const int64_t* pos = ctx.has_input(3) ? ctx.input(3).Data<const int64_t>() : nullptr;
  T* y = ctx.output(0).Data<T>();
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t t = 0; t < s.seq; ++t) {
      int64_t row = b * s.seq + t;
      if (pos) {
        row = pos[row];
        if (row < 0 || row >= s.max_pos) {
          return ctx.InvalidModel(LWAI_MSG("position id " + std::to_string(row) +
                                           " is outside [0, " + std::to_string(s.max_pos) + ")"));
        }
      }
      const T* c = cos + row * s.half;
      const T* sn = sin + row * s.half;
      for (int64_t h = 0; h < s.heads; ++h) {
        const int64_t offset = s.three_d ? ((b * s.seq + t) * s.heads + h) * s.head
                                         : ((b * s.heads + h) * s.seq + t) * s.head;
        const T* in = x + offset;
        T* out = y + offset;
        for (int64_t i = 0; i < s.half; ++i) {
          const int64_t i1 = s.interleaved ? 2 * i : i;
          const int64_t i2 = s.interleaved ? 2 * i + 1 : i + s.half;
          const T x1 = in[i1], x2 = in[i2];
          out[i1] = c[i] * x1 - sn[i] * x2;
          out[i2] = sn[i] * x1 + c[i] * x2;
        }
        for (int64_t d = 2 * s.half; d < s.head; ++d) out[d] = in[d];
      }
    }
  }
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const RotaryState& s = *ctx.state<RotaryState>();
  Status status = Status::Ok();
  DispatchFloat(ctx.input(0).dtype, [&](auto t) { status = Run<decltype(t)>(ctx, s); });
  return status;
}

}  // namespace

extern const KernelRegistration kRotaryEmbeddingKernel = {OpType::RotaryEmbedding, Prepare, Eval};

}  // namespace lwai
