// The contract between the runtime and a kernel: a plain {prepare, eval} record per operator.
//
// prepare runs whenever input shapes change (session creation, new input shapes). It reads
// input dtypes/shapes (and values, where known at prepare time), validates attributes, sets
// every output's dtype and shape, may request scratch memory and may store per-node state
// (parsed attributes, packed weights). It may allocate.
//
// eval runs on every invoke. Buffers are preassigned by the memory planner: eval must not
// allocate, must not throw and must only write its outputs and its scratch.
#ifndef LWAI_KERNELS_KERNEL_API_H_
#define LWAI_KERNELS_KERNEL_API_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "lwai/status.h"
#include "lwai/types.h"

namespace lwai {

class ThreadPool;
struct KernelRegistration;

// A tensor during execution. `data` is null at prepare time unless the value is known then
// (constants, and values computed from constants and shapes, e.g. Reshape's target shape).
struct TensorView {
  DataType dtype = DataType::kUndefined;
  Shape shape;
  void* data = nullptr;

  template <typename T>
  T* Data() const {
    return static_cast<T*>(data);
  }
  int64_t NumElements() const { return shape.NumElements(); }
  // Saturates at SIZE_MAX for shapes too large to hold (the executor rejects those first).
  size_t ByteSize() const {
    uint64_t bytes = 0;
    return shape.CheckedByteSize(DataTypeSize(dtype), &bytes) ? static_cast<size_t>(bytes)
                                                              : SIZE_MAX;
  }
};

// What a failed limit check names: a node, described only when the check fails (so that
// checks between nodes allocate nothing), a fixed text, or both ("node 'conv1' (Conv):
// scratch"). Code-only builds (LWAI_MSG) pass NoMessage. Refers to its arguments: valid for
// the call it is passed to.
class LimitSubject {
 public:
  LimitSubject(const char* text) : text_(text) {}                 // NOLINT: implicit by design
  LimitSubject(const std::string& text) : text_(text.c_str()) {}  // NOLINT
  LimitSubject(NoMessage) {}                                      // NOLINT
  LimitSubject(const Node& node, const char* text = nullptr)      // NOLINT
      : node_(&node), text_(text) {}
  // "node 'conv1' (Conv): output 'y'".
  LimitSubject(const Node& node, const char* text, const std::string& name)
      : node_(&node), text_(text), name_(&name) {}
  std::string Describe() const;

 private:
  const Node* node_ = nullptr;
  const char* text_ = nullptr;
  const std::string* name_ = nullptr;
};

// Bounds on the work and memory of one run (or of one evaluation at conversion time). The
// executor checks them between nodes and before it allocates; Loop and Scan check them every
// iteration; subgraph executors share their parent's limits. Not thread-safe: it belongs to one
// running executor tree at a time.
struct ExecutionLimits {
  using Clock = std::chrono::steady_clock;
  // Largest size of any one buffer the executor allocates (the arena, a value computed at
  // prepare time, a loop's stacked output), and of all arenas and dynamic-region buffers held at
  // once by the executors that share these limits (a session's and its subgraphs'); 0 means no
  // limit beyond 1 TiB per tensor.
  uint64_t max_memory_bytes = 0;
  // What those executors hold now (maintained through Hold).
  mutable uint64_t bytes_held = 0;
  Clock::time_point deadline = Clock::time_point::max();
  // Set by the caller (from any thread) to stop the run at the next check. Not owned.
  const std::atomic<bool>* cancel = nullptr;
  // Loop and Scan iterations left for this run, all nesting levels together; negative: no
  // limit. Conversion sets one so that constant folding cannot run forever.
  mutable int64_t loop_iterations_left = -1;

