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

// Creates a session with `options` and runs it once on zeros (dynamic dims as 1); inputs of
// unknown rank or above `max_input_bytes` are an InvalidArgument. After a successful run every
// output's last byte is read (ASan checks it lies inside a live buffer).
inline Status CreateAndRunOnZeros(const std::shared_ptr<Model>& model,
                                  const SessionOptions& options, uint64_t max_input_bytes) {
  LWAI_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(model, options));
  std::vector<std::vector<uint8_t>> data;
  std::vector<TensorRef> inputs;
  for (const TensorInfo& info : session->inputs()) {
    if (!info.shape_known) return InvalidArgument("input '" + info.name + "' has unknown rank");
    TensorRef ref;
    ref.dtype = info.dtype;
    for (int64_t d : info.shape) ref.shape.dims[ref.shape.rank++] = d < 0 ? 1 : d;
    uint64_t bytes = 0;
    if (!ref.shape.CheckedByteSize(DataTypeSize(info.dtype), &bytes) || bytes > max_input_bytes) {
      return InvalidArgument("input '" + info.name + "' is too large for zeros");
    }
    data.emplace_back(bytes, 0);
    inputs.push_back(ref);
  }
  for (size_t i = 0; i < inputs.size(); ++i) inputs[i].data = data[i].data();
  LWAI_RETURN_IF_ERROR(session->Run(inputs));
  for (size_t o = 0; o < session->outputs().size(); ++o) {
    const TensorRef out = session->output(static_cast<int>(o));
    volatile uint8_t sink = 0;
    const int64_t elements = out.shape.NumElements();
    if (elements > 0 && out.data != nullptr) {
      const size_t bytes = static_cast<size_t>(elements) * DataTypeSize(out.dtype);
      sink = static_cast<const uint8_t*>(out.data)[bytes - 1];
    }
    (void)sink;
  }
  return Status::Ok();
}

// The fuzzers' budget: libFuzzer's default RSS limit is 2 GB.
inline void CreateAndRunOnZeros(const std::shared_ptr<Model>& model) {
  SessionOptions options;
  options.max_memory_bytes = 128u << 20;
  options.timeout_ms = 2000;
  (void)CreateAndRunOnZeros(model, options, 16u << 20);
}

}  // namespace lwai::fuzz

#endif  // LWAI_TESTS_FUZZ_FUZZ_COMMON_H_
