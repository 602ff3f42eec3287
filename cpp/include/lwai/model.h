// lwai::Model: a loaded or converted model graph and its constant data.
//
// Ownership: a Model owns its graph and keeps alive whatever backs its constants: a memory
// mapping of the file (LoadFile), an owned copy (LoadBuffer with copy=true, JSON), or nothing
// at all when the caller lends the buffer (LoadBuffer with copy=false: the caller keeps the
// bytes alive and unchanged for as long as the Model and any Session using it exist, which is
// how a model in flash is used without a copy). Models are immutable once shared with a
// Session; share them through std::shared_ptr<const Model>.
//
// Errors: every loader verifies the flatbuffer structure (bounds, offsets, nesting) and then
// the graph semantics (indices in range, dtype/size consistency, topological order) and
// returns kInvalidModel with a message naming the file and the offending tensor or node;
// it never reads out of bounds on truncated or hostile input.
#ifndef LWAI_MODEL_H_
#define LWAI_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lwai/status.h"
#include "lwai/types.h"

namespace lwai {

struct Graph;
struct ModelInfo;

// The .lwai schema version this build writes and the newest it reads.
constexpr uint32_t kSchemaVersion = 1;

struct LoadOptions {
  // Check every constant's CRC-32C (stored by the writer) at load: corrupted weights fail with
  // kInvalidModel naming the tensor instead of silently changing outputs. Reads each weight
  // once (several GB/s with SSE4.2 or Arm CRC instructions). Turn off for models in flash or
  // read-only memory whose integrity is ensured otherwise. Files without checksums load
  // either way.
  bool verify_checksums = true;
};

class Model {
 public:
  Model(std::unique_ptr<Graph> graph, std::unique_ptr<ModelInfo> info,
        std::shared_ptr<const void> storage);
  ~Model();

  // A binary .lwai file (memory-mapped) or, if the name ends in ".json", a JSON model.
  static Result<std::shared_ptr<Model>> LoadFile(const std::string& path,
                                                 const LoadOptions& options = {});
  // A binary .lwai image in memory. With copy=false the buffer must stay alive and unchanged
  // for the model's lifetime and be 8-byte aligned.
  static Result<std::shared_ptr<Model>> LoadBuffer(const void* data, size_t size, bool copy = true,
                                                   const LoadOptions& options = {});
  // A JSON model as written by ToJson().
  static Result<std::shared_ptr<Model>> LoadJson(const std::string& json,
                                                 const std::string& origin = "<json>");

  // The binary .lwai image: flatbuffer plus 64-byte aligned data section.
  Result<std::vector<uint8_t>> Serialize() const;
  // Writes Serialize() to `path` (atomically: temp file then rename).
  Status Save(const std::string& path) const;
  // The model as JSON with constant data inline.
  Result<std::string> ToJson() const;

  const Graph& graph() const { return *graph_; }
  Graph& mutable_graph() { return *graph_; }
  const ModelInfo& info() const { return *info_; }
  ModelInfo& mutable_info() { return *info_; }
  // Total bytes of constant tensors.
  size_t parameter_bytes() const;

 private:
  std::unique_ptr<Graph> graph_;
  std::unique_ptr<ModelInfo> info_;
  std::shared_ptr<const void> storage_;  // keeps borrowed constant data alive
};

}  // namespace lwai

#endif  // LWAI_MODEL_H_
