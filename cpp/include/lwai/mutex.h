// lwai::Mutex: std::mutex, or a mutex that does nothing in builds without threads
// (LWAI_WITH_THREADS=OFF defines LWAI_NO_THREADS), where there is only one thread and the
// standard library may have no std::mutex at all (newlib on bare-metal targets). Use it with
// std::lock_guard and std::unique_lock.
#ifndef LWAI_MUTEX_H_
#define LWAI_MUTEX_H_

#ifdef LWAI_NO_THREADS
#include <mutex>  // std::lock_guard, std::unique_lock (defined without thread support too)

namespace lwai {
class Mutex {
 public:
  void lock() {}
  void unlock() {}
  bool try_lock() { return true; }
};
}  // namespace lwai
#else
#include <mutex>

namespace lwai {
using Mutex = std::mutex;
}  // namespace lwai
#endif

#endif  // LWAI_MUTEX_H_
