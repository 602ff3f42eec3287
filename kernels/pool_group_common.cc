#include "kernels/pool_group_common.h"

#include <string>

namespace lwai {

Status ReadFloatTensor(const KernelContext& ctx, int input, std::vector<double>* values) {
  const TensorView& t = ctx.input(input);
  if (t.dtype != DataType::kFloat32 && t.dtype != DataType::kFloat64) {
    return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(input) +
                                     " must be float32 or float64, got " + DataTypeName(t.dtype)));
  }
  if (t.data == nullptr) return ctx.ValueNeeded(input);
  const int64_t n = t.NumElements();
  values->resize(n);
  for (int64_t i = 0; i < n; ++i) {
    (*values)[i] =
        t.dtype == DataType::kFloat32 ? t.Data<const float>()[i] : t.Data<const double>()[i];
  }
  return Status::Ok();
}

void CubicWeights(double t, double a, double* w) {
  // Keys' kernel: |x| <= 1: (a+2)|x|^3 - (a+3)|x|^2 + 1; 1 < |x| < 2: a|x|^3 - 5a|x|^2 + 8a|x| -
  // 4a.
  auto near = [a](double x) { return ((a + 2) * x - (a + 3)) * x * x + 1; };
  auto far = [a](double x) { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a; };
  w[0] = far(t + 1);
  w[1] = near(t);
  w[2] = near(1 - t);
  w[3] = far(2 - t);
}

}  // namespace lwai
