#include "lwai/session.h"

#include <gtest/gtest.h>

#include <cmath>

#include "ir/graph.h"
#include "passes/passes.h"
#include "tests/cpp/kernel_test_util.h"
#include "tests/cpp/test_graphs.h"

namespace lwai::testing {
namespace {

std::vector<float> RunOnce(const std::shared_ptr<Model>& model, const std::vector<float>& x,
                           int64_t batch, int threads = 1) {
  SessionOptions options;
  options.threads = threads;
  auto session = Session::Create(model, options);
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  TensorRef in{DataType::kFloat32, Shape({batch, 2, 4, 4}), x.data()};
  Status s = (*session)->Run({in});
  EXPECT_TRUE(s.ok()) << s.ToString();
  const TensorRef out = (*session)->output(0);
  EXPECT_EQ(out.shape, Shape({batch, 3, 4, 4}));
  const float* p = static_cast<const float*>(out.data);
  return std::vector<float>(p, p + out.shape.NumElements());
}

std::vector<float> Input(int64_t batch) {
  std::vector<float> x(batch * 32);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
  return x;
}

TEST(Session, OptimizedGraphMatchesUnoptimized) {
  auto plain = MakeConvModel();
  auto optimized = MakeConvModel();
  ASSERT_TRUE(OptimizeGraph(optimized->mutable_graph()).ok());
  // Conv absorbed BatchNormalization and Relu: Conv + Add remain.
  ASSERT_EQ(optimized->graph().nodes.size(), 2u);
  EXPECT_EQ(optimized->graph().nodes[0].GetString("activation", ""), "Relu");
  const auto x = Input(2);
  const auto expected = RunOnce(plain, x, 2);
  const auto got = RunOnce(optimized, x, 2);
  ASSERT_EQ(expected.size(), got.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-5f);
}

TEST(Session, ThreadCountDoesNotChangeResults) {
  auto model = MakeConvModel();
  const auto x = Input(3);
  EXPECT_EQ(RunOnce(model, x, 3, 1), RunOnce(model, x, 3, 2));
}

TEST(Session, NewBatchSizeReplansAndBatchesAreIndependent) {
  auto model = MakeConvModel();
  auto session = Session::Create(model);
  ASSERT_TRUE(session.ok());
  const auto x = Input(3);
  const size_t arena_batch1 = (*session)->arena_bytes();
  ASSERT_TRUE((*session)->Run({TensorRef{DataType::kFloat32, Shape({3, 2, 4, 4}), x.data()}}).ok());
  EXPECT_GT((*session)->arena_bytes(), arena_batch1);
  const float* out = static_cast<const float*>((*session)->output(0).data);
  const std::vector<float> batch3(out, out + 3 * 48);
  // The second image alone gives the second slice of the batched result.
  const std::vector<float> second(x.begin() + 32, x.begin() + 64);
  const auto alone = RunOnce(model, second, 1);
  for (int i = 0; i < 48; ++i) EXPECT_FLOAT_EQ(alone[i], batch3[48 + i]);
}

TEST(Session, RejectsWrongInputsWithClearMessages) {
  auto session = Session::Create(MakeConvModel());
  ASSERT_TRUE(session.ok());
  std::vector<float> x(64);
  Status wrong_shape =
      (*session)->Run({TensorRef{DataType::kFloat32, Shape({1, 3, 4, 4}), x.data()}});
  EXPECT_EQ(wrong_shape.code(), StatusCode::kShapeMismatch);
  EXPECT_NE(wrong_shape.message().find("'x'"), std::string::npos);
  EXPECT_NE(wrong_shape.message().find("[batch, 2, 4, 4]"), std::string::npos);
  Status wrong_dtype =
      (*session)->Run({TensorRef{DataType::kInt64, Shape({1, 2, 4, 4}), x.data()}});
  EXPECT_EQ(wrong_dtype.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_dtype.message().find("float32"), std::string::npos);
  Status missing = (*session)->Run({});
  EXPECT_EQ(missing.code(), StatusCode::kInvalidArgument);
}

TEST(Session, CallerProvidedArenaIsUsedAndCheckedForSize) {
  auto model = MakeConvModel();
  auto probe = Session::Create(model);
  ASSERT_TRUE(probe.ok());
  const size_t needed = (*probe)->arena_bytes();
  alignas(64) static uint8_t arena[1 << 16];
  ASSERT_LE(needed, sizeof(arena));
  SessionOptions options;
  options.arena = arena;
  options.arena_size = needed;
  auto session = Session::Create(model, options);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  const auto x = Input(1);
  ASSERT_TRUE((*session)->Run({TensorRef{DataType::kFloat32, Shape({1, 2, 4, 4}), x.data()}}).ok());
  const auto* out = static_cast<const uint8_t*>((*session)->output(0).data);
  EXPECT_TRUE(out >= arena && out < arena + needed);
  options.arena_size = needed - 64;
  auto too_small = Session::Create(model, options);
  ASSERT_FALSE(too_small.ok());
  EXPECT_EQ(too_small.status().code(), StatusCode::kOutOfMemory);
}

// A memory query plans the arena a real session gets, allocates none, and cannot run.
TEST(Session, PlanOnlySessionsReportTheArenaWithoutOne) {
  auto model = MakeConvModel();
  auto real = Session::Create(model);
  ASSERT_TRUE(real.ok());
  SessionOptions options;
  options.plan_only = true;
  auto planned = Session::Create(model, options);
  ASSERT_TRUE(planned.ok()) << planned.status().ToString();
  EXPECT_EQ((*planned)->arena_bytes(), (*real)->arena_bytes());
  EXPECT_GT((*planned)->arena_bytes(), 0u);
  const auto x = Input(1);
  const Status run =
      (*planned)->Run({TensorRef{DataType::kFloat32, Shape({1, 2, 4, 4}), x.data()}});
  EXPECT_EQ(run.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(run.message().find("plan"), std::string::npos) << run.ToString();
}

TEST(Session, ReportsEveryNodeWithoutKernel) {
  auto model = MakeConvModel();
  Graph& g = model->mutable_graph();
  g.nodes[2].op = OpType::Unknown;
  g.nodes[3].op = OpType::Unknown;
  auto session = Session::Create(model);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(session.status().message().find("'relu'"), std::string::npos);
  EXPECT_NE(session.status().message().find("'add'"), std::string::npos);
}

}  // namespace
}  // namespace lwai::testing

namespace lwai::testing {
namespace {

TEST(Session, HugeOrNegativeShapesAreRejectedNotAllocated) {
  auto session = Session::Create(MakeConvModel());
  ASSERT_TRUE(session.ok());
  Status huge = (*session)->Prepare({Shape({int64_t{1} << 40, 2, 4, 4})});
  EXPECT_EQ(huge.code(), StatusCode::kShapeMismatch);
  Status negative = (*session)->Prepare({Shape({-3, 2, 4, 4})});
  EXPECT_EQ(negative.code(), StatusCode::kShapeMismatch);
  EXPECT_NE(negative.message().find("'x'"), std::string::npos);
  // The session still works afterwards.
  std::vector<float> x(32, 1.0f);
  EXPECT_TRUE((*session)->Run({TensorRef{DataType::kFloat32, Shape({1, 2, 4, 4}), x.data()}}).ok());
}

// x [1, 64, 8] -> If(cond) with both branches convolving x with the outer constant w (captured):
// then Conv(x, w), else Relu(Conv(x, w)).
std::unique_ptr<Graph> IfCapturingWeights(std::vector<float>* weights) {
  auto g = std::make_unique<Graph>();
  const int64_t channels = 64;
  weights->resize(channels * channels * 3);
  for (size_t i = 0; i < weights->size(); ++i) (*weights)[i] = std::sin(0.1f * i) * 0.1f;
  const int x = AddValue(*g, "x", {Dim{1, ""}, Dim{channels, ""}, Dim{8, ""}}, true);
  TensorDesc cond_desc;
  cond_desc.name = "cond";
  cond_desc.dtype = DataType::kBool;
  cond_desc.shape_known = true;
  const int cond = g->AddTensor(std::move(cond_desc));
  const int w = AddFloatConstant(*g, "w", {channels, channels, 3}, *weights);
  const int y = AddValue(*g, "y");
  Node node = MakeNode("if", OpType::If, {cond, w, x}, {y});
  node.SetInt("captured_inputs", 2);
  for (bool relu : {false, true}) {
    auto branch = std::make_shared<Graph>();
    const int w_in = AddValue(*branch, "w");
    const int x_in = AddValue(*branch, "x");
    const int conv = AddValue(*branch, relu ? "conv_else" : "y_then");
    Node conv_node = MakeNode("conv", OpType::Conv, {x_in, w_in}, {conv});
    conv_node.attributes.push_back(IntsAttr("pads", {1, 1}));
    branch->nodes.push_back(std::move(conv_node));
    int out = conv;
    if (relu) {
      out = AddValue(*branch, "y_else");
      branch->nodes.push_back(MakeNode("relu", OpType::Relu, {conv}, {out}));
    }
    branch->inputs = {w_in, x_in};
    branch->outputs = {out};
    Attribute a;
    a.name = relu ? "else_branch" : "then_branch";
    a.type = AttributeType::kGraph;
    a.graph = std::move(branch);
    node.attributes.push_back(std::move(a));
  }
  g->nodes.push_back(std::move(node));
  g->inputs = {x, cond};
  g->outputs = {y};
  return g;
}

std::vector<float> RunIf(const std::shared_ptr<Model>& model, bool cond) {
  auto session = Session::Create(model, SessionOptions());
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  if (!session.ok()) return {};
  std::vector<float> x(64 * 8);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.3f * i);
  const uint8_t c = cond;
  const Status status = (*session)->Run({TensorRef{DataType::kFloat32, Shape({1, 64, 8}), x.data()},
                                         TensorRef{DataType::kBool, Shape(), &c}});
  EXPECT_TRUE(status.ok()) << status.ToString();
  const TensorRef y = (*session)->output(0);
  const float* data = static_cast<const float*>(y.data);
  return std::vector<float>(data, data + y.shape.NumElements());
}

// Outer constants captured by a subgraph become the subgraph's constants (so backends can pack
// them), results do not change, and the saved file holds the weights once.
TEST(Passes, CapturedConstantsMoveIntoSubgraphs) {
  std::vector<float> weights;
  auto plain =
      std::make_shared<Model>(IfCapturingWeights(&weights), std::make_unique<ModelInfo>(), nullptr);
  auto graph = IfCapturingWeights(&weights);
  ASSERT_TRUE(OptimizeGraph(*graph).ok());
  const Node* if_node = nullptr;
  for (const Node& n : graph->nodes) {
    if (n.op == OpType::If) if_node = &n;
  }
  ASSERT_NE(if_node, nullptr);
  EXPECT_EQ(if_node->GetInt("captured_inputs", -1), 1);
  EXPECT_EQ(if_node->inputs.size(), 2u);
  const Graph* then_branch = if_node->GetGraph("then_branch");
  ASSERT_NE(then_branch, nullptr);
  EXPECT_EQ(then_branch->inputs.size(), 1u);
  bool has_constant_weights = false;
  for (const TensorDesc& t : then_branch->tensors) has_constant_weights |= t.is_constant();
  EXPECT_TRUE(has_constant_weights);

  auto optimized =
      std::make_shared<Model>(std::move(graph), std::make_unique<ModelInfo>(), nullptr);
  auto image = optimized->Serialize();
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  const size_t weight_bytes = weights.size() * sizeof(float);
  EXPECT_LT(image->size(), weight_bytes + weight_bytes / 2);  // one copy, shared by both branches
  auto loaded = Model::LoadBuffer(image->data(), image->size());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::shared_ptr<Model> reloaded = std::move(loaded).value();
  for (bool cond : {true, false}) {
    const std::vector<float> want = RunIf(plain, cond);
    for (const auto& model : {optimized, reloaded}) {
      const std::vector<float> got = RunIf(model, cond);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4) << i;
    }
  }
}

}  // namespace
}  // namespace lwai::testing
