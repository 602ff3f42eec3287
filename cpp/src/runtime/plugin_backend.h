// Backends in separate shared libraries, loaded at run time through the C ABI of
// lwai/plugin_api.h.
#ifndef LWAI_RUNTIME_PLUGIN_BACKEND_H_
#define LWAI_RUNTIME_PLUGIN_BACKEND_H_

#include <memory>
#include <string>

#include "runtime/backend.h"

namespace lwai {

// Loads the plugin library at `path` (dlopen) and wraps its entry table as a node backend. The
// library stays loaded for the process's lifetime. Fails with kNotFound when the file cannot be
// loaded and kInvalidModel when it lacks the entry symbol or has another API version.
Result<std::unique_ptr<Backend>> LoadPluginBackend(const std::string& path);

}  // namespace lwai

#endif  // LWAI_RUNTIME_PLUGIN_BACKEND_H_
