// Winograd3x3 (F(4x4, 3x3), NHWC) against a double-precision direct convolution.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "kernels/winograd.h"
#include "kernels/winograd_internal.h"
#include "runtime/thread_pool.h"
#include "tests/cpp/kernel_test_util.h"

namespace lwai::testing {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kSentinel = -12345.0f;

struct ConvCase {
  int batch = 1, height = 8, width = 8, cin = 4, cout = 8;
  int pad_top = 1, pad_left = 1, pad_bottom = 1, pad_right = 1;
  int in_stride_extra = 0, out_stride_extra = 0;
  float act_min = -kInf, act_max = kInf;
  bool bias = true;
  int out_h() const { return height + pad_top + pad_bottom - 2; }
  int out_w() const { return width + pad_left + pad_right - 2; }
};

struct ConvData {
  std::vector<float> input, weights, bias;
};

ConvData MakeData(const ConvCase& c, uint32_t seed) {
  ConvData d;
  const int in_stride = c.cin + c.in_stride_extra;
  d.input = Pseudorandom(static_cast<size_t>(c.batch) * c.height * c.width * in_stride, seed);
  const float he = std::sqrt(6.0f / (9.0f * c.cin));  // uniform with He variance
  d.weights = Pseudorandom(static_cast<size_t>(c.cout) * c.cin * 9, seed * 7 + 1, he);
  if (c.bias) d.bias = Pseudorandom(c.cout, seed * 13 + 5, 0.5f);
  return d;
}

// Direct convolution in double; output has exactly cout channels per pixel.
std::vector<double> Reference(const ConvCase& c, const ConvData& d) {
  const int oh = c.out_h(), ow = c.out_w(), in_stride = c.cin + c.in_stride_extra;
  std::vector<double> out(static_cast<size_t>(c.batch) * oh * ow * c.cout);
  for (int n = 0; n < c.batch; ++n) {
    for (int oy = 0; oy < oh; ++oy) {
      for (int ox = 0; ox < ow; ++ox) {
        for (int co = 0; co < c.cout; ++co) {
          double sum = c.bias ? d.bias[co] : 0.0;
          for (int ky = 0; ky < 3; ++ky) {
            const int y = oy + ky - c.pad_top;
            if (y < 0 || y >= c.height) continue;
            for (int kx = 0; kx < 3; ++kx) {
              const int x = ox + kx - c.pad_left;
              if (x < 0 || x >= c.width) continue;
              const float* px =
                  &d.input[((static_cast<size_t>(n) * c.height + y) * c.width + x) * in_stride];
              for (int ci = 0; ci < c.cin; ++ci) {
                sum += static_cast<double>(px[ci]) *
                       d.weights[((static_cast<size_t>(co) * c.cin + ci) * 3 + ky) * 3 + kx];
              }
            }
          }
          sum = std::min<double>(std::max<double>(sum, c.act_min), c.act_max);
          out[((static_cast<size_t>(n) * oh + oy) * ow + ox) * c.cout + co] = sum;
        }
      }
    }
  }
  return out;
}

// 64-byte aligned scratch with 256 canary bytes on each side.
class GuardedScratch {
 public:
  explicit GuardedScratch(size_t bytes) : bytes_(bytes), storage_(bytes + 2 * kGuard + 64) {
    const uintptr_t raw = reinterpret_cast<uintptr_t>(storage_.data());
    offset_ = static_cast<size_t>((64 - raw % 64) % 64) + kGuard;
    for (size_t i = 0; i < storage_.size(); ++i) storage_[i] = static_cast<uint8_t>(0xA5 ^ i);
  }
  void* data() { return storage_.data() + offset_; }
  bool CanariesIntact() const {
    for (size_t i = 0; i < storage_.size(); ++i) {
      if (i >= offset_ && i < offset_ + bytes_) continue;
      if (storage_[i] != static_cast<uint8_t>(0xA5 ^ i)) return false;
    }
    return true;
  }

