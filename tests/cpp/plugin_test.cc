// Backend plugins through the C ABI: the example plugin (float32 Relu and same-shape Add) and
// libraries that are not valid plugins.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "lwai/plugin_api.h"
#include "lwai/session.h"
#include "runtime/backend.h"
#include "tests/cpp/test_graphs.h"

namespace lwai::testing {
namespace {

const char kExamplePlugin[] = LWAI_EXAMPLE_PLUGIN_PATH;

// States the example plugin holds right now (its test hook).
int64_t LivePluginStates() {
  void* handle = dlopen(kExamplePlugin, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return -1;
  void* symbol = dlsym(handle, "lwai_example_live_states");
  int64_t (*live)(void) = nullptr;
  if (symbol != nullptr) std::memcpy(&live, &symbol, sizeof(live));
  const int64_t count = live != nullptr ? live() : -1;
  dlclose(handle);
  return count;
}

std::unique_ptr<Session> MakeSession(std::shared_ptr<Model> model,
                                     std::vector<std::string> backends) {
  SessionOptions options;
  options.backends = std::move(backends);
  auto session = Session::Create(std::move(model), options);
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  return session.ok() ? std::move(session).value() : nullptr;
}

std::vector<float> RunFloat(Session& session, const std::vector<TensorRef>& inputs) {
  Status status = session.Run(inputs);
  EXPECT_TRUE(status.ok()) << status.ToString();
  if (!status.ok()) return {};
  const TensorRef out = session.output(0);
  const float* p = static_cast<const float*>(out.data);
  return std::vector<float>(p, p + out.shape.NumElements());
}

std::vector<float> Wave(size_t n) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
  return x;
}

TEST(Plugin, ExampleClaimsReluAndAddAndMatchesReference) {
  const int64_t live_before = LivePluginStates();
  ASSERT_GE(live_before, 0) << "cannot open " << kExamplePlugin;
  auto model = MakeConvModel();  // conv -> bn -> relu -> add(y, y)
  {
    auto plugin = MakeSession(model, {kExamplePlugin});
    auto reference = MakeSession(model, {"reference"});
    ASSERT_TRUE(plugin && reference);
    EXPECT_EQ(plugin->backend_names(), (std::vector<std::string>{"example", "reference"}));
    const auto assignments = plugin->node_assignments();
    ASSERT_EQ(assignments.size(), 4u);
    EXPECT_EQ(assignments[0].backend, "reference");  // Conv
    EXPECT_EQ(assignments[1].backend, "reference");  // BatchNormalization
    EXPECT_EQ(assignments[2].backend, "example");    // Relu
    EXPECT_EQ(assignments[3].backend, "example");    // Add
    for (const auto& a : reference->node_assignments()) EXPECT_EQ(a.backend, "reference");
    // Created at prepare (dynamic batch as 1): one state each for Relu and Add.
    EXPECT_EQ(LivePluginStates(), live_before + 2);

    for (int64_t batch : {2, 3, 1}) {  // new shapes re-prepare: states are replaced
      const auto x = Wave(static_cast<size_t>(batch) * 32);
      const TensorRef in{DataType::kFloat32, Shape({batch, 2, 4, 4}), x.data()};
      const auto expected = RunFloat(*reference, {in});
      const auto got = RunFloat(*plugin, {in});
      ASSERT_EQ(got.size(), static_cast<size_t>(batch) * 48);
      EXPECT_EQ(got, expected) << "batch " << batch;
      EXPECT_EQ(LivePluginStates(), live_before + 2);
    }
  }
  EXPECT_EQ(LivePluginStates(), live_before) << "plugin states leaked";
}

// The test hooks of tests/cpp/partition_plugin.c.
struct PartitionPluginHooks {
  int64_t live_states = -1;
  int32_t nodes = 0, inputs = 0, outputs = 0;
};
PartitionPluginHooks ReadPartitionPluginHooks() {
  PartitionPluginHooks hooks;
  void* handle = dlopen(LWAI_PARTITION_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return hooks;
  int64_t (*live)(void) = nullptr;
  void (*counts)(int32_t*, int32_t*, int32_t*) = nullptr;
  void* live_symbol = dlsym(handle, "lwai_partition_live_states");
  void* counts_symbol = dlsym(handle, "lwai_partition_last_counts");
  if (live_symbol != nullptr) std::memcpy(&live, &live_symbol, sizeof(live));
  if (counts_symbol != nullptr) std::memcpy(&counts, &counts_symbol, sizeof(counts));
  if (live != nullptr) hooks.live_states = live();
  if (counts != nullptr) counts(&hooks.nodes, &hooks.inputs, &hooks.outputs);
  dlclose(handle);
  return hooks;
}

// Version 2: Relu and Add (conv -> bn -> relu -> add(y, y)) form one partition; the Relu output
// lives only inside it. Each prepare replaces the partition's state; a boundary input with a
// dimension of 7 is declined by the plugin, and the reference kernels run those nodes.
TEST(Plugin, PartitionsRunAsOneUnitAndDeclineToReference) {
  const int64_t live_before = ReadPartitionPluginHooks().live_states;
  ASSERT_GE(live_before, 0) << "cannot open " << LWAI_PARTITION_PLUGIN_PATH;
  auto model = MakeConvModel();
  {
    auto plugin = MakeSession(model, {LWAI_PARTITION_PLUGIN_PATH});
    auto reference = MakeSession(model, {"reference"});
    ASSERT_TRUE(plugin && reference);
    const auto assignments = plugin->node_assignments();
    ASSERT_EQ(assignments.size(), 4u);
    EXPECT_EQ(assignments[0].backend, "reference");
    EXPECT_EQ(assignments[2].backend, "partitions");
    EXPECT_EQ(assignments[3].backend, "partitions");
    plugin->set_profiling(true);
    for (int64_t batch : {2, 7, 3}) {
      const auto x = Wave(static_cast<size_t>(batch) * 32);
      const TensorRef in{DataType::kFloat32, Shape({batch, 2, 4, 4}), x.data()};
      const auto expected = RunFloat(*reference, {in});
      const auto got = RunFloat(*plugin, {in});
      ASSERT_EQ(got.size(), static_cast<size_t>(batch) * 48);
      EXPECT_EQ(got, expected) << "batch " << batch;
      const PartitionPluginHooks hooks = ReadPartitionPluginHooks();
      const std::vector<int64_t> times = plugin->node_time_ns();
      if (batch == 7) {  // declined: no state, the reference kernels ran
        EXPECT_EQ(hooks.live_states, live_before);
        continue;
      }
      EXPECT_EQ(hooks.live_states, live_before + 1);
      EXPECT_EQ(hooks.nodes, 2);
      EXPECT_EQ(hooks.inputs, 1);   // bn_out
      EXPECT_EQ(hooks.outputs, 1);  // the graph output
      ASSERT_EQ(times.size(), 4u);
      EXPECT_EQ(times[2], 1000);  // the times the plugin reported, at the graph's node indices
      EXPECT_EQ(times[3], 1001);
    }
  }
  EXPECT_EQ(ReadPartitionPluginHooks().live_states, live_before) << "partition states leaked";
}

// A partition of join-only nodes is not formed: the other backends run them.
TEST(Plugin, PartitionOfJoinOnlyNodesIsNotFormed) {
  setenv("LWAI_TEST_JOIN_ONLY", "1", 1);
  auto model = MakeConvModel();
  auto plugin = MakeSession(model, {LWAI_PARTITION_PLUGIN_PATH});
  unsetenv("LWAI_TEST_JOIN_ONLY");
  auto reference = MakeSession(model, {"reference"});
  ASSERT_TRUE(plugin && reference);
  for (const auto& assignment : plugin->node_assignments()) {
    EXPECT_EQ(assignment.backend, "reference");
  }
  const auto x = Wave(64);
  const TensorRef in{DataType::kFloat32, Shape({2, 2, 4, 4}), x.data()};
  EXPECT_EQ(RunFloat(*plugin, {in}), RunFloat(*reference, {in}));
}

// A plugin built against version 1 (a table without the partition functions) still loads.
TEST(Plugin, VersionOneTableStillLoads) {
  auto model = MakeConvModel();
  auto plugin = MakeSession(model, {LWAI_VERSION1_PLUGIN_PATH});
  auto reference = MakeSession(model, {"reference"});
  ASSERT_TRUE(plugin && reference);
  EXPECT_EQ(plugin->node_assignments()[2].backend, "version1");
  const auto x = Wave(64);
  const TensorRef in{DataType::kFloat32, Shape({2, 2, 4, 4}), x.data()};
  EXPECT_EQ(RunFloat(*plugin, {in}), RunFloat(*reference, {in}));
}

// c = Relu(const) is evaluated at prepare through the plugin; y = Add(x, c) is claimed while
// x's shape is unknown, and declined at prepare for broadcasting shapes (reference runs it).
// z = Add(w, const[3]) has known, different shapes: never claimed.
TEST(Plugin, FoldedNodesAndDeclinedShapes) {
  auto g = std::make_unique<Graph>();
  const int x = AddValue(*g, "x");
  const int w = AddValue(*g, "w", {Dim{2, ""}, Dim{3, ""}}, true);
  const int k = AddFloatConstant(*g, "k", {3}, {-1.0f, 2.0f, -3.0f});
  const int c = AddValue(*g, "c");
  const int y = AddValue(*g, "y");
  const int z = AddValue(*g, "z", {Dim{2, ""}, Dim{3, ""}}, true);
  const int out = AddValue(*g, "out");
  g->nodes.push_back(MakeNode("relu_k", OpType::Relu, {k}, {c}));
  g->nodes.push_back(MakeNode("add_xc", OpType::Add, {x, c}, {y}));
  g->nodes.push_back(MakeNode("add_wk", OpType::Add, {w, k}, {z}));
  g->nodes.push_back(MakeNode("add_yz", OpType::Add, {y, z}, {out}));
  g->inputs = {x, w};
  g->outputs = {out};
  auto model = std::make_shared<Model>(std::move(g), std::make_unique<ModelInfo>(), nullptr);

  auto session = MakeSession(model, {kExamplePlugin});
  ASSERT_TRUE(session);
  const std::vector<float> xs = {1, 2, 3, 4, 5, 6};
  const std::vector<float> ws = {0.5f, -0.5f, 1, -1, 2, -2};
  const std::vector<float> got =
      RunFloat(*session, {TensorRef{DataType::kFloat32, Shape({2, 3}), xs.data()},
                          TensorRef{DataType::kFloat32, Shape({2, 3}), ws.data()}});
  const auto assignments = session->node_assignments();
  ASSERT_EQ(assignments.size(), 4u);
  EXPECT_EQ(assignments[0].backend, "example");
  EXPECT_TRUE(assignments[0].folded);
  EXPECT_EQ(assignments[1].backend, "example");
  EXPECT_EQ(assignments[2].backend, "reference");
  EXPECT_EQ(assignments[3].backend, "example");
  const float relu_k[3] = {0.0f, 2.0f, 0.0f};
  const float k_values[3] = {-1.0f, 2.0f, -3.0f};
  ASSERT_EQ(got.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_FLOAT_EQ(got[i], (xs[i] + relu_k[i % 3]) + (ws[i] + k_values[i % 3])) << i;
  }
}

TEST(Plugin, RunErrorNamesNodePluginAndMessage) {
  auto session = MakeSession(MakeConvModel(), {LWAI_FAILING_PLUGIN_PATH});
  ASSERT_TRUE(session);
  EXPECT_EQ(session->node_assignments()[2].backend, "failing");
  const auto x = Wave(32);
  Status status = session->Run({TensorRef{DataType::kFloat32, Shape({1, 2, 4, 4}), x.data()}});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInternal);  // 77 is no lwai status code
  EXPECT_EQ(status.message(), "node 'relu' (Relu): plugin 'failing' (" +
                                  std::string(LWAI_FAILING_PLUGIN_PATH) + "): bn_out");
}

TEST(Plugin, MissingLibraryIsNotFoundNamingThePath) {
  const std::string path = "/nonexistent/dir/libnot_there.so";
  auto session = Session::Create(MakeConvModel(), SessionOptions{1, {path}});
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), StatusCode::kNotFound);
  EXPECT_NE(session.status().message().find(path), std::string::npos)
      << session.status().ToString();
}

