#include "runtime/memory_planner.h"

#include <gtest/gtest.h>

#include <random>

namespace lwai {
namespace {

void ExpectNoLiveOverlap(const std::vector<BufferRequest>& requests, const MemoryPlan& plan) {
  for (size_t a = 0; a < requests.size(); ++a) {
    EXPECT_EQ(plan.offsets[a] % 64, 0u);
    EXPECT_LE(plan.offsets[a] + requests[a].size, plan.arena_bytes);
    for (size_t b = a + 1; b < requests.size(); ++b) {
      const bool live_together = requests[a].first_use <= requests[b].last_use &&
                                 requests[b].first_use <= requests[a].last_use;
      if (!live_together || requests[a].size == 0 || requests[b].size == 0) continue;
      const bool disjoint = plan.offsets[a] + requests[a].size <= plan.offsets[b] ||
                            plan.offsets[b] + requests[b].size <= plan.offsets[a];
      EXPECT_TRUE(disjoint) << "buffers " << a << " and " << b << " overlap while both live";
    }
  }
}

TEST(MemoryPlanner, ChainReusesMemory) {
  // A chain: each buffer lives from its producer to the next step.
  std::vector<BufferRequest> requests;
  for (int i = 0; i < 10; ++i) requests.push_back({1000, i, i + 1});
  const MemoryPlan plan = PlanMemory(requests, 64);
  ExpectNoLiveOverlap(requests, plan);
  EXPECT_EQ(plan.arena_bytes, 2 * 1024u);
  EXPECT_EQ(plan.unshared_bytes, 10 * 1024u);
}

TEST(MemoryPlanner, RandomLifetimesNeverOverlap) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<BufferRequest> requests;
    const int count = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < count; ++i) {
      const int first = static_cast<int>(rng() % 40);
      requests.push_back({rng() % 5000, first, first + static_cast<int>(rng() % 10)});
    }
    const MemoryPlan plan = PlanMemory(requests, 64);
    ExpectNoLiveOverlap(requests, plan);
    EXPECT_LE(plan.arena_bytes, plan.unshared_bytes);
  }
}

// Plans are 64-bit on every platform: buffers that together pass 4 GiB (or each exceed a 32-bit
// address space, SIZE_MAX) never wrap or overlap, so a 32-bit executor can refuse them. Found
// on armhf, where offsets saturated at 1 GiB and two live buffers shared memory.
TEST(MemoryPlanner, LargePlansNeitherWrapNorOverlap) {
  const size_t gib = size_t{1} << 30;
  std::vector<BufferRequest> requests = {{gib, 0, 1}, {gib, 0, 1}, {gib, 1, 2}, {65536, 1, 1}};
  MemoryPlan plan = PlanMemory(requests, 64);
  ExpectNoLiveOverlap(requests, plan);
  EXPECT_EQ(plan.arena_bytes, 3 * uint64_t{gib} + 65536);
  requests = {{SIZE_MAX, 0, 1}, {SIZE_MAX, 0, 1}, {4096, 0, 1}};
  plan = PlanMemory(requests, 64);
  EXPECT_GT(plan.arena_bytes, uint64_t{1} << 60);
  EXPECT_GE(plan.offsets[1], uint64_t{1} << 60);
  EXPECT_NE(plan.offsets[0], plan.offsets[1]);
}

}  // namespace
}  // namespace lwai
