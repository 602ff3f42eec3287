#include "runtime/plugin_backend.h"

namespace lwai {

Result<std::unique_ptr<Backend>> LoadPluginBackend(const std::string& path) {
  return Unsupported("plugin backends are not available yet: " + path);
}

}  // namespace lwai
