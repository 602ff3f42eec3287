// Hostile inputs, resource limits, integrity and thread safety: regression tests for what
// fuzzing, sanitizers and thread tests found. Files under tests/data/hostile/lwai are fuzzer
// artifacts and hand-made reproducers.
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "format/crc32c.h"
#include "ir/graph.h"
#include "lwai/model.h"
#include "lwai/session.h"
#include "passes/passes.h"
#include "tests/cpp/kernel_test_util.h"
#include "tests/cpp/test_graphs.h"
#include "tests/fuzz/fuzz_common.h"

namespace lwai::testing {
namespace {

const std::string kHostileDir = std::string(LWAI_TEST_DATA_DIR) + "/hostile/lwai/";

Status LoadCreateRun(const std::string& path, const SessionOptions& options) {
  LWAI_ASSIGN_OR_RETURN(std::shared_ptr<Model> model, Model::LoadFile(path));
  return fuzz::CreateAndRunOnZeros(model, options, 64u << 20);
}

std::vector<std::string> HostileFiles() {
  std::vector<std::string> files;
  DIR* dir = opendir(kHostileDir.c_str());
  if (dir == nullptr) return files;
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".lwai") == 0) files.push_back(name);
  }
  closedir(dir);
  return files;
}

SessionOptions Bounded() {
  SessionOptions options;
  options.max_memory_bytes = 256u << 20;
  options.timeout_ms = 3000;
  return options;
}

// Every fuzzer artifact and reproducer loads, creates and runs under bounded memory and time
// without crashing, and every failure is a clear status, not kInternal.
TEST(Hostile, EveryReproducerEndsWithinLimits) {
  const std::vector<std::string> files = HostileFiles();
  ASSERT_GE(files.size(), 30u) << "tests/data/hostile/lwai is missing";
  for (const std::string& name : files) {
    SCOPED_TRACE(name);
    const auto start = std::chrono::steady_clock::now();
    const Status status = LoadCreateRun(kHostileDir + name, Bounded());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 15.0 * TestTimeScale()) << status.ToString();
    if (!status.ok()) {
      EXPECT_NE(status.code(), StatusCode::kInternal) << status.ToString();
      EXPECT_FALSE(status.message().empty());
    }
  }
}

TEST(Hostile, WrappingConstantShapeIsRejectedAtLoad) {
#ifdef LWAI_WITH_JSON
  for (const char* name : {"hostile_wrap.lwai", "hostile_wrap.json"}) {
#else
  for (const char* name : {"hostile_wrap.lwai"}) {
#endif
    auto model = Model::LoadFile(kHostileDir + name);
    ASSERT_FALSE(model.ok()) << name;
    EXPECT_EQ(model.status().code(), StatusCode::kInvalidModel);
    EXPECT_NE(model.status().message().find("overflows"), std::string::npos)
        << model.status().ToString();
  }
}

TEST(Hostile, HugeArenaFailsWithTheMemoryLimitNotAnAllocation) {
  SessionOptions options;
  options.max_memory_bytes = 1u << 30;
  const Status status =
      LoadCreateRun(kHostileDir + "oom-70ecb677a3aecb1f087462382d63d069a14a767d.lwai", options);
  ASSERT_EQ(status.code(), StatusCode::kOutOfMemory) << status.ToString();
  EXPECT_NE(status.message().find("memory limit"), std::string::npos) << status.ToString();
}

TEST(Hostile, EndlessLoopStopsAtTheTimeout) {
  SessionOptions options;
  options.timeout_ms = 200;
  const auto start = std::chrono::steady_clock::now();
  const Status status = LoadCreateRun(kHostileDir + "loop_int64max_true.onnx.lwai", options);
  EXPECT_EQ(status.code(), StatusCode::kDeadlineExceeded) << status.ToString();
  EXPECT_NE(status.message().find("Loop"), std::string::npos) << status.ToString();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
}

TEST(Hostile, EndlessLoopStopsWhenCancelledFromAnotherThread) {
  std::atomic<bool> cancel{false};
  SessionOptions options;
  options.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel = true;
  });
  const Status status = LoadCreateRun(kHostileDir + "loop_int64max_true.onnx.lwai", options);
  canceller.join();
  EXPECT_EQ(status.code(), StatusCode::kCancelled) << status.ToString();
}

