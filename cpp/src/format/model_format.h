// Internals shared by the .lwai loader, writer and JSON code.
#ifndef LWAI_FORMAT_MODEL_FORMAT_H_
#define LWAI_FORMAT_MODEL_FORMAT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lwai/model.h"

namespace lwai {

constexpr size_t kDataAlignment = 64;

// Verifies and converts a binary image; `storage` keeps `data` alive (may be null when the
// caller lends the buffer). `file_backed`: `data` is a read-only private mapping of a file, so
// constant pages may be dropped and re-read (ReleaseConstantPages).
Result<std::shared_ptr<Model>> LoadModelImage(const uint8_t* data, size_t size,
                                              std::shared_ptr<const void> storage,
                                              bool file_backed = false,
                                              const LoadOptions& options = {});

// Serializes the model. With inline_data, constants go into Buffer.data (for JSON); else into
// the 64-byte aligned data section after the flatbuffer.
Result<std::vector<uint8_t>> SerializeModel(const Model& model, bool inline_data);

Result<std::string> ReadTextFile(const std::string& path);

}  // namespace lwai

#endif  // LWAI_FORMAT_MODEL_FORMAT_H_
