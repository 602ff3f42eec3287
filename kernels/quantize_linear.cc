// QuantizeLinear (ONNX 24): y = saturate(round_half_even(x / scale) + zero_point), per tensor,
// per axis or blocked (axis, block_size); output int8/uint8/int16/uint16 from the zero point's
// dtype or output_dtype (uint8 by default). x is float32, float64 or int32.
#include <limits>
#include <memory>
#include <string>
#include <type_traits>

#include "kernels/common.h"
#include "kernels/linalg_common.h"

namespace lwai {
namespace {

struct QuantizeState : OpState {
  QuantLayout layout;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
  const DataType x_type = ctx.input(0).dtype;
  if (x_type != DataType::kFloat32 && x_type != DataType::kFloat64 && x_type != DataType::kInt32) {
    return ctx.Unsupported(
        LWAI_MSG("x must be float32, float64 or int32, got " + std::string(DataTypeName(x_type))));
  }
  const DataType scale_type = ctx.input(1).dtype;
  if (scale_type != DataType::kFloat32 && scale_type != DataType::kFloat64) {
    return ctx.Unsupported(LWAI_MSG("y_scale must be float32 or float64, got " +
                                    std::string(DataTypeName(scale_type))));
  }
  DataType out_type = DataType::kUInt8;
  const int64_t output_dtype = ctx.node().GetInt("output_dtype", 0);
  if (ctx.has_input(2)) {
    out_type = ctx.input(2).dtype;
    if (output_dtype != 0 && output_dtype != static_cast<int64_t>(out_type)) {
      return ctx.InvalidModel(LWAI_MSG("output_dtype " + std::to_string(output_dtype) +
                                       " differs from the zero point's dtype " +
                                       DataTypeName(out_type)));
    }
  } else if (output_dtype != 0) {
    out_type = static_cast<DataType>(output_dtype);
  }
  if (!DispatchQuantized(out_type, false, [](auto) {})) {
    return ctx.Unsupported(LWAI_MSG("output dtype must be int8, uint8, int16 or uint16, got " +
                                    std::string(DataTypeName(out_type)) + " (" +
                                    std::to_string(static_cast<int>(out_type)) + ")"));
  }
  auto state = std::make_unique<QuantizeState>();
  LWAI_RETURN_IF_ERROR(PrepareQuantLayout(ctx, 1, 2, &state->layout));
  ctx.output(0).dtype = out_type;
  ctx.output(0).shape = ctx.input(0).shape;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

template <typename X, typename S, typename Q>
void Run(KernelContext& ctx, const QuantLayout& layout) {
  // float32 inputs divide in float32, like the reference, so ties round the same way.
  using C = std::conditional_t<std::is_same<X, double>::value || std::is_same<S, double>::value,
                               double, float>;
  const X* x = ctx.input(0).Data<const X>();
  const S* scale = ctx.input(1).Data<const S>();
  const Q* zp = ctx.has_input(2) ? ctx.input(2).Data<const Q>() : nullptr;
  Q* y = ctx.output(0).Data<Q>();
  const double lo = std::numeric_limits<Q>::lowest(), hi = std::numeric_limits<Q>::max();
  layout.ForEach([&](int64_t e, int64_t p) {
    const C q = static_cast<C>(x[e]) / static_cast<C>(scale[p]);
    const double v = std::nearbyint(double(q)) + (zp ? double(zp[p]) : 0.0);
    y[e] = SaturatingCast<Q>(v < lo ? lo : (v > hi ? hi : v));
  });
}

template <typename X>
void DispatchScale(KernelContext& ctx, const QuantLayout& layout) {
  auto with_scale = [&](auto s) {
    DispatchQuantized(ctx.output(0).dtype, false,
                      [&](auto q) { Run<X, decltype(s), decltype(q)>(ctx, layout); });
  };
  if (ctx.input(1).dtype == DataType::kFloat64) {
    with_scale(double());
  } else {
    with_scale(float());
  }
}

Status Eval(KernelContext& ctx) {
  const QuantLayout& layout = ctx.state<QuantizeState>()->layout;
  switch (ctx.input(0).dtype) {
    case DataType::kFloat64:
      DispatchScale<double>(ctx, layout);
      break;
    case DataType::kInt32:
      DispatchScale<int32_t>(ctx, layout);
      break;
    default:
      DispatchScale<float>(ctx, layout);
      break;
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kQuantizeLinearKernel = {OpType::QuantizeLinear, Prepare, Eval};

}  // namespace lwai
