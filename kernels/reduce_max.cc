// ReduceMax (ONNX 20): optional axes input, keepdims, noop_with_empty_axes.
#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareReduce(ctx, ReduceKind::kMax); }
Status Eval(KernelContext& ctx) { return EvalReduce<ReduceKind::kMax>(ctx); }

}  // namespace

extern const KernelRegistration kReduceMaxKernel = {OpType::ReduceMax, Prepare, Eval};

}  // namespace lwai
