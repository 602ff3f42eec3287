#include "kernels/unary_common.h"

#include <memory>
#include <string>

namespace lwai {
namespace {

bool IsSignedInteger(DataType dtype) {
  return dtype == DataType::kInt8 || dtype == DataType::kInt16 || dtype == DataType::kInt32 ||
         dtype == DataType::kInt64;
}

bool IsUnsignedInteger(DataType dtype) {
  return dtype == DataType::kUInt8 || dtype == DataType::kUInt16 || dtype == DataType::kUInt32 ||
         dtype == DataType::kUInt64;
}

bool IsFloat(DataType dtype) { return dtype == DataType::kFloat32 || dtype == DataType::kFloat64; }

bool Accepts(UnaryDtypes dtypes, DataType dtype) {
  switch (dtypes) {
    case UnaryDtypes::kFloat:
      return IsFloat(dtype);
    case UnaryDtypes::kSignedNumeric:
      return IsFloat(dtype) || IsSignedInteger(dtype);
    case UnaryDtypes::kNumeric:
      return IsFloat(dtype) || IsSignedInteger(dtype) || IsUnsignedInteger(dtype);
    case UnaryDtypes::kInteger:
      return IsSignedInteger(dtype) || IsUnsignedInteger(dtype);
    case UnaryDtypes::kBool:
      return dtype == DataType::kBool;
  }
  return false;
}

const char* Describe(UnaryDtypes dtypes) {
  switch (dtypes) {
    case UnaryDtypes::kFloat:
      return "float32, float64";
    case UnaryDtypes::kSignedNumeric:
      return "float32, float64, int8, int16, int32, int64";
    case UnaryDtypes::kNumeric:
      return "float32, float64 and integer types";
    case UnaryDtypes::kInteger:
      return "integer types";
    case UnaryDtypes::kBool:
      return "bool";
  }
  return "";
}

}  // namespace

Status PrepareUnaryFloat(KernelContext& ctx, int max_inputs) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, max_inputs));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(0, DataType::kFloat32));
  ctx.output(0).dtype = DataType::kFloat32;
  ctx.output(0).shape = ctx.input(0).shape;
  return Status::Ok();
}

Status PrepareUnary(KernelContext& ctx, UnaryDtypes dtypes, int max_inputs, DataType out_dtype) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, max_inputs));
  if (!ctx.has_input(0)) return ctx.InvalidModel(LWAI_MSG("required input 0 is missing"));
  const TensorView& x = ctx.input(0);
  if (!Accepts(dtypes, x.dtype)) {
    return ctx.Unsupported(LWAI_MSG(std::string("input 0 has dtype ") + DataTypeName(x.dtype) +
                                    ", expected one of: " + Describe(dtypes)));
  }
  ctx.output(0).dtype = out_dtype == DataType::kUndefined ? x.dtype : out_dtype;
  ctx.output(0).shape = x.shape;
  return Status::Ok();
}

Status UnsupportedUnaryDtype(const KernelContext& ctx) {
  return ctx.Unsupported(LWAI_MSG(std::string("dtype ") + DataTypeName(ctx.input(0).dtype)));
}

void SetUnaryParams(KernelContext& ctx, float a, float b) {
  auto state = std::make_unique<UnaryParams>();
  state->a = a;
  state->b = b;
  ctx.SetState(std::move(state));
}

}  // namespace lwai
