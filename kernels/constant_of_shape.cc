// ConstantOfShape (ONNX 24): a tensor of the shape given by input 0 (known at prepare) filled
// with one value. The importer passes the ONNX `value` tensor as attributes: "dtype" (an ONNX
// data type, default float32) and "value" (float) or "value_int" (int); default 0.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

struct ConstantOfShapeState : OpState {
  alignas(8) unsigned char value[8] = {};
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  std::vector<int64_t> dims;
  LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 0, &dims));
  if (ctx.input(0).shape.rank != 1 || dims.size() > static_cast<size_t>(kMaxRank)) {
    return ctx.InvalidModel(LWAI_MSG("shape input must be 1-D with at most " +
                                     std::to_string(kMaxRank) + " values, got " +
                                     ctx.input(0).shape.ToString()));
  }
  Shape out;
  out.rank = static_cast<int>(dims.size());
  for (int d = 0; d < out.rank; ++d) {
    if (dims[d] < 0)
      return ctx.InvalidModel(LWAI_MSG("shape " + IntsToString(dims) + " is negative"));
    out[d] = dims[d];
  }
  const Node& node = ctx.node();
  const DataType dtype =
      static_cast<DataType>(node.GetInt("dtype", static_cast<int64_t>(DataType::kFloat32)));
  const Attribute* value = node.FindAttribute("value");
  const Attribute* value_int = node.FindAttribute("value_int");
  double number = 0.0;
  int64_t integer = 0;
  bool is_int = false;
  if (value_int != nullptr) {
    integer = value_int->i;
    is_int = true;
  } else if (value != nullptr) {
    if (value->type == AttributeType::kFloat) {
      number = value->f;
    } else if (value->type == AttributeType::kInt) {
      integer = value->i;
      is_int = true;
    } else if (value->type == AttributeType::kFloats && value->floats.size() == 1) {
      number = value->floats[0];
    } else if (value->type == AttributeType::kInts && value->ints.size() == 1) {
      integer = value->ints[0];
      is_int = true;
    } else {
      return ctx.InvalidModel(LWAI_MSG("attribute 'value' must hold one number"));
    }
  }
  auto state = std::make_unique<ConstantOfShapeState>();
  const bool known = DispatchNumericOrBool(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T v = is_int ? static_cast<T>(integer) : static_cast<T>(number);
    std::memcpy(state->value, &v, sizeof(T));
  });
  if (!known) {
    return ctx.Unsupported(LWAI_MSG(std::string("dtype ") + DataTypeName(dtype) +
                                    " (expected a numeric type or bool)"));
  }
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = dtype;
  ctx.output(0).shape = out;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  TensorView& y = ctx.output(0);
  const unsigned char* value = ctx.state<ConstantOfShapeState>()->value;
  DispatchByElementSize(DataTypeSize(y.dtype), [&](auto tag) {
    using T = decltype(tag);
    T v;
    std::memcpy(&v, value, sizeof(T));
    T* out = y.Data<T>();
    const int64_t n = y.NumElements();
    for (int64_t i = 0; i < n; ++i) out[i] = v;
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kConstantOfShapeKernel = {OpType::ConstantOfShape, Prepare, Eval};

}  // namespace lwai
