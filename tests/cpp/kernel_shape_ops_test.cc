// Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Pad, Identity, Shape, Gather.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/transpose_2d.h"
#include "runtime/thread_pool.h"
#include "tests/cpp/kernel_test_util.h"

namespace lwai::testing {
namespace {

std::vector<float> Iota(int n, float start = 1.0f) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = start + static_cast<float>(i);
  return v;
}

Status RunError(const KernelCase& c, StatusCode code) {
  auto result = RunKernel(c);
  if (result.ok()) {
    ADD_FAILURE() << "expected an error";
    return Status::Ok();
  }
  EXPECT_EQ(result.status().code(), code) << result.status().ToString();
  EXPECT_NE(result.status().message().find("test_node"), std::string::npos)
      << result.status().ToString();
  return result.status();
}

TEST(ReshapeKernel, InferredAndCopiedDims) {
  const TestTensor x = TestTensor::F32({2, 3, 4}, Iota(24));
  TestTensor y = RunOne(Case(OpType::Reshape, {x, TestTensor::I64({2}, {-1, 6})}));
  EXPECT_EQ(y.shape, Shape({4, 6}));
  EXPECT_EQ(y.Floats(), Iota(24));
  EXPECT_EQ(RunOne(Case(OpType::Reshape, {x, TestTensor::I64({2}, {0, -1})})).shape,
            Shape({2, 12}));
  EXPECT_EQ(
      RunOne(Case(OpType::Reshape, {TestTensor::F32({1, 1}, {5}), TestTensor::I64({0}, {})})).shape,
      Shape());
}

TEST(ReshapeKernel, AllowZeroAndOtherDtypes) {
  const TestTensor empty = TestTensor::F32({0, 3}, {});
  EXPECT_EQ(RunOne(Case(OpType::Reshape, {empty, TestTensor::I64({2}, {3, 0})},
                        {IntAttr("allowzero", 1)}))
                .shape,
            Shape({3, 0}));
  TestTensor y = RunOne(
      Case(OpType::Reshape, {TestTensor::I64({2, 2}, {1, 2, 3, 4}), TestTensor::I32({1}, {4})}));
  EXPECT_EQ(y.dtype, DataType::kInt64);
  EXPECT_EQ(y.Values<int64_t>(), std::vector<int64_t>({1, 2, 3, 4}));
}

TEST(ReshapeKernel, RejectsBadShapes) {
  const TestTensor x = TestTensor::F32({2, 3}, Iota(6));
  Status s = RunError(Case(OpType::Reshape, {x, TestTensor::I64({2}, {4, 2})}),
                      StatusCode::kShapeMismatch);
  EXPECT_NE(s.message().find("[2, 3]"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("[4, 2]"), std::string::npos) << s.ToString();
  ExpectError(Case(OpType::Reshape, {x, TestTensor::I64({2}, {-1, -1})}),
              StatusCode::kInvalidModel);
  ExpectError(Case(OpType::Reshape, {x, TestTensor::I64({2}, {-2, 3})}), StatusCode::kInvalidModel);
  ExpectError(Case(OpType::Reshape, {x, TestTensor::I64({2}, {4, -1})}),
              StatusCode::kShapeMismatch);
  ExpectError(Case(OpType::Reshape, {x, TestTensor::F32({2}, {3, 2})}), StatusCode::kInvalidModel);
  KernelCase unknown = Case(OpType::Reshape, {x, TestTensor::I64({2}, {3, 2})});
  unknown.inputs_known_at_prepare = false;
  ExpectError(unknown, StatusCode::kUnsupported);
}

TEST(FlattenKernel, Axes) {
  const TestTensor x = TestTensor::F32({2, 3, 4}, Iota(24));
  TestTensor y = RunOne(Case(OpType::Flatten, {x}));
  EXPECT_EQ(y.shape, Shape({2, 12}));
  EXPECT_EQ(y.Floats(), Iota(24));
  EXPECT_EQ(RunOne(Case(OpType::Flatten, {x}, {IntAttr("axis", -1)})).shape, Shape({6, 4}));
  EXPECT_EQ(RunOne(Case(OpType::Flatten, {x}, {IntAttr("axis", 0)})).shape, Shape({1, 24}));
  EXPECT_EQ(RunOne(Case(OpType::Flatten, {x}, {IntAttr("axis", 3)})).shape, Shape({24, 1}));
  ExpectError(Case(OpType::Flatten, {x}, {IntAttr("axis", 4)}), StatusCode::kInvalidModel);
  ExpectError(Case(OpType::Flatten, {x}, {IntAttr("axis", -4)}), StatusCode::kInvalidModel);
}

TEST(SqueezeKernel, AllOrListedAxes) {
  const TestTensor x = TestTensor::F32({1, 3, 1, 2}, Iota(6));
  TestTensor y = RunOne(Case(OpType::Squeeze, {x}));
  EXPECT_EQ(y.shape, Shape({3, 2}));
  EXPECT_EQ(y.Floats(), Iota(6));
  EXPECT_EQ(RunOne(Case(OpType::Squeeze, {x, TestTensor::I64({1}, {-2})})).shape, Shape({1, 3, 2}));
  EXPECT_EQ(RunOne(Case(OpType::Squeeze, {x, TestTensor::I64({0}, {})})).shape, Shape({3, 2}));
  EXPECT_EQ(RunOne(Case(OpType::Squeeze, {x, TestTensor::I64({2}, {2, 0})})).shape, Shape({3, 2}));
  ExpectError(Case(OpType::Squeeze, {x, TestTensor::I64({1}, {1})}), StatusCode::kShapeMismatch);
  ExpectError(Case(OpType::Squeeze, {x, TestTensor::I64({1}, {4})}), StatusCode::kInvalidModel);
  ExpectError(Case(OpType::Squeeze, {x, TestTensor::I64({2}, {0, -4})}), StatusCode::kInvalidModel);
}

TEST(UnsqueezeKernel, AxesIndexTheOutput) {
  const TestTensor x = TestTensor::I32({3, 2}, {1, 2, 3, 4, 5, 6});
  TestTensor y = RunOne(Case(OpType::Unsqueeze, {x, TestTensor::I64({2}, {0, -1})}));
  EXPECT_EQ(y.shape, Shape({1, 3, 2, 1}));
  EXPECT_EQ(y.Values<int32_t>(), std::vector<int32_t>({1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(RunOne(Case(OpType::Unsqueeze, {x, TestTensor::I64({1}, {1})})).shape,
            Shape({3, 1, 2}));
  EXPECT_EQ(
      RunOne(Case(OpType::Unsqueeze, {TestTensor::F32({}, {7}), TestTensor::I64({1}, {0})})).shape,
      Shape({1}));
  ExpectError(Case(OpType::Unsqueeze, {x, TestTensor::I64({2}, {0, 0})}),
              StatusCode::kInvalidModel);
  ExpectError(Case(OpType::Unsqueeze, {x, TestTensor::I64({1}, {3})}), StatusCode::kInvalidModel);
  ExpectError(Case(OpType::Unsqueeze, {x}), StatusCode::kInvalidModel);
}

TEST(TransposeKernel, DefaultReversesAxes) {
  TestTensor y = RunOne(Case(OpType::Transpose, {TestTensor::F32({2, 3}, Iota(6))}));
  EXPECT_EQ(y.shape, Shape({3, 2}));
  EXPECT_EQ(y.Floats(), std::vector<float>({1, 4, 2, 5, 3, 6}));
}

TEST(TransposeKernel, PermutationOnThreeAxesAndDtypes) {
  std::vector<int64_t> x(24);
  for (int i = 0; i < 24; ++i) x[i] = i;  // x[i][j][k] = 12 i + 4 j + k
  KernelCase c =
      Case(OpType::Transpose, {TestTensor::I64({2, 3, 4}, x)}, {IntsAttr("perm", {1, 2, 0})});
  TestTensor y = RunOne(c);
  ASSERT_EQ(y.shape, Shape({3, 4, 2}));
  const std::vector<int64_t> values = y.Values<int64_t>();
  for (int j = 0; j < 3; ++j) {
    for (int k = 0; k < 4; ++k) {
      for (int i = 0; i < 2; ++i) EXPECT_EQ(values[(j * 4 + k) * 2 + i], 12 * i + 4 * j + k);
    }
  }
  c.threads = 2;
  EXPECT_EQ(RunOne(c).Values<int64_t>(), values);
  TestTensor bytes = RunOne(
      Case(OpType::Transpose, {TestTensor::Make<uint8_t>(DataType::kUInt8, {2, 2}, {1, 2, 3, 4})}));
  EXPECT_EQ(bytes.Values<uint8_t>(), std::vector<uint8_t>({1, 3, 2, 4}));
}

// Every permutation of shapes with size-1 dims, tiled planes (strided last dims of up to 37),
// contiguous rows and plain copies: element (i0..i3) of the input lands where perm says.
TEST(TransposeKernel, EveryPermutationOfFourAxesMatchesTheDefinition) {
  const std::vector<std::vector<int64_t>> shapes = {
      {2, 3, 4, 5}, {1, 17, 1, 37}, {3, 1, 19, 6}, {2, 33, 35, 1}, {1, 1, 1, 1}, {1, 1, 67, 531}};
  for (const std::vector<int64_t>& dims : shapes) {
    const int64_t count = dims[0] * dims[1] * dims[2] * dims[3];
    std::vector<int32_t> x(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) x[i] = static_cast<int32_t>(i);
    std::vector<int64_t> perm = {0, 1, 2, 3};
    do {
      for (int threads : {1, 2}) {
        KernelCase c =
            Case(OpType::Transpose, {TestTensor::I32({dims[0], dims[1], dims[2], dims[3]}, x)},
                 {IntsAttr("perm", perm)});
        c.threads = threads;
        TestTensor y = RunOne(c);
        int64_t out_dims[4],
            in_strides[4] = {dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1};
        for (int d = 0; d < 4; ++d) out_dims[d] = dims[perm[d]];
        ASSERT_EQ(y.shape, Shape({out_dims[0], out_dims[1], out_dims[2], out_dims[3]}));
        const std::vector<int32_t> got = y.Values<int32_t>();
        int64_t o = 0;
        bool same = true;
        for (int64_t a = 0; a < out_dims[0]; ++a) {
          for (int64_t b = 0; b < out_dims[1]; ++b) {
            for (int64_t e = 0; e < out_dims[2]; ++e) {
              for (int64_t f = 0; f < out_dims[3]; ++f, ++o) {
                const int64_t want = a * in_strides[perm[0]] + b * in_strides[perm[1]] +
                                     e * in_strides[perm[2]] + f * in_strides[perm[3]];
                same = same && got[o] == want;
              }
            }
          }
        }
        EXPECT_TRUE(same) << "shape " << dims[0] << "x" << dims[1] << "x" << dims[2] << "x"
                          << dims[3] << " perm " << perm[0] << perm[1] << perm[2] << perm[3];
      }
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
}

// The register-tiled matrix transpose under the layout conversions: strided rows, batches,
// partial tiles, every bit pattern moved as is (NaN payloads included), with and without threads.
TEST(Transpose2D, StridedBatchesMatchTheDefinition) {
  ThreadPool pool(2);
  for (const auto& [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{
           {1, 1}, {8, 8}, {3, 50}, {67, 9}, {16, 600}, {130, 77}}) {
    const int64_t batch = 3, src_stride = cols + 5, dst_stride = rows + 3;
    const int64_t src_batch = rows * src_stride + 7, dst_batch = cols * dst_stride + 2;
    std::vector<uint32_t> src(static_cast<size_t>(batch * src_batch));
    for (size_t i = 0; i < src.size(); ++i) src[i] = 0x7fc00000u + static_cast<uint32_t>(i);
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
      std::vector<uint32_t> dst(static_cast<size_t>(batch * dst_batch), 0xdeadbeefu);
      Transpose2DBatch(src.data(), batch, rows, cols, src_stride, src_batch, dst.data(), dst_stride,
                       dst_batch, p);
      bool same = true;
      for (int64_t b = 0; b < batch; ++b) {
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t c = 0; c < cols; ++c) {
            same = same && dst[b * dst_batch + c * dst_stride + r] ==
                               src[b * src_batch + r * src_stride + c];
          }
        }
        // Padding between output rows is never written.
        for (int64_t c = 0; c < cols; ++c) {
          for (int64_t r = rows; r < dst_stride; ++r) {
            same = same && dst[b * dst_batch + c * dst_stride + r] == 0xdeadbeefu;
          }
        }
      }
      EXPECT_TRUE(same) << rows << "x" << cols << (p ? " threaded" : "");
    }
  }
}

TEST(TransposeKernel, RejectsBadPerm) {
  const TestTensor x = TestTensor::F32({2, 3}, Iota(6));
  ExpectError(Case(OpType::Transpose, {x}, {IntsAttr("perm", {0, 0})}), StatusCode::kInvalidModel);
  ExpectError(Case(OpType::Transpose, {x}, {IntsAttr("perm", {1, 0, 2})}),
              StatusCode::kInvalidModel);
  ExpectError(Case(OpType::Transpose, {x}, {IntsAttr("perm", {-1, 0})}), StatusCode::kInvalidModel);
}

TEST(ConcatKernel, InnerAndOuterAxes) {
  const TestTensor a = TestTensor::F32({2, 1}, {1, 2});
  const TestTensor b = TestTensor::F32({2, 2}, {3, 4, 5, 6});
  TestTensor y = RunOne(Case(OpType::Concat, {a, b}, {IntAttr("axis", 1)}));
  EXPECT_EQ(y.shape, Shape({2, 3}));
  EXPECT_EQ(y.Floats(), std::vector<float>({1, 3, 4, 2, 5, 6}));
  EXPECT_EQ(RunOne(Case(OpType::Concat, {a, b}, {IntAttr("axis", -1)})).Floats(), y.Floats());
  TestTensor z = RunOne(Case(OpType::Concat,
                             {TestTensor::I64({1, 2}, {1, 2}), TestTensor::I64({0, 2}, {}),
                              TestTensor::I64({2, 2}, {3, 4, 5, 6})},
                             {IntAttr("axis", 0)}));
  EXPECT_EQ(z.shape, Shape({3, 2}));
  EXPECT_EQ(z.Values<int64_t>(), std::vector<int64_t>({1, 2, 3, 4, 5, 6}));
}

TEST(ConcatKernel, RejectsBadInputs) {
  const TestTensor a = TestTensor::F32({2, 1}, {1, 2});
  ExpectError(Case(OpType::Concat, {a, TestTensor::I64({2, 1}, {1, 2})}, {IntAttr("axis", 1)}),
              StatusCode::kInvalidModel);
  ExpectError(Case(OpType::Concat, {a, TestTensor::F32({3, 1}, {1, 2, 3})}, {IntAttr("axis", 1)}),
              StatusCode::kShapeMismatch);
  ExpectError(Case(OpType::Concat, {a, TestTensor::F32({2}, {1, 2})}, {IntAttr("axis", 0)}),
              StatusCode::kShapeMismatch);
  ExpectError(Case(OpType::Concat, {a, a}), StatusCode::kInvalidModel);
  ExpectError(Case(OpType::Concat, {a, a}, {IntAttr("axis", 2)}), StatusCode::kInvalidModel);
}

TEST(PadKernel, ConstantMode) {
  // pads = [row begin, col begin, row end, col end] = [1, 0, 0, 1].
  TestTensor y =
      RunOne(Case(OpType::Pad, {TestTensor::F32({2, 2}, {1, 2, 3, 4}),
                                TestTensor::I64({4}, {1, 0, 0, 1}), TestTensor::F32({}, {9})}));
  EXPECT_EQ(y.shape, Shape({3, 3}));
  EXPECT_EQ(y.Floats(), std::vector<float>({9, 9, 9, 1, 2, 9, 3, 4, 9}));
  // Default constant 0, int64 data.
  TestTensor z = RunOne(
      Case(OpType::Pad, {TestTensor::I64({1, 2}, {5, 6}), TestTensor::I64({4}, {0, 1, 1, 0})}));
  EXPECT_EQ(z.shape, Shape({2, 3}));
  EXPECT_EQ(z.Values<int64_t>(), std::vector<int64_t>({0, 5, 6, 0, 0, 0}));
  TestTensor w =
      RunOne(Case(OpType::Pad, {TestTensor::I64({2}, {5, 6}), TestTensor::I64({2}, {1, 1}),
                                TestTensor::I64({}, {-1})}));
  EXPECT_EQ(w.Values<int64_t>(), std::vector<int64_t>({-1, 5, 6, -1}));
}

TEST(PadKernel, ReflectEdgeWrap) {
  const TestTensor x = TestTensor::F32({1, 3}, {1, 2, 3});
  const TestTensor pads = TestTensor::I64({4}, {0, 2, 0, 2});
  EXPECT_EQ(RunOne(Case(OpType::Pad, {x, pads}, {StringAttr("mode", "reflect")})).Floats(),
            std::vector<float>({3, 2, 1, 2, 3, 2, 1}));
  EXPECT_EQ(RunOne(Case(OpType::Pad, {x, pads}, {StringAttr("mode", "edge")})).Floats(),
            std::vector<float>({1, 1, 1, 2, 3, 3, 3}));
  EXPECT_EQ(RunOne(Case(OpType::Pad, {x, pads}, {StringAttr("mode", "wrap")})).Floats(),
            std::vector<float>({2, 3, 1, 2, 3, 1, 2}));
  // Reflect along the outer axis of a 3 x 2 input.
  TestTensor y = RunOne(Case(OpType::Pad,
                             {TestTensor::F32({3, 2}, Iota(6)), TestTensor::I64({4}, {1, 0, 1, 0})},
                             {StringAttr("mode", "reflect")}));
  EXPECT_EQ(y.shape, Shape({5, 2}));
  EXPECT_EQ(y.Floats(), std::vector<float>({3, 4, 1, 2, 3, 4, 5, 6, 3, 4}));
}

TEST(PadKernel, NegativePadsCropAndAxesInput) {
  TestTensor y = RunOne(Case(
      OpType::Pad, {TestTensor::F32({1, 4}, {1, 2, 3, 4}), TestTensor::I64({4}, {0, -1, 0, 1})}));
  EXPECT_EQ(y.shape, Shape({1, 4}));
  EXPECT_EQ(y.Floats(), std::vector<float>({2, 3, 4, 0}));
  TestTensor z =
      RunOne(Case(OpType::Pad, {TestTensor::F32({2, 3}, Iota(6)), TestTensor::I64({2}, {1, 1}),
                                Omitted(), TestTensor::I64({1}, {-1})}));
  EXPECT_EQ(z.shape, Shape({2, 5}));
  EXPECT_EQ(z.Floats(), std::vector<float>({0, 1, 2, 3, 0, 0, 4, 5, 6, 0}));
}

TEST(PadKernel, RejectsBadInputs) {
  const TestTensor x = TestTensor::F32({2, 2}, {1, 2, 3, 4});
  ExpectError(Case(OpType::Pad, {x, TestTensor::I64({2}, {1, 1})}), StatusCode::kInvalidModel);
  ExpectError(
      Case(OpType::Pad, {x, TestTensor::I64({4}, {1, 1, 1, 1})}, {StringAttr("mode", "mirror")}),
      StatusCode::kInvalidModel);
  ExpectError(Case(OpType::Pad, {x, TestTensor::I64({4}, {1, 1, 1, 1}), TestTensor::I64({}, {1})}),
              StatusCode::kInvalidModel);
  ExpectError(Case(OpType::Pad, {x, TestTensor::I64({4}, {0, -3, 0, 0})}),
              StatusCode::kShapeMismatch);
  KernelCase unknown = Case(OpType::Pad, {x, TestTensor::I64({4}, {1, 1, 1, 1})});
  unknown.inputs_known_at_prepare = false;
  ExpectError(unknown, StatusCode::kUnsupported);
}

TEST(IdentityKernel, CopiesAnyDtype) {
  TestTensor y = RunOne(Case(OpType::Identity, {TestTensor::I32({2, 2}, {1, -2, 3, -4})}));
  EXPECT_EQ(y.dtype, DataType::kInt32);
  EXPECT_EQ(y.shape, Shape({2, 2}));
  EXPECT_EQ(y.Values<int32_t>(), std::vector<int32_t>({1, -2, 3, -4}));
  ExpectError(Case(OpType::Identity, {}), StatusCode::kInvalidModel);
}

TEST(ShapeKernel, StartEndClamped) {
  const TestTensor x = TestTensor::F32({2, 3, 4}, Iota(24));
  auto dims = [&](std::vector<Attribute> attrs) {
    KernelCase c = Case(OpType::Shape, {x}, std::move(attrs));
    c.inputs_known_at_prepare = false;  // only the shape is needed
    TestTensor y = RunOne(c);
    EXPECT_EQ(y.dtype, DataType::kInt64);
    return y.Values<int64_t>();
  };
  EXPECT_EQ(dims({}), std::vector<int64_t>({2, 3, 4}));
  EXPECT_EQ(dims({IntAttr("start", 1)}), std::vector<int64_t>({3, 4}));
  EXPECT_EQ(dims({IntAttr("end", -1)}), std::vector<int64_t>({2, 3}));
  EXPECT_EQ(dims({IntAttr("start", -10), IntAttr("end", 10)}), std::vector<int64_t>({2, 3, 4}));
  EXPECT_EQ(dims({IntAttr("start", 2), IntAttr("end", 1)}), std::vector<int64_t>());
  EXPECT_EQ(dims({IntAttr("start", -1)}), std::vector<int64_t>({4}));
}

TEST(GatherKernel, AxesAndIndexDtypes) {
  const TestTensor data = TestTensor::F32({3, 2}, Iota(6));
  TestTensor y = RunOne(Case(OpType::Gather, {data, TestTensor::I64({2}, {2, 0})}));
  EXPECT_EQ(y.shape, Shape({2, 2}));
  EXPECT_EQ(y.Floats(), std::vector<float>({5, 6, 1, 2}));
  // Negative index along the last axis, int32 indices.
  y = RunOne(Case(OpType::Gather, {data, TestTensor::I32({1}, {-1})}, {IntAttr("axis", -1)}));
  EXPECT_EQ(y.shape, Shape({3, 1}));
  EXPECT_EQ(y.Floats(), std::vector<float>({2, 4, 6}));
  // Scalar index removes the axis; 2-D indices add one.
  y = RunOne(Case(OpType::Gather, {data, TestTensor::I64({}, {1})}));
  EXPECT_EQ(y.shape, Shape({2}));
  EXPECT_EQ(y.Floats(), std::vector<float>({3, 4}));
  TestTensor z = RunOne(Case(OpType::Gather, {TestTensor::I64({3}, {10, 20, 30}),
                                              TestTensor::I64({2, 2}, {0, 2, -3, 1})}));
  EXPECT_EQ(z.shape, Shape({2, 2}));
  EXPECT_EQ(z.Values<int64_t>(), std::vector<int64_t>({10, 30, 10, 20}));
}

TEST(GatherKernel, OutOfRangeIndexIsAnError) {
  const TestTensor data = TestTensor::F32({3, 2}, Iota(6));
  Status s = RunError(Case(OpType::Gather, {data, TestTensor::I64({2}, {0, 3})}),
                      StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("index 3"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("size 3"), std::string::npos) << s.ToString();
  s = RunError(Case(OpType::Gather, {data, TestTensor::I32({1}, {-3})}, {IntAttr("axis", 1)}),
               StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("index -3"), std::string::npos) << s.ToString();
  ExpectError(Case(OpType::Gather, {data, TestTensor::F32({1}, {0})}), StatusCode::kInvalidModel);
  ExpectError(Case(OpType::Gather, {data, TestTensor::I64({1}, {0})}, {IntAttr("axis", 2)}),
              StatusCode::kInvalidModel);
}

}  // namespace
}  // namespace lwai::testing
