// Element type dispatch: calls fn(T()) with the C++ type of a runtime DataType, so one generic
// lambda serves every dtype an operator supports. Each returns false (fn not called) for
// dtypes outside its group; callers turn that into an Unsupported status naming the dtype.
//
// float16 and bfloat16 are absent on purpose: the ONNX importer computes float-only operators
// on them in float32 (it inserts Casts), and data-movement kernels use DispatchByElementSize.
#ifndef LWAI_KERNELS_DISPATCH_H_
#define LWAI_KERNELS_DISPATCH_H_

#include <cstdint>

#include "lwai/types.h"

namespace lwai {

// Selective builds compile kernels only for the element types their models use
// (LWAI_SELECTED_OPS given as `lwai ops` prints it, with dtypes: CMake then generates
// selected_dtypes.inc); a dispatch to another type returns false, which callers report as an
// unsupported dtype.
#ifdef LWAI_SELECTED_DTYPES
#include "selected_dtypes.inc"
#else
#define LWAI_DTYPE_FLOAT32 1
#define LWAI_DTYPE_FLOAT64 1
#define LWAI_DTYPE_INT8 1
#define LWAI_DTYPE_INT16 1
#define LWAI_DTYPE_INT32 1
#define LWAI_DTYPE_INT64 1
#define LWAI_DTYPE_UINT8 1
#define LWAI_DTYPE_UINT16 1
#define LWAI_DTYPE_UINT32 1
#define LWAI_DTYPE_UINT64 1
#define LWAI_DTYPE_BOOL 1
#endif

template <typename T>
inline constexpr bool kDtypeCompiled = false;
#if defined(LWAI_DTYPE_FLOAT32)
template <>
inline constexpr bool kDtypeCompiled<float> = true;
#endif
#if defined(LWAI_DTYPE_FLOAT64)
template <>
inline constexpr bool kDtypeCompiled<double> = true;
#endif
#if defined(LWAI_DTYPE_INT8)
template <>
inline constexpr bool kDtypeCompiled<int8_t> = true;
#endif
#if defined(LWAI_DTYPE_INT16)
template <>
inline constexpr bool kDtypeCompiled<int16_t> = true;
#endif
#if defined(LWAI_DTYPE_INT32)
template <>
inline constexpr bool kDtypeCompiled<int32_t> = true;
#endif
#if defined(LWAI_DTYPE_INT64)
template <>
inline constexpr bool kDtypeCompiled<int64_t> = true;
#endif
#if defined(LWAI_DTYPE_UINT8)
template <>
inline constexpr bool kDtypeCompiled<uint8_t> = true;
#endif
#if defined(LWAI_DTYPE_UINT16)
template <>
inline constexpr bool kDtypeCompiled<uint16_t> = true;
#endif
#if defined(LWAI_DTYPE_UINT32)
template <>
inline constexpr bool kDtypeCompiled<uint32_t> = true;
#endif
#if defined(LWAI_DTYPE_UINT64)
template <>
inline constexpr bool kDtypeCompiled<uint64_t> = true;
#endif
#if defined(LWAI_DTYPE_BOOL)
template <>
inline constexpr bool kDtypeCompiled<bool> = true;
#endif

// fn(T()) when T is compiled in; false otherwise.
template <typename T, typename Fn>
bool Call(Fn&& fn) {
  if constexpr (kDtypeCompiled<T>) {
    fn(T());
    return true;
  } else {
    return false;
  }
}

// float32, float64.
template <typename Fn>
bool DispatchFloat(DataType dtype, Fn&& fn) {
  switch (dtype) {
    case DataType::kFloat32:
      return Call<float>(fn);
    case DataType::kFloat64:
      return Call<double>(fn);
    default:
      return false;
  }
}

// int8/16/32/64 and uint8/16/32/64.
template <typename Fn>
bool DispatchInteger(DataType dtype, Fn&& fn) {
  switch (dtype) {
    case DataType::kInt8:
      return Call<int8_t>(fn);
    case DataType::kInt16:
      return Call<int16_t>(fn);
    case DataType::kInt32:
      return Call<int32_t>(fn);
    case DataType::kInt64:
      return Call<int64_t>(fn);
    case DataType::kUInt8:
      return Call<uint8_t>(fn);
    case DataType::kUInt16:
      return Call<uint16_t>(fn);
    case DataType::kUInt32:
      return Call<uint32_t>(fn);
    case DataType::kUInt64:
      return Call<uint64_t>(fn);
    default:
      return false;
  }
}

// Calls fn(T()) for float32, float64 and the signed integer types.
template <typename Fn>
bool DispatchSignedNumeric(DataType dtype, Fn&& fn) {
  switch (dtype) {
    case DataType::kInt8:
      return Call<int8_t>(fn);
    case DataType::kInt16:
      return Call<int16_t>(fn);
    case DataType::kInt32:
      return Call<int32_t>(fn);
    case DataType::kInt64:
      return Call<int64_t>(fn);
    default:
      return DispatchFloat(dtype, fn);
  }
}

// Every float and integer type.
template <typename Fn>
bool DispatchNumeric(DataType dtype, Fn&& fn) {
  return DispatchFloat(dtype, fn) || DispatchInteger(dtype, fn);
}

// Every float and integer type, and bool (as bool).
template <typename Fn>
bool DispatchNumericOrBool(DataType dtype, Fn&& fn) {
  if (dtype == DataType::kBool) {
    return Call<bool>(fn);
  }
  return DispatchNumeric(dtype, fn);
}

// The DataType of a C++ element type (for setting output dtypes from templates).
template <typename T>
constexpr DataType DataTypeOf();
template <>
constexpr DataType DataTypeOf<float>() {
  return DataType::kFloat32;
}
template <>
constexpr DataType DataTypeOf<double>() {
  return DataType::kFloat64;
}
template <>
constexpr DataType DataTypeOf<int8_t>() {
  return DataType::kInt8;
}
template <>
constexpr DataType DataTypeOf<int16_t>() {
  return DataType::kInt16;
}
template <>
constexpr DataType DataTypeOf<int32_t>() {
  return DataType::kInt32;
}
template <>
constexpr DataType DataTypeOf<int64_t>() {
  return DataType::kInt64;
}
template <>
constexpr DataType DataTypeOf<uint8_t>() {
  return DataType::kUInt8;
}
template <>
constexpr DataType DataTypeOf<uint16_t>() {
  return DataType::kUInt16;
}
template <>
constexpr DataType DataTypeOf<uint32_t>() {
  return DataType::kUInt32;
}
template <>
constexpr DataType DataTypeOf<uint64_t>() {
  return DataType::kUInt64;
}
template <>
constexpr DataType DataTypeOf<bool>() {
  return DataType::kBool;
}

}  // namespace lwai

#endif  // LWAI_KERNELS_DISPATCH_H_
