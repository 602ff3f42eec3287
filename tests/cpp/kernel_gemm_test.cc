// Gemm and MatMul.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "runtime/thread_pool.h"
#include "tests/cpp/kernel_test_util.h"

namespace lwai::testing {
namespace {

// Deterministic values in [-1, 1).
std::vector<float> Pseudorandom(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (float& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>(seed >> 8) / static_cast<float>(1 << 23) - 1.0f;
  }
  return v;
}

// A = [[1, 2, 3], [4, 5, 6]], B = [[7, 8], [9, 10], [11, 12]]: A * B = [[58, 64], [139, 154]].
TestTensor MatA() { return TestTensor::F32({2, 3}, {1, 2, 3, 4, 5, 6}); }
TestTensor MatB() { return TestTensor::F32({3, 2}, {7, 8, 9, 10, 11, 12}); }
std::vector<float> ProductAB() { return {58, 64, 139, 154}; }

TEST(GemmKernel, PlainProduct) {
  TestTensor y = RunOne(Case(OpType::Gemm, {MatA(), MatB()}));
  EXPECT_EQ(y.shape, Shape({2, 2}));
  EXPECT_EQ(y.Floats(), ProductAB());
}

TEST(GemmKernel, TransposedOperands) {
  const TestTensor at = TestTensor::F32({3, 2}, {1, 4, 2, 5, 3, 6});
  const TestTensor bt = TestTensor::F32({2, 3}, {7, 9, 11, 8, 10, 12});
  EXPECT_EQ(RunOne(Case(OpType::Gemm, {at, MatB()}, {IntAttr("transA", 1)})).Floats(), ProductAB());
  EXPECT_EQ(RunOne(Case(OpType::Gemm, {MatA(), bt}, {IntAttr("transB", 1)})).Floats(), ProductAB());
  EXPECT_EQ(
      RunOne(Case(OpType::Gemm, {at, bt}, {IntAttr("transA", 1), IntAttr("transB", 1)})).Floats(),
      ProductAB());
}

TEST(GemmKernel, AlphaBetaAndBroadcastC) {
  const std::vector<Attribute> scale = {FloatAttr("alpha", 2.0f), FloatAttr("beta", 0.5f)};
  // Row vector C [2] -> each row gets [5, 10].
  EXPECT_EQ(
      RunOne(Case(OpType::Gemm, {MatA(), MatB(), TestTensor::F32({2}, {10, 20})}, scale)).Floats(),
      std::vector<float>({121, 138, 283, 318}));
  // Column C [2, 1] with default alpha/beta.
  EXPECT_EQ(RunOne(Case(OpType::Gemm, {MatA(), MatB(), TestTensor::F32({2, 1}, {1, 2})})).Floats(),
            std::vector<float>({59, 65, 141, 156}));
  // Scalar C, full C.
  EXPECT_EQ(RunOne(Case(OpType::Gemm, {MatA(), MatB(), TestTensor::F32({}, {1})})).Floats(),
            std::vector<float>({59, 65, 140, 155}));
  EXPECT_EQ(
      RunOne(Case(OpType::Gemm, {MatA(), MatB(), TestTensor::F32({2, 2}, {1, 2, 3, 4})})).Floats(),
      std::vector<float>({59, 66, 142, 158}));
}

TEST(GemmKernel, FusedActivations) {
  // [1, 2] x [[1, -1], [-1, 1]] = [-1, 1].
  const TestTensor a = TestTensor::F32({1, 2}, {1, 2});
  const TestTensor b = TestTensor::F32({2, 2}, {1, -1, -1, 1});
  EXPECT_EQ(RunOne(Case(OpType::Gemm, {a, b}, {StringAttr("activation", "Relu")})).Floats(),
            std::vector<float>({0, 1}));
  EXPECT_EQ(RunOne(Case(OpType::Gemm, {a, b},
                        {StringAttr("activation", "Clip"), FloatAttr("activation_min", -0.5f),
                         FloatAttr("activation_max", 0.5f)}))
                .Floats(),
            std::vector<float>({-0.5f, 0.5f}));
}

TEST(GemmKernel, TwoThreadsMatchOneThreadAndReference) {
  const int64_t m = 37, k = 300, n = 70;
  const std::vector<float> a = Pseudorandom(m * k, 1);
  const std::vector<float> b = Pseudorandom(n * k, 2);  // stored transposed: [n, k]
  const std::vector<float> c = Pseudorandom(n, 3);
  KernelCase kc =
      Case(OpType::Gemm,
           {TestTensor::F32({m, k}, a), TestTensor::F32({n, k}, b), TestTensor::F32({n}, c)},
           {IntAttr("transB", 1), FloatAttr("alpha", 0.5f)});
  const TestTensor one = RunOne(kc);
  kc.threads = 2;
  const TestTensor two = RunOne(kc);
  ASSERT_EQ(one.shape, Shape({m, n}));
  EXPECT_EQ(one.Floats(), two.Floats());
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < k; ++p) sum += double{a[i * k + p]} * b[j * k + p];
      EXPECT_NEAR(one.Floats()[i * n + j], 0.5 * sum + c[j], 1e-4) << i << ", " << j;
    }
  }
}

