// Assigns arena offsets to buffers from their lifetimes: greedy, largest first, each buffer at
// the lowest offset that does not overlap a buffer alive at the same time (the approach of
// TFLite Micro's GreedyMemoryPlanner).
#ifndef LWAI_RUNTIME_MEMORY_PLANNER_H_
#define LWAI_RUNTIME_MEMORY_PLANNER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lwai {

struct BufferRequest {
  size_t size = 0;    // SIZE_MAX: larger than this platform can address
  int first_use = 0;  // index of the step that writes it first
  int last_use = 0;   // index of the last step that reads it (inclusive)
};

// In 64 bits on every platform: on 32-bit targets a plan may exceed the address space, which the
// caller must refuse (arena_bytes > SIZE_MAX) before using any offset.
struct MemoryPlan {
  std::vector<uint64_t> offsets;  // one per request, multiples of `alignment`
  uint64_t arena_bytes = 0;
  uint64_t unshared_bytes = 0;  // sum of the aligned request sizes
};

MemoryPlan PlanMemory(const std::vector<BufferRequest>& requests, size_t alignment);

}  // namespace lwai

#endif  // LWAI_RUNTIME_MEMORY_PLANNER_H_
