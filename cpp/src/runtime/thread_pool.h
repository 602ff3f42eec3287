// A fixed-size pool of worker threads with a blocking, allocation-free ParallelFor.
//
// Built with pthreadpool (LWAI_WITH_PTHREADPOOL), the pool is a pthreadpool that libraries
// such as XNNPACK use directly through pthreadpool(), so all backends share one set of threads.
// Built without threads (LWAI_NO_THREADS, CMake's LWAI_WITH_THREADS=OFF), it has one thread,
// the caller's, and no <thread> anywhere (thread_pool_single.cc).
#ifndef LWAI_RUNTIME_THREAD_POOL_H_
#define LWAI_RUNTIME_THREAD_POOL_H_

#include <cstdint>
#ifndef LWAI_NO_THREADS
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#endif

namespace lwai {

class ThreadPool {
 public:
  // num_threads counts the calling thread: 1 means no workers are started (and all a build
  // without threads has).
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // The underlying pthreadpool_t, or nullptr without pthreadpool or with a single thread (which
  // pthreadpool users treat as "run on the calling thread").
  // In a fork()ed child (whose copy of the pool has no workers) it is nullptr too.
  void* pthreadpool() const { return InForkedChild() ? nullptr : pthreadpool_; }

  // Calls fn(begin, end) over disjoint ranges covering [0, n), in at most num_threads()
  // chunks, and returns when all are done. Ranges are at least `min_chunk` long (except the
  // last) so that tiny loops stay on the calling thread. Not reentrant.
  template <typename Fn>
  void ParallelFor(int64_t n, int64_t min_chunk, const Fn& fn) {
    Run(
        n, min_chunk,
        [](const void* f, int64_t b, int64_t e) { (*static_cast<const Fn*>(f))(b, e); }, &fn);
  }

  // Puts the workers to sleep now instead of letting them spin-wait for more work: before code
  // that brings threads of its own (a plugin's OpenMP) competes with them for the cores.
  void ParkWorkers();

 private:
  using RangeFn = void (*)(const void* fn, int64_t begin, int64_t end);
  void Run(int64_t n, int64_t min_chunk, RangeFn range_fn, const void* fn);

  // Whether this process is a fork() of the one that started the workers: they do not exist
  // here, so work runs on the calling thread.
  bool InForkedChild() const;

  int num_threads_ = 1;
  void* pthreadpool_ = nullptr;
#ifndef LWAI_NO_THREADS
  void WorkerLoop(int worker_index);

  // The process's fork count when the workers started (see ForkCount in thread_pool.cc).
  unsigned owner_forks_ = 0;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stopping_ = false;
  // Current job.
  RangeFn range_fn_ = nullptr;
  const void* fn_ = nullptr;
  int64_t n_ = 0;
  int64_t chunk_ = 0;
#endif
};

}  // namespace lwai

#endif  // LWAI_RUNTIME_THREAD_POOL_H_
