#include "runtime/evaluate.h"

#include <cstdlib>

namespace lwai {

Status EvaluatePrepared(const KernelRegistration& kernel, KernelContext& ctx,
                        std::vector<std::shared_ptr<void>>* storage) {
  for (int o = 0; o < ctx.num_outputs(); ++o) {
    if (!ctx.has_output(o)) continue;
    uint64_t bytes = 0;
    if (!ctx.output(o).shape.CheckedByteSize(DataTypeSize(ctx.output(o).dtype), &bytes)) {
      return ctx.ShapeMismatch(LWAI_MSG("output " + std::to_string(o) + " would have shape " +
                                        ctx.output(o).shape.ToString() +
                                        ", which is negative or too large"));
    }
    LWAI_RETURN_IF_ERROR(ctx.limits().CheckBytes(bytes, {ctx.node(), "an output"}));
    auto memory = AllocateAligned(ctx.output(o).ByteSize());
    if (!memory) return ctx.Error(StatusCode::kOutOfMemory, LWAI_MSG("cannot allocate output"));
    ctx.output(o).data = memory.get();
    storage->push_back(std::move(memory));
  }
  LWAI_RETURN_IF_ERROR(ctx.limits().CheckBytes(ctx.scratch_bytes_, {ctx.node(), "scratch"}));
  auto scratch = AllocateAligned(ctx.scratch_bytes_);
  if (!scratch) return ctx.Error(StatusCode::kOutOfMemory, LWAI_MSG("cannot allocate scratch"));
  ctx.scratch_ = scratch.get();
  ctx.state_ = ctx.state_owner_.get();
  Status status = kernel.eval(ctx);
  ctx.scratch_ = nullptr;
  // Long kernels stop early once the limits expire, leaving partial outputs: report it here.
  if (status.ok()) status = ctx.limits().Check(ctx.node());
  return status;
}

Status PrepareAndEvaluate(const KernelRegistration& kernel, KernelContext& ctx,
                          std::vector<std::shared_ptr<void>>* storage) {
  LWAI_RETURN_IF_ERROR(kernel.prepare(ctx));
  return EvaluatePrepared(kernel, ctx, storage);
}

}  // namespace lwai
