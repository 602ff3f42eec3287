// Element conversions shared by Cast, CastLike and the signal operators: IEEE binary16,
// bfloat16 and float4e2m1 encodings, and a visitor over every dtype Cast supports.
#ifndef LWAI_KERNELS_CAST_COMMON_H_
#define LWAI_KERNELS_CAST_COMMON_H_

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels/kernel_api.h"
#include "lwai/types.h"

namespace lwai {

// Exact: every half value is a float. Inline and branch-light: the compiler vectorizes loops of
// these conversions (float16 models run float32 kernels between Casts).
inline float HalfToFloat(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000) << 16;
  const uint32_t magnitude = bits & 0x7FFF;
  float value;
  if (magnitude >= 0x7C00) {  // infinity, or NaN (a quiet one, as DoubleToHalf writes them)
    const uint32_t wide = sign | 0x7F800000 | (magnitude == 0x7C00 ? 0 : 0x400000);
    std::memcpy(&value, &wide, sizeof(value));
  } else if (magnitude >= 0x400) {  // normal: rebias the exponent from 15 to 127
    const uint32_t wide = sign | ((magnitude << 13) + (112u << 23));
    std::memcpy(&value, &wide, sizeof(value));
  } else {  // subnormal or zero: magnitude * 2^-24, exact in float
    value = static_cast<float>(magnitude) * 5.9604644775390625e-8f;
    if (sign) value = -value;
  }
  return value;
}
// Rounds to nearest, ties to even; overflow gives infinity, NaN stays NaN.
uint16_t DoubleToHalf(double value);
// The same rounding as DoubleToHalf for a float (inline, for vectorized loops).
inline uint16_t FloatToHalf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t magnitude = bits & 0x7FFFFFFF;
  if (magnitude >= 0x47800000) {  // 2^16 and up: infinity; or NaN (quiet, payload dropped)
    return sign | (magnitude > 0x7F800000 ? 0x7E00 : 0x7C00);
  }
  if (magnitude >= 0x38800000) {  // 2^-14 and up: a normal half (or infinity after rounding)
    // Adding 0xFFF plus the lowest kept bit rounds the 13 dropped bits to nearest even; a
    // carry moves into the exponent, which is the right result.
    const uint32_t rounded = magnitude + 0xFFF + ((magnitude >> 13) & 1);
    return sign | static_cast<uint16_t>((rounded - (112u << 23)) >> 13);
  }
  // Below: a subnormal half. Adding 0.5 puts the value's units of 2^-24 into the low mantissa
  // bits of a float in [0.5, 1), rounded to nearest even by the floating-point addition.
  float absolute;
  std::memcpy(&absolute, &magnitude, sizeof(absolute));
  const float shifted = absolute + 0.5f;
  uint32_t shifted_bits;
  std::memcpy(&shifted_bits, &shifted, sizeof(shifted_bits));
  return sign | static_cast<uint16_t>(shifted_bits - 0x3F000000);
}

// Exact: bfloat16 is the upper half of a float.
float BFloat16ToFloat(uint16_t bits);
// Rounds to nearest, ties to even; overflow gives infinity, NaN stays NaN.
uint16_t FloatToBFloat16(float value);
uint16_t DoubleToBFloat16(double value);

// float4e2m1 (1 sign, 2 exponent bits with bias 1, 1 mantissa bit; no infinity or NaN),
// unpacked: the 4-bit code in the low bits of a byte. Codes 0..7 are 0, 0.5, 1, 1.5, 2, 3, 4,
// 6; bit 3 is the sign.
float Float4E2M1ToFloat(uint8_t code);
// Rounds to nearest, ties to even; saturates at +-6 (infinities too). NaN has no encoding:
// like ml_dtypes (which ONNX's reference uses), it gives the zero of the opposite sign.
uint8_t DoubleToFloat4E2M1(double value);

// Tags for the element types whose storage is not their value type.
struct HalfTag {};
struct BFloat16Tag {};
struct BoolTag {};
struct Int4Tag {};
struct UInt4Tag {};
struct Float4E2M1Tag {};

// CastType<T>::Storage is how an element is stored; T is the tag (or the type itself).
template <typename T>
struct CastType {
  using Tag = T;
  using Storage = T;
};
template <>
struct CastType<HalfTag> {
  using Tag = HalfTag;
  using Storage = uint16_t;
};
template <>
struct CastType<BFloat16Tag> {
  using Tag = BFloat16Tag;
  using Storage = uint16_t;
};
template <>
struct CastType<BoolTag> {
  using Tag = BoolTag;
  using Storage = uint8_t;
};

// 4-bit elements are stored unpacked, one a byte, as ml_dtypes does: the value (int4 in two's
// complement) in the low 4 bits. Loads ignore the high 4 bits; stores write them as 0.
template <>
struct CastType<Int4Tag> {
  using Tag = Int4Tag;
  using Storage = uint8_t;
};
template <>
struct CastType<UInt4Tag> {
  using Tag = UInt4Tag;
  using Storage = uint8_t;
};
template <>
struct CastType<Float4E2M1Tag> {
  using Tag = Float4E2M1Tag;
  using Storage = uint8_t;
};

