// ReduceL1 (ONNX 18): optional axes input, keepdims, noop_with_empty_axes.
#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareReduce(ctx, ReduceKind::kL1); }
Status Eval(KernelContext& ctx) { return EvalReduce<ReduceKind::kL1>(ctx); }

}  // namespace

extern const KernelRegistration kReduceL1Kernel = {OpType::ReduceL1, Prepare, Eval};

}  // namespace lwai
