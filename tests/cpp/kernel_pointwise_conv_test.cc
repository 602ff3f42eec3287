// PointwiseConv (1x1 convolution / fully connected, NHWC) against a double-precision loop.
//
// Tolerance: the rigorous bound for a float sum of n products accumulated with FMAs in any
// order, |computed - exact| <= gamma_n * (|bias| + sum_i |x_i w_i|) with gamma_n = n u / (1 - n u),
// u = 2^-24 and n = in_channels + 1 (the bias term); each output is checked against its own
// bound (times 1.01 for the double reference's own rounding). Clamping does not increase the
// error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "kernels/pointwise_conv.h"
#include "runtime/thread_pool.h"
#include "tests/cpp/kernel_test_util.h"

namespace lwai::testing {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kSentinel = -12345.0f;

struct Case {
  int64_t pixels = 7;
  int cin = 4, cout = 8;
  int in_stride_extra = 0, out_stride_extra = 0;
  bool transposed = false;  // weights [in][out]
  bool bias = true;
  float act_min = -kInf, act_max = kInf;
};

struct Data {
  std::vector<float> input, weights, bias;  // weights [out][in] or [in][out]
};

Data MakeData(const Case& c, uint32_t seed) {
  Data d;
  d.input = Pseudorandom(static_cast<size_t>(c.pixels) * (c.cin + c.in_stride_extra), seed);
  d.weights = Pseudorandom(static_cast<size_t>(c.cout) * c.cin, seed * 7 + 1,
                           std::sqrt(3.0f / static_cast<float>(c.cin)));
  if (c.bias) d.bias = Pseudorandom(c.cout, seed * 13 + 5, 0.5f);
  return d;
}

float Weight(const Case& c, const Data& d, int o, int i) {
  return c.transposed ? d.weights[static_cast<size_t>(i) * c.cout + o]
                      : d.weights[static_cast<size_t>(o) * c.cin + i];
}

// Runs the case; returns the output rows with their stride, after checking that the floats
// between rows still hold kSentinel and that every output was written.
std::vector<float> RunConv(const Case& c, const Data& d, int threads) {
  auto created = PointwiseConv::Create(d.weights.data(), c.transposed,
                                       c.bias ? d.bias.data() : nullptr, c.cin, c.cout);
  EXPECT_TRUE(created.ok()) << created.status().ToString();
  if (!created.ok()) return {};
  const PointwiseConv& conv = **created;
  EXPECT_EQ(conv.in_channels(), c.cin);
  EXPECT_EQ(conv.out_channels(), c.cout);
  const int out_stride = c.cout + c.out_stride_extra;
  std::vector<float> out(static_cast<size_t>(c.pixels) * out_stride, kSentinel);
  for (int64_t p = 0; p < c.pixels; ++p) {
    for (int o = 0; o < c.cout; ++o) out[p * out_stride + o] = std::nanf("");
  }
  std::vector<float> scratch(conv.ScratchBytes(c.pixels, threads) / sizeof(float) + 16);
  ThreadPool pool(threads);
  conv.Run(d.input.data(), c.pixels, c.cin + c.in_stride_extra, out.data(), out_stride, c.act_min,
           c.act_max, scratch.data(), threads > 1 ? &pool : nullptr);
  size_t clobbered = 0, unwritten = 0;
  for (int64_t p = 0; p < c.pixels; ++p) {
    for (int o = 0; o < out_stride; ++o) {
      const float v = out[p * out_stride + o];
      if (o >= c.cout) clobbered += v != kSentinel;
      if (o < c.cout) unwritten += std::isnan(v);
    }
  }
  EXPECT_EQ(clobbered, 0u) << "floats between output rows were written";
  EXPECT_EQ(unwritten, 0u) << "outputs left unwritten";
  return out;
}

// Checks every output against the double reference and its error bound (see the top).
// Returns the largest error relative to its bound.
double Check(const Case& c, const Data& d, const std::vector<float>& out) {
  const double u = std::ldexp(1.0, -24);
  const double n = c.cin + 1;
  const double gamma = n * u / (1 - n * u) * 1.01;
  const int in_stride = c.cin + c.in_stride_extra, out_stride = c.cout + c.out_stride_extra;
  double worst = 0;
  int64_t failures = 0;
  if (out.size() != static_cast<size_t>(c.pixels) * out_stride) {
    ADD_FAILURE() << "no output";
    return 1e30;
  }
  for (int64_t p = 0; p < c.pixels; ++p) {
    const float* x = &d.input[p * in_stride];
    for (int o = 0; o < c.cout; ++o) {
      double sum = c.bias ? d.bias[o] : 0.0;
      double magnitude = std::abs(sum);
      for (int i = 0; i < c.cin; ++i) {
        const double t = static_cast<double>(x[i]) * Weight(c, d, o, i);
        sum += t;
        magnitude += std::abs(t);
      }
      sum = std::min<double>(std::max<double>(sum, c.act_min), c.act_max);
      const double err = std::abs(out[p * out_stride + o] - sum);
      const double bound = gamma * magnitude + 1e-30;
      worst = std::max(worst, err / bound);
      if (!(err <= bound) && failures++ < 5) {
        ADD_FAILURE() << "pixels=" << c.pixels << " in=" << c.cin << " out=" << c.cout
                      << " transposed=" << c.transposed << " bias=" << c.bias
                      << " strides+=" << c.in_stride_extra << "," << c.out_stride_extra
                      << " clamp=[" << c.act_min << "," << c.act_max << "]: y[" << p << "][" << o
                      << "]=" << out[p * out_stride + o] << " expected " << sum << " (bound "
                      << bound << ")";
      }
    }
  }
  return worst;
}

// Runs every test twice: with the best implementation and with the portable one.
class PointwiseConvTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { pointwise_internal::SetForcePortableForTesting(GetParam()); }
  void TearDown() override { pointwise_internal::SetForcePortableForTesting(false); }
};

