// Det (ONNX 22): determinants of the trailing [M, M] matrices of a float32/float64 tensor, by
// LU decomposition with partial pivoting.
#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include "kernels/dispatch.h"
#include "kernels/kernel_api.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const DataType dtype = ctx.input(0).dtype;
  if (dtype != DataType::kFloat32 && dtype != DataType::kFloat64) {
    return ctx.Unsupported(
        LWAI_MSG("X must be float32 or float64, got " + std::string(DataTypeName(dtype))));
  }
  const Shape& x = ctx.input(0).shape;
  if (x.rank < 2 || x[x.rank - 1] != x[x.rank - 2]) {
    return ctx.ShapeMismatch(LWAI_MSG("X must be [..., M, M], got " + x.ToString()));
  }
  Shape out = x;
  out.rank -= 2;
  ctx.output(0).dtype = dtype;
  ctx.output(0).shape = out;
  const int64_t m = x[x.rank - 1];
  ctx.RequestScratch(static_cast<size_t>(m * m) * sizeof(double));
  return Status::Ok();
}

template <typename T>
void Run(KernelContext& ctx) {
  const Shape& shape = ctx.input(0).shape;
  const int64_t m = shape[shape.rank - 1];
  const int64_t count = ctx.output(0).NumElements();
  const T* x = ctx.input(0).Data<const T>();
  T* y = ctx.output(0).Data<T>();
  double* a = static_cast<double*>(ctx.scratch());
  for (int64_t b = 0; b < count; ++b) {
    const T* src = x + b * m * m;
    for (int64_t i = 0; i < m * m; ++i) a[i] = double(src[i]);
    double det = 1.0;
    for (int64_t col = 0; col < m && det != 0.0; ++col) {
      int64_t pivot = col;
      for (int64_t r = col + 1; r < m; ++r) {
        if (std::fabs(a[r * m + col]) > std::fabs(a[pivot * m + col])) pivot = r;
      }
      if (a[pivot * m + col] == 0.0) {
        det = 0.0;
        break;
      }
      if (pivot != col) {
        for (int64_t j = 0; j < m; ++j) std::swap(a[pivot * m + j], a[col * m + j]);
        det = -det;
      }
      const double p = a[col * m + col];
      det *= p;
      for (int64_t r = col + 1; r < m; ++r) {
        const double f = a[r * m + col] / p;
        if (f == 0.0) continue;
        for (int64_t j = col; j < m; ++j) a[r * m + j] -= f * a[col * m + j];
      }
    }
    y[b] = static_cast<T>(det);
  }
}

Status Eval(KernelContext& ctx) {
  DispatchFloat(ctx.input(0).dtype, [&](auto t) { Run<decltype(t)>(ctx); });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kDetKernel = {OpType::Det, Prepare, Eval};

}  // namespace lwai
