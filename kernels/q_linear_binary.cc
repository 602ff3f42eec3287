// QLinearAdd and QLinearMul (com.microsoft, as ONNX Runtime's quantizers write them): A and B
// uint8 or int8 with scalar scales and zero points, broadcast together, C requantized to C_scale
// and C_zero_point (kernels/int8_elementwise.h has the arithmetic).
#include <string>

#include "kernels/binary_common.h"
#include "kernels/common.h"
#include "kernels/conv_common.h"
#include "kernels/int8_elementwise.h"

namespace lwai {
namespace {

enum Input { kA, kAScale, kAZeroPoint, kB, kBScale, kBZeroPoint, kCScale, kCZeroPoint };

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(7, 8));
  for (int i : {kA, kAScale, kB, kBScale, kCScale}) {
    if (!ctx.has_input(i))
      return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(i) + " is missing"));
  }
  const DataType type = ctx.input(kA).dtype;
  if (type != DataType::kUInt8 && type != DataType::kInt8) {
    return ctx.Unsupported(
        LWAI_MSG(std::string("A must be uint8 or int8, got ") + DataTypeName(type)));
  }
  if (ctx.input(kB).dtype != type) {
    return ctx.InvalidModel(LWAI_MSG(std::string("A and B dtypes differ: ") + DataTypeName(type) +
                                     " vs " + DataTypeName(ctx.input(kB).dtype)));
  }
  LWAI_RETURN_IF_ERROR(ExpectQuantizationParameter(ctx, kAScale, DataType::kFloat32, 1, "A_scale"));
  LWAI_RETURN_IF_ERROR(ExpectQuantizationParameter(ctx, kBScale, DataType::kFloat32, 1, "B_scale"));
  LWAI_RETURN_IF_ERROR(ExpectQuantizationParameter(ctx, kCScale, DataType::kFloat32, 1, "C_scale"));
  const char* zp_names[] = {"A_zero_point", "B_zero_point", "C_zero_point"};
  int k = 0;
  for (int i : {kAZeroPoint, kBZeroPoint, kCZeroPoint}) {
    if (ctx.has_input(i))
      LWAI_RETURN_IF_ERROR(ExpectQuantizationParameter(ctx, i, type, 1, zp_names[k]));
    ++k;
  }
  Shape shape;
  const Status status = BroadcastShapes(ctx.input(kA).shape, ctx.input(kB).shape, &shape);
  if (!status.ok()) return ctx.ShapeMismatch(LWAI_MSG(status.message()));
  ctx.output(0).dtype = type;
  ctx.output(0).shape = shape;
  return Status::Ok();
}

template <typename T>
void Run(KernelContext& ctx, const QLinearBinaryParams& p) {
  BroadcastLoop<T, T, T>(ctx.input(kA), ctx.input(kB), ctx.output(0),
                         [&](T a, T b) { return static_cast<T>(QLinearBinaryValue(p, a, b)); });
}

}  // namespace

// The parameters of a QLinearAdd/QLinearMul node whose scales and zero points are known.
QLinearBinaryParams ReadQLinearBinaryParams(const KernelContext& ctx) {
  QLinearBinaryParams p;
  p.multiply = ctx.node().op == OpType::QLinearMul;
  const float sa = ctx.input(kAScale).Data<const float>()[0];
  const float sb = ctx.input(kBScale).Data<const float>()[0];
  const float sc = ctx.input(kCScale).Data<const float>()[0];
  if (p.multiply) {
    p.a_ratio = sa * sb / sc;
  } else {
    p.a_ratio = sa / sc;
    p.b_ratio = sb / sc;
  }
  p.a_zero_point = ZeroPointAt(ctx, kAZeroPoint, 0);
  p.b_zero_point = ZeroPointAt(ctx, kBZeroPoint, 0);
  p.c_zero_point = ZeroPointAt(ctx, kCZeroPoint, 0);
  const bool is_signed = ctx.input(kA).dtype == DataType::kInt8;
  p.c_min = is_signed ? -128 : 0;
  p.c_max = is_signed ? 127 : 255;
  return p;
}

namespace {

Status Eval(KernelContext& ctx) {
  const QLinearBinaryParams p = ReadQLinearBinaryParams(ctx);
  if (ctx.input(kA).dtype == DataType::kInt8) {
    Run<int8_t>(ctx, p);
  } else {
    Run<uint8_t>(ctx, p);
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kQLinearAddKernel = {OpType::QLinearAdd, Prepare, Eval};
extern const KernelRegistration kQLinearMulKernel = {OpType::QLinearMul, Prepare, Eval};

}  // namespace lwai
