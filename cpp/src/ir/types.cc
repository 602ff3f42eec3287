#include "lwai/types.h"

namespace lwai {

size_t DataTypeSize(DataType type) {
  switch (type) {
    case DataType::kFloat32:
    case DataType::kInt32:
    case DataType::kUInt32:
      return 4;
    case DataType::kUInt8:
    case DataType::kInt8:
    case DataType::kBool:
    case DataType::kUInt4:
    case DataType::kInt4:
    case DataType::kFloat4E2M1:
      return 1;
    case DataType::kUInt16:
    case DataType::kInt16:
    case DataType::kFloat16:
    case DataType::kBFloat16:
      return 2;
    case DataType::kInt64:
    case DataType::kFloat64:
    case DataType::kUInt64:
      return 8;
    case DataType::kUndefined:
    case DataType::kString:
      return 0;
  }
  return 0;
}

const char* DataTypeName(DataType type) {
  switch (type) {
    case DataType::kFloat32:
      return "float32";
    case DataType::kUInt8:
      return "uint8";
    case DataType::kInt8:
      return "int8";
    case DataType::kUInt16:
      return "uint16";
    case DataType::kInt16:
      return "int16";
    case DataType::kInt32:
      return "int32";
    case DataType::kInt64:
      return "int64";
    case DataType::kString:
      return "string";
    case DataType::kBool:
      return "bool";
    case DataType::kFloat16:
      return "float16";
    case DataType::kFloat64:
      return "float64";
    case DataType::kUInt32:
      return "uint32";
    case DataType::kUInt64:
      return "uint64";
    case DataType::kBFloat16:
      return "bfloat16";
    case DataType::kUInt4:
      return "uint4";
    case DataType::kInt4:
      return "int4";
    case DataType::kFloat4E2M1:
      return "float4e2m1";
    case DataType::kUndefined:
      break;
  }
  return "undefined";
}

Shape::Shape(std::initializer_list<int64_t> values) {
  for (int64_t v : values) {
    if (rank < kMaxRank) dims[rank++] = v;
  }
}

bool CheckedMul(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }

bool CheckedAdd(int64_t a, int64_t b, int64_t* out) { return !__builtin_add_overflow(a, b, out); }

bool CheckedProduct(const int64_t* dims, int count, int64_t* out) {
  int64_t n = 1;
  bool zero = false;
  bool overflow = false;
  for (int i = 0; i < count; ++i) {
    if (dims[i] < 0) return false;
    if (dims[i] == 0) zero = true;
    if (!overflow && __builtin_mul_overflow(n, dims[i], &n)) overflow = true;
  }
  // [0, 2^40, 2^40] holds no elements: a zero dim wins over an overflowing rest.
  if (zero) {
    *out = 0;
    return true;
  }
  if (overflow) return false;
  *out = n;
  return true;
}

int64_t Shape::NumElements() const {
  int64_t n = 1;
  bool negative = false;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] == 0) return 0;
    negative = negative || dims[i] < 0;
  }
  for (int i = 0; i < rank; ++i) {
    if (__builtin_mul_overflow(n, dims[i], &n)) {
      return negative ? INT64_MIN : INT64_MAX;
    }
  }
  return n;
}

bool Shape::CheckedNumElements(int64_t* out) const {
  if (rank < 0 || rank > kMaxRank) return false;
  return CheckedProduct(dims, rank, out);
}

bool Shape::CheckedByteSize(size_t element_size, uint64_t* out) const {
  int64_t n = 0;
  if (!CheckedNumElements(&n)) return false;
  int64_t bytes = 0;
  if (!CheckedMul(n, static_cast<int64_t>(element_size), &bytes)) return false;
  *out = static_cast<uint64_t>(bytes);
  return true;
}

bool Shape::operator==(const Shape& other) const {
  if (rank != other.rank) return false;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] != other.dims[i]) return false;
  }
  return true;
}

std::string Shape::ToString() const {
  std::string s = "[";
  for (int i = 0; i < rank; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

}  // namespace lwai
