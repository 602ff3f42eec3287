// The int8 GEMM (kernels/int8_gemm.h) against a plain loop, on both implementations (VNNI where
// the CPU has it, and the portable one), with row, column and depth tails and both output types.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernels/int8_elementwise.h"
#include "kernels/int8_gemm.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

struct Case {
  int64_t rows, depth, columns;
  bool b_signed, y_signed;
};

// How the weights come: int8 without zero points, or with zero points (Create-
// WithZeroPoints): uint8 with one, uint8 with one per row, int8 with one per row.
enum class WeightZeroPoints { kNone, kUint8PerTensor, kUint8PerRow, kInt8PerRow };

// `transposed`: B given by columns and Y written transposed (A * W^T with A's rows as B's
// columns), as the quantized MatMul kernels call it.
void CheckCase(const Case& c, int threads, bool portable, bool transposed = false,
               WeightZeroPoints zero_points = WeightZeroPoints::kNone) {
  std::mt19937 rng(static_cast<uint32_t>(c.rows * 131 + c.depth * 7 + c.columns));
  std::uniform_int_distribution<int> byte(0, 255), weight(-128, 127), bias(-5000, 5000);
  const bool w_signed =
      zero_points == WeightZeroPoints::kNone || zero_points == WeightZeroPoints::kInt8PerRow;
  // Raw weight bytes and each row's zero point; with zero points, every third row spans few
  // values (its W - z fits int8: no row constant) and the others the whole type.
  std::vector<uint8_t> w_bytes(static_cast<size_t>(c.rows * c.depth));
  std::vector<int32_t> w_zero(static_cast<size_t>(c.rows), 0);
  const int32_t shared_zero = byte(rng) - (w_signed ? 128 : 0);
  for (int64_t m = 0; m < c.rows; ++m) {
    if (zero_points == WeightZeroPoints::kUint8PerTensor) w_zero[m] = shared_zero;
    if (zero_points == WeightZeroPoints::kUint8PerRow ||
        zero_points == WeightZeroPoints::kInt8PerRow)
      w_zero[m] = byte(rng) - (w_signed ? 128 : 0);
    const bool narrow = zero_points != WeightZeroPoints::kNone && m % 3 == 0;
    const int zero_byte = w_zero[m] + (w_signed ? 128 : 0);
    std::uniform_int_distribution<int> near(std::max(0, zero_byte - 60),
                                            std::min(255, zero_byte + 60));
    for (int64_t k = 0; k < c.depth; ++k) {
      const int raw = narrow ? near(rng) : byte(rng);
      w_bytes[m * c.depth + k] = static_cast<uint8_t>(w_signed ? raw - 128 : raw);
    }
  }
  // W - z as the reference sums it.
  auto w = [&](int64_t m, int64_t k) {
    const uint8_t v = w_bytes[m * c.depth + k];
    return (w_signed ? static_cast<int32_t>(static_cast<int8_t>(v)) : v) - w_zero[m];
  };
  // Rows (or columns) of B are not packed tightly.
  const int64_t ldb = transposed ? c.depth + 3 : c.columns + 3;
  std::vector<uint8_t> b(static_cast<size_t>((transposed ? c.columns : c.depth) * ldb));
  for (uint8_t& v : b) v = static_cast<uint8_t>(byte(rng));
  std::vector<int32_t> offset(static_cast<size_t>(c.rows));
  std::vector<float> scale(static_cast<size_t>(c.rows));
  for (int64_t m = 0; m < c.rows; ++m) {
    offset[m] = bias(rng);
    scale[m] = 1.0f / static_cast<float>(200 + 37 * m);
  }
  Int8Requantization rq;
  rq.row_offset = offset.data();
  rq.row_scale = scale.data();
  rq.y_signed = c.y_signed;
  rq.y_zero_point = c.y_signed ? -3 : 121;
  rq.y_min = c.y_signed ? -100 : 2;  // narrowed, as a fused activation does
  rq.y_max = c.y_signed ? 127 : 250;
  const uint8_t flip = c.b_signed ? 0x80 : 0;

  auto packed =
      zero_points == WeightZeroPoints::kNone
          ? Int8GemmWeights::Create(reinterpret_cast<const int8_t*>(w_bytes.data()), c.rows,
                                    c.depth)
          : Int8GemmWeights::CreateWithZeroPoints(
                w_bytes.data(), w_signed, w_zero.data(),
                zero_points == WeightZeroPoints::kUint8PerTensor ? 1 : c.rows, c.rows, c.depth);
  ASSERT_TRUE(packed.ok()) << packed.status().ToString();
  for (int64_t m = 0; m < c.rows; ++m) {
    int32_t row_sum = 0;
    for (int64_t k = 0; k < c.depth; ++k) row_sum += w(m, k);
    ASSERT_EQ((*packed)->row_sums()[m], row_sum) << "row " << m;
  }
  // Some rows need their constant, some do not (a row of a few values always fits int8).
  if (zero_points != WeightZeroPoints::kNone && c.depth > 8) {
    const int32_t* constants = (*packed)->row_constants();
    ASSERT_NE(constants, nullptr);
    if (c.rows > 1) {
      EXPECT_EQ(constants[0], 0);
      EXPECT_TRUE(std::any_of(constants, constants + c.rows, [](int32_t d) { return d != 0; }));
    }
  }
  rq.y_transposed = transposed;
  const int64_t ldy = (transposed ? c.rows : c.columns) + 5;
  std::vector<uint8_t> y(static_cast<size_t>((transposed ? c.columns : c.rows) * ldy), 0xEE);
  std::vector<uint8_t> scratch(Int8GemmScratchBytes(c.depth, c.columns, threads) + 64);
  void* aligned =
      reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(scratch.data()) + 63) & ~uintptr_t{63});
  ThreadPool pool(threads);
  int8_gemm_internal::SetForcePortableForTesting(portable);
  Int8Gemm(**packed, b.data(), ldb, flip, c.columns, rq, y.data(), ldy, aligned, &pool, transposed);
  int8_gemm_internal::SetForcePortableForTesting(false);

  const float lo = static_cast<float>(rq.y_min - rq.y_zero_point);
  const float hi = static_cast<float>(rq.y_max - rq.y_zero_point);
  for (int64_t m = 0; m < c.rows; ++m) {
    for (int64_t n = 0; n < c.columns + 5; ++n) {
      const uint8_t got = transposed ? (n < c.columns ? y[n * ldy + m] : 0xEE) : y[m * ldy + n];
      if (n >= c.columns) {
        ASSERT_EQ(got, 0xEE) << "wrote past the columns at row " << m << " column " << n;
        continue;
      }
      int32_t sum = 0;
      for (int64_t k = 0; k < c.depth; ++k) {
        sum += w(m, k) * ((transposed ? b[n * ldb + k] : b[k * ldb + n]) ^ flip);
      }
      const int32_t want = Int8Requantize(sum, offset[m], scale[m], lo, hi, rq.y_zero_point);
      if (transposed && m == 0) {  // the bytes past Y^T's rows stay untouched
        for (int64_t pad = c.rows; pad < ldy; ++pad) ASSERT_EQ(y[n * ldy + pad], 0xEE);
      }
      ASSERT_EQ(got, static_cast<uint8_t>(want & 0xFF)) << "row " << m << " column " << n;
    }
  }
}

