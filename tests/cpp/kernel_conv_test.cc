#include <gtest/gtest.h>

#include "tests/cpp/kernel_test_util.h"

namespace lwai::testing {
namespace {

TEST(ConvKernel, SingleChannel3x3WithPaddingAndBias) {
  KernelCase c;
  c.op = OpType::Conv;
  c.attributes = {IntsAttr("pads", {1, 1, 1, 1})};
  // 3x3 input 1..9, all-ones 3x3 kernel: each output is the sum of the 3x3 neighbourhood.
  c.inputs = {TestTensor::F32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}),
              TestTensor::F32({1, 1, 3, 3}, std::vector<float>(9, 1.0f)),
              TestTensor::F32({1}, {0.5f})};
  auto result = RunKernel(c);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const TestTensor& y = (*result)[0];
  EXPECT_EQ(y.shape, Shape({1, 1, 3, 3}));
  const std::vector<float> expected = {12, 21, 16, 27, 45, 33, 24, 39, 28};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_FLOAT_EQ(y.Floats()[i], expected[i] + 0.5f);
}

TEST(ConvKernel, StrideDilationAndFusedRelu) {
  KernelCase c;
  c.op = OpType::Conv;
  c.attributes = {IntsAttr("strides", {2, 2}), IntsAttr("dilations", {2, 2}),
                  StringAttr("activation", "Relu")};
  std::vector<float> x(25);
  for (int i = 0; i < 25; ++i) x[i] = static_cast<float>(i);
  // 2x2 dilated kernel [1, -1; 0, 0] reads x[y][x] - x[y][x+2]: always -2 before Relu.
  c.inputs = {TestTensor::F32({1, 1, 5, 5}, x), TestTensor::F32({1, 1, 2, 2}, {1, -1, 0, 0})};
  auto result = RunKernel(c);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ((*result)[0].shape, Shape({1, 1, 2, 2}));
  for (float v : (*result)[0].Floats()) EXPECT_EQ(v, 0.0f);
}

TEST(ConvKernel, DepthwiseMatchesPerChannelScaling) {
  KernelCase c;
  c.op = OpType::Conv;
  c.attributes = {IntAttr("group", 2)};
  c.inputs = {TestTensor::F32({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}),
              TestTensor::F32({2, 1, 1, 1}, {2, -1})};
  auto result = RunKernel(c);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ((*result)[0].Floats(), std::vector<float>({2, 4, 6, 8, -5, -6, -7, -8}));
}

TEST(ConvKernel, AutoPadSameUpperKeepsSpatialSize) {
  KernelCase c;
  c.op = OpType::Conv;
  c.attributes = {StringAttr("auto_pad", "SAME_UPPER"), IntsAttr("strides", {2, 2})};
  c.inputs = {TestTensor::F32({1, 1, 5, 5}, std::vector<float>(25, 1.0f)),
              TestTensor::F32({1, 1, 3, 3}, std::vector<float>(9, 1.0f))};
  auto result = RunKernel(c);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ((*result)[0].shape, Shape({1, 1, 3, 3}));
  // Total pad 2 -> 1 each side: corners see 4 ones, edges 6, centre 9.
  EXPECT_EQ((*result)[0].Floats(), std::vector<float>({4, 6, 4, 6, 9, 6, 4, 6, 4}));
}

TEST(ConvKernel, RejectsChannelMismatchNamingTheNode) {
  KernelCase c;
  c.op = OpType::Conv;
  c.inputs = {TestTensor::F32({1, 3, 4, 4}, std::vector<float>(48)),
              TestTensor::F32({2, 2, 3, 3}, std::vector<float>(36))};
  auto result = RunKernel(c);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kShapeMismatch);
  EXPECT_NE(result.status().message().find("test_node"), std::string::npos);
}

}  // namespace
}  // namespace lwai::testing
