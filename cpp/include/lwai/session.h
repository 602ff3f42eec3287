// lwai::Session: runs a Model. Phases: prepare (shapes, scratch sizes, weights known at
// prepare time evaluated once) -> memory plan (one arena, offsets from tensor lifetimes) ->
// invoke (no allocation). New input shapes re-run prepare and the plan.
//
// Thread safety: every method may be called from any thread at any time. Calls that run or
// re-plan (Run, Prepare) and those that read the session's state (output, node_assignments,
// arena_bytes, node_shapes, node_time_ns, ...) are serialized by one mutex per Session: two
// threads calling Run on one Session take turns, never race. output() pointers stay valid only
// until the next Run from any thread, so callers that share a Session should use the Run
// overload that hands the outputs to a callback while the session is still held. For parallel
// runs, create one Session per thread: Sessions sharing one Model run fully in parallel.
// Internally a session uses `threads` threads.
//
// Errors: Create fails with kUnsupported listing every node the session cannot run, or with
// the first prepare error (naming node and tensor). Run fails with kInvalidArgument or
// kShapeMismatch when inputs do not match the model (naming the input, expected vs got),
// kOutOfMemory when a buffer would pass max_memory_bytes, kDeadlineExceeded or kCancelled when
// stopped by a timeout or the cancel flag (checked between nodes and every loop iteration).
#ifndef LWAI_SESSION_H_
#define LWAI_SESSION_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lwai/model.h"
#include "lwai/mutex.h"
#include "lwai/status.h"
#include "lwai/types.h"

namespace lwai {

struct SessionOptions {
  // Threads for the whole session, shared by all backends (1 = the calling thread only).
  int threads = 1;
  // Backends in priority order: built-in names ("xnnpack", "eigen", "reference") or paths of
  // plugin shared libraries. Empty means every built-in backend, fastest first. The reference
  // backend always takes whatever the others leave. Unknown names fail Create with kNotFound.
  std::vector<std::string> backends;
  // Optional caller-provided arena (e.g. a static buffer on a device): 64-byte aligned, owned
  // by the caller, alive for the Session's lifetime. When null the session allocates its own.
  void* arena = nullptr;
  size_t arena_size = 0;
  // Largest buffer (the arena, a value computed while preparing, a loop's stacked output) the
  // session may allocate; bigger requests fail with kOutOfMemory naming the tensor instead of
  // exhausting the machine. 0 picks DefaultMaxMemoryBytes(): half the physical memory.
  uint64_t max_memory_bytes = 0;
  // Time limit of Create's preparation and of each Run/Prepare, in milliseconds (0: none).
  int64_t timeout_ms = 0;
  // Optional flag, owned by the caller, that stops a running Create/Run/Prepare at its next
  // check (between nodes, each loop iteration) with kCancelled. May be set from any thread.
  const std::atomic<bool>* cancel = nullptr;
  // Memory queries (lwai_c.h's session_memory_bytes): prepare and plan the arena without
  // allocating it. Such a session reports arena_bytes() and the rest, but Run fails with
  // kInvalidArgument.
  bool plan_only = false;
};

// Half of the physical memory (1 GiB where it cannot be read).
uint64_t DefaultMaxMemoryBytes();

// Per-run overrides of SessionOptions' time limit and cancel flag.
struct RunOptions {
  int64_t timeout_ms = 0;                     // 0: SessionOptions::timeout_ms
  const std::atomic<bool>* cancel = nullptr;  // null: SessionOptions::cancel
};

// A tensor passed in or out of Run. Non-owning.
struct TensorRef {
  DataType dtype = DataType::kUndefined;
  Shape shape;
  const void* data = nullptr;
};

// One node inside a control-flow subgraph, as profiled (Session::subgraph_profiles).
struct SubgraphNodeProfile {
  std::string parent;  // path of the control-flow node it runs under ("If_0", "If_0/then/Loop")
  std::string path;    // parent + "/" + subgraph attribute + "/" + node name
  std::string op;
  std::string backend;
  std::string kernel;
  std::vector<Shape> input_shapes;  // of the subgraph's last run; rank -1 for an omitted input
  std::vector<Shape> output_shapes;
  int64_t time_ns = 0;  // summed over the runs of its subgraph (a Loop body: per iteration)
  int64_t calls = 0;    // runs of its subgraph summed into time_ns
};

class Executor;

class Session {
 public:
  static Result<std::unique_ptr<Session>> Create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options = {});
  ~Session();

  const std::vector<TensorInfo>& inputs() const { return inputs_; }
  const std::vector<TensorInfo>& outputs() const { return outputs_; }

