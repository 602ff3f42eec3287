// Unsqueeze (ONNX 13): inserts size-1 dimensions at the axes given by input 1 (known at
// prepare), which index the output shape.
#include <string>
#include <vector>

#include "kernels/common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Shape& in = ctx.input(0).shape;
  std::vector<int64_t> axes;
  LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 1, &axes));
  const int64_t rank = in.rank + static_cast<int64_t>(axes.size());
  if (rank > kMaxRank) {
    return ctx.Unsupported(
        LWAI_MSG("output rank " + std::to_string(rank) + " is above " + std::to_string(kMaxRank)));
  }
  uint32_t mask = 0;
  LWAI_RETURN_IF_ERROR(AxesToMask(ctx, axes, static_cast<int>(rank), &mask));
  Shape out;
  out.rank = static_cast<int>(rank);
  for (int d = 0, next = 0; d < out.rank; ++d) out[d] = (mask & (1u << d)) ? 1 : in[next++];
  ctx.output(0).dtype = ctx.input(0).dtype;
  ctx.output(0).shape = out;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  CopyInputToOutput(ctx);
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kUnsqueezeKernel = {OpType::Unsqueeze, Prepare, Eval};

}  // namespace lwai
