// Elementwise kernels: unary float ops, Clip, LeakyRelu, Neg/Abs, Sub/Mul/Div.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tests/cpp/kernel_test_util.h"

namespace lwai::testing {
namespace {

TEST(SigmoidKernel, ValuesAndStabilityForLargeInputs) {
  TestTensor y =
      RunOne(Case(OpType::Sigmoid, {TestTensor::F32({7}, {0, 2, -2, 100, -100, 1e4f, -1e4f})}));
  EXPECT_EQ(y.shape, Shape({7}));
  const double s2 = 1.0 / (1.0 + std::exp(-2.0));
  ExpectNear(y.Floats(), {0.5, s2, 1.0 - s2, 1.0, 0.0, 1.0, 0.0});
  for (float v : y.Floats()) EXPECT_FALSE(std::isnan(v));
}

TEST(SigmoidKernel, RejectsIntegerInput) {
  ExpectError(Case(OpType::Sigmoid, {TestTensor::I32({2}, {1, 2})}), StatusCode::kUnsupported);
}

TEST(SigmoidKernel, TwoThreadsMatchOneThread) {
  std::vector<float> x(100003);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 97) * 0.25f - 12.0f;
  KernelCase c = Case(OpType::Sigmoid, {TestTensor::F32({static_cast<int64_t>(x.size())}, x)});
  TestTensor one = RunOne(c);
  c.threads = 2;
  TestTensor two = RunOne(c);
  EXPECT_EQ(one.Floats(), two.Floats());
}

TEST(TanhExpSqrtKernels, Values) {
  const double t1 = std::tanh(1.0);
  ExpectNear(RunOne(Case(OpType::Tanh, {TestTensor::F32({4}, {0, 1, -1, 20})})).Floats(),
             {0, t1, -t1, 1});
  ExpectNear(RunOne(Case(OpType::Exp, {TestTensor::F32({3}, {0, 1, -1})})).Floats(),
             {1, std::exp(1.0), std::exp(-1.0)}, 1e-6);
  TestTensor s = RunOne(Case(OpType::Sqrt, {TestTensor::F32({4}, {0, 4, 2.25f, -1})}));
  EXPECT_EQ(s.Floats()[0], 0.0f);
  EXPECT_EQ(s.Floats()[1], 2.0f);
  EXPECT_EQ(s.Floats()[2], 1.5f);
  EXPECT_TRUE(std::isnan(s.Floats()[3]));
  ExpectError(Case(OpType::Exp, {TestTensor::I64({1}, {1})}), StatusCode::kUnsupported);
  ExpectError(Case(OpType::Tanh, {TestTensor::F32({1}, {1}), TestTensor::F32({1}, {1})}),
              StatusCode::kInvalidModel);
}

// A scalar float exponent takes a fast path per common exponent: it must answer like the
// double-precision pow rounded to float, special values (signed zeros, infinities, NaN) included.
TEST(PowKernel, ScalarExponentsMatchThePowDefinition) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {0.0f,  -0.0f, 1.0f, -1.0f,         2.5f, -3.25f, 1e-20f,
                                7e15f, inf,   -inf, std::nanf(""), 0.3f, -0.7f,  123.0f};
  for (float e : {2.0f, 3.0f, 1.0f, -1.0f, 0.5f, 1.7f, -2.5f}) {
    for (bool scalar_rank0 : {true, false}) {
      const TestTensor exponent =
          scalar_rank0 ? TestTensor::F32(Shape{}, {e}) : TestTensor::F32({1}, {e});
      TestTensor y = RunOne(
          Case(OpType::Pow, {TestTensor::F32({static_cast<int64_t>(x.size())}, x), exponent}));
      ASSERT_EQ(y.shape, Shape({static_cast<int64_t>(x.size())}));
      const std::vector<float> got = y.Floats();
      for (size_t i = 0; i < x.size(); ++i) {
        const float want = static_cast<float>(std::pow(static_cast<double>(x[i]), e));
        if (std::isnan(want)) {
          EXPECT_TRUE(std::isnan(got[i])) << x[i] << "^" << e;
        } else if (want == 0.0f || std::isinf(want)) {
          EXPECT_EQ(got[i], want) << x[i] << "^" << e;
          EXPECT_EQ(std::signbit(got[i]), std::signbit(want)) << x[i] << "^" << e;
        } else {
          EXPECT_NEAR(got[i], want, 2e-7 * std::fabs(want)) << x[i] << "^" << e;
        }
      }
    }
  }
  // A [1] exponent broadcasts a scalar base to [1].
  TestTensor y =
      RunOne(Case(OpType::Pow, {TestTensor::F32(Shape{}, {3.0f}), TestTensor::F32({1}, {2.0f})}));
  EXPECT_EQ(y.shape, Shape({1}));
  EXPECT_EQ(y.Floats(), std::vector<float>({9.0f}));
}

