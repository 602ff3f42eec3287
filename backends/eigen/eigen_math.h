// exp, logistic and tanh for the Eigen backend's kernels, exact where float's results saturate.
// Eigen's vectorized versions clamp their argument, so with NEON (Eigen 3.4) exp(-inf) and
// logistic(-inf) come out as 2.9e-39 instead of 0, and tanh(-inf) as -0.99999994 instead of -1;
// a later 0 * inf then gives inf where the reference kernels (and ONNX) give NaN.
#ifndef LWAI_BACKENDS_EIGEN_EIGEN_MATH_H_
#define LWAI_BACKENDS_EIGEN_EIGEN_MATH_H_

#include <Eigen/Core>

namespace lwai {
namespace eigen {

// exp(x) rounds to 0 in float below about -103.97.
constexpr float kExpUnderflow = -104.0f;

template <typename Derived>
auto Exp(const Eigen::ArrayBase<Derived>& x) {
  return (x < kExpUnderflow).select(0.0f, x.exp());
}

template <typename Derived>
auto Logistic(const Eigen::ArrayBase<Derived>& x) {
  return (x < kExpUnderflow).select(0.0f, x.logistic());
}

// tanh(x) rounds to +-1 in float beyond about 9.01.
constexpr float kTanhSaturation = 9.1f;

template <typename Derived>
auto Tanh(const Eigen::ArrayBase<Derived>& x) {
  return (x.abs() > kTanhSaturation).select(x.sign(), x.tanh());
}

}  // namespace eigen
}  // namespace lwai

#endif  // LWAI_BACKENDS_EIGEN_EIGEN_MATH_H_
