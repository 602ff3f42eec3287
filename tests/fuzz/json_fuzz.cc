// libFuzzer harness: the JSON model loader, then a session run on zeros.
//   make fuzz  (or build-fuzz/lwai_json_fuzz tests/fuzz/corpus/json)
#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  lwai::Result<std::shared_ptr<lwai::Model>> model = lwai::Model::LoadJson(text, "<fuzz>");
  if (model.ok()) lwai::fuzz::CreateAndRunOnZeros(*model);
  return 0;
}