TEST(Int8Gemm, MatchesPlainLoopOnBothImplementations) {
  const Case cases[] = {
      {8, 4, 32, false, false}, {13, 37, 45, true, false},    {64, 576, 100, false, true},
      {3, 1, 1, true, true},    {17, 147, 257, false, false}, {40, 9, 16, true, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.rows << "x" << c.depth << "x" << c.columns);
    for (bool portable : {false, true}) {
      for (int threads : {1, 2}) {
        CheckCase(c, threads, portable);
        CheckCase(c, threads, portable, /*transposed=*/true);
      }
    }
  }
}

// Weights with zero points (uint8 weights as ONNX Runtime's quantizers write them, int8 ones with
// per-row zero points): exact sums of (W - z) * B through the row constants' column sums.
TEST(Int8Gemm, WeightsWithZeroPointsMatchPlainLoop) {
  const Case cases[] = {
      {8, 4, 32, false, false},     {13, 37, 45, true, false}, {64, 576, 100, false, true},
      {17, 147, 257, false, false}, {3, 1, 1, true, true},
  };
  for (const Case& c : cases) {
    for (WeightZeroPoints z : {WeightZeroPoints::kUint8PerTensor, WeightZeroPoints::kUint8PerRow,
                               WeightZeroPoints::kInt8PerRow}) {
      SCOPED_TRACE(::testing::Message() << c.rows << "x" << c.depth << "x" << c.columns
                                        << " zero points " << static_cast<int>(z));
      for (bool portable : {false, true}) {
        for (int threads : {1, 2}) {
          CheckCase(c, threads, portable, false, z);
          CheckCase(c, threads, portable, true, z);
        }
      }
    }
  }
}

