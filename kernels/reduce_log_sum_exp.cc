// ReduceLogSumExp (ONNX 18): optional axes input, keepdims, noop_with_empty_axes.
#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareReduce(ctx, ReduceKind::kLogSumExp); }
Status Eval(KernelContext& ctx) { return EvalReduce<ReduceKind::kLogSumExp>(ctx); }

}  // namespace

extern const KernelRegistration kReduceLogSumExpKernel = {OpType::ReduceLogSumExp, Prepare, Eval};

}  // namespace lwai
