// LpNormalization (ONNX 22): x / ||x||_p along one axis (default -1), p = 1 or 2.
#include <cmath>
#include <string>

#include "kernels/reduce_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  const int64_t p = ctx.node().GetInt("p", 2);
  if (p != 1 && p != 2)
    return ctx.InvalidModel(LWAI_MSG("p must be 1 or 2, got " + std::to_string(p)));
  return PrepareAlongAxis(ctx, -1);
}

Status Eval(KernelContext& ctx) {
  const bool l1 = ctx.node().GetInt("p", 2) == 1;
  EvalAlongAxis(ctx, [l1](const auto* in, auto* out, const AxisSplit& s) {
    using T = std::remove_pointer_t<decltype(out)>;
    T norm = T(0);
    for (int64_t i = 0; i < s.size; ++i) {
      const T v = in[i * s.inner];
      norm += l1 ? std::abs(v) : v * v;
    }
    if (!l1) norm = std::sqrt(norm);
    for (int64_t i = 0; i < s.size; ++i) out[i * s.inner] = in[i * s.inner] / norm;
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kLpNormalizationKernel = {OpType::LpNormalization, Prepare, Eval};

}  // namespace lwai