TEST(Plugin, LibraryWithoutEntryPointIsInvalid) {
  auto backend = CreateBackend(LWAI_NO_ENTRY_PLUGIN_PATH);
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), StatusCode::kInvalidModel);
  const std::string& message = backend.status().message();
  EXPECT_NE(message.find(LWAI_NO_ENTRY_PLUGIN_PATH), std::string::npos) << message;
  EXPECT_NE(message.find("lwai_plugin_entry"), std::string::npos) << message;
}

TEST(Plugin, OtherApiVersionIsInvalidWithExpectedAndGot) {
  auto session =
      Session::Create(MakeConvModel(), SessionOptions{1, {LWAI_BAD_VERSION_PLUGIN_PATH}});
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), StatusCode::kInvalidModel);
  const std::string& message = session.status().message();
  EXPECT_NE(message.find(LWAI_BAD_VERSION_PLUGIN_PATH), std::string::npos) << message;
  EXPECT_NE(message.find("expected " + std::to_string(LWAI_PLUGIN_API_MIN_VERSION) + " to " +
                         std::to_string(LWAI_PLUGIN_API_VERSION) + ", got " +
                         std::to_string(LWAI_PLUGIN_API_VERSION + 41)),
            std::string::npos)
      << message;
}

TEST(Plugin, FileThatIsNotALibraryIsInvalid) {
  auto text = CreateBackend(__FILE__);  // exists, but is not a shared library
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidModel) << text.status().ToString();
}

}  // namespace
}  // namespace lwai::testing
