// Runs one reference kernel in isolation: prepare (inputs known at prepare time, as for
// constants), allocate outputs and scratch, eval. Used by the per-kernel tests.
#ifndef LWAI_TESTS_KERNEL_TEST_UTIL_H_
#define LWAI_TESTS_KERNEL_TEST_UTIL_H_

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/kernel_api.h"

namespace lwai::testing {

struct TestTensor {
  DataType dtype = DataType::kUndefined;
  Shape shape;
  std::vector<uint8_t> bytes;

  template <typename T>
  static TestTensor Make(DataType dtype, Shape shape, const std::vector<T>& values) {
    TestTensor t;
    t.dtype = dtype;
    t.shape = shape;
    t.bytes.resize(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
    return t;
  }
  static TestTensor F32(Shape shape, const std::vector<float>& v) {
    return Make(DataType::kFloat32, shape, v);
  }
  static TestTensor I64(Shape shape, const std::vector<int64_t>& v) {
    return Make(DataType::kInt64, shape, v);
  }
  static TestTensor I32(Shape shape, const std::vector<int32_t>& v) {
    return Make(DataType::kInt32, shape, v);
  }
  template <typename T>
  std::vector<T> Values() const {
    std::vector<T> v(bytes.size() / sizeof(T));
    if (!v.empty()) std::memcpy(v.data(), bytes.data(), bytes.size());
    return v;
  }
  std::vector<float> Floats() const { return Values<float>(); }
};

// An omitted optional input.
inline TestTensor Omitted() { return TestTensor{}; }

struct KernelCase {
  OpType op = OpType::Unknown;
  std::vector<Attribute> attributes;
  std::vector<TestTensor> inputs;  // dtype kUndefined marks an omitted optional input
  int num_outputs = 1;
  int threads = 1;
  // When false, inputs have no data at prepare time (like graph inputs), only at eval.
  bool inputs_known_at_prepare = true;
};

// Runs the reference kernel; the Status of prepare or eval on failure.
Result<std::vector<TestTensor>> RunKernel(const KernelCase& c);

Attribute IntAttr(const std::string& name, int64_t v);
Attribute FloatAttr(const std::string& name, float v);
Attribute IntsAttr(const std::string& name, std::vector<int64_t> v);
Attribute StringAttr(const std::string& name, const std::string& v);

}  // namespace lwai::testing

#endif  // LWAI_TESTS_KERNEL_TEST_UTIL_H_
