// Packed weights shared between sessions and re-preparations.
//
// Kernels pack constant weights into their own layouts at prepare (PointwiseConv, Winograd3x3).
// When the weights are constants of a model's graph, every session of that model, and every
// re-preparation for new input shapes, can use one packed copy: SharedPacking finds it or makes
// it. Several sessions on one Model (one per serving thread) then hold one copy of the packed
// weights plus their own arenas.
//
// A PackingKey names the constant bytes a packing reads (by address) and every parameter that
// changes its result. Entries are held weakly: a packed copy lives as long as some prepared
// kernel holds it. Keying by address is sound because a packed copy is only reachable through
// a session, which keeps its model, and so the model's immutable constant bytes, alive: while
// the copy exists, no other data can live at that address.
//
// Thread safety: SharedPacking may be called from any thread. Concurrent calls with one key
// wait for a single packing; calls with different keys pack in parallel. The packed objects
// are shared read-only (their Run methods are const and thread-safe).
#ifndef LWAI_KERNELS_SHARED_PACKING_H_
#define LWAI_KERNELS_SHARED_PACKING_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "lwai/status.h"

namespace lwai {

class PackingKey {
 public:
  // `kind` tells packings of the same bytes apart ("pointwise", "winograd3x3"); a literal.
  explicit PackingKey(const char* kind) : kind_(kind) {}

  // A constant the packing reads. `model_constant`: the bytes belong to a model's graph
  // constant (KernelContext::IsModelConstant). Any other input (a value computed for one
  // session) makes the key unshared: SharedPacking then packs a private copy.
  PackingKey& Constant(const void* data, bool model_constant) {
    if (!model_constant && data != nullptr) shared_ = false;
    parts_.push_back(static_cast<int64_t>(reinterpret_cast<uintptr_t>(data)));
    return *this;
  }
  PackingKey& Param(int64_t value) {
    parts_.push_back(value);
    return *this;
  }

  bool shared() const { return shared_; }
  const char* kind() const { return kind_; }
  const std::vector<int64_t>& parts() const { return parts_; }

 private:
  const char* kind_;
  std::vector<int64_t> parts_;
  bool shared_ = true;
};

namespace internal {
// One address per packed type T (no RTTI needed: builds may turn it off).
template <typename T>
const void* PackingTypeTag() {
  static const char tag = 0;
  return &tag;
}

Result<std::shared_ptr<const void>> SharedPackingImpl(
    const void* type, const PackingKey& key,
    const std::function<Result<std::shared_ptr<const void>>()>& make);
}  // namespace internal

// The packed object for `key`: an existing one, or the result of `make` (which returns
// Result<std::unique_ptr<T>>), stored for later calls when the key is shared. Errors of
// `make` are returned as they are and not stored.
template <typename T, typename MakeFn>
Result<std::shared_ptr<const T>> SharedPacking(const PackingKey& key, MakeFn&& make) {
  Result<std::shared_ptr<const void>> packed = internal::SharedPackingImpl(
      internal::PackingTypeTag<T>(), key, [&]() -> Result<std::shared_ptr<const void>> {
        Result<std::unique_ptr<T>> made = make();
        if (!made.ok()) return made.status();
        return std::shared_ptr<const void>(std::shared_ptr<const T>(std::move(made).value()));
      });
  if (!packed.ok()) return packed.status();
  return std::static_pointer_cast<const T>(std::move(packed).value());
}

// Packings currently alive in the shared table (for tests and diagnostics).
int SharedPackingCount();

}  // namespace lwai

#endif  // LWAI_KERNELS_SHARED_PACKING_H_
