// Xor (opset 7): elementwise logical xor of two bool tensors with numpy broadcasting.
#include "kernels/binary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareBroadcastBinary(ctx, IsBoolType, "bool"); }

Status Eval(KernelContext& ctx) {
  BroadcastLoop<bool, bool, bool>(ctx.input(0), ctx.input(1), ctx.output(0),
                                  [](bool a, bool b) { return a != b; });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kXorKernel = {OpType::Xor, Prepare, Eval};

}  // namespace lwai