TEST(Hostile, GrowingScanOutputHitsTheMemoryLimit) {
  SessionOptions options;
  options.max_memory_bytes = 64u << 20;
  const Status status = LoadCreateRun(kHostileDir + "loop_scan_growing.onnx.lwai", options);
  ASSERT_EQ(status.code(), StatusCode::kOutOfMemory) << status.ToString();
  EXPECT_NE(status.message().find("scan output"), std::string::npos) << status.ToString();
}

// A dynamic region of several large values: each fits the memory limit, all together do not.
// The region's buffers count against the limit with the arena, so the run fails cleanly.
TEST(Hostile, DynamicRegionBuffersTogetherHitTheMemoryLimit) {
  auto graph = std::make_unique<Graph>();
  const int x = AddValue(*graph, "x", {Dim{1 << 20, ""}}, true);
  TensorDesc shape_desc;
  shape_desc.name = "shape";
  shape_desc.dtype = DataType::kInt64;
  shape_desc.shape_known = true;
  shape_desc.shape = {Dim{2, ""}};
  const int shape = graph->AddTensor(std::move(shape_desc));
  int value = AddValue(*graph, "reshaped");
  graph->nodes.push_back(MakeNode("reshape", OpType::Reshape, {x, shape}, {value}));
  for (int i = 0; i < 5; ++i) {
    const int next = AddValue(*graph, "neg" + std::to_string(i));
    graph->nodes.push_back(MakeNode("neg" + std::to_string(i), OpType::Neg, {value}, {next}));
    graph->outputs.push_back(next);
    value = next;
  }
  graph->inputs = {x, shape};
  auto model = std::make_shared<Model>(std::move(graph), std::make_unique<ModelInfo>(), nullptr);
  std::vector<float> data(1 << 20, 1.0f);
  const int64_t dims[2] = {1024, 1024};
  const std::vector<TensorRef> inputs = {
      TensorRef{DataType::kFloat32, Shape({1 << 20}), data.data()},
      TensorRef{DataType::kInt64, Shape({2}), dims}};
  for (uint64_t limit : {uint64_t{64} << 20, uint64_t{10} << 20}) {
    SessionOptions options;
    options.max_memory_bytes = limit;
    auto session = Session::Create(model, options);
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    const Status status = (*session)->Run(inputs);
    if (limit == (uint64_t{64} << 20)) {
      EXPECT_TRUE(status.ok()) << status.ToString();  // 6 buffers of 4 MiB fit in 64 MiB
    } else {
      EXPECT_EQ(status.code(), StatusCode::kOutOfMemory) << status.ToString();
    }
  }
}

// One long node: the reference convolution's GEMM stops at the deadline between blocks, and the
// run reports the deadline instead of returning partial outputs.
TEST(Hostile, OneLongConvolutionStopsAtTheTimeout) {
  auto graph = std::make_unique<Graph>();
  const int x = AddValue(*graph, "x", {Dim{1, ""}, Dim{64, ""}, Dim{256, ""}, Dim{256, ""}}, true);
  const int w =
      AddFloatConstant(*graph, "w", {64, 64, 3, 3}, std::vector<float>(64 * 64 * 9, 0.01f));
  const int y = AddValue(*graph, "y");
  Node conv = MakeNode("conv", OpType::Conv, {x, w}, {y});
  conv.attributes.push_back(IntsAttr("pads", {1, 1, 1, 1}));
  graph->nodes.push_back(std::move(conv));
  graph->inputs = {x};
  graph->outputs = {y};
  auto model = std::make_shared<Model>(std::move(graph), std::make_unique<ModelInfo>(), nullptr);
  SessionOptions options;
  options.backends = {"reference"};
  options.timeout_ms = 20;
  auto session = Session::Create(model, options);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  std::vector<float> data(64 * 256 * 256, 1.0f);
  const auto start = std::chrono::steady_clock::now();
  const Status status =
      (*session)->Run({TensorRef{DataType::kFloat32, Shape({1, 64, 256, 256}), data.data()}});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(status.code(), StatusCode::kDeadlineExceeded) << status.ToString();
  EXPECT_LT(seconds, 2.0);  // 2.4 G multiply-adds would take far longer on the reference GEMM
}

// One node whose work its attributes make huge (not its tensors' sizes) must stop at the run's
// deadline too: windows, sampling grids and label products are watched inside the kernel.
struct LongNodeCase {
  const char* name;
  OpType op;
  std::vector<std::vector<int64_t>> inputs;  // graph inputs, filled with ones
  std::vector<Attribute> attributes;
  std::vector<int64_t> int64_input;  // when not empty: one more input, [n] int64 constant
};

