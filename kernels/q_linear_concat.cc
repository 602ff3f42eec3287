// QLinearConcat (com.microsoft, as ONNX Runtime's quantizers write it): inputs Y_scale,
// Y_zero_point, then (X, X_scale, X_zero_point) triples, uint8 or int8, concatenated along
// `axis` after requantizing each X to Y's parameters:
//   y = clamp(round_half_even((x - x_zero_point) * (x_scale / y_scale)) + y_zero_point)
// in float. 8-bit inputs have 256 values, so each input's requantization is a lookup table
// (a plain copy where its parameters equal Y's).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "kernels/conv_common.h"
#include "kernels/int8_elementwise.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

struct QConcatState : OpState {
  int axis = 0;
  int64_t outer = 1;                 // product of the dims before axis
  std::vector<int64_t> inner_bytes;  // per input: its dims from axis on
};

Status Prepare(KernelContext& ctx) {
  const int n = ctx.num_inputs();
  if (n < 5 || (n - 2) % 3 != 0) {
    return ctx.InvalidModel(
        LWAI_MSG("expected Y_scale, Y_zero_point and (X, X_scale, X_zero_point) "
                 "triples, got " +
                 std::to_string(n) + " inputs"));
  }
  for (int i = 0; i < n; ++i) {
    if (!ctx.has_input(i))
      return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(i) + " is missing"));
  }
  const DataType type = ctx.input(1).dtype;
  if (type != DataType::kUInt8 && type != DataType::kInt8) {
    return ctx.Unsupported(
        LWAI_MSG(std::string("Y_zero_point must be uint8 or int8, got ") + DataTypeName(type)));
  }
  for (int i = 0; i < n; ++i) {
    const bool scale = i == 0 || (i >= 2 && (i - 2) % 3 == 1);
    const bool tensor = i >= 2 && (i - 2) % 3 == 0;
    const TensorView& t = ctx.input(i);
    if (tensor) {
      if (t.dtype != type) {
        return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(i) + " is " +
                                         DataTypeName(t.dtype) + ", expected " +
                                         DataTypeName(type)));
      }
    } else if (t.NumElements() != 1 || t.dtype != (scale ? DataType::kFloat32 : type)) {
      return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(i) + " must be a " +
                                       DataTypeName(scale ? DataType::kFloat32 : type) +
                                       " scalar, got " + DataTypeName(t.dtype) + " " +
                                       t.shape.ToString()));
    }
  }
  auto state = std::make_unique<QConcatState>();
  const Shape& first = ctx.input(2).shape;
  int64_t axis = ctx.node().GetInt("axis", 0);
  if (axis < -first.rank || axis >= first.rank) {
    return ctx.InvalidModel(LWAI_MSG("axis " + std::to_string(axis) + " out of range for rank " +
                                     std::to_string(first.rank)));
  }
  if (axis < 0) axis += first.rank;
  Shape out = first;
  out[axis] = 0;
  for (int i = 2; i < n; i += 3) {
    const Shape& s = ctx.input(i).shape;
    if (s.rank != first.rank) return ctx.ShapeMismatch(LWAI_MSG("inputs differ in rank"));
    for (int d = 0; d < s.rank; ++d) {
      if (d != axis && s[d] != first[d]) {
        return ctx.ShapeMismatch(LWAI_MSG("input " + std::to_string(i) + " " + s.ToString() +
                                          " does not match " + first.ToString() + " off the axis"));
      }
    }
    int64_t inner = 1;
    for (int d = static_cast<int>(axis); d < s.rank; ++d) inner *= s[d];
    state->inner_bytes.push_back(inner);
    if (!CheckedAdd(out[axis], s[axis], &out.dims[axis])) {
      return ctx.ShapeMismatch(LWAI_MSG("concatenated size overflows"));
    }
  }
  state->axis = static_cast<int>(axis);
  for (int d = 0; d < axis; ++d) state->outer *= first[d];
  ctx.output(0).dtype = type;
  ctx.output(0).shape = out;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const QConcatState& s = *ctx.state<QConcatState>();
  const bool is_signed = ctx.input(1).dtype == DataType::kInt8;
  const float y_scale = ctx.input(0).Data<const float>()[0];
  const int32_t y_zp = ZeroPointAt(ctx, 1, 0);
  int64_t out_inner = 0;
  for (int64_t b : s.inner_bytes) out_inner += b;
  uint8_t* out = static_cast<uint8_t*>(ctx.output(0).data);
  int64_t offset = 0;
  for (size_t k = 0; k < s.inner_bytes.size(); ++k) {
    const int i = 2 + 3 * static_cast<int>(k);
    const float x_scale = ctx.input(i + 1).Data<const float>()[0];
    const int32_t x_zp = ZeroPointAt(ctx, i + 2, 0);
    const bool same = x_scale == y_scale && x_zp == y_zp;
    uint8_t table[256];
    Int8RequantizeTable(is_signed, x_scale, x_zp, y_scale, y_zp, table);
    const uint8_t* in = static_cast<const uint8_t*>(ctx.input(i).data);
    const int64_t inner = s.inner_bytes[k];
    // Runs of `inner` bytes per outer index, split in pieces of at least 16 KiB across threads.
    const int64_t pieces_per_run = std::max<int64_t>(1, inner / 16384);
    const int64_t piece = (inner + pieces_per_run - 1) / pieces_per_run;
    ctx.thread_pool()->ParallelFor(s.outer * pieces_per_run, 1, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) {
        const int64_t o = item / pieces_per_run, first = item % pieces_per_run * piece;
        const int64_t count = std::min(piece, inner - first);
        const uint8_t* src = in + o * inner + first;
        uint8_t* dst = out + o * out_inner + offset + first;
        if (same) {
          std::memcpy(dst, src, static_cast<size_t>(count));
        } else {
          Int8LookupRow(table, src, count, dst);
        }
      }
    });
    offset += inner;
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kQLinearConcatKernel = {OpType::QLinearConcat, Prepare, Eval};

}  // namespace lwai
