// Squeeze (ONNX 13): removes the dimensions listed in the optional axes input (known at
// prepare), or every dimension of size 1 when it is omitted or empty.
#include <string>
#include <vector>

#include "kernels/common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 2));
  const Shape& in = ctx.input(0).shape;
  std::vector<int64_t> axes;
  if (ctx.has_input(1)) {
    LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 1, &axes));
  }
  uint32_t mask = 0;
  if (!axes.empty()) {
    LWAI_RETURN_IF_ERROR(AxesToMask(ctx, axes, in.rank, &mask));
    for (int d = 0; d < in.rank; ++d) {
      if ((mask & (1u << d)) && in[d] != 1) {
        return ctx.ShapeMismatch(LWAI_MSG("cannot squeeze axis " + std::to_string(d) + " of size " +
                                          std::to_string(in[d]) + " in input " + in.ToString()));
      }
    }
  } else {
    for (int d = 0; d < in.rank; ++d) mask |= in[d] == 1 ? 1u << d : 0u;
  }
  Shape out;
  for (int d = 0; d < in.rank; ++d) {
    if (!(mask & (1u << d))) out[out.rank++] = in[d];
  }
  ctx.output(0).dtype = ctx.input(0).dtype;
  ctx.output(0).shape = out;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  CopyInputToOutput(ctx);
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kSqueezeKernel = {OpType::Squeeze, Prepare, Eval};

}  // namespace lwai
