// BitwiseAnd (opset 18): elementwise bitwise and of two integer tensors with numpy broadcasting.
#include "kernels/binary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  return PrepareBroadcastBinary(ctx, IsIntegerType, "int8..int64, uint8..uint64");
}

Status Eval(KernelContext& ctx) {
  const DataType dtype = ctx.output(0).dtype;
  if (!DispatchInteger(dtype, [&](auto t) {
        using T = decltype(t);
        BroadcastLoop<T, T, T>(ctx.input(0), ctx.input(1), ctx.output(0),
                               [](T a, T b) { return static_cast<T>(a & b); });
      }))
    return UnsupportedDtype(ctx, dtype);
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kBitwiseAndKernel = {OpType::BitwiseAnd, Prepare, Eval};

}  // namespace lwai