class LongNode : public ::testing::TestWithParam<LongNodeCase> {};

TEST_P(LongNode, StopsAtTheTimeout) {
  const LongNodeCase& c = GetParam();
  auto graph = std::make_unique<Graph>();
  std::vector<int> inputs;
  std::vector<std::vector<float>> data;
  std::vector<TensorRef> refs;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    std::vector<Dim> dims;
    int64_t count = 1;
    for (int64_t d : c.inputs[i]) {
      dims.push_back(Dim{d, ""});
      count *= d;
    }
    inputs.push_back(AddValue(*graph, "x" + std::to_string(i), dims, true));
    data.emplace_back(static_cast<size_t>(count), 1.0f);
  }
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    Shape shape;
    shape.rank = static_cast<int>(c.inputs[i].size());
    for (int d = 0; d < shape.rank; ++d) shape[d] = c.inputs[i][d];
    refs.push_back(TensorRef{DataType::kFloat32, shape, data[i].data()});
  }
  std::vector<int> node_inputs = inputs;
  if (!c.int64_input.empty()) {
    TensorDesc t;
    t.name = "indices";
    t.dtype = DataType::kInt64;
    t.shape_known = true;
    t.shape = {Dim{static_cast<int64_t>(c.int64_input.size()), ""}};
    t.constant = ConstantData::Copy(c.int64_input.data(), c.int64_input.size() * sizeof(int64_t));
    node_inputs.push_back(graph->AddTensor(std::move(t)));
  }
  const int y = AddValue(*graph, "y");
  Node node = MakeNode("long", c.op, node_inputs, {y});
  node.attributes = c.attributes;
  graph->nodes.push_back(std::move(node));
  graph->inputs = inputs;
  graph->outputs = {y};
  auto model = std::make_shared<Model>(std::move(graph), std::make_unique<ModelInfo>(), nullptr);
  // The reference kernels, Eigen's (what builds without XNNPACK run: devices), and whatever
  // fast kernel the default backends pick.
  for (const std::vector<std::string>& backends :
       {std::vector<std::string>{"reference"}, std::vector<std::string>{"eigen"},
        std::vector<std::string>{}}) {
    SessionOptions options;
    options.backends = backends;
    options.timeout_ms = 20;
    auto session = Session::Create(model, options);
    if (!session.ok() && session.status().code() == StatusCode::kNotFound &&
        backends == std::vector<std::string>{"eigen"}) {
      continue;  // a build without Eigen
    }
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    const auto start = std::chrono::steady_clock::now();
    const Status status = (*session)->Run(refs);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string which = backends.empty() ? "default backends" : backends[0];
    EXPECT_EQ(status.code(), StatusCode::kDeadlineExceeded) << which << ": " << status.ToString();
    EXPECT_LT(seconds, 2.0) << which;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Hostile, LongNode,
    ::testing::Values(
        // 4 x 511 x 511 outputs, each a window of up to 256 x 256 taps: 6e10 reads.
        LongNodeCase{
            "max_pool_huge_window",
            OpType::MaxPool,
            {{1, 4, 256, 256}},
            {IntsAttr("kernel_shape", {256, 256}), IntsAttr("pads", {255, 255, 255, 255})}},
        LongNodeCase{
            "average_pool_huge_window",
            OpType::AveragePool,
            {{1, 4, 256, 256}},
            {IntsAttr("kernel_shape", {256, 256}), IntsAttr("pads", {255, 255, 255, 255})}},
        // A channel window as wide as 30000 channels, over 64 positions: 6e10 reads.
        LongNodeCase{"lrn_wide_window", OpType::LRN, {{1, 30000, 1, 64}}, {IntAttr("size", 60001)}},
        // Labels i, j, k of 3000: 2.7e10 products.
        LongNodeCase{"einsum_large_label_product",
                     OpType::Einsum,
                     {{3000, 3000}, {3000, 3000}},
                     {StringAttr("equation", "ij,jk->ik")}},
        // 262144 small images, each a GEMM and a col2im: the deadline is checked per image.
        LongNodeCase{"conv_transpose_huge_batch",
                     OpType::ConvTranspose,
                     {{262144, 1, 3, 3}, {1, 2, 3, 3}},
                     {}},
        // An LSTM over 400000 steps (hidden 16): the deadline is watched between steps.
        LongNodeCase{"lstm_long_sequence",
                     OpType::LSTM,
                     {{400000, 1, 8}, {1, 64, 8}, {1, 64, 16}},
                     {IntAttr("hidden_size", 16)}},
        // 8 heads of 8192 queries against 8192 keys: 7e10 multiply-adds, in blocks of queries
        // (default backends) or query by query (reference).
        LongNodeCase{"attention_long_sequence",
                     OpType::Attention,
                     {{1, 8, 8192, 64}, {1, 8, 8192, 64}, {1, 8, 8192, 64}},
                     {}},
        // 4096 attention-score products of 256 x 64 x 256, B computed by the graph.
        LongNodeCase{"matmul_many_computed_matrices",
                     OpType::MatMul,
                     {{4096, 256, 64}, {4096, 64, 256}},
                     {}},
        // 1024 x 1024 samples for each of 64 x 64 x 16 outputs.
        LongNodeCase{"roi_align_dense_sampling",
                     OpType::RoiAlign,
                     {{1, 16, 64, 64}, {1, 4}},
                     {IntAttr("output_height", 64), IntAttr("output_width", 64),
                      IntAttr("sampling_ratio", 1024)},
                     {0}}),
    [](const ::testing::TestParamInfo<LongNodeCase>& info) { return info.param.name; });

