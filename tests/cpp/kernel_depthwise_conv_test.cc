// DepthwiseConv (NHWC, one filter per channel) against a double-precision loop over the whole
// padded window, on kernels, strides, dilations, pads, channel counts (around the 16-lane
// vectors and the 4-vector groups), map sizes (thin maps and the 8-pixel interior blocks),
// pixel strides, clamps and thread counts, with the best and the portable implementation.
//
// Tolerance: per output, gamma_n * (|bias| + sum |x w|) with n = taps + 1 and u = 2^-24 (a float
// sum of n products in any order), times 1.01 for the reference's own rounding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/depthwise_conv.h"
#include "runtime/thread_pool.h"

namespace lwai::testing {
namespace {

constexpr float kSentinel = -12345.0f;
constexpr float kInf = std::numeric_limits<float>::infinity();

struct Case {
  int batch = 1, height = 5, width = 5, channels = 16, kernel_h = 3, kernel_w = 3;
  int stride = 1, dilation = 1, pad_top = 1, pad_left = 1, pad_bottom = 1, pad_right = 1;
  int in_extra = 0, out_extra = 0;
  bool bias = true;
  float lo = -kInf, hi = kInf;
  int threads = 1;
};

void Check(const Case& c, uint32_t seed) {
  DepthwiseGeometry g;
  g.batch = c.batch, g.height = c.height, g.width = c.width;
  g.kernel_h = c.kernel_h, g.kernel_w = c.kernel_w;
  g.stride_h = g.stride_w = c.stride;
  g.dilation_h = g.dilation_w = c.dilation;
  g.pad_top = c.pad_top, g.pad_left = c.pad_left;
  g.out_height =
      (c.height + c.pad_top + c.pad_bottom - (c.kernel_h - 1) * c.dilation - 1) / c.stride + 1;
  g.out_width =
      (c.width + c.pad_left + c.pad_right - (c.kernel_w - 1) * c.dilation - 1) / c.stride + 1;
  ASSERT_GT(g.out_height, 0);
  ASSERT_GT(g.out_width, 0);
  const int in_stride = c.channels + c.in_extra, out_stride = c.channels + c.out_extra;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> input(static_cast<size_t>(c.batch) * c.height * c.width * in_stride);
  std::vector<float> weights(static_cast<size_t>(c.channels) * c.kernel_h * c.kernel_w);
  std::vector<float> bias(c.channels);
  for (float& v : input) v = dist(rng);
  for (float& v : weights) v = dist(rng);
  for (float& v : bias) v = dist(rng);
  auto kernel = DepthwiseConv::Create(weights.data(), c.bias ? bias.data() : nullptr, c.channels,
                                      c.kernel_h, c.kernel_w);
  ASSERT_TRUE(kernel.ok()) << kernel.status().ToString();
  std::vector<float> output(static_cast<size_t>(c.batch) * g.out_height * g.out_width * out_stride,
                            kSentinel);
  ThreadPool pool(c.threads);
  (*kernel)->Run(g, input.data(), in_stride, output.data(), out_stride, c.lo, c.hi, &pool);

  const double gamma = (c.kernel_h * c.kernel_w + 1) * 0x1p-24;
  for (int n = 0; n < c.batch; ++n) {
    for (int oy = 0; oy < g.out_height; ++oy) {
      for (int ox = 0; ox < g.out_width; ++ox) {
        const size_t pixel = (static_cast<size_t>(n) * g.out_height + oy) * g.out_width + ox;
        for (int ch = 0; ch < out_stride; ++ch) {
          const float got = output[pixel * out_stride + ch];
          if (ch >= c.channels) {
            ASSERT_EQ(got, kSentinel) << "wrote past the channels at pixel " << pixel;
            continue;
          }
          double exact = c.bias ? bias[ch] : 0.0, magnitude = std::fabs(exact);
          for (int ky = 0; ky < c.kernel_h; ++ky) {
            for (int kx = 0; kx < c.kernel_w; ++kx) {
              const int iy = oy * c.stride + ky * c.dilation - c.pad_top;
              const int ix = ox * c.stride + kx * c.dilation - c.pad_left;
              if (iy < 0 || iy >= c.height || ix < 0 || ix >= c.width) continue;
              const double term =
                  static_cast<double>(
                      input[((static_cast<size_t>(n) * c.height + iy) * c.width + ix) * in_stride +
                            ch]) *
                  weights[(static_cast<size_t>(ch) * c.kernel_h + ky) * c.kernel_w + kx];
              exact += term;
              magnitude += std::fabs(term);
            }
          }
          const double want = std::min<double>(c.hi, std::max<double>(c.lo, exact));
          ASSERT_LE(std::fabs(got - want), 1.01 * gamma * magnitude + 1e-30)
              << "n " << n << " oy " << oy << " ox " << ox << " channel " << ch;
        }
      }
    }
  }
}

class DepthwiseConvTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { depthwise_internal::SetForcePortableForTesting(GetParam()); }
  void TearDown() override { depthwise_internal::SetForcePortableForTesting(false); }
};

INSTANTIATE_TEST_SUITE_P(Impl, DepthwiseConvTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Portable" : "Best";
                         });

