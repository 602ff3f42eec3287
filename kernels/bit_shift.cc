// BitShift (opset 11): elementwise x << y or x >> y (direction attribute) on unsigned
// integers with numpy broadcasting.
#include <memory>
#include <string>

#include "kernels/binary_common.h"

namespace lwai {
namespace {

struct BitShiftState : OpState {
  bool left = true;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(PrepareBroadcastBinary(ctx, IsUnsignedType, "uint8..uint64"));
  const std::string direction = ctx.node().GetString("direction", "");
  if (direction != "LEFT" && direction != "RIGHT") {
    return ctx.InvalidModel(
        LWAI_MSG("direction must be \"LEFT\" or \"RIGHT\", got \"" + direction + "\""));
  }
  auto state = std::make_unique<BitShiftState>();
  state->left = direction == "LEFT";
  ctx.SetState(std::move(state));
  return Status::Ok();
}

template <typename T>
void Shift(KernelContext& ctx, bool left) {
  // Shifting by the bit width or more gives 0 (undefined in C++).
  constexpr T kBits = static_cast<T>(sizeof(T) * 8);
  if (left) {
    BroadcastLoop<T, T, T>(ctx.input(0), ctx.input(1), ctx.output(0), [](T x, T y) {
      return y >= kBits ? T(0) : static_cast<T>(static_cast<WrapType<T>>(x) << y);
    });
  } else {
    BroadcastLoop<T, T, T>(ctx.input(0), ctx.input(1), ctx.output(0),
                           [](T x, T y) { return y >= kBits ? T(0) : static_cast<T>(x >> y); });
  }
}

Status Eval(KernelContext& ctx) {
  const bool left = ctx.state<BitShiftState>()->left;
  switch (ctx.output(0).dtype) {
    case DataType::kUInt8:
      Shift<uint8_t>(ctx, left);
      break;
    case DataType::kUInt16:
      Shift<uint16_t>(ctx, left);
      break;
    case DataType::kUInt32:
      Shift<uint32_t>(ctx, left);
      break;
    case DataType::kUInt64:
      Shift<uint64_t>(ctx, left);
      break;
    default:
      return UnsupportedDtype(ctx, ctx.output(0).dtype);
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kBitShiftKernel = {OpType::BitShift, Prepare, Eval};

}  // namespace lwai
