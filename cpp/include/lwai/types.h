// Element types and shapes shared by the whole public API.
#ifndef LWAI_TYPES_H_
#define LWAI_TYPES_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace lwai {

// Values follow ONNX TensorProto.DataType and the .lwai schema (checked at compile time).
enum class DataType : int8_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kBFloat16 = 16,
  // 4-bit types, stored unpacked like numpy's ml_dtypes: one byte per element, the 4-bit value
  // (int4 in two's complement, float4e2m1 as its code) in the low bits. Readers must ignore
  // the high 4 bits (sign-extend int4 from bit 3): writers set them to 0, as ml_dtypes does.
  kUInt4 = 21,
  kInt4 = 22,
  kFloat4E2M1 = 23,
};

// kInt4 and kUInt4 (held one per byte in memory, two per byte in .lwai files).
inline bool IsFourBitType(DataType type) {
  return type == DataType::kInt4 || type == DataType::kUInt4;
}

// Bytes per element; 0 for kUndefined and kString.
size_t DataTypeSize(DataType type);
// "float32", "int64", ... ("undefined" for unknown values).
const char* DataTypeName(DataType type);

constexpr int kMaxRank = 8;

// Checked shape arithmetic: every size computed from dims read out of a model goes through
// these (or Shape::NumElements/ByteSize below), so that hostile shapes fail a check instead of
// wrapping around. Each returns false, leaving *out unspecified, when the exact result does not
// fit in int64 (or is negative where a size is expected).
bool CheckedMul(int64_t a, int64_t b, int64_t* out);
bool CheckedAdd(int64_t a, int64_t b, int64_t* out);
// Product of `count` dims; false when any dim is negative or the product overflows.
bool CheckedProduct(const int64_t* dims, int count, int64_t* out);

// A fixed-capacity shape: no heap allocation, so shapes can live on the invoke path.
struct Shape {
  int rank = 0;
  int64_t dims[kMaxRank] = {};

  Shape() = default;
  Shape(std::initializer_list<int64_t> values);

  int64_t operator[](int i) const { return dims[i]; }
  int64_t& operator[](int i) { return dims[i]; }
  // Product of dims (1 for a scalar). Never wraps: saturates at INT64_MAX when the product
  // overflows (any later size check then fails), and is negative only when a dim is.
  int64_t NumElements() const;
  // Product of dims when every dim is >= 0 and the product and its size in bytes fit;
  // false otherwise. What loaders and the executor check every shape with.
  bool CheckedNumElements(int64_t* out) const;
  bool CheckedByteSize(size_t element_size, uint64_t* out) const;
  bool operator==(const Shape& other) const;
  bool operator!=(const Shape& other) const { return !(*this == other); }
  // "[1, 3, 224, 224]"
  std::string ToString() const;
};

// Public description of a graph input or output.
struct TensorInfo {
  std::string name;
  DataType dtype = DataType::kUndefined;
  // -1 for a dynamic dimension; dim_names[i] names it ("batch") or is empty.
  std::vector<int64_t> shape;
  std::vector<std::string> dim_names;
  bool shape_known = true;
};

}  // namespace lwai

#endif  // LWAI_TYPES_H_
