// Outputs placed in caller memory (IO binding): the kernels write them there directly where the
// plan allows it, partitions follow the buffers as they move from run to run, and everything
// else (aliases, unaligned or input-overlapping memory, data-dependent shapes) is copied there.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lwai/session.h"
#include "runtime/backend.h"
#include "runtime/executor.h"
#include "tests/cpp/kernel_test_util.h"
#include "tests/cpp/net_builder.h"

namespace lwai::testing {
namespace {

// x -> Conv -> Relu -> Sigmoid (output 0, 4-D) -> Identity (output 2, an alias of output 0's
// buffer); Relu -> GlobalAveragePool -> Flatten -> Gemm -> Add (output 1, 2-D: in an XNNPACK
// partition, an XNNPACK operator set up with its address writes it straight into its buffer);
// Relu is output 3.
std::shared_ptr<Model> ConvPoolGemm() {
  Net net(21);
  const int x = net.Input({1, 3, 8, 8});
  const int relu =
      net.Op(OpType::Relu, {net.Conv(x, 3, 4, {3, 3}, {IntsAttr("pads", {1, 1, 1, 1})})});
  const int sigmoid = net.Op(OpType::Sigmoid, {relu});
  const int alias = net.Op(OpType::Identity, {sigmoid});
  const int flat = net.Op(OpType::Flatten, {net.Op(OpType::GlobalAveragePool, {relu})});
  const int gemm =
      net.Op(OpType::Gemm, {flat, net.Const({5, 4}), net.Const({5})}, {IntAttr("transB", 1)});
  const int probabilities = net.Op(OpType::Softmax, {gemm}, {IntAttr("axis", 1)});
  net.Output(sigmoid);
  net.Output(probabilities);
  net.Output(alias);
  net.Output(relu);  // output 3: read by the XNNPACK partition as well
  auto model = net.Build();
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return *model;
}

std::vector<float> Values(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float& v : values) v = dist(rng);
  return values;
}

struct Buffers {
  std::vector<std::shared_ptr<void>> owned;
  std::vector<void*> pointers;
};

// 64-byte aligned buffers for every output of `executor`, filled with NaN.
Buffers AlignedOutputs(const Graph& graph, const Executor& executor) {
  Buffers buffers;
  for (int t : graph.outputs) {
    const size_t bytes = executor.tensor(t).ByteSize();
    buffers.owned.push_back(AllocateAligned(bytes));
    float* p = static_cast<float*>(buffers.owned.back().get());
    for (size_t i = 0; i < bytes / sizeof(float); ++i) p[i] = std::nanf("");
    buffers.pointers.push_back(p);
  }
  return buffers;
}

void ExpectValues(const float* got, const std::vector<float>& want, const std::string& what) {
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], 1e-4f) << what << " element " << i;
  }
}

bool AllNan(const void* data, size_t count) {
  const float* p = static_cast<const float*>(data);
  for (size_t i = 0; i < count; ++i) {
    if (!std::isnan(p[i])) return false;
  }
  return true;
}

class PlacedOutputs : public ::testing::TestWithParam<std::string> {};

