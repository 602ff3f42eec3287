// Hardmax (ONNX 13) over one axis (default -1): 1 at the first maximum of each line, else 0.
#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareAlongAxis(ctx, -1); }

Status Eval(KernelContext& ctx) {
  EvalAlongAxis(ctx, [](const auto* in, auto* out, const AxisSplit& s) {
    using T = std::remove_pointer_t<decltype(out)>;
    int64_t best = 0;
    for (int64_t i = 1; i < s.size; ++i) {
      if (in[i * s.inner] > in[best * s.inner]) best = i;
    }
    for (int64_t i = 0; i < s.size; ++i) out[i * s.inner] = T(i == best ? 1 : 0);
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kHardmaxKernel = {OpType::Hardmax, Prepare, Eval};

}  // namespace lwai
