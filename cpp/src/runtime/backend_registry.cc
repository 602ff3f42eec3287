// The built-in backends of this build, and plugins: by path, or by name for the vendor plugins
// lwai builds itself.
#ifndef LWAI_NO_PLUGINS
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include <memory>
#include <string>
#include <vector>

#include "runtime/backend.h"
#include "runtime/control_flow.h"
#include "runtime/plugin_backend.h"
#ifdef LWAI_WITH_XNNPACK
#include "backends/xnnpack/xnnpack_backend.h"
#endif
#ifdef LWAI_WITH_EIGEN
#include "backends/eigen/eigen_backend.h"
#endif
#ifdef LWAI_WITH_INT8
#include "backends/int8/int8_backend.h"
#endif

namespace lwai {
namespace {

bool LooksLikePath(const std::string& name) {
  return name.find('/') != std::string::npos ||
         (name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0);
}

#ifndef LWAI_NO_PLUGINS
// Vendor plugins of this project, installed as shared libraries next to the binary that holds
// lwai's core (the Python extension, or an executable such as lwai_run).
struct NamedPlugin {
  const char* name;
  const char* file;
};
constexpr NamedPlugin kNamedPlugins[] = {{"onednn", "liblwai_onednn.so"}};

// The directory of the binary this code is linked into ("" if unknown).
std::string CoreDirectory() {
  std::string path;
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&AvailableBackends), &info) != 0 &&
      info.dli_fname != nullptr) {
    path = info.dli_fname;
  }
  if (path.find('/') == std::string::npos) {  // the main executable, found through PATH
    char buffer[4096];
    const ssize_t n = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
    path = n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
  }
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::string NamedPluginPath(const NamedPlugin& plugin) {
  return CoreDirectory() + "/" + plugin.file;
}

bool FileExists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

#endif  // LWAI_NO_PLUGINS

}  // namespace

std::vector<std::string> InstalledPlugins() {
  std::vector<std::string> names;
#ifndef LWAI_NO_PLUGINS
  for (const NamedPlugin& plugin : kNamedPlugins) {
    if (FileExists(NamedPluginPath(plugin))) names.push_back(plugin.name);
  }
#endif
  return names;
}

const KernelRegistration* ReferenceBackend::Claim(const Graph& graph, const Node& node) const {
  const KernelRegistration* kernel = FindReferenceKernel(node.op);
  return kernel != nullptr ? kernel : FindControlFlowKernel(node.op);
}

std::vector<std::string> AvailableBackends() {
  std::vector<std::string> names;
#ifdef LWAI_WITH_XNNPACK
  names.push_back("xnnpack");
#endif
#ifdef LWAI_WITH_INT8
  names.push_back("int8");
#endif
#ifdef LWAI_WITH_EIGEN
  names.push_back("eigen");
#endif
  names.push_back("reference");
  return names;
}

Result<std::unique_ptr<Backend>> CreateBackend(const std::string& name_or_path) {
  if (LooksLikePath(name_or_path)) return LoadPluginBackend(name_or_path);
  if (name_or_path == "reference") return std::unique_ptr<Backend>(new ReferenceBackend());
#ifdef LWAI_WITH_XNNPACK
  if (name_or_path == "xnnpack") return CreateXnnpackBackend();
#endif
#ifdef LWAI_WITH_INT8
  if (name_or_path == "int8") return CreateInt8Backend();
#endif
#ifdef LWAI_WITH_EIGEN
  if (name_or_path == "eigen") return CreateEigenBackend();
#endif
#ifndef LWAI_NO_PLUGINS
  for (const NamedPlugin& plugin : kNamedPlugins) {
    if (name_or_path != plugin.name) continue;
    const std::string path = NamedPluginPath(plugin);
    if (!FileExists(path)) {
      return NotFound(
          LWAI_MSG("backend '" + name_or_path + "' is not installed: " + path +
                   " does not exist (lwai builds it when its vendor library's development "
                   "package is installed; see scripts/install_deps.sh)"));
    }
    return LoadPluginBackend(path);
  }
#endif
  std::string known;
  for (const std::string& name : AvailableBackends()) known += (known.empty() ? "" : ", ") + name;
  for (const std::string& name : InstalledPlugins()) known += ", " + name;
  return NotFound(LWAI_MSG("unknown backend '" + name_or_path + "' (this build has: " + known +
                           "; other plugins are given by the path of their shared library)"));
}

}  // namespace lwai