 private:
  static constexpr size_t kGuard = 256;
  size_t bytes_;
  size_t offset_ = 0;
  std::vector<uint8_t> storage_;
};

// Runs Winograd3x3 for the case; returns the output pixels with their stride (the floats
// between pixels must still hold kSentinel, checked here).
std::vector<float> RunWinograd(const ConvCase& c, const ConvData& d, int threads) {
  auto created =
      Winograd3x3::Create(d.weights.data(), c.bias ? d.bias.data() : nullptr, c.cin, c.cout);
  EXPECT_TRUE(created.ok()) << created.status().ToString();
  if (!created.ok()) return {};
  const Winograd3x3& conv = **created;
  EXPECT_EQ(conv.in_channels(), c.cin);
  EXPECT_EQ(conv.out_channels(), c.cout);
  const int out_stride = c.cout + c.out_stride_extra;
  std::vector<float> out(static_cast<size_t>(c.batch) * c.out_h() * c.out_w() * out_stride,
                         kSentinel);
  const size_t scratch_bytes = conv.ScratchBytes(c.batch, c.height, c.width, c.pad_top, c.pad_left,
                                                 c.pad_bottom, c.pad_right, threads);
  GuardedScratch scratch(scratch_bytes);
  ThreadPool pool(threads);
  conv.Run(d.input.data(), c.batch, c.height, c.width, c.cin + c.in_stride_extra, c.pad_top,
           c.pad_left, c.pad_bottom, c.pad_right, out.data(), out_stride, c.act_min, c.act_max,
           scratch.data(), threads > 1 ? &pool : nullptr);
  EXPECT_TRUE(scratch.CanariesIntact()) << "scratch overrun, ScratchBytes=" << scratch_bytes;
  size_t clobbered = 0;
  for (size_t px = 0; px < out.size() / out_stride; ++px) {
    for (int k = c.cout; k < out_stride; ++k) clobbered += out[px * out_stride + k] != kSentinel;
  }
  EXPECT_EQ(clobbered, 0u) << "floats between output pixels were written";
  return out;
}

// max |winograd - reference| / max(|reference|, 1e-3); checks every output was written.
double RelativeError(const ConvCase& c, const std::vector<double>& ref,
                     const std::vector<float>& out) {
  const int out_stride = c.cout + c.out_stride_extra;
  double max_ref = 1e-3, max_err = 0;
  const size_t pixels = ref.size() / c.cout;
  if (out.size() != pixels * out_stride) return 1e30;
  for (size_t px = 0; px < pixels; ++px) {
    for (int co = 0; co < c.cout; ++co) {
      const double r = ref[px * c.cout + co];
      const double v = out[px * out_stride + co];
      if (!std::isfinite(v)) return 1e30;
      max_ref = std::max(max_ref, std::abs(r));
      max_err = std::max(max_err, std::abs(v - r));
    }
  }
  return max_err / max_ref;
}

double CheckCase(const ConvCase& c, int threads, uint32_t seed, double tolerance = 1e-4) {
  const ConvData d = MakeData(c, seed);
  const std::vector<double> ref = Reference(c, d);
  const std::vector<float> out = RunWinograd(c, d, threads);
  const double err = RelativeError(c, ref, out);
  EXPECT_LE(err, tolerance) << "N=" << c.batch << " H=" << c.height << " W=" << c.width
                            << " Cin=" << c.cin << " Cout=" << c.cout << " pads=" << c.pad_top
                            << c.pad_left << c.pad_bottom << c.pad_right
                            << " strides+=" << c.in_stride_extra << "," << c.out_stride_extra
                            << " threads=" << threads;
  return err;
}

// Runs every test twice: with the best implementation and with the portable one.
class WinogradTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { winograd_internal::SetForcePortableForTesting(GetParam()); }
  void TearDown() override { winograd_internal::SetForcePortableForTesting(false); }
};

INSTANTIATE_TEST_SUITE_P(Impl, WinogradTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Portable" : "Best";
                         });

TEST_P(WinogradTest, OddSizesChannelTailsAndAllPads) {
  const int sizes[][2] = {{1, 1}, {2, 3}, {3, 3}, {5, 7}, {13, 13}, {17, 9}};
  const int channels[][2] = {{1, 1}, {3, 5}, {17, 33}, {16, 64}, {20, 70}};
  uint32_t seed = 1;
  int cases = 0;
  for (const auto& hw : sizes) {
    for (const auto& ch : channels) {
      for (int pads = 0; pads < 16; ++pads) {
        ConvCase c;
        c.height = hw[0];
        c.width = hw[1];
        c.cin = ch[0];
        c.cout = ch[1];
        c.pad_top = pads & 1;
        c.pad_left = (pads >> 1) & 1;
        c.pad_bottom = (pads >> 2) & 1;
        c.pad_right = (pads >> 3) & 1;
        if (c.out_h() < 1 || c.out_w() < 1) continue;
        c.batch = (pads % 3 == 0) ? 2 : 1;
        CheckCase(c, 1 + pads % 2, ++seed);
        ++cases;
      }
    }
  }
  EXPECT_GT(cases, 300);
}

TEST_P(WinogradTest, PixelStridesBiasAndClamps) {
  ConvCase c;
  c.batch = 2;
  c.height = 11;
  c.width = 10;
  c.cin = 19;
  c.cout = 37;
  c.in_stride_extra = 5;
  c.out_stride_extra = 7;
  CheckCase(c, 1, 3);
  CheckCase(c, 2, 4);
  c.act_min = 0.0f;  // Relu
  CheckCase(c, 2, 5);
  c.act_min = -0.25f;
  c.act_max = 0.3f;
  CheckCase(c, 1, 6);
  c.bias = false;
  c.act_min = -kInf;
  c.act_max = 6.0f;
  CheckCase(c, 2, 7);
}