// Products of at most 4 rows (batch-1 fully connected layers), and those with a small B not
// transposed (small convolutions' im2col matrices), read B in place: no scratch, and the same
// values as a double-precision product for every operand layout, edge widths and accumulation.
TEST(GemmKernel, FewRowsOrSmallBReadBInPlace) {
  EXPECT_EQ(GemmScratchBytes(1, 1, 128, 64, true), 0u);
  EXPECT_EQ(GemmScratchBytes(2, 4, 128, 64, true), 0u);
  EXPECT_GT(GemmScratchBytes(1, 5, 128, 64, true), 0u);
  EXPECT_EQ(GemmScratchBytes(1, 32, 144, 16, false), 0u);
  EXPECT_GT(GemmScratchBytes(1, 32, 144, 64, false), 0u);
  ThreadPool pool(2);
  for (int64_t m : {1, 3, 4, 5, 13}) {
    for (int64_t n : {1, 17, 40, 300}) {
      for (int64_t k : {5, 33}) {
        for (int layout = 0; layout < 8; ++layout) {
          const bool trans_a = layout & 1, trans_b = layout & 2, accumulate = layout & 4;
          const std::vector<float> a = Pseudorandom(m * k, 11);
          const std::vector<float> b = Pseudorandom(k * n, 12);
          std::vector<float> c = Pseudorandom(m * n, 13);
          const std::vector<float> c0 = c;
          std::vector<float> scratch(GemmScratchBytes(2, m, k, n, trans_b) / sizeof(float) + 1);
          GemmArgs args;
          args.m = m, args.n = n, args.k = k;
          args.a = a.data(), args.lda = trans_a ? m : k, args.trans_a = trans_a;
          args.b = b.data(), args.ldb = trans_b ? k : n, args.trans_b = trans_b;
          args.c = c.data(), args.ldc = n, args.accumulate = accumulate;
          Gemm(args, scratch.data(), &pool);
          for (int64_t i = 0; i < m; ++i) {
            for (int64_t j = 0; j < n; ++j) {
              double sum = accumulate ? c0[i * n + j] : 0.0;
              for (int64_t p = 0; p < k; ++p) {
                sum +=
                    double{a[trans_a ? p * m + i : i * k + p]} * b[trans_b ? j * k + p : p * n + j];
              }
              ASSERT_NEAR(c[i * n + j], sum, 1e-5)
                  << "m " << m << " n " << n << " k " << k << " layout " << layout;
            }
          }
        }
      }
    }
  }
}

TEST(GemmKernel, RejectsBadInputs) {
  ExpectError(Case(OpType::Gemm, {MatA(), MatA()}), StatusCode::kShapeMismatch);
  ExpectError(Case(OpType::Gemm, {TestTensor::F32({1, 2, 3}, std::vector<float>(6)), MatB()}),
              StatusCode::kShapeMismatch);
  ExpectError(Case(OpType::Gemm, {MatA(), MatB(), TestTensor::F32({3, 2}, std::vector<float>(6))}),
              StatusCode::kShapeMismatch);
  ExpectError(Case(OpType::Gemm, {TestTensor::I32({2, 3}, std::vector<int32_t>(6)), MatB()}),
              StatusCode::kUnsupported);
  ExpectError(Case(OpType::Gemm, {MatA()}), StatusCode::kInvalidModel);
  ExpectError(Case(OpType::Gemm, {MatA(), MatB()}, {StringAttr("activation", "Gelu")}),
              StatusCode::kUnsupported);
}