TEST_P(PlacedOutputs, KernelsWriteThemInPlaceAndFollowThemFromRunToRun) {
  if (!CreateBackend(GetParam()).ok()) GTEST_SKIP() << "built without " << GetParam();
  const auto model = ConvPoolGemm();
  const Graph& graph = model->graph();
  const Shape shape({1, 3, 8, 8});
  const std::vector<float> x = Values(192, 3);
  const std::vector<TensorRef> inputs = {TensorRef{DataType::kFloat32, shape, x.data()}};

  // What the reference kernels give, in their arena.
  SessionOptions reference_options;
  reference_options.backends = {"reference"};
  auto reference = Executor::Create(graph, reference_options);
  ASSERT_TRUE(reference.ok());
  ASSERT_TRUE((*reference)->Prepare({shape}).ok());
  ASSERT_TRUE((*reference)->Invoke(inputs).ok());
  std::vector<std::vector<float>> want;
  for (int t : graph.outputs) {
    const TensorView& view = (*reference)->tensor(t);
    want.emplace_back(view.Data<float>(), view.Data<float>() + view.NumElements());
  }

  SessionOptions options;
  options.backends = {GetParam()};
  auto executor = Executor::Create(graph, options);
  ASSERT_TRUE(executor.ok());
  Executor& e = **executor;
  ASSERT_TRUE(e.Prepare({shape}).ok());
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(e.output_shape_known(i));
  const int softmax_node = static_cast<int>(graph.nodes.size()) - 1;
  ASSERT_EQ(graph.nodes[softmax_node].op, OpType::Softmax);
  EXPECT_STREQ(e.node_backend(softmax_node), GetParam().c_str());
  Buffers a = AlignedOutputs(graph, e), b = AlignedOutputs(graph, e);

  ASSERT_TRUE(e.Invoke(inputs, &a.pointers).ok());
  // Outputs 0 and 1 own their buffers: written in place. Output 2 aliases output 0's buffer,
  // so it cannot move on its own: it reads where output 0 went.
  EXPECT_EQ(e.tensor(graph.outputs[0]).data, a.pointers[0]);
  EXPECT_EQ(e.tensor(graph.outputs[1]).data, a.pointers[1]);
  EXPECT_EQ(e.tensor(graph.outputs[2]).data, a.pointers[0]);
  EXPECT_TRUE(AllNan(a.pointers[2], want[2].size()));
  // Output 3 feeds the rest of an XNNPACK partition, which may read a little past a buffer's
  // end: it stays in the arena there.
  const bool partitioned = GetParam() == "xnnpack";
  EXPECT_EQ(e.tensor(graph.outputs[3]).data == a.pointers[3], !partitioned);
  ExpectValues(e.tensor(graph.outputs[3]).Data<float>(), want[3], "run 1, output 3");
  ExpectValues(static_cast<float*>(a.pointers[0]), want[0], "run 1, output 0");
  ExpectValues(static_cast<float*>(a.pointers[1]), want[1], "run 1, output 1");

  // New buffers: the next run writes there and leaves the old ones alone.
  std::vector<std::vector<float>> first = {
      std::vector<float>(static_cast<float*>(a.pointers[0]),
                         static_cast<float*>(a.pointers[0]) + want[0].size()),
      std::vector<float>(static_cast<float*>(a.pointers[1]),
                         static_cast<float*>(a.pointers[1]) + want[1].size())};
  for (int o = 0; o < 2; ++o) {
    std::memset(a.pointers[o], 0xff, want[o].size() * sizeof(float));  // NaN
  }
  std::vector<void*> second = {b.pointers[0], b.pointers[1], b.pointers[2], nullptr};
  ASSERT_TRUE(e.Invoke(inputs, &second).ok());
  EXPECT_EQ(e.tensor(graph.outputs[1]).data, b.pointers[1]);
  ExpectValues(static_cast<float*>(b.pointers[0]), want[0], "run 2, output 0");
  ExpectValues(static_cast<float*>(b.pointers[1]), want[1], "run 2, output 1");
  EXPECT_TRUE(AllNan(a.pointers[0], want[0].size()));
  EXPECT_TRUE(AllNan(a.pointers[1], want[1].size()));

  // No placement: back in the arena, the caller's buffers untouched.
  for (int o = 0; o < 2; ++o) std::memset(b.pointers[o], 0xff, want[o].size() * sizeof(float));
  ASSERT_TRUE(e.Invoke(inputs).ok());
  for (int o = 0; o < 4; ++o) {
    const TensorView& view = e.tensor(graph.outputs[o]);
    EXPECT_NE(view.data, a.pointers[o]);
    EXPECT_NE(view.data, b.pointers[o]);
    ExpectValues(view.Data<float>(), want[o], "run 3, output " + std::to_string(o));
  }
  EXPECT_TRUE(AllNan(b.pointers[0], want[0].size()));
  EXPECT_TRUE(AllNan(b.pointers[1], want[1].size()));

  // Output 2 reads output 0's buffer: left unplaced, it keeps output 0 in the session too.
  std::vector<void*> only_first = {a.pointers[0], nullptr, nullptr, nullptr};
  ASSERT_TRUE(e.Invoke(inputs, &only_first).ok());
  EXPECT_NE(e.tensor(graph.outputs[0]).data, a.pointers[0]);
  EXPECT_EQ(e.tensor(graph.outputs[2]).data, e.tensor(graph.outputs[0]).data);
  ExpectValues(e.tensor(graph.outputs[2]).Data<float>(), want[2], "output 2 left unplaced");

  // Memory that is not 16-byte aligned stays the caller's problem to copy into.
  std::vector<void*> unaligned = {static_cast<float*>(a.pointers[0]) + 1, nullptr, nullptr,
                                  nullptr};
  ASSERT_TRUE(e.Invoke(inputs, &unaligned).ok());
  EXPECT_NE(e.tensor(graph.outputs[0]).data, unaligned[0]);
  ExpectValues(e.tensor(graph.outputs[0]).Data<float>(), want[0], "run 4, output 0");
}

