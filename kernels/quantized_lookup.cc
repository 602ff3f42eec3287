// QuantizedLookup (lwai): Y[i] = table[X[i]], X uint8 or int8 (its bytes index the table), the
// table a constant of 256 uint8 or int8 values, Y of the table's type and X's shape. The
// quantized fusions write it for DequantizeLinear -> elementwise float operator ->
// QuantizeLinear: 8-bit inputs have 256 values, so the three nodes are a table of their results.
#include <algorithm>
#include <string>

#include "kernels/common.h"
#include "kernels/int8_elementwise.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const TensorView& x = ctx.input(0);
  const TensorView& table = ctx.input(1);
  if (!IsByteType(x.dtype) || !IsByteType(table.dtype) || table.NumElements() != 256 ||
      table.shape.rank != 1) {
    return ctx.InvalidModel(
        LWAI_MSG(std::string("X must be uint8 or int8 and the table 256 uint8 or int8 "
                             "values, got ") +
                 DataTypeName(x.dtype) + " and " + DataTypeName(table.dtype) + " " +
                 table.shape.ToString()));
  }
  ctx.output(0).dtype = table.dtype;
  ctx.output(0).shape = x.shape;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const uint8_t* table = static_cast<const uint8_t*>(ctx.input(1).data);
  const uint8_t* x = static_cast<const uint8_t*>(ctx.input(0).data);
  uint8_t* y = static_cast<uint8_t*>(ctx.output(0).data);
  const int64_t count = ctx.input(0).NumElements();
  constexpr int64_t kPiece = 16384;
  ctx.thread_pool()->ParallelFor((count + kPiece - 1) / kPiece, 1, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t first = p * kPiece;
      Int8LookupRow(table, x + first, std::min(kPiece, count - first), y + first);
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kQuantizedLookupKernel = {OpType::QuantizedLookup, Prepare, Eval};

}  // namespace lwai