  // Runs the model on `inputs` (in graph input order). The input data is read in place and
  // must stay valid during the call. Outputs are readable through output() until the next Run.
  Status Run(const std::vector<TensorRef>& inputs, const RunOptions& options = {});
  // Runs, then calls `consume` with every output (graph output order) while this thread still
  // holds the session, so no other Run can overwrite them. The data is only valid during the
  // call. `consume` must not call back into this Session.
  Status Run(const std::vector<TensorRef>& inputs, const RunOptions& options,
             const std::function<void(const std::vector<TensorRef>& outputs)>& consume);
  // Where a run writes output `index` (IO binding, as onnxruntime's): called by the Run below
  // once per graph output whose shape is known before any node runs (all but data-dependent
  // ones), after the session is prepared for the run's input shapes, with the output's dtype
  // and shape. Setting *data to caller memory of shape.NumElements() * DataTypeSize(dtype)
  // bytes makes the run leave the output there: the kernels write it in place where they can
  // (the memory is 16-byte aligned, as malloc's and numpy's are, and overlaps no input; the
  // output has a buffer of its own in the session's plan, not an alias of another output or a
  // constant), otherwise it is copied there at the end of the run. Leaving *data null keeps the
  // output in the session. A non-OK status fails the run before any node runs. Called on the
  // running thread, with the session held: it must not call back into this Session.
  using OutputPlacer =
      std::function<Status(int index, DataType dtype, const Shape& shape, void** data)>;
  // Runs with outputs placed by `place`, then calls `consume` (may be null) as the Run above
  // does; placed outputs are seen there, and through output(), in the caller's memory. The
  // caller's memory must stay valid during the call; if the run fails, what it holds is
  // unspecified. Placed buffers that overlap each other fail with kInvalidArgument.
  Status Run(const std::vector<TensorRef>& inputs, const RunOptions& options,
             const OutputPlacer& place,
             const std::function<void(const std::vector<TensorRef>& outputs)>& consume);
  // Only valid after a successful Run, until the next Run; the data lives in the session's
  // arena, or in the caller's memory for an output the last Run placed there (valid as long as
  // the caller keeps that memory). Out-of-range indices give an empty TensorRef.
  TensorRef output(int index) const;

  // Bytes of the planned arena for the current shapes (intermediates, graph outputs, scratch).
  size_t arena_bytes() const;
  // Sum of the sizes of all planned tensors and scratch buffers: what the arena would take
  // without reusing memory.
  size_t unshared_bytes() const;
  // Re-plans for these input shapes without running (e.g. to query arena_bytes()).
  Status Prepare(const std::vector<Shape>& input_shapes);

  // Which backend runs each node (graph node order), and the more specific kernel where the
  // backend names one (e.g. "winograd"; "" otherwise). Nodes that prepare already evaluated
  // (constant or shape arithmetic) report folded = true.
  struct NodeAssignment {
    std::string backend;
    std::string kernel;
    bool folded = false;
  };
  std::vector<NodeAssignment> node_assignments() const;
  // Backends the session uses, in priority order (reference last).
  std::vector<std::string> backend_names() const;
  // The shapes each node reads and writes for the current input shapes (graph node order, one
  // entry per node input and output; an omitted optional input has rank -1). Empty until the
  // session is prepared (Create does that when every input has a known rank; Run always).
  struct NodeShapes {
    std::vector<Shape> inputs;
    std::vector<Shape> outputs;
  };
  std::vector<NodeShapes> node_shapes() const;

  // Per-node timing: when enabled, every Run records each node's wall time, readable through
  // node_time_ns() (graph node order; 0 for folded nodes) until the next Run.
  void set_profiling(bool enabled);
  std::vector<int64_t> node_time_ns() const;
  // With profiling on: the nodes inside control-flow subgraphs (If branches, Loop and Scan
  // bodies) that ran in the last Run, depth first. Their times are part of their control-flow
  // node's time in node_time_ns().
  std::vector<SubgraphNodeProfile> subgraph_profiles() const;

 private:
  Session() = default;
  static Result<std::unique_ptr<Session>> CreateUnguarded(std::shared_ptr<const Model> model,
                                                          const SessionOptions& options);
  Status RunUnguarded(const std::vector<TensorRef>& inputs, const OutputPlacer* place);
  Status RunLocked(const std::vector<TensorRef>& inputs, const RunOptions& options,
                   const OutputPlacer* place = nullptr);
  Status InvokePlaced(const std::vector<TensorRef>& inputs, const OutputPlacer& place);
  // The outputs of the last run (placed ones in the caller's memory).
  std::vector<TensorRef> CurrentOutputs() const;
  // Caller memory for each output of the last Run (empty or null: not placed).
  std::vector<void*> placed_;
  mutable Mutex mutex_;
  std::shared_ptr<const Model> model_;
  std::vector<TensorInfo> inputs_;
  std::vector<TensorInfo> outputs_;
  std::unique_ptr<Executor> executor_;
  int64_t timeout_ms_ = 0;
};

}  // namespace lwai

#endif  // LWAI_SESSION_H_
