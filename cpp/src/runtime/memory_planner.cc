#include "runtime/memory_planner.h"

#include <algorithm>
#include <cstdint>
#include <numeric>

namespace lwai {
namespace {

// Sizes come from model shapes: they saturate here instead of wrapping, so that a hostile request
// makes the plan too large for any memory limit (and any address space) rather than small.
constexpr uint64_t kSaturated = UINT64_MAX / 4;

uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  return a > kSaturated - std::min(b, kSaturated) ? kSaturated : a + b;
}

}  // namespace

MemoryPlan PlanMemory(const std::vector<BufferRequest>& requests, size_t alignment) {
  MemoryPlan plan;
  const size_t count = requests.size();
  plan.offsets.assign(count, 0);
  std::vector<uint64_t> sizes(count);
  for (size_t i = 0; i < count; ++i) {
    sizes[i] = requests[i].size == SIZE_MAX ? kSaturated
                                            : std::min<uint64_t>(requests[i].size, kSaturated);
    sizes[i] = (sizes[i] + alignment - 1) / alignment * alignment;
    plan.unshared_bytes = SaturatingAdd(plan.unshared_bytes, sizes[i]);
  }
  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sizes[a] > sizes[b]; });

  std::vector<size_t> placed;  // request indices already assigned, kept sorted by offset
  for (size_t index : order) {
    if (sizes[index] == 0) continue;
    const BufferRequest& r = requests[index];
    uint64_t candidate = 0;
    for (size_t other : placed) {
      const BufferRequest& o = requests[other];
      const bool overlaps_in_time = o.first_use <= r.last_use && r.first_use <= o.last_use;
      if (!overlaps_in_time) continue;
      if (plan.offsets[other] >= candidate + sizes[index]) break;  // gap before `other` fits
      candidate = std::max(candidate, SaturatingAdd(plan.offsets[other], sizes[other]));
    }
    plan.offsets[index] = candidate;
    plan.arena_bytes = std::max(plan.arena_bytes, SaturatingAdd(candidate, sizes[index]));
    placed.insert(
        std::upper_bound(placed.begin(), placed.end(), index,
                         [&](size_t a, size_t b) { return plan.offsets[a] < plan.offsets[b]; }),
        index);
  }
  return plan;
}

}  // namespace lwai
