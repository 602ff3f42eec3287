// Executes a Graph: assigns nodes to backends, prepares kernels for concrete input shapes,
// plans the arena, and invokes the kernels in order.
#ifndef LWAI_RUNTIME_EXECUTOR_H_
#define LWAI_RUNTIME_EXECUTOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/kernel_api.h"
#include "lwai/session.h"
#include "runtime/backend.h"
#include "runtime/control_flow.h"
#include "runtime/thread_pool.h"

namespace lwai {

class Executor {
 public:
  // Fails with kUnsupported naming every node that no backend claims.
  // `shared_limits` and `shared_pool` (subgraph executors: their parent's) must outlive the
  // executor; when null the executor keeps its own, built from `options`.
  static Result<std::unique_ptr<Executor>> Create(const Graph& graph, const SessionOptions& options,
                                                  const ExecutionLimits* shared_limits = nullptr,
                                                  ThreadPool* shared_pool = nullptr);
  // Gives back what the executor held against its limits (arena, dynamic-region buffers,
  // subgraph executors).
  ~Executor();

  // Prepares all nodes for these graph input shapes and plans memory. Nodes whose output
  // shapes depend on values known only at run time (a data-dependent Reshape target, NonZero,
  // If with branches of different shapes), and everything downstream of them, form the
  // dynamic region: Invoke prepares and evaluates those nodes with their values, in buffers
  // reused from run to run. Every other node keeps its backend, its partition and its place in
  // the arena.
  Status Prepare(const std::vector<Shape>& input_shapes);
  // Whether the prepared graph has a dynamic region.
  bool dynamic() const { return dynamic_; }
  // Whether node n is in the dynamic region (prepared per run).
  bool node_dynamic(int node) const { return !deferred_.empty() && deferred_[node] != 0; }
  // Element types for graph inputs declared without one (subgraph inputs); by input index.
  void set_input_dtypes(std::vector<DataType> dtypes) { input_dtypes_ = std::move(dtypes); }
  bool prepared() const { return prepared_; }
  const std::vector<Shape>& prepared_shapes() const { return prepared_shapes_; }

  // Runs with input data (shapes must equal prepared_shapes()). `output_memory`, when given,
  // has one entry per graph output: caller memory of the output's byte size, or null. An
  // output whose buffer is its own in the plan (produced by a static node, not shared with
  // another output, not a graph input or constant, not read by a partition) is written there
  // directly when the memory is 16-byte aligned; tensor(graph.outputs[i]).data tells where
  // output i went.
  Status Invoke(const std::vector<TensorRef>& inputs,
                const std::vector<void*>* output_memory = nullptr);
  // Whether graph output i has its shape before Invoke runs (its producer is not in the
  // dynamic region). Valid after Prepare.
  bool output_shape_known(int i) const {
    return i >= 0 && i < static_cast<int>(output_known_.size()) && output_known_[i] != 0;
  }

  const TensorView& tensor(int index) const { return views_[index]; }
  size_t arena_bytes() const { return arena_bytes_; }
  size_t unshared_bytes() const { return unshared_bytes_; }

  // Per-node timing of Invoke, off by default.
  void set_profiling(bool enabled) { profiling_ = enabled; }
  bool profiling() const { return profiling_; }
  const std::vector<int64_t>& node_time_ns() const { return node_time_ns_; }
  // Profiles of the nodes inside control-flow subgraphs that ran since the last reset (their
  // times are part of their control-flow node's time), and the reset a top-level run does
  // before it starts.
  std::vector<SubgraphNodeProfile> subgraph_profiles() const;
  void ResetSubgraphProfiles();
  // State of node n that survives re-preparation (null if none).
  const OpState* persistent_state(int node) const { return persistent_states_[node].get(); }
  // Backend name for each node, the backend's more specific kernel name ("" if none), and
  // whether prepare evaluated the node already (constant inputs).
  const char* node_backend(int node) const;
  std::string node_kernel(int node) const;
  bool node_folded(int node) const { return !folded_.empty() && folded_[node] != 0; }
  const std::vector<std::unique_ptr<Backend>>& backends() const { return backends_; }
  // Partitions of the current prepare (static nodes only).
  int num_partitions() const { return static_cast<int>(partitions_.size()); }
  // The executor's own limits (deadline and cancel flag are set per run by the session).
  ExecutionLimits& own_limits() { return own_limits_; }
  const ExecutionLimits& limits() const { return *limits_; }
  // What subgraph executors (control flow) inherit: options, limits and threads.
  const SessionOptions& options() const { return options_; }
  ThreadPool* thread_pool() const { return pool_; }

 private:
  // Nodes compiled together by one partition backend: a convex set (no path leaves it and
  // re-enters), contiguous in order_, run as one unit where its first node stands there.
  struct Partition {
    std::vector<int> nodes;                 // graph node indices, ascending
    CompiledPartition* compiled = nullptr;  // owned by compiled_
    // float32 tensors the partition reads from outside it (not constants): checked for NaN
    // and infinities before each run.
    std::vector<int> float_inputs;
    // Per tensor produced inside: whether a node outside the partition (or the graph's
    // outputs) reads it.
    std::vector<int> outputs_read_outside;
  };