TEST(Hostile, TfIdfWithHugeSkipCountReturnsQuickly) {
  const auto start = std::chrono::steady_clock::now();
  const Status status = LoadCreateRun(kHostileDir + "tfidf_max_skip_hang.lwai", SessionOptions{});
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 2.0);
}

TEST(Hostile, TooDeeplyNestedSubgraphsAreRefusedClearly) {
  auto model = Model::LoadFile(kHostileDir + "nested_loop21_unloadable.lwai");
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(model.status().message().find("nest more than"), std::string::npos)
      << model.status().ToString();
}

// Builds `depth` nested If nodes (each branch holds the next level) and checks that the writer
// refuses exactly what the loader would refuse.
std::shared_ptr<Graph> NestedIf(int depth) {
  auto g = std::make_shared<Graph>();
  const int out = AddValue(*g, "out" + std::to_string(depth));
  if (depth == 0) {
    const int c = AddFloatConstant(*g, "c0", {1}, {1.0f});
    g->nodes.push_back(MakeNode("id", OpType::Identity, {c}, {out}));
  } else {
    TensorDesc cond;
    cond.name = "cond" + std::to_string(depth);
    cond.dtype = DataType::kBool;
    cond.shape_known = true;
    const uint8_t one = 1;
    cond.constant = ConstantData::Copy(&one, 1);
    const int c = g->AddTensor(std::move(cond));
    Node node = MakeNode("if" + std::to_string(depth), OpType::If, {c}, {out});
    for (const char* branch : {"then_branch", "else_branch"}) {
      Attribute a;
      a.name = branch;
      a.type = AttributeType::kGraph;
      a.graph = NestedIf(depth - 1);
      node.attributes.push_back(std::move(a));
    }
    g->nodes.push_back(std::move(node));
  }
  g->outputs = {out};
  return g;
}

TEST(Hostile, WriterAndLoaderAgreeOnSubgraphDepth) {
#ifndef LWAI_WITH_JSON
  GTEST_SKIP() << "built without JSON (LWAI_WITH_JSON=OFF)";
#endif
  for (int depth : {kMaxSubgraphDepth, kMaxSubgraphDepth + 1}) {
    SCOPED_TRACE(depth);
    auto graph = std::make_unique<Graph>(*NestedIf(depth));
    Model model(std::move(graph), std::make_unique<ModelInfo>(), nullptr);
    auto image = model.Serialize();
    auto json = model.ToJson();
    if (depth <= kMaxSubgraphDepth) {
      ASSERT_TRUE(image.ok()) << image.status().ToString();
      ASSERT_TRUE(json.ok()) << json.status().ToString();
      auto loaded = Model::LoadBuffer(image->data(), image->size());
      EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
      auto from_json = Model::LoadJson(*json);
      EXPECT_TRUE(from_json.ok()) << from_json.status().ToString();
    } else {
      EXPECT_EQ(image.status().code(), StatusCode::kUnsupported);
      EXPECT_EQ(json.status().code(), StatusCode::kUnsupported);
    }
  }
}