TEST(MatMulKernel, MatrixAndVectorOperands) {
  TestTensor y = RunOne(Case(OpType::MatMul, {MatA(), MatB()}));
  EXPECT_EQ(y.shape, Shape({2, 2}));
  EXPECT_EQ(y.Floats(), ProductAB());
  // [3] x [3, 2] -> [2]: the promoted leading 1 is removed.
  y = RunOne(Case(OpType::MatMul, {TestTensor::F32({3}, {1, 2, 3}), MatB()}));
  EXPECT_EQ(y.shape, Shape({2}));
  EXPECT_EQ(y.Floats(), std::vector<float>({58, 64}));
  // [2, 3] x [3] -> [2].
  y = RunOne(Case(OpType::MatMul, {MatA(), TestTensor::F32({3}, {1, 1, 1})}));
  EXPECT_EQ(y.shape, Shape({2}));
  EXPECT_EQ(y.Floats(), std::vector<float>({6, 15}));
  // [3] x [3] -> scalar.
  y = RunOne(
      Case(OpType::MatMul, {TestTensor::F32({3}, {1, 2, 3}), TestTensor::F32({3}, {4, 5, 6})}));
  EXPECT_EQ(y.shape, Shape());
  EXPECT_EQ(y.Floats(), std::vector<float>({32}));
}

TEST(MatMulKernel, BatchBroadcasting) {
  // A [2, 1, 2, 2]: batch i is (i + 1) * identity. B [3, 2, 2]: batch j is [[j, j+1], [j+2, j+3]].
  // Output [2, 3, 2, 2]: entry (i, j) is (i + 1) * B_j.
  const TestTensor a = TestTensor::F32({2, 1, 2, 2}, {1, 0, 0, 1, 2, 0, 0, 2});
  std::vector<float> b;
  for (int j = 0; j < 3; ++j) {
    for (int e = 0; e < 4; ++e) b.push_back(static_cast<float>(j + e));
  }
  TestTensor y = RunOne(Case(OpType::MatMul, {a, TestTensor::F32({3, 2, 2}, b)}));
  EXPECT_EQ(y.shape, Shape({2, 3, 2, 2}));
  std::vector<float> expected;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      for (int e = 0; e < 4; ++e) expected.push_back(static_cast<float>((i + 1) * (j + e)));
    }
  }
  EXPECT_EQ(y.Floats(), expected);
}

TEST(MatMulKernel, BatchOnOneSideOnly) {
  // A [2, 2, 3] (A, -A) x B [3, 2].
  std::vector<float> a = MatA().Floats();
  for (float v : MatA().Floats()) a.push_back(-v);
  TestTensor y = RunOne(Case(OpType::MatMul, {TestTensor::F32({2, 2, 3}, a), MatB()}));
  EXPECT_EQ(y.shape, Shape({2, 2, 2}));
  EXPECT_EQ(y.Floats(), std::vector<float>({58, 64, 139, 154, -58, -64, -139, -154}));
  // A [2, 3] x B [2, 3, 2] (B, 2B).
  std::vector<float> b = MatB().Floats();
  for (float v : MatB().Floats()) b.push_back(2 * v);
  y = RunOne(Case(OpType::MatMul, {MatA(), TestTensor::F32({2, 3, 2}, b)}));
  EXPECT_EQ(y.shape, Shape({2, 2, 2}));
  EXPECT_EQ(y.Floats(), std::vector<float>({58, 64, 139, 154, 116, 128, 278, 308}));
}

TEST(MatMulKernel, TwoThreadsMatchOneThread) {
  KernelCase c = Case(OpType::MatMul, {TestTensor::F32({3, 1, 20, 50}, Pseudorandom(3000, 4)),
                                       TestTensor::F32({2, 50, 40}, Pseudorandom(4000, 5))});
  const TestTensor one = RunOne(c);
  c.threads = 2;
  EXPECT_EQ(one.shape, Shape({3, 2, 20, 40}));
  EXPECT_EQ(one.Floats(), RunOne(c).Floats());
}

TEST(MatMulKernel, RejectsBadInputs) {
  ExpectError(Case(OpType::MatMul, {MatA(), MatA()}), StatusCode::kShapeMismatch);
  ExpectError(Case(OpType::MatMul, {TestTensor::F32({2, 2, 3}, std::vector<float>(12)),
                                    TestTensor::F32({3, 3, 2}, std::vector<float>(18))}),
              StatusCode::kShapeMismatch);
  ExpectError(Case(OpType::MatMul, {TestTensor::F32({}, {1}), MatB()}), StatusCode::kShapeMismatch);
  ExpectError(Case(OpType::MatMul, {TestTensor::I64({2, 3}, std::vector<int64_t>(6)), MatB()}),
              StatusCode::kUnsupported);
}

}  // namespace
}  // namespace lwai::testing
