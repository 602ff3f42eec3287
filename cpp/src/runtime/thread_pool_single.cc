// ThreadPool in a build without threads (CMake's LWAI_WITH_THREADS=OFF): the calling thread
// runs every ParallelFor, and nothing here needs <thread> or a threads library.
#include "runtime/thread_pool.h"

namespace lwai {

ThreadPool::ThreadPool(int /*num_threads*/) {}

ThreadPool::~ThreadPool() = default;

bool ThreadPool::InForkedChild() const { return false; }

void ThreadPool::ParkWorkers() {}

void ThreadPool::Run(int64_t n, int64_t /*min_chunk*/, RangeFn range_fn, const void* fn) {
  if (n > 0) range_fn(fn, 0, n);
}

}  // namespace lwai
