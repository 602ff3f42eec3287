// BatchNormalization, Softmax, Dropout, Cast.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/cast_common.h"
#include "tests/cpp/kernel_test_util.h"

namespace lwai::testing {
namespace {

TestTensor Bool(Shape shape, const std::vector<uint8_t>& v) {
  return TestTensor::Make(DataType::kBool, shape, v);
}

TestTensor Half(Shape shape, const std::vector<uint16_t>& v) {
  return TestTensor::Make(DataType::kFloat16, shape, v);
}

KernelCase CastTo(DataType to, TestTensor x) {
  return Case(OpType::Cast, {std::move(x)}, {IntAttr("to", static_cast<int64_t>(to))});
}

// x [1, 2, 1, 2]; channel 0: (x - 1) / 2; channel 1: (x - 3) / 0.5 * 2 + 1.
std::vector<TestTensor> BatchNormInputs() {
  return {TestTensor::F32({1, 2, 1, 2}, {1, 2, 3, 4}), TestTensor::F32({2}, {1, 2}),
          TestTensor::F32({2}, {0, 1}), TestTensor::F32({2}, {1, 3}),
          TestTensor::F32({2}, {4, 0.25f})};
}

TEST(BatchNormalizationKernel, KnownAndUnknownStatistics) {
  KernelCase c = Case(OpType::BatchNormalization, BatchNormInputs(), {FloatAttr("epsilon", 0)});
  TestTensor y = RunOne(c);
  EXPECT_EQ(y.shape, Shape({1, 2, 1, 2}));
  EXPECT_EQ(y.Floats(), std::vector<float>({0, 0.5f, 1, 5}));
  c.inputs_known_at_prepare = false;
  EXPECT_EQ(RunOne(c).Floats(), std::vector<float>({0, 0.5f, 1, 5}));
}

TEST(BatchNormalizationKernel, DefaultEpsilonAndRankTwo) {
  KernelCase c = Case(
      OpType::BatchNormalization,
      {TestTensor::F32({2, 2}, {1, 2, 3, 4}), TestTensor::F32({2}, {1, 1}),
       TestTensor::F32({2}, {0, 0}), TestTensor::F32({2}, {0, 0}), TestTensor::F32({2}, {1, 1})});
  const double inv = 1.0 / std::sqrt(1.0 + 1e-5);
  ExpectNear(RunOne(c).Floats(), {inv, 2 * inv, 3 * inv, 4 * inv});
}

TEST(BatchNormalizationKernel, RejectsBadInputs) {
  ExpectError(Case(OpType::BatchNormalization, BatchNormInputs(), {IntAttr("training_mode", 1)}),
              StatusCode::kUnsupported);
  std::vector<TestTensor> inputs = BatchNormInputs();
  inputs[1] = TestTensor::F32({3}, {1, 1, 1});
  ExpectError(Case(OpType::BatchNormalization, inputs), StatusCode::kShapeMismatch);
  inputs = BatchNormInputs();
  inputs[0] = TestTensor::F32({2}, {1, 2});
  ExpectError(Case(OpType::BatchNormalization, inputs), StatusCode::kShapeMismatch);
  inputs = BatchNormInputs();
  inputs.pop_back();
  ExpectError(Case(OpType::BatchNormalization, inputs), StatusCode::kInvalidModel);
  KernelCase training_outputs = Case(OpType::BatchNormalization, BatchNormInputs());
  training_outputs.num_outputs = 3;
  ExpectError(training_outputs, StatusCode::kUnsupported);
}

TEST(SoftmaxKernel, LastAxis) {
  TestTensor y =
      RunOne(Case(OpType::Softmax, {TestTensor::F32({2, 3}, {1, 2, 3, 1000, 1000, 1000})}));
  const double sum = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const double third = 1.0 / 3.0;
  ExpectNear(y.Floats(),
             {std::exp(1.0) / sum, std::exp(2.0) / sum, std::exp(3.0) / sum, third, third, third});
}

TEST(SoftmaxKernel, OuterAxis) {
  // Columns (1, 3) and (2, 4): softmax(a, a + 2) = (1, e^2) / (1 + e^2).
  TestTensor y =
      RunOne(Case(OpType::Softmax, {TestTensor::F32({2, 2}, {1, 2, 3, 4})}, {IntAttr("axis", 0)}));
  const double lo = 1.0 / (1.0 + std::exp(2.0));
  ExpectNear(y.Floats(), {lo, lo, 1.0 - lo, 1.0 - lo});
}

TEST(SoftmaxKernel, MiddleAxisTwoThreads) {
  std::vector<float> x(4 * 50 * 30);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 113) * 0.1f;
  KernelCase c = Case(OpType::Softmax, {TestTensor::F32({4, 50, 30}, x)}, {IntAttr("axis", 1)});
  const TestTensor one = RunOne(c);
  c.threads = 2;
  EXPECT_EQ(one.Floats(), RunOne(c).Floats());
  // Each (batch, column) line sums to 1.
  for (int b = 0; b < 4; ++b) {
    for (int col = 0; col < 30; ++col) {
      double sum = 0;
      for (int i = 0; i < 50; ++i) sum += one.Floats()[(b * 50 + i) * 30 + col];
      EXPECT_NEAR(sum, 1.0, 1e-5);
    }
  }
}

TEST(SoftmaxKernel, RejectsBadInputs) {
  ExpectError(Case(OpType::Softmax, {TestTensor::F32({2, 2}, {1, 2, 3, 4})}, {IntAttr("axis", 2)}),
              StatusCode::kInvalidModel);
  ExpectError(Case(OpType::Softmax, {TestTensor::I32({2}, {1, 2})}), StatusCode::kUnsupported);
}

TEST(DropoutKernel, InferenceCopiesAndMaskIsAllTrue) {
  KernelCase c = Case(OpType::Dropout, {TestTensor::F32({2, 2}, {1, -2, 3, -4}),
                                        TestTensor::F32({}, {0.5f}), Bool({}, {0})});
  c.num_outputs = 2;
  std::vector<TestTensor> out = RunAll(c);
  EXPECT_EQ(out[0].Floats(), std::vector<float>({1, -2, 3, -4}));
  EXPECT_EQ(out[1].dtype, DataType::kBool);
  EXPECT_EQ(out[1].shape, Shape({2, 2}));
  EXPECT_EQ(out[1].Values<uint8_t>(), std::vector<uint8_t>(4, 1));
  EXPECT_EQ(RunOne(Case(OpType::Dropout, {TestTensor::F32({1}, {7})})).Floats(),
            std::vector<float>({7}));
}

TEST(DropoutKernel, TrainingModeDropsOrScales) {
  // Default ratio 0.5: every element is dropped (0) or scaled by 1 / (1 - 0.5).
  const TestTensor y =
      RunOne(Case(OpType::Dropout,
                  {TestTensor::F32({64}, std::vector<float>(64, 1.0f)), Omitted(), Bool({}, {1})}));
  int zeros = 0;
  for (float v : y.Floats()) {
    EXPECT_TRUE(v == 0.0f || v == 2.0f) << v;
    zeros += v == 0.0f;
  }
  EXPECT_GT(zeros, 0);
  EXPECT_LT(zeros, 64);
}

TEST(CastKernel, FloatToIntegersTruncatesAndSaturates) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  TestTensor y =
      RunOne(CastTo(DataType::kInt32, TestTensor::F32({5}, {1.7f, -1.7f, 2.5f, -0.5f, 3e9f})));
  EXPECT_EQ(y.dtype, DataType::kInt32);
  EXPECT_EQ(y.Values<int32_t>(),
            std::vector<int32_t>({1, -1, 2, 0, std::numeric_limits<int32_t>::max()}));
  const TestTensor d =
      TestTensor::Make<double>(DataType::kFloat64, {4}, {300.0, -300.0, 1e30, nan});
  EXPECT_EQ(RunOne(CastTo(DataType::kInt8, d)).Values<int8_t>(),
            std::vector<int8_t>({127, -128, 127, 0}));
  EXPECT_EQ(RunOne(CastTo(DataType::kUInt8, TestTensor::F32({2}, {-1, 255.9f}))).Values<uint8_t>(),
            std::vector<uint8_t>({0, 255}));
  EXPECT_EQ(RunOne(CastTo(DataType::kInt64, TestTensor::F32({2}, {-1e20f, 123456.75f})))
                .Values<int64_t>(),
            std::vector<int64_t>({std::numeric_limits<int64_t>::min(), 123456}));
}