// Float output (as DynamicQuantizeMatMul uses it): y = float(sum + offset) * scale + bias.
TEST(Int8Gemm, FloatOutputMatchesPlainLoop) {
  for (const Case& c : {Case{8, 4, 32, false, false}, Case{13, 37, 45, true, false},
                        Case{21, 130, 1, false, false}, Case{70, 64, 40, false, false}}) {
    SCOPED_TRACE(::testing::Message() << c.rows << "x" << c.depth << "x" << c.columns);
    std::mt19937 rng(static_cast<uint32_t>(c.rows + c.depth + c.columns));
    std::uniform_int_distribution<int> byte(0, 255), weight(-128, 127), offset_dist(-5000, 5000);
    std::vector<int8_t> w(static_cast<size_t>(c.rows * c.depth));
    for (int8_t& v : w) v = static_cast<int8_t>(weight(rng));
    std::vector<uint8_t> b(static_cast<size_t>(c.depth * c.columns));
    for (uint8_t& v : b) v = static_cast<uint8_t>(byte(rng));
    std::vector<int32_t> offset(static_cast<size_t>(c.rows));
    std::vector<float> scale(offset.size()), bias(offset.size());
    for (int64_t m = 0; m < c.rows; ++m) {
      offset[m] = offset_dist(rng);
      scale[m] = 1.0f / static_cast<float>(300 + 11 * m);
      bias[m] = static_cast<float>(m) * 0.25f - 3.0f;
    }
    Int8Requantization rq;
    rq.row_offset = offset.data();
    rq.row_scale = scale.data();
    rq.row_bias = c.b_signed ? nullptr : bias.data();
    rq.float_output = true;
    auto packed = Int8GemmWeights::Create(w.data(), c.rows, c.depth);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    // B by columns (A's rows, depth bytes each) for the transposed form.
    std::vector<uint8_t> b_columns(b.size());
    for (int64_t k = 0; k < c.depth; ++k) {
      for (int64_t n = 0; n < c.columns; ++n) b_columns[n * c.depth + k] = b[k * c.columns + n];
    }
    for (bool transposed : {false, true}) {  // Y, or Y^T as DynamicQuantizeMatMul writes it
      rq.y_transposed = transposed;
      const int64_t ldy = (transposed ? c.rows : c.columns) + 2;
      for (bool portable : {false, true}) {
        for (int threads : {1, 2}) {
          std::vector<float> y(static_cast<size_t>((transposed ? c.columns : c.rows) * ldy), -7.5f);
          std::vector<uint8_t> scratch(Int8GemmScratchBytes(c.depth, c.columns, threads) + 64);
          void* aligned = reinterpret_cast<void*>(
              (reinterpret_cast<uintptr_t>(scratch.data()) + 63) & ~uintptr_t{63});
          ThreadPool pool(threads);
          int8_gemm_internal::SetForcePortableForTesting(portable);
          Int8Gemm(**packed, transposed ? b_columns.data() : b.data(),
                   transposed ? c.depth : c.columns, 0, c.columns, rq, y.data(), ldy, aligned,
                   &pool, transposed);
          int8_gemm_internal::SetForcePortableForTesting(false);
          for (int64_t m = 0; m < c.rows; ++m) {
            for (int64_t n = 0; n < c.columns; ++n) {
              int32_t sum = offset[m];
              for (int64_t k = 0; k < c.depth; ++k) {
                sum += w[m * c.depth + k] * b[k * c.columns + n];
              }
              const float want =
                  std::fma(static_cast<float>(sum), scale[m], rq.row_bias ? bias[m] : 0.0f);
              ASSERT_EQ(y[transposed ? n * ldy + m : m * ldy + n], want)
                  << "row " << m << " column " << n << " portable " << portable << " threads "
                  << threads << " transposed " << transposed;
            }
          }
          // Nothing written past Y's rows (or Y^T's).
          const int64_t lines = transposed ? c.columns : c.rows;
          const int64_t width = transposed ? c.rows : c.columns;
          for (int64_t i = 0; i < lines; ++i) {
            for (int64_t j = width; j < ldy; ++j) ASSERT_EQ(y[i * ldy + j], -7.5f);
          }
        }
      }
    }
  }
}

