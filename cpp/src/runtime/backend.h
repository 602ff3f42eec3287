// How kernel providers plug into the runtime. A backend claims the nodes it can run (by
// operator, dtypes, attributes, shapes) and supplies their kernels; the session asks backends
// in priority order and the reference backend, which claims every operator it has a kernel
// for, comes last as the fallback. Contiguous nodes claimed by one backend form a partition.
#ifndef LWAI_RUNTIME_BACKEND_H_
#define LWAI_RUNTIME_BACKEND_H_

#include "ir/graph.h"
#include "kernels/kernel_api.h"

namespace lwai {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // The kernel to run `node` with, or nullptr when this backend does not claim it. The
  // registration must outlive the backend's use by any session.
  virtual const KernelRegistration* Claim(const Graph& graph, const Node& node) const = 0;
};

// The portable reference kernels of kernels/.
class ReferenceBackend : public Backend {
 public:
  const char* name() const override { return "reference"; }
  const KernelRegistration* Claim(const Graph& graph, const Node& node) const override {
    return FindReferenceKernel(node.op);
  }
};

}  // namespace lwai

#endif  // LWAI_RUNTIME_BACKEND_H_