INSTANTIATE_TEST_SUITE_P(Impl, PointwiseConvTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Portable" : "Best";
                         });

TEST_P(PointwiseConvTest, ShapesLayoutsStridesClampsBiasThreads) {
  const int64_t pixel_counts[] = {1, 2, 3, 7, 49, 197};
  const int ins[] = {1, 3, 17, 64, 1024};
  const int outs[] = {1, 5, 16, 33, 1001};
  uint32_t seed = 1;
  int index = 0;
  double worst = 0;
  for (int64_t pixels : pixel_counts) {
    for (int cin : ins) {
      for (int cout : outs) {
        // Vary the other parameters with the case index so that each value meets many shapes.
        ++index;
        Case c;
        c.pixels = pixels;
        c.cin = cin;
        c.cout = cout;
        c.transposed = index % 2 == 1;
        c.bias = index % 3 != 0;
        c.in_stride_extra = index % 4 == 1 ? 3 : (index % 4 == 2 ? 16 : 0);
        c.out_stride_extra = index % 5 == 1 ? 1 : (index % 5 == 3 ? 19 : 0);
        if (index % 7 == 2) c.act_min = 0.0f;
        if (index % 7 == 4) c.act_min = -0.25f, c.act_max = 0.5f;
        const Data d = MakeData(c, seed++);
        const std::vector<float> one = RunConv(c, d, 1);
        worst = std::max(worst, Check(c, d, one));
        const std::vector<float> two = RunConv(c, d, 2);
        ASSERT_EQ(one.size(), two.size());
        EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)), 0)
            << "results differ between 1 and 2 threads: pixels=" << pixels << " in=" << cin
            << " out=" << cout;
        if (HasFailure()) return;
      }
    }
  }
  RecordProperty("worst_error_over_bound", std::to_string(worst));
}

