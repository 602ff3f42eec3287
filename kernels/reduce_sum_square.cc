// ReduceSumSquare (ONNX 18): optional axes input, keepdims, noop_with_empty_axes.
#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareReduce(ctx, ReduceKind::kSumSquare); }
Status Eval(KernelContext& ctx) { return EvalReduce<ReduceKind::kSumSquare>(ctx); }

}  // namespace

extern const KernelRegistration kReduceSumSquareKernel = {OpType::ReduceSumSquare, Prepare, Eval};

}  // namespace lwai
