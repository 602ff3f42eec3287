// ChooseFasterKernel times both candidates once per key and keeps the answer.
#include "kernels/kernel_choice.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace lwai::testing {
namespace {

TEST(KernelChoice, PicksTheFasterAndCachesIt) {
  int slow_runs = 0, fast_runs = 0;
  auto slow = [&] {
    ++slow_runs;
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  };
  auto fast = [&] { ++fast_runs; };
  const int before = CachedKernelChoices();
  EXPECT_EQ(ChooseFasterKernel("test", {1, 2, 3}, slow, fast), 1);
  EXPECT_EQ(ChooseFasterKernel("test", {4}, fast, slow), 0);
  EXPECT_EQ(CachedKernelChoices(), before + 2);
  EXPECT_EQ(slow_runs, 8);  // one warm-up and three timed runs each time
  // Cached: neither runs again, whatever is passed.
  EXPECT_EQ(ChooseFasterKernel("test", {1, 2, 3}, fast, slow), 1);
  EXPECT_EQ(slow_runs, 8);
  EXPECT_EQ(fast_runs, 8);
  // Another kind with the same key is another choice.
  EXPECT_EQ(ChooseFasterKernel("other", {1, 2, 3}, fast, slow), 0);
  // Lookups without timing.
  EXPECT_EQ(CachedKernelChoice("test", {1, 2, 3}), 1);
  EXPECT_EQ(CachedKernelChoice("other", {1, 2, 3}), 0);
  EXPECT_EQ(CachedKernelChoice("test", {9, 9}), -1);
}

// A second kernel that must pay for its memory wins only by the margin.
TEST(KernelChoice, SecondKernelMustWinByItsMargin) {
  auto sleeps = [](int ms) {
    return [ms] { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
  };
  // 6 ms against 4 ms: 1.5x faster, not 2x.
  EXPECT_EQ(ChooseFasterKernel("margin", {1}, sleeps(6), sleeps(4), 2.0), 0);
  EXPECT_EQ(ChooseFasterKernel("margin", {2}, sleeps(6), sleeps(4), 1.2), 1);
  EXPECT_EQ(ChooseFasterKernel("margin", {3}, sleeps(12), sleeps(4), 2.0), 1);
}

}  // namespace
}  // namespace lwai::testing