TEST_P(DepthwiseConvTest, GeometriesChannelsStridesClampsThreads) {
  struct Map {
    int height, width;
  };
  const Map maps[] = {{1, 1}, {2, 96}, {3, 17}, {7, 7}, {14, 30}};
  const int channels[] = {1, 15, 16, 40, 64, 200};
  const int kernels[] = {1, 3, 5, 7};
  uint32_t seed = 10;
  int index = 0;
  for (const Map& map : maps) {
    for (int ch : channels) {
      for (int k : kernels) {
        ++index;
        Case c;
        c.height = map.height, c.width = map.width, c.channels = ch;
        c.kernel_h = k, c.kernel_w = index % 3 == 0 ? std::max(1, k - 2) : k;
        c.stride = index % 4 == 1 ? 2 : 1;
        c.dilation = index % 5 == 2 ? 2 : 1;
        c.pad_top = c.pad_bottom = c.dilation * (c.kernel_h - 1) / 2;
        c.pad_left = c.dilation * (c.kernel_w - 1) / 2;
        c.pad_right = index % 2 ? c.pad_left + 1 : c.pad_left;  // asymmetric, as "SAME_UPPER"
        c.batch = index % 6 == 0 ? 2 : 1;
        c.in_extra = index % 4 == 2 ? 5 : 0;
        c.out_extra = index % 3 == 1 ? 3 : 0;
        c.bias = index % 7 != 3;
        if (index % 5 == 0) c.lo = 0.0f, c.hi = 6.0f;
        c.threads = index % 2 ? 2 : 1;
        // A kernel larger than the padded map has no output: skip such combinations.
        if (c.height + c.pad_top + c.pad_bottom < (c.kernel_h - 1) * c.dilation + 1 ||
            c.width + c.pad_left + c.pad_right < (c.kernel_w - 1) * c.dilation + 1) {
          continue;
        }
        SCOPED_TRACE("case " + std::to_string(index) + ": " + std::to_string(c.height) + "x" +
                     std::to_string(c.width) + "x" + std::to_string(ch) + " kernel " +
                     std::to_string(c.kernel_h) + "x" + std::to_string(c.kernel_w) + " stride " +
                     std::to_string(c.stride) + " dilation " + std::to_string(c.dilation));
        Check(c, ++seed);
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST_P(DepthwiseConvTest, ThreadCountDoesNotChangeResults) {
  const int channels = 48;
  std::vector<float> weights(channels * 25), input(2 * 9 * 40 * channels);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = std::sin(0.3f * i);
  for (size_t i = 0; i < input.size(); ++i) input[i] = std::cos(0.7f * i);
  auto kernel = DepthwiseConv::Create(weights.data(), nullptr, channels, 5, 5);
  ASSERT_TRUE(kernel.ok());
  DepthwiseGeometry g;
  g.batch = 2, g.height = 9, g.width = 40, g.kernel_h = g.kernel_w = 5;
  g.pad_top = g.pad_left = 2, g.out_height = 9, g.out_width = 40;
  std::vector<float> one(input.size()), two(input.size());
  ThreadPool pool1(1), pool2(2);
  (*kernel)->Run(g, input.data(), channels, one.data(), channels, -kInf, kInf, &pool1);
  (*kernel)->Run(g, input.data(), channels, two.data(), channels, -kInf, kInf, &pool2);
  EXPECT_EQ(one, two);
}

TEST(DepthwiseConv, RejectsBadArguments) {
  const float w[9] = {};
  EXPECT_FALSE(DepthwiseConv::Create(nullptr, nullptr, 4, 3, 3).ok());
  EXPECT_FALSE(DepthwiseConv::Create(w, nullptr, 0, 3, 3).ok());
  EXPECT_FALSE(DepthwiseConv::Create(w, nullptr, 1, 65, 1).ok());
}

}  // namespace
}  // namespace lwai::testing
