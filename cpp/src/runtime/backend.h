// How kernel providers plug into the runtime.
//
// A backend claims the nodes it can run (by operator, dtypes, attributes, shapes). The session
// asks its backends in the user's priority order; the reference backend, which claims every
// operator it has a kernel for, always comes last as the fallback. Backends come in two kinds:
//
//  * Node backends (reference, Eigen, C-ABI plugins) hand out one KernelRegistration per node;
//    their prepare sets output shapes and their eval runs on the session's tensors (NCHW).
//  * Partition backends (XNNPACK) take each maximal run of consecutive nodes (in execution
//    order) that they claimed and compile it into one CompiledPartition, free to use its own
//    layout (NHWC) and to fuse across nodes. Shapes and dtypes still come from the reference
//    prepare of every node, so a partition backend may only claim operators that have a
//    reference kernel.
#ifndef LWAI_RUNTIME_BACKEND_H_
#define LWAI_RUNTIME_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "kernels/kernel_api.h"

namespace lwai {

class ThreadPool;

// What a partition tells the memory planner after its Prepare.
struct PartitionMemory {
  // (tensor, node): the tensor's buffer must be live from graph node `node` on, earlier than
  // its producer (e.g. producers that write straight into slices of a Concat output).
  std::vector<std::pair<int, int>> live_from;
  // Tensors produced inside the partition that it never reads or writes through the arena:
  // they get no buffer.
  std::vector<int> unused;
  // Working buffers the partition needs while it runs (layout copies, kernel scratch), each
  // live from graph node first_node to last_node (inclusive, nodes of the partition): planned
  // in the arena like tensors, their addresses given by BindScratch.
  struct Scratch {
    size_t bytes = 0;
    int first_node = 0;
    int last_node = 0;
  };
  std::vector<Scratch> scratch;
  // In: the most bytes the partition may hold outside the arena (0: no limit). Out: what it
  // holds there (a plugin's own buffers and packed weights), counted against the memory limit.
  uint64_t private_limit = 0;
  uint64_t private_bytes = 0;
};

// A run of nodes compiled by one partition backend. Owned by the session; used from one thread
// at a time. Tensor indices are graph tensor indices; `views` always has one entry per graph
// tensor. Tensors crossing the partition boundary (graph inputs, outputs of nodes outside the
// partition or of folded nodes, and outputs read outside or returned by the graph) are in the
// graph's layout in the session's buffers; everything else is the partition's business.
class CompiledPartition {
 public:
  virtual ~CompiledPartition() = default;

  // Shapes and dtypes of every tensor in `views` are final (data pointers are not, except for
  // constants and folded values). `folded[n]` says graph node n was evaluated at prepare time:
  // its outputs are constants for this run. Called again whenever input shapes change. Work is
  // run on the thread pool given to CompilePartition.
  virtual Status Prepare(const std::vector<TensorView>& views, const std::vector<char>& folded,
                         PartitionMemory* memory) = 0;

  // After every Prepare and memory plan: the addresses of the buffers Prepare asked for in
  // PartitionMemory::scratch, in that order, valid until the next Prepare.
  virtual void BindScratch(const std::vector<void*>& buffers) {}

  // Runs the partition. Boundary inputs and outputs may live at new addresses on every call
  // (outputs placed in a caller's memory). When `node_time_ns` is not null, stores each node's
  // time at its graph node index.
  virtual Status Run(const std::vector<TensorView>& views, int64_t* node_time_ns) = 0;

  // Whether the backend declined this prepare's shapes: the executor then runs the partition's
  // nodes on their reference kernels.
  virtual bool RunsOnReference() const { return false; }

