#include "kernels/kernel_choice.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include "lwai/mutex.h"

namespace lwai {
namespace {

Mutex g_mutex;
std::map<std::pair<std::string, std::vector<int64_t>>, int>& Choices() {
  static auto* choices = new std::map<std::pair<std::string, std::vector<int64_t>>, int>();
  return *choices;
}

int64_t TimeNs(const std::function<void()>& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                              start)
      .count();
}

}  // namespace

int ChooseFasterKernel(const std::string& kind, const std::vector<int64_t>& key,
                       const std::function<void()>& first, const std::function<void()>& second,
                       double second_margin) {
  {
    std::lock_guard<Mutex> lock(g_mutex);
    auto it = Choices().find({kind, key});
    if (it != Choices().end()) return it->second;
  }
  first();
  second();
  int64_t best[2] = {INT64_MAX, INT64_MAX};
  for (int round = 0; round < 3; ++round) {
    best[0] = std::min(best[0], TimeNs(first));
    best[1] = std::min(best[1], TimeNs(second));
  }
  const int choice = static_cast<double>(best[1]) * second_margin < static_cast<double>(best[0]);
  std::lock_guard<Mutex> lock(g_mutex);
  Choices().emplace(std::make_pair(kind, key), choice);
  return choice;
}

int CachedKernelChoice(const std::string& kind, const std::vector<int64_t>& key) {
  std::lock_guard<Mutex> lock(g_mutex);
  auto it = Choices().find({kind, key});
  return it == Choices().end() ? -1 : it->second;
}

int CachedKernelChoices() {
  std::lock_guard<Mutex> lock(g_mutex);
  return static_cast<int>(Choices().size());
}

}  // namespace lwai