// --- Checked shape arithmetic.

TEST(CheckedShapes, NumElementsSaturatesInsteadOfWrapping) {
  const int64_t big = int64_t{1} << 32;
  EXPECT_EQ(Shape({big, big}).NumElements(), INT64_MAX);
  EXPECT_EQ(Shape({big, big, 0}).NumElements(), 0);
  EXPECT_EQ(Shape({3, 4}).NumElements(), 12);
  EXPECT_EQ(Shape({}).NumElements(), 1);
  int64_t n = 0;
  EXPECT_FALSE(Shape({big, big}).CheckedNumElements(&n));
  EXPECT_FALSE(Shape({-1, 4}).CheckedNumElements(&n));
  EXPECT_TRUE(Shape({0, big, big, big}).CheckedNumElements(&n));
  EXPECT_EQ(n, 0);
  uint64_t bytes = 0;
  EXPECT_FALSE(Shape({int64_t{1} << 62}).CheckedByteSize(4, &bytes));
  EXPECT_TRUE(Shape({int64_t{1} << 40}).CheckedByteSize(4, &bytes));
  EXPECT_EQ(bytes, uint64_t{1} << 42);
  EXPECT_FALSE(CheckedMul(INT64_MAX, 2, &n));
  EXPECT_FALSE(CheckedAdd(INT64_MAX, 1, &n));
}

int AddScalar(Graph& g, const std::string& name, DataType dtype, const void* value) {
  TensorDesc t;
  t.name = name;
  t.dtype = dtype;
  t.shape_known = true;
  t.constant = ConstantData::Copy(value, DataTypeSize(dtype));
  return g.AddTensor(std::move(t));
}

TEST(ResourceLimits, ConversionGivesUpOnEndlessConstantLoops) {
  // Loop(M = INT64_MAX, cond = true, v) with every input constant: conversion evaluates what
  // it can, and must stop at its work limit instead of running forever.
  auto body = std::make_shared<Graph>();
  TensorDesc iter;
  iter.name = "iter";
  iter.dtype = DataType::kInt64;
  iter.shape_known = true;
  TensorDesc cond_in = iter;
  cond_in.name = "cond_in";
  cond_in.dtype = DataType::kBool;
  const int iter_t = body->AddTensor(iter), cond_t = body->AddTensor(cond_in);
  const int v_in = AddValue(*body, "v_in", {Dim{1, ""}}, true);
  TensorDesc cond_out = cond_in;
  cond_out.name = "cond_out";
  const int cond_o = body->AddTensor(cond_out);
  const int v_out = AddValue(*body, "v_out");
  body->nodes = {MakeNode("keep", OpType::Identity, {cond_t}, {cond_o}),
                 MakeNode("same", OpType::Identity, {v_in}, {v_out})};
  body->inputs = {iter_t, cond_t, v_in};
  body->outputs = {cond_o, v_out};
  Graph graph;
  const int64_t trips = INT64_MAX;
  const uint8_t yes = 1;
  const int m = AddScalar(graph, "M", DataType::kInt64, &trips);
  const int cond = AddScalar(graph, "cond", DataType::kBool, &yes);
  const int v = AddFloatConstant(graph, "v", {1}, {1.0f});
  const int out = AddValue(graph, "out");
  Node loop = MakeNode("endless", OpType::Loop, {m, cond, v}, {out});
  Attribute a;
  a.name = "body";
  a.type = AttributeType::kGraph;
  a.graph = body;
  loop.attributes.push_back(a);
  graph.nodes.push_back(loop);
  graph.outputs = {out};
  ASSERT_TRUE(graph.Validate().ok());
  const auto start = std::chrono::steady_clock::now();
  const Status status = OptimizeGraph(graph);
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 60.0);
  ASSERT_EQ(graph.nodes.size(), 1u);
  EXPECT_EQ(graph.nodes[0].op, OpType::Loop);
  // The session then runs it: a timeout ends it.
  SessionOptions options;
  options.timeout_ms = 100;
  auto session = Session::Create(std::make_shared<Model>(std::make_unique<Graph>(graph),
                                                         std::make_unique<ModelInfo>(), nullptr),
                                 options);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), StatusCode::kDeadlineExceeded) << session.status().ToString();
}

// --- Integrity.

