#include "lwai/model.h"

#include "ir/graph.h"

namespace lwai {

Model::Model(std::unique_ptr<Graph> graph, std::unique_ptr<ModelInfo> info,
             std::shared_ptr<const void> storage)
    : graph_(std::move(graph)), info_(std::move(info)), storage_(std::move(storage)) {}

Model::~Model() = default;

size_t Model::parameter_bytes() const {
  size_t total = 0;
  for (const TensorDesc& t : graph_->tensors) total += t.constant.size;
  return total;
}

#ifndef LWAI_WITH_JSON
Result<std::shared_ptr<Model>> Model::LoadJson(const std::string&, const std::string& origin) {
  return Unsupported(
      LWAI_MSG(origin + ": this build of lwai has no JSON support (LWAI_WITH_JSON=OFF)"));
}
Result<std::string> Model::ToJson() const {
  return Unsupported(LWAI_MSG("this build of lwai has no JSON support (LWAI_WITH_JSON=OFF)"));
}
#endif

}  // namespace lwai