  Executor(const Graph& graph, std::unique_ptr<Graph> expanded, const SessionOptions& options);
  Status AssignBackends();
  // One round of AssignBackends: claims (skipping refused_ pairs) and partitions.
  Status AssignOnce();
  // Groups the nodes claimed for partitions into convex partitions, compiles them, and sets
  // order_ and position_.
  Status ClusterPartitions();
  // The partitions of this prepare: each claimed run minus the nodes of the dynamic region,
  // compiled once per distinct node set and cached.
  Status BuildPartitions();
  // Prepares and evaluates the dynamic region's nodes, in order, with their inputs' values.
  Status RunDynamicRegion();
  // One node's prepare with values and eval, outputs and scratch from dynamic_buffers_.
  Status PrepareAndRunDynamicNode(int n);
  Status PlanAndAssign(const std::vector<PartitionMemory>& partition_memory);
  // Points each aliased node's output at its input's buffer (graph order, so chains resolve).
  void PropagateAliases();
  // Resets every tensor view to what the graph says, inputs to the given shapes (no data).
  Status ResetViews(const std::vector<Shape>& input_shapes);
  // Prepares nodes in order and evaluates those whose inputs are all known. Nodes that need
  // values not known yet (and everything depending on them) are deferred: the dynamic region.
  Status PrepareNodes();
  // Partition backends clamp with min/max instructions that turn NaN into a bound, and
  // transforms such as Winograd's spread an infinity over a tile. A partition whose inputs hold
  // NaN or infinities therefore runs on the reference kernels for that run (rare, and slow
  // only then), so that every backend answers like the reference.
  void FindPartitionBoundaries();
  bool PartitionInputsFinite(const Partition& partition) const;
  Status RunPartitionOnReference(const Partition& partition);

  // Checks the memory limit for a buffer of `bytes` holding `what`.
  Status CheckBytes(uint64_t bytes, const LimitSubject& what) const;
  // A buffer of at least `bytes` for `slot` (a tensor index, or a node's scratch), reused from
  // run to run while large enough; counted against the memory limit with the arenas.
  Status DynamicBuffer(size_t slot, size_t bytes, const LimitSubject& what, void** data);

  // The model's graph with compressed weights expanded (when it has any); graph_ refers to it.
  std::unique_ptr<Graph> expanded_graph_;
  const Graph& graph_;
  SessionOptions options_;
  ExecutionLimits own_limits_;
  const ExecutionLimits* limits_ = &own_limits_;
  std::unique_ptr<ThreadPool> own_pool_;
  ThreadPool* pool_ = nullptr;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::vector<const Backend*> backends_of_node_;
  // Per node: the kernel of a node backend, or the reference kernel (for shapes) of a node in a
  // partition; partition_of_node_ is the index into partitions_ or -1.
  std::vector<const KernelRegistration*> kernels_;
  std::vector<int> partition_of_node_;
  std::vector<Partition> partitions_;
  // The execution order of the static nodes (a topological order with each partition's nodes
  // contiguous) and each node's place in it (the memory plan's clock).
  std::vector<int> order_;
  std::vector<int> position_;
  // The partitions found at Create (node sets, ascending), and every partition compiled so far,
  // by node set.
  std::vector<std::vector<int>> claimed_runs_;
  std::vector<std::pair<std::vector<int>, std::unique_ptr<CompiledPartition>>> compiled_;
  std::vector<char> claimed_for_partition_;
  // Per node: partition backends whose partition around it had no anchoring node.
  std::vector<std::vector<const Backend*>> refused_;
  // Per node: in the dynamic region; per node: state that survives re-preparation (subgraph
  // executors of control flow).
  std::vector<char> deferred_;
  std::vector<std::shared_ptr<OpState>> persistent_states_;
  std::vector<std::pair<std::shared_ptr<void>, size_t>> dynamic_buffers_;
  std::vector<std::unique_ptr<KernelContext>> contexts_;
  std::vector<TensorView> views_;
  std::vector<char> folded_;
  // Per node: a reshape-like node whose output shares its input's buffer; it does not run.
  std::vector<char> aliased_;
  // Per graph output: the tensor whose buffer holds it when Invoke may move that buffer into
  // caller memory (-1 otherwise), that buffer's arena address, and whether the output's shape
  // is known before a run.
  std::vector<int> output_root_;
  std::vector<void*> output_arena_address_;
  std::vector<char> output_known_;
  // Per movable output: the other outputs whose data is its buffer.
  std::vector<std::vector<int>> output_sharers_;
  std::vector<std::shared_ptr<void>> folded_storage_;
  std::shared_ptr<void> arena_owned_;
  size_t arena_owned_bytes_ = 0;
  // Bytes partitions hold outside the arena (PartitionMemory::private_bytes), counted as held.
  uint64_t private_held_ = 0;
  uint8_t* arena_ = nullptr;
  size_t arena_bytes_ = 0;
  size_t unshared_bytes_ = 0;
  bool prepared_ = false;
  bool dynamic_ = false;
  std::vector<DataType> input_dtypes_;
  bool has_deferred_nodes_ = false;
  std::vector<Shape> prepared_shapes_;
  bool profiling_ = false;
  std::vector<int64_t> node_time_ns_;
};

}  // namespace lwai

#endif  // LWAI_RUNTIME_EXECUTOR_H_
