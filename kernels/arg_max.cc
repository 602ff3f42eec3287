// ArgMax (ONNX 13): axis, keepdims, select_last_index; int64 indices.
#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareArgReduce(ctx); }
Status Eval(KernelContext& ctx) { return EvalArgReduce<true>(ctx); }

}  // namespace

extern const KernelRegistration kArgMaxKernel = {OpType::ArgMax, Prepare, Eval};

}  // namespace lwai
