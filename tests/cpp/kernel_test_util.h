// Runs one reference kernel in isolation: prepare (inputs known at prepare time, as for
// constants), allocate outputs and scratch, eval. Used by the per-kernel tests.
#ifndef LWAI_TESTS_KERNEL_TEST_UTIL_H_
#define LWAI_TESTS_KERNEL_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
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

// Wall-clock limits in tests (against hangs and unbounded work) are multiplied by this:
// LWAI_TEST_TIME_SCALE, which CMake sets for tests run under an emulator (qemu-user runs cross
// builds 10-20x slower); 1 otherwise.
inline double TestTimeScale() {
  const char* scale = std::getenv("LWAI_TEST_TIME_SCALE");
  return scale != nullptr && std::atof(scale) > 0 ? std::atof(scale) : 1.0;
}

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

// Shorthands for the kernel tests.
inline KernelCase Case(OpType op, std::vector<TestTensor> inputs,
                       std::vector<Attribute> attrs = {}) {
  KernelCase c;
  c.op = op;
  c.inputs = std::move(inputs);
  c.attributes = std::move(attrs);
  return c;
}

// All outputs; records a test failure (and returns empty tensors) when the kernel fails.
inline std::vector<TestTensor> RunAll(const KernelCase& c) {
  auto result = RunKernel(c);
  if (!result.ok()) {
    ADD_FAILURE() << result.status().ToString();
    return std::vector<TestTensor>(c.num_outputs);
  }
  return *result;
}

inline TestTensor RunOne(const KernelCase& c) { return RunAll(c)[0]; }

// The kernel fails with `code` and a message naming the node.
inline void ExpectError(const KernelCase& c, StatusCode code) {
  auto result = RunKernel(c);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), code) << result.status().ToString();
  EXPECT_NE(result.status().message().find("test_node"), std::string::npos)
      << result.status().ToString();
}

inline void ExpectNear(const std::vector<float>& actual, const std::vector<double>& expected,
                       double tolerance = 1e-6) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], tolerance) << "element " << i;
  }
}

// Deterministic values in [-1, 1) times `scale` (a linear congruential sequence).
inline std::vector<float> Pseudorandom(size_t n, uint32_t seed, float scale = 1.0f) {
  std::vector<float> v(n);
  for (float& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = scale * (static_cast<float>(seed >> 8) / static_cast<float>(1 << 23) - 1.0f);
  }
  return v;
}

}  // namespace lwai::testing

#endif  // LWAI_TESTS_KERNEL_TEST_UTIL_H_
