// ReduceL2 (ONNX 18): optional axes input, keepdims, noop_with_empty_axes.
#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareReduce(ctx, ReduceKind::kL2); }
Status Eval(KernelContext& ctx) { return EvalReduce<ReduceKind::kL2>(ctx); }

}  // namespace

extern const KernelRegistration kReduceL2Kernel = {OpType::ReduceL2, Prepare, Eval};

}  // namespace lwai
