// libFuzzer harness: the binary .lwai loader from a buffer, then a session run on zeros.
//   make fuzz  (or build-fuzz/lwai_load_fuzz tests/fuzz/corpus/lwai)
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lwai::Result<std::shared_ptr<lwai::Model>> model =
      lwai::Model::LoadBuffer(data, size, /*copy=*/true);
  if (model.ok()) lwai::fuzz::CreateAndRunOnZeros(*model);
  return 0;
}
