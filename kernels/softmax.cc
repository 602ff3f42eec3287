// Softmax (ONNX 13) over one axis (default -1), subtracting the maximum for stability.
#include <cmath>

#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareAlongAxis(ctx, -1); }

Status Eval(KernelContext& ctx) {
  EvalAlongAxis(ctx, [](const auto* in, auto* out, const AxisSplit& s) {
    using T = std::remove_pointer_t<decltype(out)>;
    const int64_t stride = s.inner;
    T max = in[0];
    for (int64_t i = 1; i < s.size; ++i) max = in[i * stride] > max ? in[i * stride] : max;
    T sum = T(0);
    for (int64_t i = 0; i < s.size; ++i) {
      out[i * stride] = std::exp(in[i * stride] - max);
      sum += out[i * stride];
    }
    const T scale = T(1) / sum;
    for (int64_t i = 0; i < s.size; ++i) out[i * stride] *= scale;
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kSoftmaxKernel = {OpType::Softmax, Prepare, Eval};

}  // namespace lwai