  // Which of the backend's kernels runs graph node `node` (e.g. "winograd"); "" when nothing
  // more specific than the backend's name applies.
  virtual std::string NodeKernel(int node) const { return ""; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // Node backends: the kernel to run `node` with, or nullptr when this backend does not claim
  // it. The registration must outlive every session that uses the backend.
  virtual const KernelRegistration* Claim(const Graph& graph, const Node& node) const {
    return nullptr;
  }

  // Partition backends: whether `node` may join a partition of this backend.
  virtual bool ClaimForPartition(const Graph& graph, const Node& node) const { return false; }
  // Whether a claimed node is worth a partition by itself. A partition none of whose nodes is
  // (only poolings, say, whose layout conversions would cost more than they save) is not
  // formed: the executor gives its nodes to the other backends.
  virtual bool AnchorsPartition(const Graph& graph, const Node& node) const { return true; }
  // Compiles consecutive claimed nodes (graph node indices in execution order).
  virtual Result<std::unique_ptr<CompiledPartition>> CompilePartition(const Graph& graph,
                                                                      const std::vector<int>& nodes,
                                                                      ThreadPool* pool) const {
    return Internal(LWAI_MSG(std::string(name()) + " does not compile partitions"));
  }
};

// Node backends whose kernels wrap the reference kernel of the same operator (Eigen, int8): a
// kernel's prepare runs the reference prepare first (dtypes, shapes, attributes), then replaces
// its state and scratch with its own, or keeps them to fall back on. Each registration's
// user_data is the reference registration it wraps. Header-only: backends link below the core.
struct WrappingKernel {
  OpType op;
  Status (*prepare)(KernelContext& ctx);
  Status (*eval)(KernelContext& ctx);
};

// The registrations of a table of wrapping kernels; operators without a reference kernel are
// left out. Immutable after construction.
class WrappingKernels {
 public:
  WrappingKernels(const WrappingKernel* kernels, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      const KernelRegistration* reference = FindReferenceKernel(kernels[i].op);
      if (reference == nullptr) continue;
      entries_.push_back(
          KernelRegistration{kernels[i].op, kernels[i].prepare, kernels[i].eval, reference});
    }
  }
  // The registration for `op`, or nullptr.
  const KernelRegistration* Find(OpType op) const {
    for (const KernelRegistration& r : entries_) {
      if (r.op == op) return &r;
    }
    return nullptr;
  }

 private:
  std::vector<KernelRegistration> entries_;
};

// The reference registration the running wrapping registration wraps.
inline const KernelRegistration& ReferenceOf(const KernelContext& ctx) {
  return *static_cast<const KernelRegistration*>(ctx.registration()->user_data);
}

// For kernels that keep the reference prepare's state (which may be null) to fall back on: runs
// the reference eval with that state, then restores the kernel's own.
inline Status EvalReference(KernelContext& ctx, const OpState* reference_state) {
  const OpState* own = ctx.state_;
  ctx.state_ = reference_state;
  const Status status = ReferenceOf(ctx).eval(ctx);
  ctx.state_ = own;
  return status;
}

// The portable reference kernels of kernels/.
class ReferenceBackend : public Backend {
 public:
  const char* name() const override { return "reference"; }
  // The reference kernels, and the runtime's control-flow operators (If, Loop, Scan).
  const KernelRegistration* Claim(const Graph& graph, const Node& node) const override;
};

// Backends by name ("xnnpack", "eigen", "reference", an installed plugin's name such as
// "onednn") or, for any C-ABI plugin, by the path of its shared library (any name containing
// '/' or ending in ".so"). Fails with kNotFound for an
// unknown or not-built name or a missing library, and kInvalidModel for a library that is not
// an lwai plugin or speaks another plugin API version.
Result<std::unique_ptr<Backend>> CreateBackend(const std::string& name_or_path);

// Built-in backends of this build, fastest first; "reference" is always last.
std::vector<std::string> AvailableBackends();

// lwai's own vendor plugins found installed next to the binary holding the core (e.g. "onednn"
// for liblwai_onednn.so): CreateBackend loads them by name. Sessions use them only when named.
std::vector<std::string> InstalledPlugins();

}  // namespace lwai

#endif  // LWAI_RUNTIME_BACKEND_H_
