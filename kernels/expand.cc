// Expand (opset 13): broadcasts the input to the shape given by input 1 (numpy rules, so
// dims of 1 in the shape keep the input's dims); any fixed-size dtype.
#include <vector>

#include "kernels/binary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const TensorView& in = ctx.input(0);
  if (DataTypeSize(in.dtype) == 0) {
    return ctx.Unsupported(LWAI_MSG(std::string("dtype ") + DataTypeName(in.dtype)));
  }
  if (ctx.input(1).shape.rank > 1) {
    return ctx.InvalidModel(LWAI_MSG("shape must be 1-D, got " + ctx.input(1).shape.ToString()));
  }
  std::vector<int64_t> dims;
  LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 1, &dims));
  if (dims.size() > static_cast<size_t>(kMaxRank)) {
    return ctx.Unsupported(LWAI_MSG("shape " + IntsToString(dims) + " has rank " +
                                    std::to_string(dims.size()) + ", at most " +
                                    std::to_string(kMaxRank) + " supported"));
  }
  Shape target;
  target.rank = static_cast<int>(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0) {
      return ctx.InvalidModel(
          LWAI_MSG("shape " + IntsToString(dims) + " has a negative dimension"));
    }
    target.dims[i] = dims[i];
  }
  Shape shape;
  Status status = BroadcastShapes(in.shape, target, &shape);
  if (!status.ok()) return ctx.ShapeMismatch(LWAI_MSG(status.message()));
  ctx.output(0).shape = shape;
  ctx.output(0).dtype = in.dtype;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  BroadcastCopy(ctx.input(0), ctx.output(0));
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kExpandKernel = {OpType::Expand, Prepare, Eval};

}  // namespace lwai
