// Integer-safe helpers for the unary operators that accept signed integers (Neg, Abs).
#ifndef LWAI_KERNELS_NUMERIC_UNARY_COMMON_H_
#define LWAI_KERNELS_NUMERIC_UNARY_COMMON_H_

#include <type_traits>

namespace lwai {

// Negation that wraps instead of overflowing for the most negative integer.
template <typename T>
T WrappingNegate(T x) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(std::make_unsigned_t<T>(0) - static_cast<std::make_unsigned_t<T>>(x));
  } else {
    return -x;
  }
}

}  // namespace lwai

#endif  // LWAI_KERNELS_NUMERIC_UNARY_COMMON_H_
