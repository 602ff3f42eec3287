// LogSoftmax (ONNX 13) over one axis (default -1): x - max - log(sum(exp(x - max))).
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
    for (int64_t i = 0; i < s.size; ++i) sum += std::exp(in[i * stride] - max);
    const T shift = max + std::log(sum);
    for (int64_t i = 0; i < s.size; ++i) out[i * stride] = in[i * stride] - shift;
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kLogSoftmaxKernel = {OpType::LogSoftmax, Prepare, Eval};

}  // namespace lwai
