// Partitions come from graph connectivity: nodes a partition backend does not claim, on a
// parallel branch or hanging off the partition, do not split it, and results stay those of the
// reference kernels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "lwai/session.h"
#include "runtime/backend.h"
#include "runtime/executor.h"
#include "tests/cpp/net_builder.h"

namespace lwai::testing {
namespace {

bool HasBackend(const std::string& name) { return CreateBackend(name).ok(); }

// conv1 -> conv2 -> conv3 in graph order, interleaved with a node on an independent branch (Neg
// of a second input) and a node reading conv1's output that no partition backend claims (Neg,
// also a graph output): one partition, not three.
void BuildInterleaved(Net& n) {
  const int x = n.Input({1, 3, 12, 12});
  const int side = n.Input({1, 5});
  const int c1 = n.Conv(x, 3, 8, {3, 3}, {IntsAttr("pads", {1, 1, 1, 1})});
  n.Output(n.Op(OpType::Neg, {side}));
  n.Output(n.Op(OpType::Neg, {c1}));
  const int c2 = n.Conv(c1, 8, 8, {3, 3}, {IntsAttr("pads", {1, 1, 1, 1})});
  n.Output(n.Op(OpType::Abs, {side}));
  n.Output(n.Conv(c2, 8, 4, {1, 1}));
}

// conv1 -> Neg (not claimed) -> conv2: the path leaves and re-enters, so conv1 and conv2 must
// not share a partition (it would not be convex).
void BuildThroughUnclaimed(Net& n) {
  const int x = n.Input({1, 3, 10, 10});
  const int c1 = n.Conv(x, 3, 6, {3, 3}, {IntsAttr("pads", {1, 1, 1, 1})});
  const int neg = n.Op(OpType::Neg, {c1});
  n.Output(n.Conv(neg, 6, 4, {3, 3}, {IntsAttr("pads", {1, 1, 1, 1})}));
}

std::vector<std::vector<float>> RunWith(const std::shared_ptr<Model>& model,
                                        const std::vector<std::string>& backends, int* partitions) {
  const Graph& graph = model->graph();
  SessionOptions options;
  options.backends = backends;
  auto executor = Executor::Create(graph, options);
  EXPECT_TRUE(executor.ok()) << executor.status().ToString();
  if (!executor.ok()) return {};
  std::vector<Shape> shapes;
  std::vector<std::vector<float>> data;
  std::vector<TensorRef> inputs;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int t : graph.inputs) {
    shapes.push_back(graph.tensors[t].StaticShape());
    data.emplace_back(static_cast<size_t>(shapes.back().NumElements()));
    for (float& v : data.back()) v = dist(rng);
  }
  for (size_t i = 0; i < shapes.size(); ++i) {
    inputs.push_back(TensorRef{DataType::kFloat32, shapes[i], data[i].data()});
  }
  EXPECT_TRUE((*executor)->Prepare(shapes).ok());
  const Status status = (*executor)->Invoke(inputs);
  EXPECT_TRUE(status.ok()) << status.ToString();
  *partitions = (*executor)->num_partitions();
  std::vector<std::vector<float>> outputs;
  for (int t : graph.outputs) {
    const TensorView& view = (*executor)->tensor(t);
    const float* values = view.Data<const float>();
    outputs.emplace_back(values, values + view.NumElements());
  }
  return outputs;
}

void ExpectPartitions(void (*build)(Net&), int expected) {
  Net net(5);
  build(net);
  auto model = net.Build();
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  int partitions = 0, reference_partitions = 0;
  const auto got = RunWith(*model, {"xnnpack"}, &partitions);
  const auto want = RunWith(*model, {"reference"}, &reference_partitions);
  EXPECT_EQ(partitions, expected);
  ASSERT_EQ(got.size(), want.size());
  for (size_t o = 0; o < got.size(); ++o) {
    ASSERT_EQ(got[o].size(), want[o].size());
    for (size_t i = 0; i < got[o].size(); ++i) {
      EXPECT_NEAR(got[o][i], want[o][i], 1e-4) << "output " << o << " element " << i;
    }
  }
}

TEST(Partitions, NodesOffThePathDoNotSplitAPartition) {
  if (!HasBackend("xnnpack")) GTEST_SKIP() << "built without XNNPACK";
  ExpectPartitions(BuildInterleaved, 1);
}

TEST(Partitions, APathThroughAnUnclaimedNodeSplitsThem) {
  if (!HasBackend("xnnpack")) GTEST_SKIP() << "built without XNNPACK";
  ExpectPartitions(BuildThroughUnclaimed, 2);
}

}  // namespace
}  // namespace lwai::testing

