// Session::Run on a prepared static graph allocates nothing: every buffer (arena, per-node state,
// packed weights, scratch) was planned and allocated when the session was created or first
// prepared. This program replaces the global allocation functions (operator new and the C
// allocator, which XNNPACK and Eigen use) with counting forwarders, so it is its own executable
// and is not built with sanitizers (their runtimes own malloc).
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "lwai/session.h"
#include "tests/cpp/net_builder.h"

extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* p, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void __libc_free(void* p);
}

namespace {

std::atomic<bool> counting{false};
std::atomic<int64_t> allocations{0};
std::atomic<int64_t> allocated_bytes{0};
std::atomic<int64_t> largest_allocation{0};

void Count(size_t bytes = 0) {
  if (counting.load(std::memory_order_relaxed)) {
    allocations.fetch_add(1);
    allocated_bytes.fetch_add(static_cast<int64_t>(bytes));
    int64_t largest = largest_allocation.load();
    while (static_cast<int64_t>(bytes) > largest &&
           !largest_allocation.compare_exchange_weak(largest, static_cast<int64_t>(bytes))) {
    }
  }
}

}  // namespace

extern "C" {
void* malloc(size_t size) {
  Count(size);
  return __libc_malloc(size);
}
void* calloc(size_t count, size_t size) {
  Count(count * size);
  return __libc_calloc(count, size);
}
void* realloc(void* p, size_t size) {
  Count(size);
  return __libc_realloc(p, size);
}
void free(void* p) { __libc_free(p); }
void* memalign(size_t alignment, size_t size) {
  Count(size);
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(size_t alignment, size_t size) {
  Count(size);
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, size_t alignment, size_t size) {
  Count(size);
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}

void* operator new(size_t size) {
  void* p = malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](size_t size) { return operator new(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return malloc(size ? size : 1); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  return malloc(size ? size : 1);
}
void* operator new(size_t size, std::align_val_t alignment) {
  void* p = __libc_memalign(static_cast<size_t>(alignment), size == 0 ? 1 : size);
  Count(size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](size_t size, std::align_val_t alignment) {
  return operator new(size, alignment);
}
void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, size_t) noexcept { free(p); }
void operator delete[](void* p, size_t) noexcept { free(p); }
void operator delete(void* p, std::align_val_t) noexcept { free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { free(p); }

namespace lwai::testing {
namespace {

using BuildFn = void (*)(Net&);

// A CNN stem: convolutions (one depthwise), batch norm folded by the optimizer, hard-swish,
// pooling, a residual add, global pooling and a classifier.
void BuildCnn(Net& n) {
  const int x = n.Input({1, 3, 32, 32});
  const int c1 = n.Conv(x, 3, 16, {3, 3}, {IntsAttr("pads", {1, 1, 1, 1})});
  const int a1 = n.Op(OpType::HardSwish, {c1});
  const int dw = n.Conv(a1, 16, 16, {3, 3}, {IntsAttr("pads", {1, 1, 1, 1})}, 16);
  const int r = n.Op(OpType::Relu, {dw});
  const int sum = n.Op(OpType::Add, {r, a1});
  const int p =
      n.Op(OpType::MaxPool, {sum}, {IntsAttr("kernel_shape", {2, 2}), IntsAttr("strides", {2, 2})});
  const int c2 = n.Conv(p, 16, 32, {1, 1});
  const int g = n.Op(OpType::GlobalAveragePool, {c2});
  const int f = n.Op(OpType::Flatten, {g});
  n.Op(OpType::Gemm, {f, n.Const({10, 32}), n.Const({10})}, {IntAttr("transB", 1)});
}

// A transformer block on [1, s, d]: layer norm, Q/K/V projections, attention with transposes
// and softmax, GELU MLP, residuals.
void BuildTransformerOfSize(Net& n, int64_t s, int64_t d) {
  const int64_t h = 4, hd = d / h;
  const int x = n.Input({1, s, d});
  const int ln =
      n.Op(OpType::LayerNormalization, {x, n.Const({d}), n.Const({d})}, {IntAttr("axis", -1)});
  auto heads = [&](int t, std::vector<int64_t> perm) {
    const int proj = n.Op(OpType::MatMul, {t, n.Const({d, d}, -0.2f, 0.2f)});
    const int biased = n.Op(OpType::Add, {proj, n.Const({d})});
    const int split = n.Op(OpType::Reshape, {biased, n.IntConst({4}, {1, s, h, hd})});
    return n.Op(OpType::Transpose, {split}, {IntsAttr("perm", perm)});
  };
  const int q = heads(ln, {0, 2, 1, 3});
  const int k = heads(ln, {0, 2, 3, 1});
  const int v = heads(ln, {0, 2, 1, 3});
  const int scores = n.Op(OpType::Mul, {n.Op(OpType::MatMul, {q, k}), n.Scalar(0.25f)});
  const int probs = n.Op(OpType::Softmax, {scores}, {IntAttr("axis", -1)});
  const int context = n.Op(OpType::MatMul, {probs, v});
  const int merged =
      n.Op(OpType::Reshape, {n.Op(OpType::Transpose, {context}, {IntsAttr("perm", {0, 2, 1, 3})}),
                             n.IntConst({3}, {1, s, d})});
  const int attn = n.Op(OpType::Add, {x, n.Op(OpType::MatMul, {merged, n.Const({d, d})})});
  const int up = n.Op(OpType::Gelu, {n.Op(OpType::MatMul, {attn, n.Const({d, 4 * d})})});
  n.Op(OpType::Add, {attn, n.Op(OpType::MatMul, {up, n.Const({4 * d, d})})});
}

void BuildTransformer(Net& n) { BuildTransformerOfSize(n, 16, 64); }
// Matrices large enough that a GEMM library would want heap workspace for its blocks.
void BuildWideTransformer(Net& n) { BuildTransformerOfSize(n, 128, 256); }

TEST(AllocationCounter, SeesNewAndMalloc) {
  allocations = 0;
  counting = true;
  auto* vector = new std::vector<int>(100);
  void* block = std::malloc(64);
  counting = false;
  EXPECT_GE(allocations.load(), 3);
  std::free(block);
  delete vector;
}

struct AllocationCase {
  const char* name;
  BuildFn build;
  std::vector<std::string> backends;  // empty: the defaults
  int threads;
  // A time limit makes the executor check it between nodes: the checks name their node only
  // when they fail, so they allocate nothing either.
  int64_t timeout_ms = 0;
};

class RunAllocations : public ::testing::TestWithParam<AllocationCase> {};

TEST_P(RunAllocations, NoneOnAPreparedStaticGraph) {
  const AllocationCase& c = GetParam();
  Net net(7);
  c.build(net);
  auto model = net.Build();
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  SessionOptions options;
  options.threads = c.threads;
  options.timeout_ms = c.timeout_ms;
  if (!c.backends.empty()) options.backends = c.backends;
  auto session = Session::Create(*model, options);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  std::vector<std::vector<float>> data;
  std::vector<TensorRef> inputs;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (const TensorInfo& info : (*session)->inputs()) {
    Shape shape;
    shape.rank = static_cast<int>(info.shape.size());
    for (int d = 0; d < shape.rank; ++d) shape[d] = info.shape[d];
    data.emplace_back(static_cast<size_t>(shape.NumElements()));
    for (float& v : data.back()) v = dist(rng);
    inputs.push_back(TensorRef{DataType::kFloat32, shape, data.back().data()});
  }
  for (int warm = 0; warm < 2; ++warm) ASSERT_TRUE((*session)->Run(inputs).ok());
  allocations = 0;
  counting = true;
  Status status;
  for (int run = 0; run < 3; ++run) status = (*session)->Run(inputs);
  counting = false;
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(allocations.load(), 0) << "heap allocations in 3 runs";
}

INSTANTIATE_TEST_SUITE_P(
    Session, RunAllocations,
    ::testing::Values(AllocationCase{"cnn_default", BuildCnn, {}, 1},
                      AllocationCase{"cnn_default_2_threads", BuildCnn, {}, 2},
                      AllocationCase{"cnn_reference", BuildCnn, {"reference"}, 1},
                      AllocationCase{"cnn_default_with_timeout", BuildCnn, {}, 1, 60000},
                      AllocationCase{
                          "cnn_reference_with_timeout", BuildCnn, {"reference"}, 1, 60000},
                      AllocationCase{"transformer_default", BuildTransformer, {}, 1},
                      AllocationCase{"transformer_default_2_threads", BuildTransformer, {}, 2},
                      AllocationCase{"transformer_reference", BuildTransformer, {"reference"}, 1},
                      AllocationCase{"wide_transformer_default", BuildWideTransformer, {}, 2}),
    [](const ::testing::TestParamInfo<AllocationCase>& info) { return info.param.name; });

// A new batch size prepares the session again; the packed weights must survive it. The
// convolutions hold 2.4 MB of weights on a 4 x 4 map, so anything near their size allocated
// during the re-preparation would be a repacking.
TEST(Reprepare, NewBatchSizeKeepsPackedWeights) {
  Net net(9);
  const int x = net.Input({-1, 256, 4, 4});
  const int c1 = net.Conv(x, 256, 256, {3, 3}, {IntsAttr("pads", {1, 1, 1, 1})});
  net.Conv(net.Op(OpType::Relu, {c1}), 256, 256, {1, 1});
  auto model = net.Build();
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto session = Session::Create(*model, SessionOptions());
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  std::vector<float> data(3 * 256 * 16, 0.5f);
  auto run = [&](int64_t batch) {
    return (*session)->Run({TensorRef{DataType::kFloat32, Shape({batch, 256, 4, 4}), data.data()}});
  };
  ASSERT_TRUE(run(1).ok());
  for (int64_t batch : {2, 3, 1}) {
    allocated_bytes = 0;
    counting = true;
    const Status status = run(batch);
    counting = false;
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_LT(allocated_bytes.load(), 1 << 20) << "bytes allocated preparing batch " << batch;
  }
}

// Working memory is in the plan: layout copies at partition boundaries and kernel scratch are
// arena buffers, so with a caller-provided arena of arena_bytes() the session allocates no
// activation-sized buffer of its own (the activations here are 256 KB, the weights 1 KB).
TEST(ArenaPlan, HoldsPartitionBoundaryBuffersAndScratch) {
  Net net(4);
  const int x = net.Input({1, 16, 64, 64});
  const int c1 = net.Conv(x, 16, 16, {1, 1});
  net.Conv(net.Op(OpType::Relu, {c1}), 16, 16, {1, 1});
  auto model = net.Build();
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  size_t arena_bytes = 0;
  {
    auto probe = Session::Create(*model, SessionOptions());
    ASSERT_TRUE(probe.ok()) << probe.status().ToString();
    arena_bytes = (*probe)->arena_bytes();
  }
  // Two 256 KB tensors in NCHW and their NHWC copies are live at the boundaries.
  EXPECT_GE(arena_bytes, size_t{3} * 256 * 1024);
  std::shared_ptr<void> arena = AllocateAligned(arena_bytes);
  SessionOptions options;
  options.arena = arena.get();
  options.arena_size = arena_bytes;
  std::vector<float> data(16 * 64 * 64, 0.25f);
  largest_allocation = 0;
  counting = true;
  auto session = Session::Create(*model, options);
  Status status =
      session.ok()
          ? (*session)->Run({TensorRef{DataType::kFloat32, Shape({1, 16, 64, 64}), data.data()}})
          : session.status();
  counting = false;
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_LT(largest_allocation.load(), 128 * 1024);
}

}  // namespace
}  // namespace lwai::testing
