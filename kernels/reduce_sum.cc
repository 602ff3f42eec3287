// ReduceSum (ONNX 13): optional axes input, keepdims, noop_with_empty_axes.
#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareReduce(ctx, ReduceKind::kSum); }
Status Eval(KernelContext& ctx) { return EvalReduce<ReduceKind::kSum>(ctx); }

}  // namespace

extern const KernelRegistration kReduceSumKernel = {OpType::ReduceSum, Prepare, Eval};

}  // namespace lwai
