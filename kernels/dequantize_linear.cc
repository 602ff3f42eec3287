// DequantizeLinear (ONNX 24): y = (x - zero_point) * scale, per tensor, per axis or blocked
// (axis, block_size); x is int4/uint4/int8/uint8/int16/uint16/int32, y has the scale's dtype.
// 4-bit values are held one per byte (types.h): the low 4 bits, int4 sign-extended.
#include <memory>
#include <string>

#include "kernels/linalg_common.h"

namespace lwai {
namespace {

struct DequantizeState : OpState {
  QuantLayout layout;
};

bool IsFourBit(DataType t) { return t == DataType::kInt4 || t == DataType::kUInt4; }

// The integer value of element e: the element itself, or its 4-bit value.
struct Plain {
  template <typename Q>
  int64_t operator()(const Q* x, int64_t e) const {
    return static_cast<int64_t>(x[e]);
  }
};
struct Int4 {
  int64_t operator()(const uint8_t* x, int64_t e) const {
    return static_cast<int8_t>(static_cast<uint8_t>(x[e] << 4)) >> 4;
  }
};
struct UInt4 {
  int64_t operator()(const uint8_t* x, int64_t e) const { return x[e] & 0x0F; }
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
  const DataType x_type = ctx.input(0).dtype;
  if (!IsFourBit(x_type) && !DispatchQuantized(x_type, true, [](auto) {})) {
    return ctx.Unsupported(
        LWAI_MSG("x must be int4, uint4, int8, uint8, int16, uint16 or int32, got " +
                 std::string(DataTypeName(x_type))));
  }
  const DataType scale_type = ctx.input(1).dtype;
  if (scale_type != DataType::kFloat32 && scale_type != DataType::kFloat64) {
    return ctx.Unsupported(LWAI_MSG("x_scale must be float32 or float64, got " +
                                    std::string(DataTypeName(scale_type))));
  }
  if (ctx.has_input(2)) LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(2, x_type));
  auto state = std::make_unique<DequantizeState>();
  LWAI_RETURN_IF_ERROR(PrepareQuantLayout(ctx, 1, 2, &state->layout));
  ctx.output(0).dtype = scale_type;
  ctx.output(0).shape = ctx.input(0).shape;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

template <typename Q, typename S, typename Value>
void Run(KernelContext& ctx, const QuantLayout& layout, Value value) {
  const Q* x = ctx.input(0).Data<const Q>();
  const S* scale = ctx.input(1).Data<const S>();
  const Q* zp = ctx.has_input(2) ? ctx.input(2).Data<const Q>() : nullptr;
  S* y = ctx.output(0).Data<S>();
  layout.ForEach([&](int64_t e, int64_t p) {
    const int64_t centered = zp ? value(x, e) - value(zp, p) : value(x, e);
    y[e] = static_cast<S>(centered) * scale[p];
  });
}

template <typename S>
void RunFor(KernelContext& ctx, const QuantLayout& layout) {
  const DataType x_type = ctx.input(0).dtype;
  if (x_type == DataType::kInt4) {
    Run<uint8_t, S>(ctx, layout, Int4());
  } else if (x_type == DataType::kUInt4) {
    Run<uint8_t, S>(ctx, layout, UInt4());
  } else {
    DispatchQuantized(x_type, true, [&](auto q) { Run<decltype(q), S>(ctx, layout, Plain()); });
  }
}

Status Eval(KernelContext& ctx) {
  const QuantLayout& layout = ctx.state<DequantizeState>()->layout;
  if (ctx.input(1).dtype == DataType::kFloat64) {
    RunFor<double>(ctx, layout);
  } else {
    RunFor<float>(ctx, layout);
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kDequantizeLinearKernel = {OpType::DequantizeLinear, Prepare, Eval};

}  // namespace lwai
