// ReduceProd (ONNX 18): optional axes input, keepdims, noop_with_empty_axes.
#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareReduce(ctx, ReduceKind::kProd); }
Status Eval(KernelContext& ctx) { return EvalReduce<ReduceKind::kProd>(ctx); }

}  // namespace

extern const KernelRegistration kReduceProdKernel = {OpType::ReduceProd, Prepare, Eval};

}  // namespace lwai