TEST(CastKernel, IntegersBoolsAndDoubles) {
  // Integer narrowing wraps: 300 = 256 + 44.
  EXPECT_EQ(RunOne(CastTo(DataType::kInt8, TestTensor::I32({2}, {300, -1}))).Values<int8_t>(),
            std::vector<int8_t>({44, -1}));
  EXPECT_EQ(RunOne(CastTo(DataType::kInt16, TestTensor::I64({1}, {-5}))).Values<int16_t>(),
            std::vector<int16_t>({-5}));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(RunOne(CastTo(DataType::kBool, TestTensor::F32({4}, {0, -0.0f, 0.5f, nan})))
                .Values<uint8_t>(),
            std::vector<uint8_t>({0, 0, 1, 1}));
  EXPECT_EQ(RunOne(CastTo(DataType::kBool, TestTensor::I64({3}, {0, 7, -1}))).Values<uint8_t>(),
            std::vector<uint8_t>({0, 1, 1}));
  EXPECT_EQ(RunOne(CastTo(DataType::kFloat32, Bool({2}, {1, 0}))).Floats(),
            std::vector<float>({1, 0}));
  EXPECT_EQ(RunOne(CastTo(DataType::kInt32, Bool({2}, {1, 0}))).Values<int32_t>(),
            std::vector<int32_t>({1, 0}));
  const int64_t big = (int64_t{1} << 53) + 1;  // not representable as a double
  EXPECT_EQ(RunOne(CastTo(DataType::kInt64, TestTensor::I64({1}, {big}))).Values<int64_t>(),
            std::vector<int64_t>({big}));
  EXPECT_EQ(
      RunOne(CastTo(DataType::kFloat64, TestTensor::I32({2}, {-3, 16777217}))).Values<double>(),
      std::vector<double>({-3.0, 16777217.0}));
  EXPECT_EQ(
      RunOne(CastTo(DataType::kFloat32, TestTensor::Make<double>(DataType::kFloat64, {1}, {0.1})))
          .Floats(),
      std::vector<float>({0.1f}));
}

