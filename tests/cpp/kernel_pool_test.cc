// MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/cpp/kernel_test_util.h"

namespace lwai::testing {
namespace {

std::vector<float> Iota(int n, float start = 1.0f) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = start + static_cast<float>(i);
  return v;
}

TEST(MaxPoolKernel, TwoByTwoStrideTwo) {
  TestTensor y = RunOne(Case(OpType::MaxPool, {TestTensor::F32({1, 1, 4, 4}, Iota(16))},
                             {IntsAttr("kernel_shape", {2, 2}), IntsAttr("strides", {2, 2})}));
  EXPECT_EQ(y.shape, Shape({1, 1, 2, 2}));
  EXPECT_EQ(y.Floats(), std::vector<float>({6, 8, 14, 16}));
}

TEST(MaxPoolKernel, PaddingNeverWins) {
  TestTensor y = RunOne(Case(OpType::MaxPool, {TestTensor::F32({1, 1, 2, 2}, {-1, -2, -3, -4})},
                             {IntsAttr("kernel_shape", {2, 2}), IntsAttr("pads", {1, 1, 1, 1})}));
  EXPECT_EQ(y.shape, Shape({1, 1, 3, 3}));
  EXPECT_EQ(y.Floats(), std::vector<float>({-1, -1, -2, -1, -1, -2, -3, -3, -4}));
}

TEST(MaxPoolKernel, OneDimensionalCeilModeAndDilation) {
  const TestTensor x = TestTensor::F32({1, 1, 5}, {1, 3, 2, 5, 4});
  const std::vector<Attribute> k2s2 = {IntsAttr("kernel_shape", {2}), IntsAttr("strides", {2})};
  EXPECT_EQ(RunOne(Case(OpType::MaxPool, {x}, k2s2)).Floats(), std::vector<float>({3, 5}));
  std::vector<Attribute> ceil = k2s2;
  ceil.push_back(IntAttr("ceil_mode", 1));
  TestTensor y = RunOne(Case(OpType::MaxPool, {x}, ceil));
  EXPECT_EQ(y.shape, Shape({1, 1, 3}));
  EXPECT_EQ(y.Floats(), std::vector<float>({3, 5, 4}));
  // Dilation 2: windows {0, 2}, {1, 3}, {2, 4}.
  EXPECT_EQ(RunOne(Case(OpType::MaxPool, {x},
                        {IntsAttr("kernel_shape", {2}), IntsAttr("dilations", {2})}))
                .Floats(),
            std::vector<float>({2, 5, 4}));
}

TEST(MaxPoolKernel, AutoPadSameUpperAndLower) {
  const TestTensor x = TestTensor::F32({1, 1, 5}, {1, 3, 2, 5, 4});
  // Total pad 1: SAME_UPPER pads at the end, SAME_LOWER at the start.
  EXPECT_EQ(RunOne(Case(OpType::MaxPool, {x},
                        {IntsAttr("kernel_shape", {2}), StringAttr("auto_pad", "SAME_UPPER")}))
                .Floats(),
            std::vector<float>({3, 3, 5, 5, 4}));
  EXPECT_EQ(RunOne(Case(OpType::MaxPool, {x},
                        {IntsAttr("kernel_shape", {2}), StringAttr("auto_pad", "SAME_LOWER")}))
                .Floats(),
            std::vector<float>({1, 3, 3, 5, 5}));
  EXPECT_EQ(RunOne(Case(OpType::MaxPool, {x},
                        {IntsAttr("kernel_shape", {3}), StringAttr("auto_pad", "VALID")}))
                .Floats(),
            std::vector<float>({3, 5, 5}));
}

TEST(MaxPoolKernel, ThreeDimensionalAndChannels) {
  // Two channels of 2x2x2: the maximum of each is its last element.
  TestTensor y = RunOne(Case(OpType::MaxPool, {TestTensor::F32({1, 2, 2, 2, 2}, Iota(16))},
                             {IntsAttr("kernel_shape", {2, 2, 2})}));
  EXPECT_EQ(y.shape, Shape({1, 2, 1, 1, 1}));
  EXPECT_EQ(y.Floats(), std::vector<float>({8, 16}));
}

TEST(MaxPoolKernel, RejectsBadInputs) {
  const TestTensor x = TestTensor::F32({1, 1, 4, 4}, Iota(16));
  ExpectError(Case(OpType::MaxPool, {x}), StatusCode::kInvalidModel);
  ExpectError(Case(OpType::MaxPool, {x}, {IntsAttr("kernel_shape", {2})}),
              StatusCode::kInvalidModel);
  ExpectError(
      Case(OpType::MaxPool, {TestTensor::F32({4, 4}, Iota(16))}, {IntsAttr("kernel_shape", {2})}),
      StatusCode::kShapeMismatch);
  ExpectError(Case(OpType::MaxPool, {x}, {IntsAttr("kernel_shape", {5, 5})}),
              StatusCode::kShapeMismatch);
  ExpectError(Case(OpType::MaxPool, {x},
                   {IntsAttr("kernel_shape", {2, 2}), StringAttr("auto_pad", "SAME")}),
              StatusCode::kInvalidModel);
  ExpectError(
      Case(OpType::MaxPool, {TestTensor::I64({1, 1, 2}, {1, 2})}, {IntsAttr("kernel_shape", {2})}),
      StatusCode::kUnsupported);
}

TEST(AveragePoolKernel, Unpadded) {
  TestTensor y = RunOne(Case(OpType::AveragePool, {TestTensor::F32({1, 1, 3, 3}, Iota(9))},
                             {IntsAttr("kernel_shape", {2, 2})}));
  EXPECT_EQ(y.shape, Shape({1, 1, 2, 2}));
  EXPECT_EQ(y.Floats(), std::vector<float>({3, 4, 6, 7}));
}

TEST(AveragePoolKernel, CountIncludePad) {
  const TestTensor x = TestTensor::F32({1, 1, 2, 2}, {1, 2, 3, 4});
  std::vector<Attribute> attrs = {IntsAttr("kernel_shape", {2, 2}), IntsAttr("pads", {1, 1, 1, 1})};
  // Padding excluded: each window averages its real elements only.
  EXPECT_EQ(RunOne(Case(OpType::AveragePool, {x}, attrs)).Floats(),
            std::vector<float>({1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4}));
  attrs.push_back(IntAttr("count_include_pad", 1));
  // Padding included: every window divides by 4.
  EXPECT_EQ(RunOne(Case(OpType::AveragePool, {x}, attrs)).Floats(),
            std::vector<float>({0.25f, 0.75f, 0.5f, 1, 2.5f, 1.5f, 0.75f, 1.75f, 1}));
}

TEST(AveragePoolKernel, CeilModeWindowsPastThePadding) {
  // Input 1..6, kernel 3, stride 2, pads 1: windows start at -1, 1, 3, 5. The last one covers
  // element 6, one end-padding position and one position past the padding.
  const TestTensor x = TestTensor::F32({1, 1, 6}, Iota(6));
  std::vector<Attribute> attrs = {IntsAttr("kernel_shape", {3}), IntsAttr("strides", {2}),
                                  IntsAttr("pads", {1, 1}), IntAttr("ceil_mode", 1)};
  TestTensor y = RunOne(Case(OpType::AveragePool, {x}, attrs));
  EXPECT_EQ(y.shape, Shape({1, 1, 4}));
  EXPECT_EQ(y.Floats(), std::vector<float>({1.5f, 3, 5, 6}));
  attrs.push_back(IntAttr("count_include_pad", 1));
  // Divisors 3, 3, 3 and 2: the position past the padding never counts.
  EXPECT_EQ(RunOne(Case(OpType::AveragePool, {x}, attrs)).Floats(),
            std::vector<float>({1, 3, 5, 3}));
  // Without ceil_mode the last window is dropped.
  attrs[3] = IntAttr("ceil_mode", 0);
  EXPECT_EQ(RunOne(Case(OpType::AveragePool, {x}, attrs)).shape, Shape({1, 1, 3}));
}

TEST(AveragePoolKernel, ThreeDimensional) {
  TestTensor y = RunOne(Case(OpType::AveragePool, {TestTensor::F32({1, 1, 2, 2, 2}, Iota(8))},
                             {IntsAttr("kernel_shape", {2, 2, 2})}));
  EXPECT_EQ(y.Floats(), std::vector<float>({4.5f}));
}

TEST(AveragePoolKernel, TwoThreadsMatchOneThread) {
  std::vector<float> x(2 * 3 * 9 * 9);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37) % 101) - 50.0f;
  KernelCase c = Case(OpType::AveragePool, {TestTensor::F32({2, 3, 9, 9}, x)},
                      {IntsAttr("kernel_shape", {3, 3}), IntsAttr("strides", {2, 2}),
                       IntsAttr("pads", {1, 1, 1, 1}), IntAttr("ceil_mode", 1)});
  const TestTensor one = RunOne(c);
  c.threads = 2;
  EXPECT_EQ(one.shape, Shape({2, 3, 5, 5}));
  EXPECT_EQ(one.Floats(), RunOne(c).Floats());
}