INSTANTIATE_TEST_SUITE_P(Backends, PlacedOutputs,
                         ::testing::Values("reference", "xnnpack", "eigen"));

// Session::Run with a placer: every placed output ends up in the caller's memory, whichever
// way it got there.
TEST(PlacedOutputs, SessionCopiesWhatCannotBeWrittenInPlace) {
  const auto model = ConvPoolGemm();
  auto session = Session::Create(model);
  ASSERT_TRUE(session.ok());
  std::vector<float> x = Values(192, 5);
  const TensorRef input{DataType::kFloat32, Shape({1, 3, 8, 8}), x.data()};
  ASSERT_TRUE((*session)->Run({input}).ok());
  std::vector<std::vector<float>> want;
  for (int o = 0; o < 4; ++o) {
    const TensorRef out = (*session)->output(o);
    const float* p = static_cast<const float*>(out.data);
    want.emplace_back(p, p + out.shape.NumElements());
  }
  // Output 0 unaligned (copied), output 1 aligned (in place), output 2 an alias (copied),
  // output 3 read by a partition (copied with XNNPACK).
  alignas(64) static float storage[4][272];
  std::vector<void*> where = {&storage[0][1], &storage[1][0], &storage[2][0], &storage[3][0]};
  std::vector<Shape> shapes(4);
  std::vector<void*> consumed(4);
  Status run = (*session)->Run(
      {input}, RunOptions{},
      [&](int i, DataType dtype, const Shape& shape, void** data) {
        EXPECT_EQ(dtype, DataType::kFloat32);
        shapes[i] = shape;
        *data = where[i];
        return Status::Ok();
      },
      [&](const std::vector<TensorRef>& outputs) {
        for (int o = 0; o < 4; ++o) consumed[o] = const_cast<void*>(outputs[o].data);
      });
  ASSERT_TRUE(run.ok()) << run.ToString();
  EXPECT_EQ(shapes[0], Shape({1, 4, 8, 8}));
  EXPECT_EQ(shapes[1], Shape({1, 5}));
  EXPECT_EQ(shapes[2], Shape({1, 4, 8, 8}));
  EXPECT_EQ(shapes[3], Shape({1, 4, 8, 8}));
  for (int o = 0; o < 4; ++o) {
    EXPECT_EQ(consumed[o], where[o]);
    EXPECT_EQ((*session)->output(o).data, where[o]);
    ExpectValues(static_cast<float*>(where[o]), want[o], "output " + std::to_string(o));
  }
  // A plain run afterwards is back in the session's memory.
  ASSERT_TRUE((*session)->Run({input}).ok());
  EXPECT_NE((*session)->output(1).data, where[1]);
  ExpectValues(static_cast<const float*>((*session)->output(1).data), want[1], "plain run");
}