namespace lwai::testing {
namespace {

// conv -> SiLU, conv -> HardSwish, conv -> Sigmoid and a plain conv concatenated (as in YOLOv8's
// C2f and PP-LCNet's blocks): every activation writes its channel slice of the Concat output
// itself, so the Concat copies nothing, and results are the reference's.
TEST(Partitions, ActivationsWriteConcatSlicesInPlace) {
  if (!HasBackend("xnnpack")) GTEST_SKIP() << "built without XNNPACK";
  Net net(8);
  const int x = net.Input({1, 4, 9, 11});
  const Attrs pad = {IntsAttr("pads", {1, 1, 1, 1})};
  const int a = net.Op(OpType::Swish, {net.Conv(x, 4, 5, {3, 3}, pad)});
  const int b = net.Op(OpType::HardSwish, {net.Conv(x, 4, 3, {3, 3}, pad)});
  const int c = net.Op(OpType::Sigmoid, {net.Conv(x, 4, 6, {1, 1})});
  const int d = net.Conv(x, 4, 2, {1, 1});
  net.Op(OpType::Concat, {a, b, c, d}, {IntAttr("axis", 1)});
  auto model = net.Build();
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  int partitions = 0, unused = 0;
  const auto got = RunWith(*model, {"xnnpack"}, &partitions);
  const auto want = RunWith(*model, {"reference"}, &unused);
  EXPECT_EQ(partitions, 1);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].size(), want[0].size());
  for (size_t i = 0; i < got[0].size(); ++i) EXPECT_NEAR(got[0][i], want[0][i], 1e-4) << i;
  SessionOptions options;
  options.backends = {"xnnpack"};
  auto session = Session::Create(*model, options);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  const auto assignments = (*session)->node_assignments();
  EXPECT_EQ(assignments.back().kernel, "in place");
}

}  // namespace
}  // namespace lwai::testing

namespace lwai::testing {
namespace {

// A squeeze-and-excitation block gated by HardSigmoid (MobileNetV3, PP-LCNet) on an input whose
// batch dim has no name: the gate, the Mul and the convolutions around them all run in the
// XNNPACK partition (a Mul left to another backend costs two layout transposes of the full
// tensor), and results are the reference's.
TEST(Partitions, HardSigmoidSqueezeExcitationStaysInThePartition) {
  if (!HasBackend("xnnpack")) GTEST_SKIP() << "built without XNNPACK";
  Net net(9);
  const int x = net.Conv(net.Input({-2, 8, 6, 7}), 8, 16, {3, 3}, {IntsAttr("pads", {1, 1, 1, 1})});
  const int pooled = net.Op(OpType::GlobalAveragePool, {x});
  const int gate = net.Op(OpType::HardSigmoid, {net.Conv(pooled, 16, 16, {1, 1})});
  net.Conv(net.Op(OpType::Mul, {x, gate}), 16, 8, {1, 1});
  auto model = net.Build();
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<float> input(2 * 8 * 6 * 7);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& v : input) v = dist(rng);
  std::vector<std::vector<float>> outputs;
  for (const char* backend : {"xnnpack", "reference"}) {
    SessionOptions options;
    options.backends = {backend};
    auto session = Session::Create(*model, options);
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    const Status status =
        (*session)->Run({TensorRef{DataType::kFloat32, Shape({2, 8, 6, 7}), input.data()}});
    ASSERT_TRUE(status.ok()) << status.ToString();
    if (std::string(backend) == "xnnpack") {
      for (const auto& assignment : (*session)->node_assignments()) {
        EXPECT_EQ(assignment.backend, "xnnpack");
      }
    }
    const TensorRef out = (*session)->output(0);
    const float* values = static_cast<const float*>(out.data);
    outputs.emplace_back(values, values + out.shape.NumElements());
  }
  ASSERT_EQ(outputs[0].size(), outputs[1].size());
  for (size_t i = 0; i < outputs[0].size(); ++i) {
    EXPECT_NEAR(outputs[0][i], outputs[1][i], 1e-4) << i;
  }
}

}  // namespace
}  // namespace lwai::testing

namespace lwai::testing {
namespace {

// A claimed Conv whose input is a constant is evaluated once at prepare (with a full prepare,
// scratch included); the partition then starts at the Add that reads it, takes the folded value
// as an input in NHWC, and runs (it used to be skipped, leaving stale arena bytes as output).
TEST(Partitions, NodesFoldedAtPrepareBecomePartitionInputs) {
  if (!HasBackend("xnnpack")) GTEST_SKIP() << "built without XNNPACK";
  Net net(12);
  const int x = net.Input({1, 6, 9, 8});
  const int folded =
      net.Conv(net.Const({1, 4, 9, 8}), 4, 6, {3, 3}, {IntsAttr("pads", {1, 1, 1, 1})});
  const int sum = net.Op(OpType::Add, {folded, x});
  net.Output(net.Op(OpType::Relu, {net.Op(OpType::Relu, {folded})}));
  net.Output(net.Conv(sum, 6, 3, {1, 1}));
  auto model = net.Build();
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  int partitions = 0, unused = 0;
  const auto got = RunWith(*model, {"xnnpack"}, &partitions);
  const auto want = RunWith(*model, {"reference"}, &unused);
  ASSERT_EQ(got.size(), want.size());
  for (size_t o = 0; o < got.size(); ++o) {
    ASSERT_EQ(got[o].size(), want[o].size());
    for (size_t i = 0; i < got[o].size(); ++i) {
      EXPECT_NEAR(got[o][i], want[o][i], 1e-4) << "output " << o << " element " << i;
    }
  }
}

}  // namespace
}  // namespace lwai::testing
