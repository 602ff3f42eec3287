// MatMulInteger (ONNX 10): int32 numpy matmul of int8/uint8 A and B after subtracting their
// zero points (scalar, or per row of A / per column of B).
#include <memory>
#include <string>

#include "kernels/common.h"
#include "kernels/linalg_common.h"

namespace lwai {
namespace {

struct MatMulIntegerState : OpState {
  BatchedMatMul mm;
  bool a_zp_per_row = false, b_zp_per_col = false;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 4));
  const DataType a_type = ctx.input(0).dtype, b_type = ctx.input(1).dtype;
  if (!IsByteType(a_type) || !IsByteType(b_type)) {
    return ctx.Unsupported(LWAI_MSG("A and B must be int8 or uint8, got " +
                                    std::string(DataTypeName(a_type)) + " and " +
                                    DataTypeName(b_type)));
  }
  auto state = std::make_unique<MatMulIntegerState>();
  MatMulIntegerState& s = *state;
  Shape out;
  LWAI_RETURN_IF_ERROR(PrepareBatchedMatMul(ctx, 0, 1, &s.mm, &out));
  for (int i = 2; i <= 3; ++i) {
    if (!ctx.has_input(i)) continue;
    LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(i, i == 2 ? a_type : b_type));
    const int64_t count = ctx.input(i).NumElements();
    const int64_t per = i == 2 ? s.mm.m : s.mm.n;
    if (count == 1) continue;
    if (ctx.input(i).shape.rank != 1 || count != per) {
      return ctx.ShapeMismatch(LWAI_MSG(std::string(i == 2 ? "a" : "b") +
                                        "_zero_point must be a scalar or [" + std::to_string(per) +
                                        "], got " + ctx.input(i).shape.ToString()));
    }
    (i == 2 ? s.a_zp_per_row : s.b_zp_per_col) = true;
  }
  ctx.output(0).dtype = DataType::kInt32;
  ctx.output(0).shape = out;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

template <typename A, typename B>
void Run(KernelContext& ctx, const MatMulIntegerState& s) {
  const A* a = ctx.input(0).Data<const A>();
  const B* b = ctx.input(1).Data<const B>();
  const A* a_zp = ctx.has_input(2) ? ctx.input(2).Data<const A>() : nullptr;
  const B* b_zp = ctx.has_input(3) ? ctx.input(3).Data<const B>() : nullptr;
  int32_t* y = ctx.output(0).Data<int32_t>();
  const BatchedMatMul& mm = s.mm;
  mm.ForEachMatrix([&](int64_t index, int64_t a_offset, int64_t b_offset) {
    int32_t* c = y + index * mm.m * mm.n;
    for (int64_t i = 0; i < mm.m; ++i) {
      const int32_t za = a_zp ? a_zp[s.a_zp_per_row ? i : 0] : 0;
      for (int64_t j = 0; j < mm.n; ++j) {
        const int32_t zb = b_zp ? b_zp[s.b_zp_per_col ? j : 0] : 0;
        int32_t sum = 0;
        for (int64_t p = 0; p < mm.k; ++p) {
          sum += (int32_t(a[a_offset + i * mm.k + p]) - za) *
                 (int32_t(b[b_offset + p * mm.n + j]) - zb);
        }
        c[i * mm.n + j] = sum;
      }
    }
  });
}

Status Eval(KernelContext& ctx) {
  const MatMulIntegerState& s = *ctx.state<MatMulIntegerState>();
  const bool a_signed = ctx.input(0).dtype == DataType::kInt8;
  const bool b_signed = ctx.input(1).dtype == DataType::kInt8;
  if (a_signed) {
    b_signed ? Run<int8_t, int8_t>(ctx, s) : Run<int8_t, uint8_t>(ctx, s);
  } else {
    b_signed ? Run<uint8_t, int8_t>(ctx, s) : Run<uint8_t, uint8_t>(ctx, s);
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kMatMulIntegerKernel = {OpType::MatMulInteger, Prepare, Eval};

}  // namespace lwai