// Dynamic quantization of a float operand: the vector path equals the scalar definition,
// including ties (half steps), NaN (ignored by the range, quantized to the zero point) and
// values beyond the range (saturated).
TEST(Int8Gemm, DynamicUint8QuantizationMatchesScalarDefinition) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.5f, 2.0f);
  std::vector<float> x(1000);
  for (float& v : x) v = normal(rng);
  x[17] = std::nanf("");
  x[500] = -std::nanf("");
  for (int64_t count : {int64_t{1}, int64_t{15}, int64_t{16}, int64_t{999}}) {
    int8_gemm_internal::SetForcePortableForTesting(true);
    const DynamicUint8Parameters want = DynamicUint8ParametersOf(x.data(), count);
    int8_gemm_internal::SetForcePortableForTesting(false);
    const DynamicUint8Parameters got = DynamicUint8ParametersOf(x.data(), count);
    ASSERT_EQ(got.scale, want.scale) << count;
    ASSERT_EQ(got.zero_point, want.zero_point) << count;
  }
  DynamicUint8Parameters p = DynamicUint8ParametersOf(x.data(), 1000);
  for (int i = 0; i < 40; ++i) x[600 + i] = (static_cast<float>(i) - 20.0f + 0.5f) * p.scale;
  x[700] = 1e30f;
  x[701] = -1e30f;
  x[702] = std::numeric_limits<float>::infinity();
  std::vector<uint8_t> got(x.size());
  QuantizeUint8Row(x.data(), static_cast<int64_t>(x.size()), p, got.data());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(got[i], QuantizeUint8(x[i], p)) << i;
  EXPECT_EQ(got[17], p.zero_point);
  EXPECT_EQ(got[700], 255);
  EXPECT_EQ(got[701], 0);
}