TEST(CastKernel, Float16RoundsToNearestEven) {
  const float eps = std::ldexp(1.0f, -11);   // half of a half ulp at 1.0
  const float tiny = std::ldexp(1.0f, -25);  // half of the smallest subnormal half
  TestTensor y =
      RunOne(CastTo(DataType::kFloat16,
                    TestTensor::F32({13}, {1.0f, -2.0f, 65504.0f, 65519.0f, 65520.0f, 1.0f + eps,
                                           1.0f + 3 * eps, 1.0f + eps * 1.5f, std::ldexp(1.0f, -24),
                                           tiny, 3 * tiny, 0.1f, -0.0f})));
  EXPECT_EQ(y.dtype, DataType::kFloat16);
  EXPECT_EQ(y.Values<uint16_t>(),
            std::vector<uint16_t>({0x3C00, 0xC000, 0x7BFF, 0x7BFF, 0x7C00, 0x3C00, 0x3C02, 0x3C01,
                                   0x0001, 0x0000, 0x0002, 0x2E66, 0x8000}));
  TestTensor inf_nan =
      RunOne(CastTo(DataType::kFloat16, TestTensor::F32({3}, {-1e10f, INFINITY, NAN})));
  const std::vector<uint16_t> bits = inf_nan.Values<uint16_t>();
  EXPECT_EQ(bits[0], 0xFC00);
  EXPECT_EQ(bits[1], 0x7C00);
  EXPECT_EQ(bits[2] & 0x7C00, 0x7C00);
  EXPECT_NE(bits[2] & 0x03FF, 0);
}

TEST(CastKernel, Float16ToOtherTypes) {
  // 0x3555 = (1 + 341/1024) / 4; 0x2E66 = 1638 / 16384 (0.1 rounded); 0x0001 = 2^-24;
  // 0xC100 = -2.5; 0x7C00 = inf.
  const TestTensor h = Half({5}, {0x3555, 0x2E66, 0x0001, 0xC100, 0x7C00});
  TestTensor f = RunOne(CastTo(DataType::kFloat32, h));
  EXPECT_EQ(f.Floats(), std::vector<float>({1365.0f / 4096.0f, 1638.0f / 16384.0f,
                                            std::ldexp(1.0f, -24), -2.5f, INFINITY}));
  EXPECT_EQ(RunOne(CastTo(DataType::kInt64, h)).Values<int64_t>(),
            std::vector<int64_t>({0, 0, 0, -2, std::numeric_limits<int64_t>::max()}));
  EXPECT_EQ(RunOne(CastTo(DataType::kBool, Half({3}, {0x0000, 0x8000, 0x0001}))).Values<uint8_t>(),
            std::vector<uint8_t>({0, 0, 1}));
  // float -> float16 -> float round trip keeps exactly representable values.
  TestTensor back = RunOne(
      CastTo(DataType::kFloat32,
             RunOne(CastTo(DataType::kFloat16, TestTensor::F32({3}, {0.5f, -1024.0f, 0.1f})))));
  EXPECT_EQ(back.Floats(), std::vector<float>({0.5f, -1024.0f, 1638.0f / 16384.0f}));
  // Integers to float16.
  EXPECT_EQ(RunOne(CastTo(DataType::kFloat16, TestTensor::I32({3}, {2049, 70000, -1})))
                .Values<uint16_t>(),
            std::vector<uint16_t>({0x6800, 0x7C00, 0xBC00}));
}

