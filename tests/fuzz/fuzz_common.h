// What every model fuzzer does with a model that loaded: create a session under tight memory
// and time limits and run it once on zeros. Any crash, sanitizer report, leak or hang (beyond
// the timeout) is a finding; error statuses are expected and fine.
#ifndef LWAI_TESTS_FUZZ_FUZZ_COMMON_H_
#define LWAI_TESTS_FUZZ_FUZZ_COMMON_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "lwai/model.h"
#include "lwai/session.h"

namespace lwai::fuzz {

inline void CreateAndRunOnZeros(const std::shared_ptr<Model>& model) {
  SessionOptions options;
  options.max_memory_bytes = 128u << 20;  // libFuzzer's default RSS limit is 2 GB
  options.timeout_ms = 2000;
  Result<std::unique_ptr<Session>> session = Session::Create(model, options);
  if (!session.ok()) return;
  std::vector<std::vector<uint8_t>> data;
  std::vector<TensorRef> inputs;
  for (const TensorInfo& info : (*session)->inputs()) {
    if (!info.shape_known) return;
    TensorRef ref;
    ref.dtype = info.dtype;
    for (int64_t d : info.shape) ref.shape.dims[ref.shape.rank++] = d < 0 ? 1 : d;
    uint64_t bytes = 0;
    if (!ref.shape.CheckedByteSize(DataTypeSize(info.dtype), &bytes) || bytes > (16u << 20)) {
      return;
    }
    data.emplace_back(bytes, 0);
    inputs.push_back(ref);
  }
  for (size_t i = 0; i < inputs.size(); ++i) inputs[i].data = data[i].data();
  if (!(*session)->Run(inputs).ok()) return;
  // Every output must be readable after a successful run.
  for (size_t o = 0; o < (*session)->outputs().size(); ++o) {
    const TensorRef out = (*session)->output(static_cast<int>(o));
    volatile uint8_t sink = 0;
    const int64_t elements = out.shape.NumElements();
    if (elements > 0 && out.data != nullptr) {
      const size_t bytes = static_cast<size_t>(elements) * DataTypeSize(out.dtype);
      sink = static_cast<const uint8_t*>(out.data)[bytes - 1];
    }
    (void)sink;
  }
}

}  // namespace lwai::fuzz

#endif  // LWAI_TESTS_FUZZ_FUZZ_COMMON_H_