// The depthwise row (VBMI + VNNI where the CPU has them) against its scalar definition.
TEST(Int8Gemm, DepthwiseRowMatchesScalarDefinition) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> byte(0, 255), weight(-128, 127), bias(-3000, 3000);
  for (int64_t kh : {1, 3, 5}) {
    for (int64_t kw : {1, 3, 4, 5, 8}) {
      for (int64_t stride : {1, 2}) {
        const int64_t count = 37, width = count * stride + kw + 64;
        std::vector<uint8_t> plane(static_cast<size_t>(kh * width));
        for (uint8_t& v : plane) v = static_cast<uint8_t>(byte(rng));
        std::vector<int8_t> w(static_cast<size_t>(kh * kw));
        for (int8_t& v : w) v = static_cast<int8_t>(weight(rng));
        std::vector<const uint8_t*> rows;
        for (int64_t ky = 0; ky < kh; ++ky) rows.push_back(plane.data() + ky * width);
        Int8Requantization rq;
        rq.y_zero_point = 7;
        rq.y_min = 0;
        rq.y_max = 250;
        const int32_t offset = bias(rng);
        const float scale = 1.0f / 1500.0f;
        std::vector<uint8_t> fast(count + 1, 0xEE), plain(count + 1, 0xEE);
        Int8DepthwiseRow(rows.data(), kh, kw, stride, w.data(), count, offset, scale, rq,
                         fast.data());
        int8_gemm_internal::SetForcePortableForTesting(true);
        Int8DepthwiseRow(rows.data(), kh, kw, stride, w.data(), count, offset, scale, rq,
                         plain.data());
        int8_gemm_internal::SetForcePortableForTesting(false);
        ASSERT_EQ(fast, plain) << kh << "x" << kw << " stride " << stride;
        EXPECT_EQ(fast[count], 0xEE) << "wrote past the row";
        int32_t sum = 0;  // output 5, by hand
        for (int64_t ky = 0; ky < kh; ++ky) {
          for (int64_t kx = 0; kx < kw; ++kx) sum += w[ky * kw + kx] * rows[ky][5 * stride + kx];
        }
        EXPECT_EQ(plain[5], Int8Requantize(sum, offset, scale, -7.0f, 243.0f, 7));
      }
    }
  }
}

TEST(Int8Gemm, RejectsBadSizes) {
  const int8_t w[4] = {1, 2, 3, 4};
  EXPECT_FALSE(Int8GemmWeights::Create(w, 0, 4).ok());
  EXPECT_FALSE(Int8GemmWeights::Create(w, 1, 0).ok());
  EXPECT_FALSE(Int8GemmWeights::Create(nullptr, 1, 4).ok());
  EXPECT_FALSE(Int8GemmWeights::Create(w, int64_t{1} << 21, 1).ok());
}

}  // namespace
}  // namespace lwai

namespace lwai {
namespace {

TEST(Int8Elementwise, LookupAndMaxMatchPlainLoops) {
  std::mt19937 rng(5);
  uint8_t table[256];
  for (uint8_t& v : table) v = static_cast<uint8_t>(rng());
  for (int64_t count : {1, 63, 64, 65, 200, 1000}) {
    std::vector<uint8_t> src(static_cast<size_t>(count)), dst(src.size() + 8, 0xAB);
    for (uint8_t& v : src) v = static_cast<uint8_t>(rng());
    Int8LookupRow(table, src.data(), count, dst.data());
    for (int64_t i = 0; i < count; ++i) ASSERT_EQ(dst[i], table[src[i]]) << i;
    EXPECT_EQ(dst[count], 0xAB) << "wrote past the row";
    for (bool is_signed : {false, true}) {
      std::vector<uint8_t> acc(src.size());
      for (uint8_t& v : acc) v = static_cast<uint8_t>(rng());
      std::vector<uint8_t> want = acc;
      for (int64_t i = 0; i < count; ++i) {
        want[i] = is_signed ? static_cast<uint8_t>(std::max(static_cast<int8_t>(want[i]),
                                                            static_cast<int8_t>(src[i])))
                            : std::max(want[i], src[i]);
      }
      Int8MaxInto(acc.data(), src.data(), count, is_signed);
      ASSERT_EQ(acc, want) << "signed " << is_signed << " count " << count;
    }
  }
}

}  // namespace
}  // namespace lwai
