// Transpose (ONNX 13): any dtype, moved as elements of its byte size.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "kernels/transpose_2d.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

// The permutation with size-1 dimensions dropped and dimensions that stay adjacent merged:
// [B, S, H, D] -> [B, H, S, D] becomes a [B, H, S] walk over rows of D contiguous elements.
struct TransposeState : OpState {
  int rank = 0;
  int64_t out_dims[kMaxRank] = {};
  int64_t in_strides[kMaxRank] = {};  // input stride of each output dimension
};

void Coalesce(TransposeState* s) {
  int rank = 0;
  for (int d = 0; d < s->rank; ++d) {
    if (s->out_dims[d] == 1) continue;
    if (rank > 0 && s->in_strides[rank - 1] == s->in_strides[d] * s->out_dims[d]) {
      s->out_dims[rank - 1] *= s->out_dims[d];
      s->in_strides[rank - 1] = s->in_strides[d];
      continue;
    }
    s->out_dims[rank] = s->out_dims[d];
    s->in_strides[rank] = s->in_strides[d];
    ++rank;
  }
  if (rank == 0) {  // one element, or all dims of size 1
    s->out_dims[0] = 1;
    s->in_strides[0] = 1;
    rank = 1;
  }
  s->rank = rank;
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const TensorView& x = ctx.input(0);
  const int rank = x.shape.rank;
  if (DataTypeSize(x.dtype) == 0) {
    return ctx.Unsupported(LWAI_MSG(std::string("dtype ") + DataTypeName(x.dtype)));
  }
  std::vector<int64_t> perm = ctx.node().GetInts("perm");
  if (perm.empty()) {
    for (int d = rank - 1; d >= 0; --d) perm.push_back(d);
  }
  uint32_t seen = 0;
  bool valid = static_cast<int>(perm.size()) == rank;
  for (size_t i = 0; valid && i < perm.size(); ++i) {
    valid = perm[i] >= 0 && perm[i] < rank && !(seen & (1u << perm[i]));
    if (valid) seen |= 1u << perm[i];
  }
  if (!valid) {
    return ctx.InvalidModel(LWAI_MSG("perm " + IntsToString(perm) +
                                     " is not a permutation of the axes of " + x.shape.ToString()));
  }
  auto state = std::make_unique<TransposeState>();
  int64_t strides[kMaxRank];
  ComputeStrides(x.shape, strides);
  Shape out;
  out.rank = rank;
  state->rank = rank;
  for (int d = 0; d < rank; ++d) {
    out[d] = x.shape[static_cast<int>(perm[d])];
    state->out_dims[d] = out[d];
    state->in_strides[d] = strides[perm[d]];
  }
  Coalesce(state.get());
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = out;
  return Status::Ok();
}

// Writes output rows [begin, end) (a row: all elements along the last output dimension).
template <typename T>
void TransposeRows(const TransposeState& s, const T* in, T* out, int64_t begin, int64_t end) {
  const int last = s.rank - 1;
  const int64_t width = s.out_dims[last];
  const int64_t step = s.in_strides[last];
  int64_t index[kMaxRank] = {};
  int64_t offset = 0;
  int64_t r = begin;
  for (int d = last - 1; d >= 0; --d) {
    index[d] = r % s.out_dims[d];
    r /= s.out_dims[d];
    offset += index[d] * s.in_strides[d];
  }
  for (int64_t row = begin; row < end; ++row) {
    T* dst = out + row * width;
    if (step == 1) {
      std::memcpy(dst, in + offset, static_cast<size_t>(width) * sizeof(T));
    } else {
      for (int64_t i = 0; i < width; ++i) dst[i] = in[offset + i * step];
    }
    for (int d = last - 1; d >= 0; --d) {
      offset += s.in_strides[d];
      if (++index[d] < s.out_dims[d]) break;
      offset -= s.in_strides[d] * s.out_dims[d];
      index[d] = 0;
    }
  }
}

