// DequantizeLinear (ONNX 24): y = (x - zero_point) * scale, per tensor, per axis or blocked
// (axis, block_size); x is int8/uint8/int16/uint16/int32, y has the scale's dtype.
#include <memory>
#include <string>

#include "kernels/linalg_common.h"

namespace lwai {
namespace {

struct DequantizeState : OpState {
  QuantLayout layout;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
  const DataType x_type = ctx.input(0).dtype;
  if (!DispatchQuantized(x_type, true, [](auto) {})) {
    return ctx.Unsupported("x must be int8, uint8, int16, uint16 or int32, got " +
                           std::string(DataTypeName(x_type)));
  }
  const DataType scale_type = ctx.input(1).dtype;
  if (scale_type != DataType::kFloat32 && scale_type != DataType::kFloat64) {
    return ctx.Unsupported("x_scale must be float32 or float64, got " +
                           std::string(DataTypeName(scale_type)));
  }
  if (ctx.has_input(2)) LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(2, x_type));
  auto state = std::make_unique<DequantizeState>();
  LWAI_RETURN_IF_ERROR(PrepareQuantLayout(ctx, 1, 2, &state->layout));
  ctx.output(0).dtype = scale_type;
  ctx.output(0).shape = ctx.input(0).shape;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

template <typename Q, typename S>
void Run(KernelContext& ctx, const QuantLayout& layout) {
  const Q* x = ctx.input(0).Data<const Q>();
  const S* scale = ctx.input(1).Data<const S>();
  const Q* zp = ctx.has_input(2) ? ctx.input(2).Data<const Q>() : nullptr;
  S* y = ctx.output(0).Data<S>();
  layout.ForEach([&](int64_t e, int64_t p) {
    const S centered = zp ? static_cast<S>(int64_t(x[e]) - int64_t(zp[p])) : static_cast<S>(x[e]);
    y[e] = centered * scale[p];
  });
}

Status Eval(KernelContext& ctx) {
  const QuantLayout& layout = ctx.state<DequantizeState>()->layout;
  DispatchQuantized(ctx.input(0).dtype, true, [&](auto q) {
    if (ctx.input(1).dtype == DataType::kFloat64) {
      Run<decltype(q), double>(ctx, layout);
    } else {
      Run<decltype(q), float>(ctx, layout);
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kDequantizeLinearKernel = {OpType::DequantizeLinear, Prepare, Eval};

}  // namespace lwai
