// HannWindow (ONNX 17): w[n] = 0.5 - 0.5 cos(2 pi n / N), N = size when periodic, size - 1
// otherwise.
#include "kernels/signal_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareWindow(ctx); }

Status Eval(KernelContext& ctx) { return EvalCosineWindow(ctx, 0.5, 0.5, 0.0); }

}  // namespace

extern const KernelRegistration kHannWindowKernel = {OpType::HannWindow, Prepare, Eval};

}  // namespace lwai
