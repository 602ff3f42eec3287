// ReduceMin (ONNX 20): optional axes input, keepdims, noop_with_empty_axes.
#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareReduce(ctx, ReduceKind::kMin); }
Status Eval(KernelContext& ctx) { return EvalReduce<ReduceKind::kMin>(ctx); }

}  // namespace

extern const KernelRegistration kReduceMinKernel = {OpType::ReduceMin, Prepare, Eval};

}  // namespace lwai
