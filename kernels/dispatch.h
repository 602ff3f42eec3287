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

// float32, float64.
template <typename Fn>
bool DispatchFloat(DataType dtype, Fn&& fn) {
  switch (dtype) {
    case DataType::kFloat32:
      fn(float());
      return true;
    case DataType::kFloat64:
      fn(double());
      return true;
    default:
      return false;
  }
}

// int8/16/32/64 and uint8/16/32/64.
template <typename Fn>
bool DispatchInteger(DataType dtype, Fn&& fn) {
  switch (dtype) {
    case DataType::kInt8:
      fn(int8_t());
      return true;
    case DataType::kInt16:
      fn(int16_t());
      return true;
    case DataType::kInt32:
      fn(int32_t());
      return true;
    case DataType::kInt64:
      fn(int64_t());
      return true;
    case DataType::kUInt8:
      fn(uint8_t());
      return true;
    case DataType::kUInt16:
      fn(uint16_t());
      return true;
    case DataType::kUInt32:
      fn(uint32_t());
      return true;
    case DataType::kUInt64:
      fn(uint64_t());
      return true;
    default:
      return false;
  }
}

// Calls fn(T()) for float32, float64 and the signed integer types.
template <typename Fn>
bool DispatchSignedNumeric(DataType dtype, Fn&& fn) {
  switch (dtype) {
    case DataType::kInt8:
      fn(int8_t());
      return true;
    case DataType::kInt16:
      fn(int16_t());
      return true;
    case DataType::kInt32:
      fn(int32_t());
      return true;
    case DataType::kInt64:
      fn(int64_t());
      return true;
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
    fn(bool());
    return true;
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
