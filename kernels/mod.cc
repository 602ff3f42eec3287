// Mod (opset 13): elementwise remainder with numpy broadcasting. Floats use C fmod; integers
// take the divisor's sign when fmod=0 (Python %) and the dividend's when fmod=1 (C %).
#include <cmath>
#include <memory>
#include <type_traits>

#include "kernels/binary_common.h"

namespace lwai {
namespace {

struct ModState : OpState {
  bool fmod = false;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(
      PrepareBroadcastBinary(ctx, IsNumericType, "float32, float64, int8..int64, uint8..uint64"));
  const int64_t fmod = ctx.node().GetInt("fmod", 0);
  if (fmod != 0 && fmod != 1) {
    return ctx.InvalidModel(LWAI_MSG("fmod must be 0 or 1, got " + std::to_string(fmod)));
  }
  auto state = std::make_unique<ModState>();
  state->fmod = fmod == 1;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

// C remainder (sign of the dividend); x % 0 gives 0 instead of trapping.
template <typename T>
T TruncatedMod(T a, T b) {
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return 0;  // MIN % -1 would overflow.
  }
  return static_cast<T>(a % b);
}

template <typename T>
void ModTyped(KernelContext& ctx, bool fmod) {
  const TensorView& a = ctx.input(0);
  const TensorView& b = ctx.input(1);
  TensorView& out = ctx.output(0);
  if constexpr (std::is_floating_point_v<T>) {
    BroadcastLoop<T, T, T>(a, b, out, [](T x, T y) { return std::fmod(x, y); });
  } else if constexpr (std::is_unsigned_v<T>) {
    BroadcastLoop<T, T, T>(a, b, out, TruncatedMod<T>);
  } else if (fmod) {
    BroadcastLoop<T, T, T>(a, b, out, TruncatedMod<T>);
  } else {
    BroadcastLoop<T, T, T>(a, b, out, [](T x, T y) {
      const T r = TruncatedMod(x, y);
      return (r != 0 && ((r < 0) != (y < 0))) ? static_cast<T>(r + y) : r;
    });
  }
}

Status Eval(KernelContext& ctx) {
  const bool fmod = ctx.state<ModState>()->fmod;
  const DataType dtype = ctx.output(0).dtype;
  if (!DispatchNumeric(dtype, [&](auto t) { ModTyped<decltype(t)>(ctx, fmod); }))
    return UnsupportedDtype(ctx, dtype);
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kModKernel = {OpType::Mod, Prepare, Eval};

}  // namespace lwai
