// ReduceLogSum (ONNX 18): optional axes input, keepdims, noop_with_empty_axes.
#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareReduce(ctx, ReduceKind::kLogSum); }
Status Eval(KernelContext& ctx) { return EvalReduce<ReduceKind::kLogSum>(ctx); }

}  // namespace

extern const KernelRegistration kReduceLogSumKernel = {OpType::ReduceLogSum, Prepare, Eval};

}  // namespace lwai