TEST(Integrity, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc32c("", 0), 0u);
  // Split computation continues where the first part stopped.
  EXPECT_EQ(Crc32c("6789", 4, Crc32c("12345", 5)), 0xE3069283u);
  // Long inputs take the 8-byte path: one flipped bit anywhere changes the checksum.
  std::vector<uint8_t> data(1003);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31);
  const uint32_t whole = Crc32c(data.data(), data.size());
  EXPECT_EQ(Crc32c(data.data() + 500, 503, Crc32c(data.data(), 500)), whole);
  data[777] ^= 0x10;
  EXPECT_NE(Crc32c(data.data(), data.size()), whole);
}

TEST(Integrity, CorruptedWeightsAreAnErrorNamingTheTensor) {
  auto image = MakeConvModel()->Serialize();
  ASSERT_TRUE(image.ok());
  std::vector<uint8_t> bytes = *image;
  ASSERT_TRUE(Model::LoadBuffer(bytes.data(), bytes.size()).ok());
  // Zero the first value of conv.b in the data section, found by its bytes.
  const float expected[3] = {0.1f, -0.2f, 0.3f};
  auto at = std::search(bytes.begin(), bytes.end(), reinterpret_cast<const uint8_t*>(expected),
                        reinterpret_cast<const uint8_t*>(expected) + sizeof(expected));
  ASSERT_NE(at, bytes.end());
  std::memset(&*at, 0, 4);
  auto corrupted = Model::LoadBuffer(bytes.data(), bytes.size());
  ASSERT_FALSE(corrupted.ok());
  EXPECT_EQ(corrupted.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(corrupted.status().message().find("conv.b"), std::string::npos)
      << corrupted.status().ToString();
  EXPECT_NE(corrupted.status().message().find("checksum"), std::string::npos);
  // Both checksums, as 8 hex digits.
  const std::string& message = corrupted.status().message();
  const size_t stored = message.find("(stored CRC-32C ");
  ASSERT_NE(stored, std::string::npos) << message;
  const std::string digits = message.substr(stored + 16, 8);
  EXPECT_EQ(digits.find_first_not_of("0123456789abcdef"), std::string::npos) << message;
  EXPECT_NE(message.find(", computed CRC-32C "), std::string::npos) << message;
  LoadOptions skip;
  skip.verify_checksums = false;
  EXPECT_TRUE(Model::LoadBuffer(bytes.data(), bytes.size(), true, skip).ok());
}

// --- Introspection in every state.

TEST(Introspection, ValidBeforeTheFirstRunForModelsOfUnknownRank) {
  auto model = MakeConvModel();
  model->mutable_graph().tensors[model->graph().inputs[0]].shape_known = false;
  model->mutable_graph().tensors[model->graph().inputs[0]].shape.clear();
  auto session = Session::Create(model);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  const auto assignments = (*session)->node_assignments();
  EXPECT_EQ(assignments.size(), model->graph().nodes.size());
  EXPECT_TRUE((*session)->node_shapes().empty());
  EXPECT_EQ((*session)->output(0).data, nullptr);
  EXPECT_EQ((*session)->output(7).data, nullptr);
  EXPECT_EQ((*session)->arena_bytes(), 0u);
  const std::vector<float> x(2 * 32, 0.5f);
  ASSERT_TRUE((*session)->Run({TensorRef{DataType::kFloat32, Shape({2, 2, 4, 4}), x.data()}}).ok());
  EXPECT_EQ((*session)->node_assignments().size(), model->graph().nodes.size());
  EXPECT_EQ((*session)->output(0).shape, Shape({2, 3, 4, 4}));
}

// --- Thread safety.

// A conv net big enough for the XNNPACK partition and Winograd: conv3x3 -> relu -> conv3x3 ->
// global average pool -> flatten -> gemm -> softmax.
std::shared_ptr<Model> MakeStressModel() {
  auto g = std::make_unique<Graph>();
  const int x = AddValue(*g, "x", {Dim{1, ""}, Dim{16, ""}, Dim{24, ""}, Dim{24, ""}}, true);
  auto weights = [&](const std::string& name, std::vector<int64_t> dims, float scale) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    std::vector<float> v(n);
    for (int64_t i = 0; i < n; ++i) v[i] = scale * std::sin(0.7f * static_cast<float>(i));
    return AddFloatConstant(*g, name, dims, v);
  };
  Attribute pads;
  pads.name = "pads";
  pads.type = AttributeType::kInts;
  pads.ints = {1, 1, 1, 1};
  const int w1 = weights("w1", {32, 16, 3, 3}, 0.1f), b1 = weights("b1", {32}, 0.1f);
  const int w2 = weights("w2", {32, 32, 3, 3}, 0.05f), b2 = weights("b2", {32}, 0.1f);
  const int w3 = weights("w3", {10, 32}, 0.3f), b3 = weights("b3", {10}, 0.1f);
  const int c1 = AddValue(*g, "c1"), r1 = AddValue(*g, "r1"), c2 = AddValue(*g, "c2");
  const int p = AddValue(*g, "p"), f = AddValue(*g, "f"), l = AddValue(*g, "l");
  const int y = AddValue(*g, "y");
  Node conv1 = MakeNode("conv1", OpType::Conv, {x, w1, b1}, {c1});
  conv1.attributes.push_back(pads);
  Node conv2 = MakeNode("conv2", OpType::Conv, {r1, w2, b2}, {c2});
  conv2.attributes.push_back(pads);
  Node gemm = MakeNode("fc", OpType::Gemm, {f, w3, b3}, {l});
  gemm.SetInt("transB", 1);
  g->nodes = {conv1,
              MakeNode("relu", OpType::Relu, {c1}, {r1}),
              conv2,
              MakeNode("pool", OpType::GlobalAveragePool, {c2}, {p}),
              MakeNode("flatten", OpType::Flatten, {p}, {f}),
              gemm,
              MakeNode("softmax", OpType::Softmax, {l}, {y})};
  g->inputs = {x};
  g->outputs = {y};
  EXPECT_TRUE(OptimizeGraph(*g).ok());
  return std::make_shared<Model>(std::move(g), std::make_unique<ModelInfo>(), nullptr);
}

