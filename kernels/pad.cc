// Pad (ONNX 19): constant, reflect, edge and wrap modes; pads (input 1) and axes (input 3) must
// be known at prepare; negative pads crop. Any dtype, moved as elements of its byte size.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

struct PadState : OpState {
  PadMode mode = PadMode::kConstant;
  int rank = 0;
  int64_t in_dims[kMaxRank] = {};
  int64_t out_dims[kMaxRank] = {};
  int64_t begin[kMaxRank] = {};
  int64_t in_strides[kMaxRank] = {};
};

// The input index that output index `i` (already shifted by the begin pad) reads, or -1 for
// the constant value.
int64_t SourceIndex(PadMode mode, int64_t i, int64_t n) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::kConstant:
      return -1;
    case PadMode::kEdge:
      return i < 0 ? 0 : n - 1;
    case PadMode::kWrap:
      return (i % n + n) % n;
    case PadMode::kReflect: {
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);
      i = (i % period + period) % period;
      return i < n ? i : period - i;
    }
  }
  return -1;
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 4));
  const TensorView& x = ctx.input(0);
  const int rank = x.shape.rank;
  if (DataTypeSize(x.dtype) == 0) {
    return ctx.Unsupported(LWAI_MSG(std::string("dtype ") + DataTypeName(x.dtype)));
  }
  auto state = std::make_unique<PadState>();
  PadState& s = *state;
  const std::string mode = ctx.node().GetString("mode", "constant");
  if (mode == "constant") {
    s.mode = PadMode::kConstant;
  } else if (mode == "reflect") {
    s.mode = PadMode::kReflect;
  } else if (mode == "edge") {
    s.mode = PadMode::kEdge;
  } else if (mode == "wrap") {
    s.mode = PadMode::kWrap;
  } else {
    return ctx.InvalidModel(LWAI_MSG("unknown mode '" + mode + "'"));
  }
  std::vector<int64_t> pads, axes;
  LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 1, &pads));
  if (ctx.has_input(3)) {
    LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 3, &axes));
  } else {
    for (int d = 0; d < rank; ++d) axes.push_back(d);
  }
  if (pads.size() != 2 * axes.size()) {
    return ctx.InvalidModel(LWAI_MSG("pads " + IntsToString(pads) +
                                     " must have 2 values per axis of " + IntsToString(axes)));
  }
  uint32_t mask = 0;
  LWAI_RETURN_IF_ERROR(AxesToMask(ctx, axes, rank, &mask));
  if (ctx.has_input(2)) {
    const TensorView& value = ctx.input(2);
    if (value.dtype != x.dtype || value.NumElements() > 1) {
      return ctx.InvalidModel(LWAI_MSG(std::string("constant_value must be a ") +
                                       DataTypeName(x.dtype) + " scalar, got " +
                                       DataTypeName(value.dtype) + " " + value.shape.ToString()));
    }
  }
  int64_t end[kMaxRank] = {};
  for (size_t i = 0; i < axes.size(); ++i) {
    const int d = static_cast<int>(axes[i] < 0 ? axes[i] + rank : axes[i]);
    s.begin[d] = pads[i];
    end[d] = pads[i + axes.size()];
  }
  Shape out;
  out.rank = s.rank = rank;
  ComputeStrides(x.shape, s.in_strides);
  for (int d = 0; d < rank; ++d) {
    s.in_dims[d] = x.shape[d];
    out[d] = s.out_dims[d] = x.shape[d] + s.begin[d] + end[d];
    if (out[d] < 0) {
      return ctx.ShapeMismatch(LWAI_MSG("pads " + IntsToString(pads) + " crop more than input " +
                                        x.shape.ToString() + " holds"));
    }
    if (s.mode != PadMode::kConstant && x.shape[d] == 0 && out[d] > 0) {
      return ctx.InvalidModel(LWAI_MSG("mode '" + mode + "' cannot pad the empty axis " +
                                       std::to_string(d) + " of input " + x.shape.ToString()));
    }
  }
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = out;
  return Status::Ok();
}

// Writes output rows [row_begin, row_end) (a row: all elements along the last dimension).
template <typename T>
void PadRows(const PadState& s, const T* in, T value, T* out, int64_t row_begin, int64_t row_end) {
  const int last = s.rank - 1;
  const int64_t width = s.out_dims[last];
  const int64_t n = s.in_dims[last];
  const int64_t shift = s.begin[last];
  // Output columns [copy_begin, copy_end) read input columns [copy_begin - shift, ...).
  const int64_t copy_begin = shift > 0 ? shift : 0;
  const int64_t copy_end = n + shift < width ? n + shift : width;
  int64_t index[kMaxRank] = {};
  int64_t r = row_begin;
  for (int d = last - 1; d >= 0; --d) {
    index[d] = r % s.out_dims[d];
    r /= s.out_dims[d];
  }
  for (int64_t row = row_begin; row < row_end; ++row) {
    T* dst = out + row * width;
    int64_t offset = 0;
    bool constant_row = false;
    for (int d = 0; d < last; ++d) {
      const int64_t i = SourceIndex(s.mode, index[d] - s.begin[d], s.in_dims[d]);
      constant_row |= i < 0;
      offset += i * s.in_strides[d];
    }
    if (constant_row) {
      for (int64_t j = 0; j < width; ++j) dst[j] = value;
    } else {
      const T* src = in + offset;
      for (int64_t j = 0; j < copy_begin && j < width; ++j) {
        const int64_t i = SourceIndex(s.mode, j - shift, n);
        dst[j] = i < 0 ? value : src[i];
      }
      for (int64_t j = copy_begin; j < copy_end; ++j) dst[j] = src[j - shift];
      for (int64_t j = copy_end > copy_begin ? copy_end : copy_begin; j < width; ++j) {
        const int64_t i = SourceIndex(s.mode, j - shift, n);
        dst[j] = i < 0 ? value : src[i];
      }
    }
    for (int d = last - 1; d >= 0; --d) {
      if (++index[d] < s.out_dims[d]) break;
      index[d] = 0;
    }
  }
}

Status Eval(KernelContext& ctx) {
  const PadState& s = *ctx.state<PadState>();
  const TensorView& x = ctx.input(0);
  TensorView& y = ctx.output(0);
  if (s.rank == 0) {
    CopyInputToOutput(ctx);
    return Status::Ok();
  }
  const int64_t width = s.out_dims[s.rank - 1];
  if (width == 0 || y.NumElements() == 0) return Status::Ok();
  const int64_t rows = y.NumElements() / width;
  const bool has_value = ctx.has_input(2) && ctx.input(2).NumElements() == 1;
  DispatchByElementSize(DataTypeSize(x.dtype), [&](auto tag) {
    using T = decltype(tag);
    T value = 0;
    if (has_value) std::memcpy(&value, ctx.input(2).data, sizeof(T));
    ctx.thread_pool()->ParallelFor(rows, 16384 / width + 1, [&](int64_t begin, int64_t end) {
      PadRows(s, x.Data<const T>(), value, y.Data<T>(), begin, end);
    });
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kPadKernel = {OpType::Pad, Prepare, Eval};

}  // namespace lwai
