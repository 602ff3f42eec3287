#include "runtime/thread_pool.h"

#include <algorithm>
#include <atomic>

#ifdef LWAI_WITH_PTHREADPOOL
#include <pthreadpool.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#include <signal.h>
#endif

namespace lwai {
namespace {

// Threads created while this lives start with every signal blocked, so that a signal sent to
// the process (Ctrl-C) reaches a thread that handles it (the caller's), not an idle worker.
class BlockSignalsInNewThreads {
 public:
#if defined(__unix__) || defined(__APPLE__)
  BlockSignalsInNewThreads() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous_);
  }
  ~BlockSignalsInNewThreads() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

 private:
  sigset_t previous_;
#endif
};

}  // namespace

#ifdef LWAI_WITH_PTHREADPOOL
namespace {

struct ChunkedJob {
  void (*range_fn)(const void* fn, int64_t begin, int64_t end);
  const void* fn;
  int64_t n;
  int64_t chunk;
};

void RunChunk(void* context, size_t index) {
  const ChunkedJob& job = *static_cast<const ChunkedJob*>(context);
  const int64_t begin = static_cast<int64_t>(index) * job.chunk;
  job.range_fn(job.fn, begin, std::min(job.n, begin + job.chunk));
}

}  // namespace
#endif

namespace {

// How many times this process's ancestors forked to make it, counted in the child by an atfork
// handler: a pool made before the last fork sees a larger count. No system call on the hot path
// (ParallelFor asks on every call).
std::atomic<unsigned> fork_count{0};
#if defined(__unix__) || defined(__APPLE__)
void CountFork() { fork_count.fetch_add(1, std::memory_order_relaxed); }
const bool fork_counter_installed = pthread_atfork(nullptr, nullptr, CountFork) == 0;
#endif

unsigned ForkCount() { return fork_count.load(std::memory_order_relaxed); }

}  // namespace

ThreadPool::ThreadPool(int num_threads)
    : num_threads_(std::max(1, num_threads)), owner_forks_(ForkCount()) {
  BlockSignalsInNewThreads block_signals;
#ifdef LWAI_WITH_PTHREADPOOL
  if (num_threads_ > 1) pthreadpool_ = pthreadpool_create(num_threads_);
  if (pthreadpool_ != nullptr) return;
#endif
  for (int i = 1; i < num_threads_; ++i) {
    workers_.emplace_back([this, i] { WorkerLoop(i); });
  }
}

ThreadPool::~ThreadPool() {
  if (InForkedChild()) {
    // The workers exist only in the parent: joining them here would wait forever. Their
    // bookkeeping is left behind (a few bytes, once per pool that crossed a fork).
    new std::vector<std::thread>(std::move(workers_));
    return;
  }
#ifdef LWAI_WITH_PTHREADPOOL
  if (pthreadpool_ != nullptr) pthreadpool_destroy(static_cast<pthreadpool_t>(pthreadpool_));
#endif
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

bool ThreadPool::InForkedChild() const { return ForkCount() != owner_forks_; }

void ThreadPool::ParkWorkers() {
  if (InForkedChild()) return;
#ifdef LWAI_WITH_PTHREADPOOL
  // pthreadpool's workers spin for a while after each job; an empty job with the yield flag
  // sends them to sleep at its end. The condition-variable workers below always sleep.
  if (pthreadpool_ != nullptr) {
    pthreadpool_parallelize_1d(
        static_cast<pthreadpool_t>(pthreadpool_), [](void*, size_t) {}, nullptr,
        static_cast<size_t>(num_threads_), PTHREADPOOL_FLAG_YIELD_WORKERS);
  }
#endif
}

void ThreadPool::Run(int64_t n, int64_t min_chunk, RangeFn range_fn, const void* fn) {
  if (n <= 0) return;
  if (InForkedChild()) {
    range_fn(fn, 0, n);
    return;
  }
  const int64_t threads = num_threads();
  int64_t chunk = std::max<int64_t>(std::max<int64_t>(min_chunk, 1), (n + threads - 1) / threads);
#ifdef LWAI_WITH_PTHREADPOOL
  if (pthreadpool_ != nullptr && chunk < n) {
    ChunkedJob job{range_fn, fn, n, chunk};
    pthreadpool_parallelize_1d(static_cast<pthreadpool_t>(pthreadpool_), RunChunk, &job,
                               static_cast<size_t>((n + chunk - 1) / chunk), 0);
    return;
  }
#endif
  if (workers_.empty() || chunk >= n) {
    range_fn(fn, 0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    range_fn_ = range_fn;
    fn_ = fn;
    n_ = n;
    chunk_ = chunk;
    pending_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  work_ready_.notify_all();
  range_fn(fn, 0, std::min(n, chunk));  // the caller takes chunk 0
  std::unique_lock<std::mutex> lock(mutex_);
  work_done_.wait(lock, [this] { return pending_ == 0; });
}

void ThreadPool::WorkerLoop(int worker_index) {
  uint64_t seen_generation = 0;
  for (;;) {
    RangeFn range_fn;
    const void* fn;
    int64_t begin, end;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen_generation; });
      if (stopping_) return;
      seen_generation = generation_;
      range_fn = range_fn_;
      fn = fn_;
      begin = std::min(n_, worker_index * chunk_);
      end = std::min(n_, begin + chunk_);
    }
    if (begin < end) range_fn(fn, begin, end);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) work_done_.notify_one();
    }
  }
}

}  // namespace lwai