std::vector<float> StressInput(int variant) {
  std::vector<float> x(16 * 24 * 24);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = std::cos(0.01f * static_cast<float>(i * (variant + 1)));
  return x;
}

// Two Sessions sharing one Model, each run by two threads at once (four threads in all), with
// different inputs per thread: every output must be bit-identical to a single-threaded run.
// LWAI_STRESS_SECONDS sets the duration (2 s by default; `make test-sanitize` runs it longer
// under ThreadSanitizer).
TEST(ThreadSafety, SharedSessionsGiveBitIdenticalOutputs) {
  const std::shared_ptr<Model> model = MakeStressModel();
  const char* env = std::getenv("LWAI_STRESS_SECONDS");
  const double seconds = env ? std::atof(env) : 2.0;
  constexpr int kThreads = 4;
  std::vector<std::vector<float>> inputs, expected;
  for (int t = 0; t < kThreads; ++t) {
    inputs.push_back(StressInput(t));
    auto session = Session::Create(model);
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    ASSERT_TRUE(
        (*session)
            ->Run({TensorRef{DataType::kFloat32, Shape({1, 16, 24, 24}), inputs.back().data()}})
            .ok());
    const TensorRef out = (*session)->output(0);
    const float* p = static_cast<const float*>(out.data);
    expected.emplace_back(p, p + out.shape.NumElements());
  }
  SessionOptions options;
  options.threads = 2;
  std::unique_ptr<Session> sessions[2];
  for (auto& session : sessions) {
    auto created = Session::Create(model, options);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    session = std::move(created).value();
  }
  std::atomic<int> mismatches{0}, failures{0};
  std::atomic<int64_t> runs{0};
  const auto stop = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Session& session = *sessions[t % 2];
      const TensorRef in{DataType::kFloat32, Shape({1, 16, 24, 24}), inputs[t].data()};
      while (std::chrono::steady_clock::now() < stop) {
        const Status status =
            session.Run({in}, RunOptions{}, [&](const std::vector<TensorRef>& out) {
              if (out.size() != 1 ||
                  out[0].shape.NumElements() != static_cast<int64_t>(expected[t].size()) ||
                  std::memcmp(out[0].data, expected[t].data(),
                              expected[t].size() * sizeof(float)) != 0) {
                ++mismatches;
              }
            });
        if (!status.ok()) ++failures;
        // Introspection while other threads run.
        if (session.node_assignments().size() != model->graph().nodes.size()) ++mismatches;
        ++runs;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(runs.load(), kThreads);
  std::printf("[thread stress] %lld runs in %.1f s, 4 threads, 2 sessions\n",
              static_cast<long long>(runs.load()), seconds);
}

}  // namespace
}  // namespace lwai::testing
