// Assigns arena offsets to buffers from their lifetimes: greedy, largest first, each buffer at
// the lowest offset that does not overlap a buffer alive at the same time (the approach of
// TFLite Micro's GreedyMemoryPlanner).
#ifndef LWAI_RUNTIME_MEMORY_PLANNER_H_
#define LWAI_RUNTIME_MEMORY_PLANNER_H_

#include <cstddef>
#include <vector>

namespace lwai {

struct BufferRequest {
  size_t size = 0;
  int first_use = 0;  // index of the step that writes it first
  int last_use = 0;   // index of the last step that reads it (inclusive)
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // one per request, multiples of `alignment`
  size_t arena_bytes = 0;
  size_t unshared_bytes = 0;  // sum of the aligned request sizes
};

MemoryPlan PlanMemory(const std::vector<BufferRequest>& requests, size_t alignment);

}  // namespace lwai

#endif  // LWAI_RUNTIME_MEMORY_PLANNER_H_