// An output placed over an input that later nodes still read is computed elsewhere and copied
// at the end: Neg writing over x would make Relu(x) read -x.
TEST(PlacedOutputs, MemoryOverlappingAnInputIsWrittenAfterTheRun) {
  Net net(8);
  const int x = net.Input({4, 16});
  net.Output(net.Op(OpType::Neg, {x}));
  net.Output(net.Op(OpType::Relu, {x}));
  auto model = net.Build();
  ASSERT_TRUE(model.ok());
  auto session = Session::Create(*model);
  ASSERT_TRUE(session.ok());
  const std::vector<float> values = Values(64, 9);
  alignas(64) static float shared[64];
  std::memcpy(shared, values.data(), sizeof(shared));
  alignas(64) static float relu[64];
  Status run = (*session)->Run(
      {TensorRef{DataType::kFloat32, Shape({4, 16}), shared}}, RunOptions{},
      [&](int i, DataType, const Shape&, void** data) {
        *data = i == 0 ? shared : relu;
        return Status::Ok();
      },
      nullptr);
  ASSERT_TRUE(run.ok()) << run.ToString();
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(shared[i], -values[i]) << i;
    ASSERT_EQ(relu[i], std::max(values[i], 0.0f)) << i;
  }
}

TEST(PlacedOutputs, OverlappingOutputsAndPlacerErrorsFailBeforeRunning) {
  const auto model = ConvPoolGemm();
  auto session = Session::Create(model);
  ASSERT_TRUE(session.ok());
  std::vector<float> x = Values(192, 5);
  const TensorRef input{DataType::kFloat32, Shape({1, 3, 8, 8}), x.data()};
  alignas(64) static float storage[600];
  Status overlap = (*session)->Run(
      {input}, RunOptions{},
      [&](int i, DataType, const Shape&, void** data) {
        *data = i == 2 ? &storage[0] : &storage[16 * i];
        return Status::Ok();
      },
      nullptr);
  EXPECT_EQ(overlap.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(overlap.message().find("overlapping"), std::string::npos) << overlap.ToString();

  int calls = 0;
  Status refused = (*session)->Run(
      {input}, RunOptions{},
      [&](int i, DataType, const Shape&, void**) {
        ++calls;
        return i == 1 ? Status(StatusCode::kShapeMismatch, "no room for output 1") : Status::Ok();
      },
      [&](const std::vector<TensorRef>&) { ADD_FAILURE() << "consumed after a failed run"; });
  EXPECT_EQ(refused.code(), StatusCode::kShapeMismatch);
  EXPECT_EQ(calls, 2);
}

// A data-dependent output (NonZero) has no shape before the run: it is never placed, and the
// consumer reads it from the session.
TEST(PlacedOutputs, DataDependentOutputsAreNotPlaced) {
  Net net(4);
  const int x = net.Input({2, 3});
  net.Output(net.Op(OpType::NonZero, {x}));
  net.Output(net.Op(OpType::Relu, {x}));
  auto model = net.Build();
  ASSERT_TRUE(model.ok());
  auto session = Session::Create(*model);
  ASSERT_TRUE(session.ok());
  const std::vector<float> values = {0, 1, -2, 0, 0, 3};
  std::vector<int> placed;
  alignas(64) static float relu[6];
  std::vector<TensorRef> got;
  Status run = (*session)->Run(
      {TensorRef{DataType::kFloat32, Shape({2, 3}), values.data()}}, RunOptions{},
      [&](int i, DataType, const Shape&, void** data) {
        placed.push_back(i);
        *data = relu;
        return Status::Ok();
      },
      [&](const std::vector<TensorRef>& outputs) { got = outputs; });
  ASSERT_TRUE(run.ok()) << run.ToString();
  EXPECT_EQ(placed, std::vector<int>{1});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].shape, Shape({2, 3}));
  const int64_t* indices = static_cast<const int64_t*>(got[0].data);
  EXPECT_EQ(std::vector<int64_t>(indices, indices + 6), (std::vector<int64_t>{0, 0, 1, 1, 2, 2}));
  EXPECT_EQ(got[1].data, relu);
  EXPECT_EQ(std::vector<float>(relu, relu + 6), (std::vector<float>{0, 1, 0, 0, 0, 3}));
}

}  // namespace
}  // namespace lwai::testing