// Calls fn(CastType<T>()) for float32/64, float16, bfloat16, float4e2m1, int4, int8..int64,
// uint4, uint8..uint64 and bool. Returns false for other dtypes.
template <typename Fn>
bool VisitCastType(DataType dtype, const Fn& fn) {
  switch (dtype) {
    case DataType::kFloat32:
      fn(CastType<float>());
      return true;
    case DataType::kFloat64:
      fn(CastType<double>());
      return true;
    case DataType::kFloat16:
      fn(CastType<HalfTag>());
      return true;
    case DataType::kBFloat16:
      fn(CastType<BFloat16Tag>());
      return true;
    case DataType::kInt8:
      fn(CastType<int8_t>());
      return true;
    case DataType::kInt16:
      fn(CastType<int16_t>());
      return true;
    case DataType::kInt32:
      fn(CastType<int32_t>());
      return true;
    case DataType::kInt64:
      fn(CastType<int64_t>());
      return true;
    case DataType::kUInt8:
      fn(CastType<uint8_t>());
      return true;
    case DataType::kUInt16:
      fn(CastType<uint16_t>());
      return true;
    case DataType::kUInt32:
      fn(CastType<uint32_t>());
      return true;
    case DataType::kUInt64:
      fn(CastType<uint64_t>());
      return true;
    case DataType::kBool:
      fn(CastType<BoolTag>());
      return true;
    case DataType::kInt4:
      fn(CastType<Int4Tag>());
      return true;
    case DataType::kUInt4:
      fn(CastType<UInt4Tag>());
      return true;
    case DataType::kFloat4E2M1:
      fn(CastType<Float4E2M1Tag>());
      return true;
    default:
      return false;
  }
}

inline bool IsCastType(DataType dtype) {
  return VisitCastType(dtype, [](auto) {});
}

// The value a stored element stands for: float for float16/bfloat16/float4e2m1, 0/1 for bool,
// the low 4 bits (sign-extended for int4) for int4/uint4.
template <typename T>
auto LoadElement(typename CastType<T>::Storage v) {
  if constexpr (std::is_same_v<T, Int4Tag>) {
    return static_cast<int8_t>(((v & 0xF) ^ 0x8) - 0x8);
  } else if constexpr (std::is_same_v<T, UInt4Tag>) {
    return static_cast<uint8_t>(v & 0xF);
  } else if constexpr (std::is_same_v<T, Float4E2M1Tag>) {
    return Float4E2M1ToFloat(v);
  } else if constexpr (std::is_same_v<T, HalfTag>) {
    return HalfToFloat(v);
  } else if constexpr (std::is_same_v<T, BFloat16Tag>) {
    return BFloat16ToFloat(v);
  } else if constexpr (std::is_same_v<T, BoolTag>) {
    return static_cast<uint8_t>(v != 0);
  } else {
    return v;
  }
}

// Float to integer: truncates toward zero, saturates at the target's range, NaN gives 0.
template <typename I>
I SaturatingTruncate(double v) {
  if (std::isnan(v)) return 0;
  const double t = std::trunc(v);
  if (t <= static_cast<double>(std::numeric_limits<I>::lowest())) {
    return std::numeric_limits<I>::lowest();
  }
  if (t >= static_cast<double>(std::numeric_limits<I>::max()) + 1.0) {
    return std::numeric_limits<I>::max();
  }
  return static_cast<I>(t);
}

// The low 4 bits of integer or float v, as for numpy/ml_dtypes' astype(int4/uint4): floats
// truncate toward zero and then wrap like integers; NaN and floats beyond int64 give 0 (the
// spec leaves them undefined).
template <typename V>
uint8_t LowNibble(V v) {
  if constexpr (std::is_floating_point_v<V>) {
    const double t = std::trunc(static_cast<double>(v));
    if (!(t >= -9223372036854775808.0 && t < 9223372036854775808.0)) return 0;
    return static_cast<uint8_t>(static_cast<uint64_t>(static_cast<int64_t>(t)) & 0xF);
  } else {
    return static_cast<uint8_t>(static_cast<uint64_t>(v) & 0xF);
  }
}

// Stores value v as an element of tag To: anything to bool is v != 0, floats round to
// nearest even, float to integer truncates (SaturatingTruncate), integer to integer wraps.
// int4/uint4 keep the low 4 bits (see LowNibble), float4e2m1 saturates at +-6.
template <typename To, typename V>
typename CastType<To>::Storage StoreElement(V v) {
  if constexpr (std::is_same_v<To, Int4Tag> || std::is_same_v<To, UInt4Tag>) {
    return LowNibble(v);
  } else if constexpr (std::is_same_v<To, Float4E2M1Tag>) {
    return DoubleToFloat4E2M1(static_cast<double>(v));
  } else if constexpr (std::is_same_v<To, BoolTag>) {
    return v != 0 ? 1 : 0;
  } else if constexpr (std::is_same_v<To, HalfTag>) {
    if constexpr (std::is_same_v<V, float>) {
      return FloatToHalf(v);
    } else {
      return DoubleToHalf(static_cast<double>(v));
    }
  } else if constexpr (std::is_same_v<To, BFloat16Tag>) {
    if constexpr (std::is_same_v<V, float>) {
      return FloatToBFloat16(v);
    } else {
      return DoubleToBFloat16(static_cast<double>(v));
    }
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<V>) {
    return SaturatingTruncate<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

// Converts every element of `in` into `out` (same element count; dtypes IsCastType).
void CastElements(const TensorView& in, TensorView& out, ThreadPool* pool);

}  // namespace lwai

#endif  // LWAI_KERNELS_CAST_COMMON_H_
