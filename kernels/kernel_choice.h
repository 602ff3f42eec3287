// Choosing between two kernels for one shape by timing both on this machine.
//
// Where neither of two implementations wins everywhere (lwai's depthwise kernel or XNNPACK's,
// depending on map size, stride and channel count), a rule measured once on one CPU would be
// wrong on the next. Instead the first session that meets a shape runs both a few times and
// keeps the faster; the answer is cached for the process under the caller's key (which must
// name the shape and whatever else changes the timing). Callers leave the thread count out of
// the key, so that one layer gets the same kernel in every session of the process and results
// do not depend on the thread count (the two kernels round differently).
//
// Thread safety: may be called from any thread; concurrent calls with one key may both time
// the kernels, and either answer is then kept.
#ifndef LWAI_KERNELS_KERNEL_CHOICE_H_
#define LWAI_KERNELS_KERNEL_CHOICE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lwai {

// 0 when `first` is faster (or they tie), 1 when `second` is, by at least a factor of
// `second_margin` (e.g. 1.1: 10% faster, for a second kernel whose scratch memory must pay).
// Each runs once to warm up, then three times alternately; the minimum time of each counts.
int ChooseFasterKernel(const std::string& kind, const std::vector<int64_t>& key,
                       const std::function<void()>& first, const std::function<void()>& second,
                       double second_margin = 1.0);

// Choices cached so far (for tests and diagnostics).
int CachedKernelChoices();

// The cached choice for (kind, key), or -1: lets a caller skip building its probes (and not
// cache anything when building them fails).
int CachedKernelChoice(const std::string& kind, const std::vector<int64_t>& key);

}  // namespace lwai

#endif  // LWAI_KERNELS_KERNEL_CHOICE_H_