TEST(LeakyReluKernel, DefaultAndExplicitAlpha) {
  ExpectNear(RunOne(Case(OpType::LeakyRelu, {TestTensor::F32({3}, {-2, 0, 3})})).Floats(),
             {-0.02, 0, 3});
  ExpectNear(
      RunOne(Case(OpType::LeakyRelu, {TestTensor::F32({2}, {-2, 3})}, {FloatAttr("alpha", 0.5f)}))
          .Floats(),
      {-1, 3});
}

TEST(ClipKernel, OptionalBounds) {
  const TestTensor x = TestTensor::F32({5}, {-3, -1, 0, 2, 5});
  const TestTensor lo = TestTensor::F32({}, {-1.5f});
  const TestTensor hi = TestTensor::F32({}, {1});
  EXPECT_EQ(RunOne(Case(OpType::Clip, {x, lo, hi})).Floats(),
            std::vector<float>({-1.5f, -1, 0, 1, 1}));
  EXPECT_EQ(RunOne(Case(OpType::Clip, {x, lo})).Floats(), std::vector<float>({-1.5f, -1, 0, 2, 5}));
  EXPECT_EQ(RunOne(Case(OpType::Clip, {x, Omitted(), hi})).Floats(),
            std::vector<float>({-3, -1, 0, 1, 1}));
  EXPECT_EQ(RunOne(Case(OpType::Clip, {x})).Floats(), std::vector<float>({-3, -1, 0, 2, 5}));
  // min > max: everything becomes max.
  EXPECT_EQ(RunOne(Case(OpType::Clip, {x, TestTensor::F32({}, {2}), hi})).Floats(),
            std::vector<float>(5, 1.0f));
}

TEST(ClipKernel, BoundsKnownOnlyAtEval) {
  KernelCase c = Case(OpType::Clip, {TestTensor::F32({3}, {-3, 0, 3}), TestTensor::F32({}, {-1}),
                                     TestTensor::F32({}, {2})});
  c.inputs_known_at_prepare = false;
  EXPECT_EQ(RunOne(c).Floats(), std::vector<float>({-1, 0, 2}));
}

TEST(ClipKernel, RejectsBadBounds) {
  const TestTensor x = TestTensor::F32({2}, {1, 2});
  ExpectError(Case(OpType::Clip, {x, TestTensor::F32({2}, {0, 1})}), StatusCode::kShapeMismatch);
  ExpectError(Case(OpType::Clip, {x, TestTensor::I32({}, {0})}), StatusCode::kUnsupported);
}

TEST(NegAbsKernels, FloatAndIntegers) {
  EXPECT_EQ(RunOne(Case(OpType::Neg, {TestTensor::F32({3}, {1.5f, -2, 0})})).Floats(),
            std::vector<float>({-1.5f, 2, -0.0f}));
  EXPECT_EQ(RunOne(Case(OpType::Abs, {TestTensor::F32({3}, {1.5f, -2, 0})})).Floats(),
            std::vector<float>({1.5f, 2, 0}));
  const int32_t min32 = std::numeric_limits<int32_t>::min();
  TestTensor neg32 = RunOne(Case(OpType::Neg, {TestTensor::I32({3}, {5, -7, min32})}));
  EXPECT_EQ(neg32.dtype, DataType::kInt32);
  EXPECT_EQ(neg32.Values<int32_t>(), std::vector<int32_t>({-5, 7, min32}));  // MIN wraps
  EXPECT_EQ(RunOne(Case(OpType::Abs, {TestTensor::I32({3}, {5, -7, 0})})).Values<int32_t>(),
            std::vector<int32_t>({5, 7, 0}));
  const int64_t big = int64_t{1} << 40;
  EXPECT_EQ(RunOne(Case(OpType::Neg, {TestTensor::I64({2}, {big, -3})})).Values<int64_t>(),
            std::vector<int64_t>({-big, 3}));
  EXPECT_EQ(RunOne(Case(OpType::Abs, {TestTensor::I64({2}, {-big, 3})})).Values<int64_t>(),
            std::vector<int64_t>({big, 3}));
  ExpectError(Case(OpType::Neg, {TestTensor::Make<uint8_t>(DataType::kBool, {1}, {1})}),
              StatusCode::kUnsupported);
  EXPECT_EQ(RunOne(Case(OpType::Abs, {TestTensor::Make<uint8_t>(DataType::kUInt8, {2}, {200, 3})}))
                .Values<uint8_t>(),
            std::vector<uint8_t>({200, 3}));
  ExpectError(Case(OpType::Abs, {TestTensor::Make<uint8_t>(DataType::kBool, {1}, {1})}),
              StatusCode::kUnsupported);
}

