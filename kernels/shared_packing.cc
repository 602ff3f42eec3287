#include "kernels/shared_packing.h"

#include <functional>
#include <map>
#include <string>
#include <utility>

#include "lwai/mutex.h"

namespace lwai {
namespace {

struct Slot {
  Mutex mutex;  // held while packing, so concurrent callers wait for one packing
  std::weak_ptr<const void> packed;
};

struct TableKey {
  const void* type;  // PackingTypeTag<T>()
  std::string kind;
  std::vector<int64_t> parts;
  bool operator<(const TableKey& other) const {
    if (type != other.type) return std::less<const void*>()(type, other.type);
    if (kind != other.kind) return kind < other.kind;
    return parts < other.parts;
  }
};

class PackingTable {
 public:
  std::shared_ptr<Slot> SlotFor(TableKey key) {
    std::lock_guard<Mutex> lock(mutex_);
    if (++lookups_ % 64 == 0) Prune();
    std::shared_ptr<Slot>& slot = slots_[std::move(key)];
    if (slot == nullptr) slot = std::make_shared<Slot>();
    return slot;
  }

  int Count() {
    std::lock_guard<Mutex> lock(mutex_);
    int alive = 0;
    for (const auto& entry : slots_) {
      std::lock_guard<Mutex> slot_lock(entry.second->mutex);
      alive += entry.second->packed.expired() ? 0 : 1;
    }
    return alive;
  }

 private:
  // Drops slots whose packing died and that no caller is using.
  void Prune() {
    for (auto it = slots_.begin(); it != slots_.end();) {
      if (it->second.use_count() == 1 && it->second->packed.expired()) {
        it = slots_.erase(it);
      } else {
        ++it;
      }
    }
  }

  Mutex mutex_;
  std::map<TableKey, std::shared_ptr<Slot>> slots_;
  uint64_t lookups_ = 0;
};

PackingTable& Table() {
  static PackingTable* table = new PackingTable();  // never destroyed: used until exit
  return *table;
}

}  // namespace

namespace internal {

Result<std::shared_ptr<const void>> SharedPackingImpl(
    const void* type, const PackingKey& key,
    const std::function<Result<std::shared_ptr<const void>>()>& make) {
  if (!key.shared()) return make();
  std::shared_ptr<Slot> slot = Table().SlotFor(TableKey{type, key.kind(), key.parts()});
  std::lock_guard<Mutex> lock(slot->mutex);
  if (std::shared_ptr<const void> packed = slot->packed.lock()) return packed;
  Result<std::shared_ptr<const void>> made = make();
  if (made.ok()) slot->packed = made.value();
  return made;
}

}  // namespace internal

int SharedPackingCount() { return Table().Count(); }

}  // namespace lwai
