#include "kernels/signal_common.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cast_common.h"
#include "kernels/common.h"

namespace lwai {

Status ReadIntScalar(const KernelContext& ctx, int i, const char* name, int64_t* value) {
  std::vector<int64_t> values;
  LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, i, &values));
  if (values.size() != 1) {
    return ctx.InvalidModel(std::string("input '") + name + "' must be a scalar, got " +
                            ctx.input(i).shape.ToString());
  }
  *value = values[0];
  return Status::Ok();
}

Status PrepareWindow(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  int64_t size = 0;
  LWAI_RETURN_IF_ERROR(ReadIntScalar(ctx, 0, "size", &size));
  if (size < 0) return ctx.InvalidModel("size must be >= 0, got " + std::to_string(size));
  const int64_t dtype_attr = ctx.node().GetInt("output_datatype", 1);
  const DataType dtype = static_cast<DataType>(dtype_attr);
  if (dtype_attr < 0 || dtype_attr > 16 || dtype == DataType::kBool || !IsCastType(dtype)) {
    return ctx.Unsupported("output_datatype " + std::to_string(dtype_attr) +
                           " (supported: float, integer and unsigned types)");
  }
  const int64_t periodic = ctx.node().GetInt("periodic", 1);
  if (periodic != 0 && periodic != 1) {
    return ctx.InvalidModel("periodic must be 0 or 1, got " + std::to_string(periodic));
  }
  ctx.output(0).dtype = dtype;
  ctx.output(0).shape = Shape{size};
  return Status::Ok();
}

Status EvalCosineWindow(KernelContext& ctx, double a0, double a1, double a2) {
  TensorView& y = ctx.output(0);
  const int64_t size = y.shape[0];
  const bool periodic = ctx.node().GetInt("periodic", 1) != 0;
  const int64_t period = periodic ? size : size - 1;
  const double step = period > 0 ? 2.0 * M_PI / static_cast<double>(period) : 0.0;
  VisitCastType(y.dtype, [&](auto type) {
    using Tag = typename decltype(type)::Tag;
    using Storage = typename decltype(type)::Storage;
    Storage* out = y.Data<Storage>();
    for (int64_t n = 0; n < size; ++n) {
      const double x = step * static_cast<double>(n);
      out[n] = StoreElement<Tag>(a0 - a1 * std::cos(x) + a2 * std::cos(2.0 * x));
    }
  });
  return Status::Ok();
}

void ComputeTwiddles(int64_t n, double* twiddles) {
  const double step = 2.0 * M_PI / static_cast<double>(n);
  for (int64_t m = 0; m < n; ++m) {
    twiddles[2 * m] = std::cos(step * static_cast<double>(m));
    twiddles[2 * m + 1] = std::sin(step * static_cast<double>(m));
  }
}

namespace {

// In-place radix-2 transform of n (a power of two) interleaved complex values.
void Radix2Fft(double* data, int64_t n, double sign, const double* twiddles) {
  for (int64_t i = 1, j = 0; i < n; ++i) {  // bit-reversal permutation
    int64_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j |= bit;
    if (i < j) {
      std::swap(data[2 * i], data[2 * j]);
      std::swap(data[2 * i + 1], data[2 * j + 1]);
    }
  }
  for (int64_t half = 1; half < n; half *= 2) {
    const int64_t stride = n / (2 * half);  // twiddle index step
    for (int64_t start = 0; start < n; start += 2 * half) {
      for (int64_t k = 0; k < half; ++k) {
        const double c = twiddles[2 * k * stride], s = sign * twiddles[2 * k * stride + 1];
        double* a = data + 2 * (start + k);
        double* b = a + 2 * half;
        const double re = b[0] * c - b[1] * s, im = b[0] * s + b[1] * c;
        b[0] = a[0] - re;
        b[1] = a[1] - im;
        a[0] += re;
        a[1] += im;
      }
    }
  }
}

}  // namespace

void DftLine(double* x, int64_t count, int64_t n, int64_t bins, bool inverse,
             const double* twiddles, double* y) {
  const double sign = inverse ? 1.0 : -1.0;
  const double scale = inverse ? 1.0 / static_cast<double>(n) : 1.0;
  if ((n & (n - 1)) == 0) {
    for (int64_t j = 2 * count; j < 2 * n; ++j) x[j] = 0.0;
    Radix2Fft(x, n, sign, twiddles);
    for (int64_t k = 0; k < 2 * bins; ++k) y[k] = x[k] * scale;
    return;
  }
  for (int64_t k = 0; k < bins; ++k) {
    double re = 0.0, im = 0.0;
    int64_t m = 0;  // j * k mod n, kept incrementally
    for (int64_t j = 0; j < count; ++j) {
      const double c = twiddles[2 * m], s = sign * twiddles[2 * m + 1];
      re += x[2 * j] * c - x[2 * j + 1] * s;
      im += x[2 * j] * s + x[2 * j + 1] * c;
      m += k;
      if (m >= n) m -= n;
    }
    y[2 * k] = re * scale;
    y[2 * k + 1] = im * scale;
  }
}

}  // namespace lwai