TEST_P(WinogradTest, ThreadCountsGiveIdenticalResults) {
  // Many tiles (threads split the tiles), few tiles (threads split the output channels),
  // and more threads than output-channel vectors.
  const ConvCase cases[] = {
      {2, 29, 23, 24, 40, 1, 1, 1, 1},
      {1, 7, 7, 96, 80, 1, 0, 1, 1},
      {1, 3, 2, 33, 17, 1, 1, 1, 1},
  };
  for (const ConvCase& c : cases) {
    const ConvData d = MakeData(c, 11);
    const std::vector<float> one = RunWinograd(c, d, 1);
    for (int threads : {2, 3}) {
      const std::vector<float> many = RunWinograd(c, d, threads);
      ASSERT_EQ(one.size(), many.size());
      EXPECT_EQ(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)), 0)
          << "threads=" << threads << " H=" << c.height << " Cin=" << c.cin;
    }
    EXPECT_LE(RelativeError(c, Reference(c, d), one), 1e-4);
  }
}

TEST_P(WinogradTest, AccuracyWithManyChannels) {
  // Typical network layers; He-scaled weights, inputs in [-1, 1].
  const ConvCase cases[] = {
      {1, 14, 14, 64, 64, 1, 1, 1, 1},  {1, 14, 14, 128, 96, 1, 1, 1, 1},
      {1, 9, 9, 256, 64, 1, 1, 1, 1},   {1, 7, 7, 512, 48, 1, 1, 1, 1},
      {1, 13, 13, 64, 256, 1, 1, 1, 1}, {2, 8, 8, 512, 512, 1, 1, 1, 1},
  };
  double worst = 0;
  for (const ConvCase& c : cases) worst = std::max(worst, CheckCase(c, 2, c.cin + c.cout));
  RecordProperty("worst_relative_error", std::to_string(worst));
  std::printf("worst max_abs_err / max|out| = %.3g\n", worst);
}

TEST(WinogradCreate, RejectsBadArguments) {
  const std::vector<float> w(9 * 4, 0.5f);
  EXPECT_EQ(Winograd3x3::Create(nullptr, nullptr, 2, 2).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Winograd3x3::Create(w.data(), nullptr, 0, 2).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Winograd3x3::Create(w.data(), nullptr, 2, -1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Winograd3x3::Create(w.data(), nullptr, 65536, 65536).status().code(),
            StatusCode::kInvalidArgument);  // checked before reading the weights
  EXPECT_TRUE(Winograd3x3::Create(w.data(), nullptr, 2, 2).ok());
}

TEST(WinogradCreate, ScratchGrowsWithThreadsAndSize) {
  const std::vector<float> w(9 * 64 * 64, 0.01f);
  auto conv = Winograd3x3::Create(w.data(), nullptr, 64, 64);
  ASSERT_TRUE(conv.ok());
  const size_t small = (*conv)->ScratchBytes(1, 8, 8, 1, 1, 1, 1, 1);
  EXPECT_GT(small, 0u);
  EXPECT_GE((*conv)->ScratchBytes(1, 56, 56, 1, 1, 1, 1, 2), small);
  EXPECT_EQ((*conv)->ScratchBytes(1, 8, 8, 1, 1, 1, 1, 1) % 64, 0u);
}

TEST(WinogradChoice, WideLayersWinThinOnesLoseTheRestAreMeasured) {
  if (winograd_internal::Avx512Impl() != nullptr) {
    EXPECT_EQ(ChooseWinograd(64, 64, 56, 56), WinogradChoice::kYes);
    EXPECT_EQ(ChooseWinograd(128, 128, 28, 28), WinogradChoice::kYes);
    EXPECT_EQ(ChooseWinograd(512, 512, 7, 7), WinogradChoice::kYes);
    EXPECT_EQ(ChooseWinograd(16, 64, 55, 55), WinogradChoice::kMeasure);
    EXPECT_EQ(ChooseWinograd(64, 64, 6, 6), WinogradChoice::kMeasure);  // 36 of 64 outputs
  }
  EXPECT_EQ(ChooseWinograd(64, 64, 5, 5), WinogradChoice::kNo);  // 2x2 tiles for 25 outputs
  EXPECT_EQ(ChooseWinograd(3, 8, 2, 2), WinogradChoice::kNo);
  EXPECT_EQ(ChooseWinograd(1, 1, 224, 224), WinogradChoice::kNo);
}

}  // namespace
}  // namespace lwai::testing