// Input offset of output plane `plane` (a plane: the last two coalesced output dimensions).
int64_t PlaneOffset(const TransposeState& s, int64_t plane) {
  int64_t offset = 0;
  for (int d = s.rank - 3; d >= 0; --d) {
    offset += (plane % s.out_dims[d]) * s.in_strides[d];
    plane /= s.out_dims[d];
  }
  return offset;
}

// The last two (coalesced) output dimensions form planes of `rows` x `width` elements read with
// strides (row_step, col_step), col_step > 1: copied in square tiles so that the strided reads
// of one tile reuse the cache lines they load. Writes planes [begin, end).
template <typename T>
void TransposePlanes(const TransposeState& s, const T* in, T* out, int64_t begin, int64_t end) {
  constexpr int64_t kTile = 16;
  const int last = s.rank - 1;
  const int64_t rows = s.out_dims[last - 1], width = s.out_dims[last];
  const int64_t row_step = s.in_strides[last - 1], col_step = s.in_strides[last];
  for (int64_t plane = begin; plane < end; ++plane) {
    const T* src = in + PlaneOffset(s, plane);
    T* dst = out + plane * rows * width;
    for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
      const int64_t r1 = std::min(rows, r0 + kTile);
      for (int64_t c0 = 0; c0 < width; c0 += kTile) {
        const int64_t c1 = std::min(width, c0 + kTile);
        for (int64_t r = r0; r < r1; ++r) {
          const T* src_row = src + r * row_step;
          T* dst_row = dst + r * width;
          for (int64_t c = c0; c < c1; ++c) dst_row[c] = src_row[c * col_step];
        }
      }
    }
  }
}

Status Eval(KernelContext& ctx) {
  const TransposeState& s = *ctx.state<TransposeState>();
  const TensorView& x = ctx.input(0);
  TensorView& y = ctx.output(0);
  const int64_t total = y.NumElements();
  if (total == 0) return Status::Ok();
  const int last = s.rank - 1;
  if (s.rank == 1 && s.in_strides[0] == 1) {  // the same order: a copy
    CopyInputToOutput(ctx);
    return Status::Ok();
  }
  const int64_t width = s.out_dims[last];
  DispatchByElementSize(DataTypeSize(x.dtype), [&](auto tag) {
    using T = decltype(tag);
    if (sizeof(T) == 4 && s.rank >= 2 && s.in_strides[last] != 1 && s.in_strides[last - 1] == 1) {
      // Planes that are plain matrix transposes of 4-byte elements: the register-tiled kernel.
      const int64_t rows = s.out_dims[last - 1];
      const int64_t plane = rows * width;
      const int64_t planes = total / plane;
      const T* in = x.Data<const T>();
      T* out = y.Data<T>();
      if (planes == 1) {
        Transpose2DBatch(in, 1, width, rows, s.in_strides[last], 0, out, width, 0,
                         ctx.thread_pool());
        return;
      }
      ctx.thread_pool()->ParallelFor(planes, 16384 / plane + 1, [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) {
          Transpose2D(in + PlaneOffset(s, p), width, rows, s.in_strides[last], out + p * plane,
                      width);
        }
      });
      return;
    }
    if (s.rank >= 2 && s.in_strides[last] != 1 && s.out_dims[last - 1] >= 4 && width >= 4) {
      const int64_t plane = s.out_dims[last - 1] * width;
      ctx.thread_pool()->ParallelFor(
          total / plane, 16384 / plane + 1, [&](int64_t begin, int64_t end) {
            TransposePlanes(s, x.Data<const T>(), y.Data<T>(), begin, end);
          });
      return;
    }
    ctx.thread_pool()->ParallelFor(total / width, 16384 / width + 1,
                                   [&](int64_t begin, int64_t end) {
                                     TransposeRows(s, x.Data<const T>(), y.Data<T>(), begin, end);
                                   });
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kTransposeKernel = {OpType::Transpose, Prepare, Eval};

}  // namespace lwai
