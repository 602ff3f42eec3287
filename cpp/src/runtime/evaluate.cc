#include "runtime/evaluate.h"

#include <cstdlib>

namespace lwai {

Status EvaluatePrepared(const KernelRegistration& kernel, KernelContext& ctx,
                        std::vector<std::shared_ptr<void>>* storage) {
  for (int o = 0; o < ctx.num_outputs(); ++o) {
    if (!ctx.has_output(o)) continue;
    auto memory = AllocateAligned(ctx.output(o).ByteSize());
    if (!memory) return ctx.Error(StatusCode::kOutOfMemory, "cannot allocate output");
    ctx.output(o).data = memory.get();
    storage->push_back(std::move(memory));
  }
  auto scratch = AllocateAligned(ctx.scratch_bytes_);
  if (!scratch) return ctx.Error(StatusCode::kOutOfMemory, "cannot allocate scratch");
  ctx.scratch_ = scratch.get();
  ctx.state_ = ctx.state_owner_.get();
  Status status = kernel.eval(ctx);
  ctx.scratch_ = nullptr;
  return status;
}

Status PrepareAndEvaluate(const KernelRegistration& kernel, KernelContext& ctx,
                          std::vector<std::shared_ptr<void>>* storage) {
  LWAI_RETURN_IF_ERROR(kernel.prepare(ctx));
  return EvaluatePrepared(kernel, ctx, storage);
}

}  // namespace lwai
