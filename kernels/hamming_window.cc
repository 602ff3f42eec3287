// HammingWindow (ONNX 17): w[n] = 25/46 - 21/46 cos(2 pi n / N), N = size when periodic, size - 1
// otherwise.
#include "kernels/signal_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareWindow(ctx); }

Status Eval(KernelContext& ctx) { return EvalCosineWindow(ctx, 25.0 / 46.0, 21.0 / 46.0, 0.0); }

}  // namespace

extern const KernelRegistration kHammingWindowKernel = {OpType::HammingWindow, Prepare, Eval};

}  // namespace lwai
