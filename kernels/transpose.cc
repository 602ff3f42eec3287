// Transpose (ONNX 13): any dtype, moved as elements of its byte size.
#include <memory>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

struct TransposeState : OpState {
  int rank = 0;
  int64_t out_dims[kMaxRank] = {};
  int64_t in_strides[kMaxRank] = {};  // input stride of each output dimension
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const TensorView& x = ctx.input(0);
  const int rank = x.shape.rank;
  if (DataTypeSize(x.dtype) == 0) {
    return ctx.Unsupported(std::string("dtype ") + DataTypeName(x.dtype));
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
    return ctx.InvalidModel("perm " + IntsToString(perm) + " is not a permutation of the axes of " +
                            x.shape.ToString());
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
    for (int64_t i = 0; i < width; ++i) dst[i] = in[offset + i * step];
    for (int d = last - 1; d >= 0; --d) {
      offset += s.in_strides[d];
      if (++index[d] < s.out_dims[d]) break;
      offset -= s.in_strides[d] * s.out_dims[d];
      index[d] = 0;
    }
  }
}

Status Eval(KernelContext& ctx) {
  const TransposeState& s = *ctx.state<TransposeState>();
  const TensorView& x = ctx.input(0);
  TensorView& y = ctx.output(0);
  if (s.rank == 0) {
    CopyInputToOutput(ctx);
    return Status::Ok();
  }
  const int64_t width = s.out_dims[s.rank - 1];
  if (width == 0) return Status::Ok();
  const int64_t rows = y.NumElements() / width;
  DispatchByElementSize(DataTypeSize(x.dtype), [&](auto tag) {
    using T = decltype(tag);
    ctx.thread_pool()->ParallelFor(rows, 16384 / width + 1, [&](int64_t begin, int64_t end) {
      TransposeRows(s, x.Data<const T>(), y.Data<T>(), begin, end);
    });
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kTransposeKernel = {OpType::Transpose, Prepare, Eval};

}  // namespace lwai