  // kCancelled or kDeadlineExceeded (naming `where`) once the flag is set or the deadline
  // passed.
  Status Check(const LimitSubject& where) const;
  // Whether the cancel flag is set or the deadline passed (a cheap test for long loops).
  bool Expired() const {
    return (cancel != nullptr && cancel->load(std::memory_order_relaxed)) ||
           (deadline != Clock::time_point::max() && Clock::now() > deadline);
  }
  // kOutOfMemory naming `what` when `bytes` exceeds max_memory_bytes.
  Status CheckBytes(uint64_t bytes, const LimitSubject& what) const;
  // Replaces `old_bytes` held by the caller with `new_bytes`: kOutOfMemory naming `what`, and
  // nothing changed, when the total held would exceed max_memory_bytes.
  Status Hold(uint64_t old_bytes, uint64_t new_bytes, const LimitSubject& what) const;
  // Counts one loop iteration against loop_iterations_left, then Check().
  Status ChargeIteration(const LimitSubject& where) const;
};

// Watches the limits in a kernel loop whose work attributes or values can make arbitrarily long
// (pooling windows, sampling grids, n-gram skips): Expired() reads the clock, too costly per
// element, so the meter reads it once per `interval` units of work. One per thread; a kernel
// that stops early returns ctx.limits().Check(...) so that its partial output is never used.
class WorkMeter {
 public:
  explicit WorkMeter(const ExecutionLimits& limits, int64_t interval = int64_t{1} << 16)
      : limits_(limits), interval_(interval), next_check_(interval) {}
  // Counts `work` more units; true once the deadline passed or the run was cancelled (and from
  // then on).
  bool Add(int64_t work) {
    done_ += work;
    if (done_ < next_check_ || expired_) return expired_;
    next_check_ = done_ + interval_;
    expired_ = limits_.Expired();
    return expired_;
  }
  bool expired() const { return expired_; }

 private:
  const ExecutionLimits& limits_;
  int64_t interval_;
  int64_t next_check_;
  int64_t done_ = 0;
  bool expired_ = false;
};

// Per-node state that prepare builds and eval reads. Owned by the session.
class OpState {
 public:
  virtual ~OpState() = default;
  // Which implementation prepare chose, for kernels that have several (node assignments and the
  // profiler show it); "" when there is nothing to say. A static string.
  virtual const char* variant() const { return ""; }
};

// What prepare and eval see of one node. The executor owns all storage; a context is only
// valid during the call it is passed to.
class KernelContext {
 public:
  KernelContext(const Node& node, TensorView* tensors, ThreadPool* pool)
      : node_(node), tensors_(tensors), pool_(pool) {}

  const Node& node() const { return node_; }
  int num_inputs() const { return static_cast<int>(node_.inputs.size()); }
  int num_outputs() const { return static_cast<int>(node_.outputs.size()); }
  // True when input i exists and was not omitted.
  bool has_input(int i) const { return i >= 0 && i < num_inputs() && node_.inputs[i] >= 0; }
  // An omitted or out-of-range input reads as an empty view (undefined dtype, no data), so a
  // kernel that forgets has_input(i) on a hostile model fails its checks instead of reading
  // out of bounds.
  const TensorView& input(int i) const {
    return has_input(i) ? tensors_[node_.inputs[i]] : AbsentTensor();
  }
  TensorView& output(int i) { return tensors_[node_.outputs[i]]; }
  bool has_output(int i) const { return i < num_outputs() && node_.outputs[i] >= 0; }

  // Never null; runs work on the session's threads.
  ThreadPool* thread_pool() const { return pool_; }
  // The limits of the run this node belongs to (never null).
  const ExecutionLimits& limits() const;
  // True when only output dtypes and shapes are wanted (the node runs in a partition backend):
  // prepare should skip weight packing and scratch requests.
  bool shape_only() const { return shape_only_; }
  // The registration being run; backends reach their own data through user_data.
  const KernelRegistration* registration() const { return registration_; }

  // Prepare only.
  void RequestScratch(size_t bytes) { scratch_bytes_ = bytes; }
  void SetState(std::unique_ptr<OpState> state) { state_owner_ = std::move(state); }

  // Eval only: scratch of the size requested in prepare (64-byte aligned), and the state.
  void* scratch() const { return scratch_; }
  template <typename T>
  const T* state() const {
    return static_cast<const T*>(state_);
  }

