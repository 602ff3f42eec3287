// QLinearMatMul (ONNX 21): quantized numpy matmul: y = round_half_even((a - a_zp)(b - b_zp) *
// a_scale * b_scale / y_scale + y_zp), int8 or uint8. Scales and zero points are scalars, or
// per row of a / per column of b.
#include <cmath>
#include <memory>
#include <string>

#include "kernels/common.h"
#include "kernels/linalg_common.h"

namespace lwai {
namespace {

struct QLinearMatMulState : OpState {
  BatchedMatMul mm;
  bool a_per_row = false, b_per_col = false;
};

// Checks a scale or zero point: a scalar, or `per` values (sets *per_index).
Status CheckParam(const KernelContext& ctx, int input, int64_t per, bool* per_index) {
  const Shape& shape = ctx.input(input).shape;
  const int64_t count = shape.NumElements();
  if (count == 1) return Status::Ok();
  if (per < 0 || shape.rank != 1 || count != per) {
    return ctx.ShapeMismatch(
        LWAI_MSG("input " + std::to_string(input) + " must be a scalar" +
                 (per >= 0 ? " or [" + std::to_string(per) + "]" : std::string()) + ", got " +
                 shape.ToString()));
  }
  *per_index = true;
  return Status::Ok();
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(8, 8));
  const DataType a_type = ctx.input(0).dtype, b_type = ctx.input(3).dtype;
  const DataType y_type = ctx.input(7).dtype;
  if (!IsByteType(a_type) || !IsByteType(b_type) || !IsByteType(y_type)) {
    return ctx.Unsupported(LWAI_MSG("a, b and y_zero_point must be int8 or uint8, got " +
                                    std::string(DataTypeName(a_type)) + ", " +
                                    DataTypeName(b_type) + ", " + DataTypeName(y_type)));
  }
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(2, a_type));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(5, b_type));
  for (int i : {1, 4, 6}) LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(i, DataType::kFloat32));
  auto state = std::make_unique<QLinearMatMulState>();
  QLinearMatMulState& s = *state;
  Shape out;
  LWAI_RETURN_IF_ERROR(PrepareBatchedMatMul(ctx, 0, 3, &s.mm, &out));
  bool a_scale = false, a_zp = false, b_scale = false, b_zp = false, unused = false;
  LWAI_RETURN_IF_ERROR(CheckParam(ctx, 1, s.mm.m, &a_scale));
  LWAI_RETURN_IF_ERROR(CheckParam(ctx, 2, s.mm.m, &a_zp));
  LWAI_RETURN_IF_ERROR(CheckParam(ctx, 4, s.mm.n, &b_scale));
  LWAI_RETURN_IF_ERROR(CheckParam(ctx, 5, s.mm.n, &b_zp));
  LWAI_RETURN_IF_ERROR(CheckParam(ctx, 6, -1, &unused));
  LWAI_RETURN_IF_ERROR(CheckParam(ctx, 7, -1, &unused));
  if (a_scale != a_zp || b_scale != b_zp) {
    return ctx.ShapeMismatch(LWAI_MSG("scales and zero points must have the same granularity"));
  }
  s.a_per_row = a_scale;
  s.b_per_col = b_scale;
  ctx.output(0).dtype = y_type;
  ctx.output(0).shape = out;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

template <typename A, typename B, typename Y>
void Run(KernelContext& ctx, const QLinearMatMulState& s) {
  const A* a = ctx.input(0).Data<const A>();
  const float* a_scale = ctx.input(1).Data<const float>();
  const A* a_zp = ctx.input(2).Data<const A>();
  const B* b = ctx.input(3).Data<const B>();
  const float* b_scale = ctx.input(4).Data<const float>();
  const B* b_zp = ctx.input(5).Data<const B>();
  const float y_scale = *ctx.input(6).Data<const float>();
  const double y_zp = *ctx.input(7).Data<const Y>();
  Y* y = ctx.output(0).Data<Y>();
  const BatchedMatMul& mm = s.mm;
  mm.ForEachMatrix([&](int64_t index, int64_t a_offset, int64_t b_offset) {
    Y* c = y + index * mm.m * mm.n;
    for (int64_t i = 0; i < mm.m; ++i) {
      const int64_t ai = s.a_per_row ? i : 0;
      const int32_t za = a_zp[ai];
      for (int64_t j = 0; j < mm.n; ++j) {
        const int64_t bj = s.b_per_col ? j : 0;
        const int32_t zb = b_zp[bj];
        int32_t sum = 0;
        for (int64_t p = 0; p < mm.k; ++p) {
          sum += (int32_t(a[a_offset + i * mm.k + p]) - za) *
                 (int32_t(b[b_offset + p * mm.n + j]) - zb);
        }
        const float factor = a_scale[ai] * b_scale[bj] / y_scale;
        // Out-of-range results wrap around (two's complement) rather than saturate: the ONNX
        // reference implementation and its test data do so.
        const int64_t q = SaturatingCast<int64_t>(std::nearbyint(double(sum) * factor + y_zp));
        c[i * mm.n + j] = static_cast<Y>(static_cast<uint8_t>(q & 0xff));
      }
    }
  });
}

template <typename A, typename B>
void DispatchY(KernelContext& ctx, const QLinearMatMulState& s) {
  if (ctx.output(0).dtype == DataType::kInt8) {
    Run<A, B, int8_t>(ctx, s);
  } else {
    Run<A, B, uint8_t>(ctx, s);
  }
}

Status Eval(KernelContext& ctx) {
  const QLinearMatMulState& s = *ctx.state<QLinearMatMulState>();
  const bool a_signed = ctx.input(0).dtype == DataType::kInt8;
  const bool b_signed = ctx.input(3).dtype == DataType::kInt8;
  if (a_signed) {
    b_signed ? DispatchY<int8_t, int8_t>(ctx, s) : DispatchY<int8_t, uint8_t>(ctx, s);
  } else {
    b_signed ? DispatchY<uint8_t, int8_t>(ctx, s) : DispatchY<uint8_t, uint8_t>(ctx, s);
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kQLinearMatMulKernel = {OpType::QLinearMatMul, Prepare, Eval};

}  // namespace lwai
