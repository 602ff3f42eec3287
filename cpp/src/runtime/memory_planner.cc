#include "runtime/memory_planner.h"

#include <algorithm>
#include <cstdint>
#include <numeric>

namespace lwai {

MemoryPlan PlanMemory(const std::vector<BufferRequest>& requests, size_t alignment) {
  MemoryPlan plan;
  const size_t count = requests.size();
  plan.offsets.assign(count, 0);
  std::vector<size_t> sizes(count);
  // Sizes come from model shapes: saturate instead of wrapping, so that a hostile request makes
  // the plan too large for any memory limit rather than small.
  constexpr size_t kSaturated = SIZE_MAX / 4;
  auto saturating_add = [](size_t a, size_t b) {
    return a > SIZE_MAX / 4 - std::min<size_t>(b, SIZE_MAX / 4) ? SIZE_MAX / 4 : a + b;
  };
  for (size_t i = 0; i < count; ++i) {
    sizes[i] = std::min(requests[i].size, kSaturated);
    sizes[i] = (sizes[i] + alignment - 1) / alignment * alignment;
    plan.unshared_bytes = saturating_add(plan.unshared_bytes, sizes[i]);
  }
  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sizes[a] > sizes[b]; });

  std::vector<size_t> placed;  // request indices already assigned, kept sorted by offset
  for (size_t index : order) {
    if (sizes[index] == 0) continue;
    const BufferRequest& r = requests[index];
    size_t candidate = 0;
    for (size_t other : placed) {
      const BufferRequest& o = requests[other];
      const bool overlaps_in_time = o.first_use <= r.last_use && r.first_use <= o.last_use;
      if (!overlaps_in_time) continue;
      if (plan.offsets[other] >= candidate + sizes[index]) break;  // gap before `other` fits
      candidate = std::max(candidate, saturating_add(plan.offsets[other], sizes[other]));
    }
    plan.offsets[index] = candidate;
    plan.arena_bytes = std::max(plan.arena_bytes, saturating_add(candidate, sizes[index]));
    placed.insert(
        std::upper_bound(placed.begin(), placed.end(), index,
                         [&](size_t a, size_t b) { return plan.offsets[a] < plan.offsets[b]; }),
        index);
  }
  return plan;
}

}  // namespace lwai
