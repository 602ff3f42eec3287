// Keeps the core's promise never to throw: standard containers can still throw std::bad_alloc
// (or std::length_error) on hostile sizes that slipped past the checks. The public entry points
// (Session, Model loaders, conversion) run their work through CatchAllocationFailure, which
// turns those into kOutOfMemory. Builds without exceptions abort on allocation failure instead,
// as the standard library does there.
#ifndef LWAI_IR_NO_THROW_H_
#define LWAI_IR_NO_THROW_H_

#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "lwai/status.h"

namespace lwai {

// Calls `work` (returning Status, or Result<T> with T given) and returns its result, or
// kOutOfMemory "<what>: out of memory" if it threw an allocation failure.
template <typename T = void, typename Work>
auto CatchAllocationFailure(const char* what, Work&& work)
    -> std::conditional_t<std::is_void_v<T>, Status, Result<T>> {
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
  try {
    return std::forward<Work>(work)();
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, LWAI_MSG(std::string(what) + ": out of memory"));
  } catch (const std::length_error&) {
    return Status(StatusCode::kOutOfMemory,
                  LWAI_MSG(std::string(what) + ": a buffer would be too long"));
  }
#else
  return std::forward<Work>(work)();
#endif
}

}  // namespace lwai

#endif  // LWAI_IR_NO_THROW_H_