// The inline float conversions (the vectorized Cast path) against the exact double encoder and
// the definition of binary16.
TEST(CastKernel, InlineHalfConversionsMatchTheExactOnes) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const int exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
    double magnitude =
        exponent == 0 ? std::ldexp(mantissa, -24) : std::ldexp(mantissa + 1024.0, exponent - 25);
    if (exponent == 31) magnitude = mantissa == 0 ? INFINITY : NAN;
    const double expected = (h & 0x8000) ? -magnitude : magnitude;
    const float got = HalfToFloat(static_cast<uint16_t>(h));
    if (std::isnan(expected)) {
      ASSERT_TRUE(std::isnan(got)) << std::hex << h;
    } else {
      ASSERT_EQ(got, static_cast<float>(expected)) << std::hex << h;
      ASSERT_EQ(std::signbit(got), std::signbit(expected)) << std::hex << h;
    }
  }
  // Every sign, exponent and top 10 mantissa bits, with low 13 bits (those a normal half drops)
  // at and around a tie: 2^19 x 8 values; the ties of subnormal halves lie in the high part.
  const uint32_t kLowBits[] = {0x0000, 0x0001, 0x0FFF, 0x1000, 0x1001, 0x1FFF, 0x0800, 0x17FF};
  for (uint32_t high = 0; high < (1u << 19); ++high) {
    for (uint32_t low : kLowBits) {
      const uint32_t bits = (high << 13) | low;
      float value;
      std::memcpy(&value, &bits, sizeof(value));
      const uint16_t expected = DoubleToHalf(static_cast<double>(value));
      ASSERT_EQ(FloatToHalf(value), expected) << std::hex << bits;
    }
  }
}

TEST(CastKernel, RejectsUnsupportedTypes) {
  const TestTensor x = TestTensor::F32({1}, {1});
  ExpectError(CastTo(DataType::kString, x), StatusCode::kUnsupported);
  ExpectError(Case(OpType::Cast, {x}, {IntAttr("to", 99)}), StatusCode::kUnsupported);
  ExpectError(Case(OpType::Cast, {x}), StatusCode::kInvalidModel);
}

// DFT of every length, power of two or not (Bluestein), against the O(n^2) definition in double.
TEST(DftKernel, MatchesTheDefinitionForEveryLength) {
  for (int64_t n : {1, 2, 3, 5, 7, 8, 12, 100, 127, 400, 1000}) {
    for (int inverse = 0; inverse <= 1; ++inverse) {
      std::vector<float> x(2 * n);
      for (int64_t j = 0; j < 2 * n; ++j) x[j] = std::sin(0.37f * j) + 0.1f * (j % 7);
      KernelCase c =
          Case(OpType::DFT, {TestTensor::F32({1, n, 2}, x)}, {IntAttr("inverse", inverse)});
      const std::vector<float> y = RunOne(c).Floats();
      ASSERT_EQ(y.size(), static_cast<size_t>(2 * n));
      double max_error = 0, max_value = 0;
      const double sign = inverse ? 1.0 : -1.0, scale = inverse ? 1.0 / n : 1.0;
      for (int64_t k = 0; k < n; ++k) {
        double re = 0, im = 0;
        for (int64_t j = 0; j < n; ++j) {
          const double angle = sign * 2 * M_PI * static_cast<double>((j * k) % n) / n;
          re += x[2 * j] * std::cos(angle) - x[2 * j + 1] * std::sin(angle);
          im += x[2 * j] * std::sin(angle) + x[2 * j + 1] * std::cos(angle);
        }
        max_error = std::max(
            {max_error, std::abs(re * scale - y[2 * k]), std::abs(im * scale - y[2 * k + 1])});
        max_value = std::max({max_value, std::abs(re * scale), std::abs(im * scale)});
      }
      EXPECT_LE(max_error, 1e-6 * std::max(1.0, max_value)) << "n " << n << " inverse " << inverse;
    }
  }
}

// A huge dft_length is an error at prepare, not hours of work or an overflowing size.
TEST(DftKernel, RejectsAnAbsurdLength) {
  KernelCase c = Case(OpType::DFT, {TestTensor::F32({1, 4, 1}, {1, 2, 3, 4}),
                                    TestTensor::I64({}, {int64_t{1} << 50})});
  EXPECT_FALSE(RunKernel(c).ok());
}

}  // namespace
}  // namespace lwai::testing