TEST(AveragePoolKernel, RejectsBadInputs) {
  const TestTensor x = TestTensor::F32({1, 1, 3, 3}, Iota(9));
  ExpectError(
      Case(OpType::AveragePool, {x}, {IntsAttr("kernel_shape", {2, 2}), IntsAttr("pads", {1, 1})}),
      StatusCode::kInvalidModel);
  ExpectError(Case(OpType::AveragePool, {x},
                   {IntsAttr("kernel_shape", {2, 2}), IntsAttr("strides", {0, 1})}),
              StatusCode::kInvalidModel);
  ExpectError(Case(OpType::AveragePool, {TestTensor::I32({1, 1, 2}, {1, 2})},
                   {IntsAttr("kernel_shape", {2})}),
              StatusCode::kUnsupported);
}

TEST(GlobalPoolKernels, ReducePerChannel) {
  const TestTensor x = TestTensor::F32({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, -8});
  TestTensor avg = RunOne(Case(OpType::GlobalAveragePool, {x}));
  EXPECT_EQ(avg.shape, Shape({1, 2, 1, 1}));
  EXPECT_EQ(avg.Floats(), std::vector<float>({2.5f, 2.5f}));
  TestTensor max = RunOne(Case(OpType::GlobalMaxPool, {x}));
  EXPECT_EQ(max.shape, Shape({1, 2, 1, 1}));
  EXPECT_EQ(max.Floats(), std::vector<float>({4, 7}));
  // 1-D spatial, batch 2.
  TestTensor y =
      RunOne(Case(OpType::GlobalMaxPool, {TestTensor::F32({2, 1, 3}, {1, 5, 2, -1, -3, -2})}));
  EXPECT_EQ(y.shape, Shape({2, 1, 1}));
  EXPECT_EQ(y.Floats(), std::vector<float>({5, -1}));
}

TEST(GlobalPoolKernels, RejectBadInputs) {
  ExpectError(Case(OpType::GlobalAveragePool, {TestTensor::F32({2, 2}, {1, 2, 3, 4})}),
              StatusCode::kShapeMismatch);
  ExpectError(Case(OpType::GlobalMaxPool, {TestTensor::I64({1, 1, 1}, {1})}),
              StatusCode::kUnsupported);
}

}  // namespace
}  // namespace lwai::testing