TEST_P(PointwiseConvTest, BothLayoutsGiveIdenticalResults) {
  Case c;
  c.pixels = 29;
  c.cin = 70;
  c.cout = 45;
  const Data d = MakeData(c, 99);
  Case t = c;
  t.transposed = true;
  Data dt = d;
  for (int o = 0; o < c.cout; ++o) {
    for (int i = 0; i < c.cin; ++i)
      dt.weights[static_cast<size_t>(i) * c.cout + o] = Weight(c, d, o, i);
  }
  const std::vector<float> a = RunConv(c, d, 1), b = RunConv(t, dt, 1);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  Check(c, d, a);
}

// Many rows: several row blocks, rows split across threads (1, 2, 3 threads identical).
TEST_P(PointwiseConvTest, ManyPixelsRowBlocksAndThreadCounts) {
  const int shapes[][3] = {{3001, 200, 40}, {2500, 24, 144}, {601, 1030, 70}, {50, 300, 700}};
  uint32_t seed = 500;
  for (const auto& s : shapes) {
    Case c;
    c.pixels = s[0];
    c.cin = s[1];
    c.cout = s[2];
    c.act_min = -0.5f;
    c.in_stride_extra = 5;
    c.out_stride_extra = 2;
    const Data d = MakeData(c, seed++);
    const std::vector<float> one = RunConv(c, d, 1);
    Check(c, d, one);
    for (int threads : {2, 3}) {
      const std::vector<float> more = RunConv(c, d, threads);
      ASSERT_EQ(one.size(), more.size());
      EXPECT_EQ(std::memcmp(one.data(), more.data(), one.size() * sizeof(float)), 0)
          << "threads=" << threads << " pixels=" << c.pixels << " in=" << c.cin
          << " out=" << c.cout;
    }
  }
}

TEST_P(PointwiseConvTest, ZeroPixelsWritesNothing) {
  const std::vector<float> w(12, 1.0f);
  auto conv = PointwiseConv::Create(w.data(), false, nullptr, 3, 4);
  ASSERT_TRUE(conv.ok());
  float out = kSentinel;
  (*conv)->Run(nullptr, 0, 3, &out, 4, -kInf, kInf, nullptr, nullptr);
  EXPECT_EQ(out, kSentinel);
}

TEST(PointwiseConvCreateTest, RejectsBadArguments) {
  const std::vector<float> w(16, 1.0f);
  EXPECT_FALSE(PointwiseConv::Create(nullptr, false, nullptr, 4, 4).ok());
  EXPECT_FALSE(PointwiseConv::Create(w.data(), false, nullptr, 0, 4).ok());
  EXPECT_FALSE(PointwiseConv::Create(w.data(), false, nullptr, 4, -1).ok());
  EXPECT_TRUE(PointwiseConv::Create(w.data(), true, nullptr, 4, 4).ok());
}

TEST(PointwiseConvProfitableTest, AnswersFalseWithoutAvx512OrForEmptyShapes) {
  EXPECT_FALSE(PointwiseConvIsProfitable(0, 64, 64));
  if (!pointwise_internal::HasAvx512()) {
    EXPECT_FALSE(PointwiseConvIsProfitable(1, 1024, 1001));
  }
}

TEST(PointwiseConvProfitableTest, FollowsThisMachinesL2Cache) {
  if (!pointwise_internal::HasAvx512()) GTEST_SKIP() << "no AVX-512: XNNPACK always";
  EXPECT_TRUE(PointwiseConvIsProfitable(1, 64, 64));  // a weight stream, whatever the size
  // 49 rows (a 7x7 map): lwai's kernel once the weights outgrow the L2 cache.
  const int64_t l2 = CoreL2Bytes();
  const int square = static_cast<int>(std::sqrt(static_cast<double>(l2) / 4.0));
  EXPECT_TRUE(PointwiseConvIsProfitable(49, 2 * square, 2 * square));
  EXPECT_FALSE(PointwiseConvIsProfitable(49, square / 2, square / 2));
  EXPECT_FALSE(PointwiseConvIsProfitable(1000, 2 * square, 2 * square));  // compute-bound
}

}  // namespace
}  // namespace lwai::testing