TEST(SubKernel, BroadcastsRowVector) {
  TestTensor y = RunOne(Case(OpType::Sub, {TestTensor::F32({2, 3}, {10, 20, 30, 40, 50, 60}),
                                           TestTensor::F32({3}, {1, 2, 3})}));
  EXPECT_EQ(y.shape, Shape({2, 3}));
  EXPECT_EQ(y.Floats(), std::vector<float>({9, 18, 27, 39, 48, 57}));
  // Scalar on the left.
  EXPECT_EQ(RunOne(Case(OpType::Sub, {TestTensor::I64({}, {1}), TestTensor::I64({2}, {5, -5})}))
                .Values<int64_t>(),
            std::vector<int64_t>({-4, 6}));
}

TEST(MulKernel, OuterProductBroadcast) {
  TestTensor y = RunOne(
      Case(OpType::Mul, {TestTensor::F32({2, 1}, {2, 3}), TestTensor::F32({1, 3}, {1, 10, 100})}));
  EXPECT_EQ(y.shape, Shape({2, 3}));
  EXPECT_EQ(y.Floats(), std::vector<float>({2, 20, 200, 3, 30, 300}));
  EXPECT_EQ(RunOne(Case(OpType::Mul, {TestTensor::I32({2}, {3, -4}), TestTensor::I32({1}, {5})}))
                .Values<int32_t>(),
            std::vector<int32_t>({15, -20}));
}

TEST(DivKernel, FloatAndIntegerSemantics) {
  TestTensor f = RunOne(
      Case(OpType::Div, {TestTensor::F32({3}, {1, -3, 1}), TestTensor::F32({3}, {4, 2, 0})}));
  EXPECT_EQ(f.Floats()[0], 0.25f);
  EXPECT_EQ(f.Floats()[1], -1.5f);
  EXPECT_TRUE(std::isinf(f.Floats()[2]));
  const int32_t min32 = std::numeric_limits<int32_t>::min();
  // Truncation toward zero; x / 0 is defined as 0; MIN / -1 wraps to MIN.
  TestTensor i = RunOne(Case(OpType::Div, {TestTensor::I32({5}, {7, -7, 7, 5, min32}),
                                           TestTensor::I32({5}, {2, 2, -2, 0, -1})}));
  EXPECT_EQ(i.Values<int32_t>(), std::vector<int32_t>({3, -3, -3, 0, min32}));
  TestTensor l = RunOne(
      Case(OpType::Div, {TestTensor::I64({2, 2}, {9, 8, -9, 0}), TestTensor::I64({2, 1}, {0, 4})}));
  EXPECT_EQ(l.Values<int64_t>(), std::vector<int64_t>({0, 0, -2, 0}));
}

TEST(BinaryKernels, RejectBadInputs) {
  ExpectError(Case(OpType::Sub, {TestTensor::F32({2}, {1, 2}), TestTensor::I32({2}, {1, 2})}),
              StatusCode::kInvalidModel);
  ExpectError(Case(OpType::Mul,
                   {TestTensor::F32({2, 3}, std::vector<float>(6)), TestTensor::F32({2}, {1, 2})}),
              StatusCode::kShapeMismatch);
  EXPECT_EQ(RunOne(Case(OpType::Div, {TestTensor::Make<uint8_t>(DataType::kUInt8, {1}, {7}),
                                      TestTensor::Make<uint8_t>(DataType::kUInt8, {1}, {2})}))
                .Values<uint8_t>(),
            std::vector<uint8_t>({3}));
  ExpectError(Case(OpType::Div, {TestTensor::Make<uint8_t>(DataType::kBool, {1}, {1}),
                                 TestTensor::Make<uint8_t>(DataType::kBool, {1}, {1})}),
              StatusCode::kUnsupported);
  ExpectError(Case(OpType::Div, {TestTensor::F32({1}, {1})}), StatusCode::kInvalidModel);
}

}  // namespace
}  // namespace lwai::testing
