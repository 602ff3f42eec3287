#include "kernels/signal_common.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cast_common.h"
#include "kernels/common.h"

namespace lwai {
namespace {
// M_PI is POSIX, not ISO C++ (newlib hides it in strict modes).
constexpr double kPi = 3.14159265358979323846;
}  // namespace

Status ReadIntScalar(const KernelContext& ctx, int i, const char* name, int64_t* value) {
  std::vector<int64_t> values;
  LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, i, &values));
  if (values.size() != 1) {
    return ctx.InvalidModel(LWAI_MSG(std::string("input '") + name + "' must be a scalar, got " +
                                     ctx.input(i).shape.ToString()));
  }
  *value = values[0];
  return Status::Ok();
}

Status PrepareWindow(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  int64_t size = 0;
  LWAI_RETURN_IF_ERROR(ReadIntScalar(ctx, 0, "size", &size));
  if (size < 0) return ctx.InvalidModel(LWAI_MSG("size must be >= 0, got " + std::to_string(size)));
  const int64_t dtype_attr = ctx.node().GetInt("output_datatype", 1);
  const DataType dtype = static_cast<DataType>(dtype_attr);
  if (dtype_attr < 0 || dtype_attr > 16 || dtype == DataType::kBool || !IsCastType(dtype)) {
    return ctx.Unsupported(LWAI_MSG("output_datatype " + std::to_string(dtype_attr) +
                                    " (supported: float, integer and unsigned types)"));
  }
  const int64_t periodic = ctx.node().GetInt("periodic", 1);
  if (periodic != 0 && periodic != 1) {
    return ctx.InvalidModel(LWAI_MSG("periodic must be 0 or 1, got " + std::to_string(periodic)));
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
  const double step = period > 0 ? 2.0 * kPi / static_cast<double>(period) : 0.0;
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

namespace {

// twiddles[2k], twiddles[2k + 1] = cos, sin of 2 pi k / n, for k in [0, n).
void ComputeTwiddles(int64_t n, double* twiddles) {
  const double step = 2.0 * kPi / static_cast<double>(n);
  for (int64_t k = 0; k < n; ++k) {
    twiddles[2 * k] = std::cos(step * static_cast<double>(k));
    twiddles[2 * k + 1] = std::sin(step * static_cast<double>(k));
  }
}

// In-place radix-2 transform of n (a power of two) interleaved complex values, with the kernel
// e^(sign 2 pi i j k / n); `twiddles` from ComputeTwiddles(n).
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

bool IsPowerOfTwo(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

// The FFT size Bluestein's convolution needs for an n-point DFT: a power of two >= 2n - 1.
int64_t BluesteinSize(int64_t n) {
  int64_t m = 1;
  while (m < 2 * n - 1) m *= 2;
  return m;
}

}  // namespace

bool DftPlan::ScratchBytes(int64_t n, int64_t bins, uint64_t* bytes) {
  // Bounded far below overflow: 2^40 points would need far more memory than any limit allows.
  if (n < 1 || bins < 0 || n > (int64_t{1} << 40) || bins > n) return false;
  const uint64_t un = static_cast<uint64_t>(n), ub = static_cast<uint64_t>(bins);
  uint64_t doubles = 2 * un + 2 * ub;  // line, output
  if (IsPowerOfTwo(n)) {
    doubles += 2 * un;  // twiddles
  } else {
    doubles += 6 * static_cast<uint64_t>(BluesteinSize(n)) + 2 * un;
  }
  *bytes = doubles * sizeof(double);
  return true;
}

DftPlan::DftPlan(int64_t n, int64_t bins, bool inverse, double* scratch)
    : n_(n), bins_(bins), m_(IsPowerOfTwo(n) ? n : BluesteinSize(n)), inverse_(inverse) {
  const bool radix2 = m_ == n_;
  twiddles_ = scratch;
  chirp_ = twiddles_ + 2 * m_;
  kernel_fft_ = radix2 ? chirp_ : chirp_ + 2 * n_;
  work_ = radix2 ? chirp_ : kernel_fft_ + 2 * m_;
  line_ = radix2 ? chirp_ : work_ + 2 * m_;
  output_ = line_ + 2 * n_;
  ComputeTwiddles(m_, twiddles_);
  if (radix2) return;
  // chirp[j] = e^(sign i pi j^2 / n); j^2 is reduced mod 2n (the chirp's period) incrementally,
  // which keeps the angle exact for any n.
  const double sign = inverse ? 1.0 : -1.0;
  const double step = kPi / static_cast<double>(n_);
  for (int64_t j = 0, square = 0; j < n_; ++j) {
    chirp_[2 * j] = std::cos(step * static_cast<double>(square));
    chirp_[2 * j + 1] = sign * std::sin(step * static_cast<double>(square));
    square += 2 * j + 1;
    while (square >= 2 * n_) square -= 2 * n_;
  }
  // The convolution kernel conj(chirp[j]) at j and m - j, zero elsewhere; its FFT is reused by
  // every line.
  for (int64_t j = 0; j < 2 * m_; ++j) kernel_fft_[j] = 0.0;
  for (int64_t j = 0; j < n_; ++j) {
    kernel_fft_[2 * j] = chirp_[2 * j];
    kernel_fft_[2 * j + 1] = -chirp_[2 * j + 1];
    if (j > 0) {
      kernel_fft_[2 * (m_ - j)] = chirp_[2 * j];
      kernel_fft_[2 * (m_ - j) + 1] = -chirp_[2 * j + 1];
    }
  }
  Radix2Fft(kernel_fft_, m_, -1.0, twiddles_);
}

const double* DftPlan::Transform(int64_t count) {
  const double scale = inverse_ ? 1.0 / static_cast<double>(n_) : 1.0;
  if (m_ == n_) {
    for (int64_t j = 2 * count; j < 2 * n_; ++j) line_[j] = 0.0;
    Radix2Fft(line_, n_, inverse_ ? 1.0 : -1.0, twiddles_);
    for (int64_t k = 0; k < 2 * bins_; ++k) output_[k] = line_[k] * scale;
    return output_;
  }
  // X[k] = chirp[k] * sum_j (x[j] chirp[j]) conj(chirp[k - j]): a circular convolution of size
  // m, done as FFT, pointwise product with the kernel's FFT, inverse FFT.
  for (int64_t j = 0; j < count; ++j) {
    const double xr = line_[2 * j], xi = line_[2 * j + 1];
    const double cr = chirp_[2 * j], ci = chirp_[2 * j + 1];
    work_[2 * j] = xr * cr - xi * ci;
    work_[2 * j + 1] = xr * ci + xi * cr;
  }
  for (int64_t j = 2 * count; j < 2 * m_; ++j) work_[j] = 0.0;
  Radix2Fft(work_, m_, -1.0, twiddles_);
  for (int64_t k = 0; k < m_; ++k) {
    const double ar = work_[2 * k], ai = work_[2 * k + 1];
    const double br = kernel_fft_[2 * k], bi = kernel_fft_[2 * k + 1];
    work_[2 * k] = ar * br - ai * bi;
    work_[2 * k + 1] = ar * bi + ai * br;
  }
  Radix2Fft(work_, m_, 1.0, twiddles_);
  const double convolution_scale = scale / static_cast<double>(m_);
  for (int64_t k = 0; k < bins_; ++k) {
    const double vr = work_[2 * k], vi = work_[2 * k + 1];
    const double cr = chirp_[2 * k], ci = chirp_[2 * k + 1];
    output_[2 * k] = (vr * cr - vi * ci) * convolution_scale;
    output_[2 * k + 1] = (vr * ci + vi * cr) * convolution_scale;
  }
  return output_;
}

}  // namespace lwai