  // Error helpers that name the node: "node 'conv1' (Conv): <message>".
  // (Code-only builds: LWAI_MSG gives NoMessage and the status is the code alone.)
  Status Error(StatusCode code, const std::string& message) const;
  Status InvalidModel(const std::string& message) const {
    return Error(StatusCode::kInvalidModel, message);
  }
  Status Unsupported(const std::string& message) const {
    return Error(StatusCode::kUnsupported, message);
  }
  Status ShapeMismatch(const std::string& message) const {
    return Error(StatusCode::kShapeMismatch, message);
  }
  Status Error(StatusCode code, NoMessage) const { return Status(code, NoMessage{}); }
  Status InvalidModel(NoMessage) const { return Status(StatusCode::kInvalidModel, NoMessage{}); }
  Status Unsupported(NoMessage) const { return Status(StatusCode::kUnsupported, NoMessage{}); }
  Status ShapeMismatch(NoMessage) const { return Status(StatusCode::kShapeMismatch, NoMessage{}); }
  // Checks the input count is within [min_inputs, max_inputs] and outputs >= 1.
  Status ExpectInputs(int min_inputs, int max_inputs) const;
  // Checks input i exists and has the given dtype.
  Status ExpectDtype(int i, DataType dtype) const;
  // For prepare when input i's values decide output shapes (Reshape's shape, Slice's starts,
  // If's condition, NonZero's data) but are not known yet (input(i).data is null): returns an
  // error and marks the node, so the executor prepares it again, with values, at run time.
  // ReadIntTensor and friends call this themselves.
  Status ValueNeeded(int i) const;

  static const TensorView& AbsentTensor();

  // After prepare packed constant input i into another form that eval reads instead: lets the
  // resident pages of a file-backed constant go (ReleaseConstantPages), so that peak memory
  // holds one copy of the weights. No-op for other inputs and outside a session.
  void ReleaseConstantInput(int i) const {
    if (graph_ == nullptr || !has_input(i)) return;
    const TensorDesc& desc = graph_->tensors[node_.inputs[i]];
    if (desc.is_constant()) ReleaseConstantPages(desc.constant);
  }

  // Whether input i is a constant of the model's graph, read in place (not a value computed for
  // this session): what it packs from it can be shared with other sessions (SharedPacking).
  bool IsModelConstant(int i) const {
    if (graph_ == nullptr || !has_input(i)) return false;
    const TensorDesc& desc = graph_->tensors[node_.inputs[i]];
    return desc.is_constant() && desc.constant.data == input(i).data;
  }

  // Set by the executor.
  bool shape_only_ = false;
  mutable bool value_needed_ = false;
  const KernelRegistration* registration_ = nullptr;
  size_t scratch_bytes_ = 0;
  std::unique_ptr<OpState> state_owner_;
  void* scratch_ = nullptr;
  const OpState* state_ = nullptr;
  const ExecutionLimits* limits_ = nullptr;
  // For the runtime's own operators (control flow): the Executor running this node (opaque to
  // kernels), and a state slot that survives re-preparation of the node (both may be null).
  const void* executor_ = nullptr;
  std::shared_ptr<OpState>* persistent_state_ = nullptr;
  const Graph* graph_ = nullptr;  // the graph the node belongs to

 private:
  const Node& node_;
  TensorView* tensors_;
  ThreadPool* pool_;
};

struct KernelRegistration {
  OpType op;
  Status (*prepare)(KernelContext& ctx);
  Status (*eval)(KernelContext& ctx);
  // Anything the backend that made this registration needs at run time (e.g. a plugin's
  // function table); not owned.
  const void* user_data = nullptr;
};

// The reference kernel for `op`, or nullptr.
const KernelRegistration* FindReferenceKernel(OpType op);
// Every operator with a reference kernel.
std::vector<OpType> ReferenceOps();

}  // namespace lwai

#endif  // LWAI_KERNELS_KERNEL_API_H_
