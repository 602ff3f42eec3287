// ReduceMean (ONNX 18): optional axes input, keepdims, noop_with_empty_axes.
#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareReduce(ctx, ReduceKind::kMean); }
Status Eval(KernelContext& ctx) { return EvalReduce<ReduceKind::kMean>(ctx); }

}  // namespace

extern const KernelRegistration kReduceMeanKernel = {OpType::ReduceMean, Prepare, Eval};

}  // namespace lwai
