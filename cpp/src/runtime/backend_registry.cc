// The built-in backends of this build and plugin loading by path.
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
#include "backends/int8/int8_backend.h"

namespace lwai {
namespace {

bool LooksLikePath(const std::string& name) {
  return name.find('/') != std::string::npos ||
         (name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0);
}

}  // namespace

const KernelRegistration* ReferenceBackend::Claim(const Graph& graph, const Node& node) const {
  const KernelRegistration* kernel = FindReferenceKernel(node.op);
  return kernel != nullptr ? kernel : FindControlFlowKernel(node.op);
}

std::vector<std::string> AvailableBackends() {
  std::vector<std::string> names;
#ifdef LWAI_WITH_XNNPACK
  names.push_back("xnnpack");
#endif
  names.push_back("int8");
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
  if (name_or_path == "int8") return CreateInt8Backend();
#ifdef LWAI_WITH_EIGEN
  if (name_or_path == "eigen") return CreateEigenBackend();
#endif
  std::string known;
  for (const std::string& name : AvailableBackends()) known += (known.empty() ? "" : ", ") + name;
  return NotFound("unknown backend '" + name_or_path + "' (this build has: " + known +
                  "; plugins are given by the path of their shared library)");
}

}  // namespace lwai
