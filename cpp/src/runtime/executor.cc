#include "runtime/executor.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "runtime/control_flow.h"
#include "runtime/evaluate.h"
#include "runtime/memory_planner.h"

namespace lwai {
namespace {

constexpr size_t kArenaAlignment = 64;
// Caller memory that outputs are written into in place: what malloc and numpy give. Kernels
// assume no more of a tensor (graph inputs come from callers as well).
constexpr size_t kPlacedOutputAlignment = 16;
// No single tensor may exceed this (1 TiB): hostile shapes must not overflow size arithmetic.
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 40;

// Checks that `view`'s shape is valid (no negative dim, at most 1 TiB) and that its bytes are
// within the memory limit; `what` names the tensor in the error.
Status CheckTensorSize(const TensorView& view, const ExecutionLimits& limits,
                       const LimitSubject& what) {
  uint64_t bytes = 0;
  if (!view.shape.CheckedByteSize(DataTypeSize(view.dtype), &bytes) || bytes > kMaxTensorBytes) {
    return ShapeMismatch(LWAI_MSG(what.Describe() + " would have shape " + view.shape.ToString() +
                                  ", which is negative or too large (at most 1 TiB)"));
  }
  if (limits.max_memory_bytes == 0 || bytes <= limits.max_memory_bytes) return Status::Ok();
  return limits.CheckBytes(bytes, LWAI_MSG(what.Describe() + " of shape " + view.shape.ToString()));
}

bool OutputsAreConstants(const Graph& graph, const Node& node) {
  for (int t : node.outputs) {
    if (t >= 0 && !graph.tensors[t].is_constant()) return false;
  }
  return !node.outputs.empty();
}

// A node that expands a compressed constant: DequantizeLinear of int8/uint8/int4 weights, or a
// Cast of float16 ones, to float32, every input a constant.
bool ExpandsCompressedConstant(const Graph& graph, const Node& node) {
  if ((node.op != OpType::DequantizeLinear && node.op != OpType::Cast) ||
      node.outputs.size() != 1 || node.outputs[0] < 0 || node.inputs.empty() ||
      graph.tensors[node.outputs[0]].is_constant()) {
    return false;
  }
  if (node.op == OpType::Cast &&
      (node.GetInt("to", 0) != 1 || graph.tensors[node.inputs[0]].dtype != DataType::kFloat16)) {
    return false;
  }
  for (int t : node.inputs) {
    if (t >= 0 && !graph.tensors[t].is_constant()) return false;
  }
  return true;
}

// Weights stored compressed (lwai.quantize(mode="weight_only"): int8 behind a DequantizeLinear,
// float16 behind a Cast) are expanded to float32 once per executor, so that backends see
// constant weights to claim and pack. The expanding nodes stay in the copy (node indices stay
// the model's) with constant outputs, and run as folded. Null when the graph has none.
Result<std::unique_ptr<Graph>> ExpandCompressedConstants(const Graph& graph,
                                                         const ExecutionLimits& limits) {
  std::unique_ptr<Graph> expanded;
  std::vector<TensorView> views;
  ThreadPool pool(1);
  uint64_t expanded_bytes = 0;
  for (const Node& node : graph.nodes) {
    if (!ExpandsCompressedConstant(expanded ? *expanded : graph, node)) continue;
    if (expanded == nullptr) {
      expanded = std::make_unique<Graph>(graph);
      views.resize(graph.tensors.size());
    }
    for (int t : node.inputs) {
      if (t < 0) continue;
      const TensorDesc& desc = expanded->tensors[t];
      views[t] =
          TensorView{desc.dtype, desc.StaticShape(), const_cast<uint8_t*>(desc.constant.data)};
    }
    KernelContext ctx(node, views.data(), &pool);
    ctx.limits_ = &limits;
    std::vector<std::shared_ptr<void>> storage;
    LWAI_RETURN_IF_ERROR(PrepareAndEvaluate(*FindReferenceKernel(node.op), ctx, &storage));
    const TensorView& out = ctx.output(0);
    expanded_bytes += out.ByteSize();
    LWAI_RETURN_IF_ERROR(limits.CheckBytes(expanded_bytes, {node, "the weights expanded so far"}));
    TensorDesc& desc = expanded->tensors[node.outputs[0]];
    desc.dtype = out.dtype;
    desc.shape_known = true;
    desc.shape.clear();
    for (int d = 0; d < out.shape.rank; ++d) desc.shape.push_back(Dim{out.shape[d], ""});
    desc.constant = ConstantData::Copy(out.data, out.ByteSize());
  }
  return expanded;
}

}  // namespace

Status Executor::CheckBytes(uint64_t bytes, const LimitSubject& what) const {
  return limits_->CheckBytes(bytes, what);
}

Executor::Executor(const Graph& graph, std::unique_ptr<Graph> expanded,
                   const SessionOptions& options)
    : expanded_graph_(std::move(expanded)), graph_(graph), options_(options) {}

Result<std::unique_ptr<Executor>> Executor::Create(const Graph& graph,
                                                   const SessionOptions& options,
                                                   const ExecutionLimits* shared_limits,
                                                   ThreadPool* shared_pool) {
  if (options.threads < 1) {
    return InvalidArgument(
        LWAI_MSG("threads must be >= 1, got " + std::to_string(options.threads)));
  }
  ExecutionLimits expansion_limits;
  expansion_limits.max_memory_bytes = options.max_memory_bytes;
  LWAI_ASSIGN_OR_RETURN(std::unique_ptr<Graph> expanded,
                        ExpandCompressedConstants(graph, expansion_limits));
  const Graph& executed = expanded ? *expanded : graph;  // before `expanded` moves
  std::unique_ptr<Executor> executor(new Executor(executed, std::move(expanded), options));
  executor->own_limits_.max_memory_bytes = options.max_memory_bytes;
  executor->own_limits_.cancel = options.cancel;
  if (shared_limits != nullptr) executor->limits_ = shared_limits;
  if (shared_pool != nullptr) {
    executor->pool_ = shared_pool;
  } else {
    executor->own_pool_ = std::make_unique<ThreadPool>(options.threads);
    executor->pool_ = executor->own_pool_.get();
  }
  std::vector<std::string> names =
      options.backends.empty() ? AvailableBackends() : options.backends;
  bool has_reference = false;
  for (const std::string& name : names) {
    Result<std::unique_ptr<Backend>> created = CreateBackend(name);
    // A built-in backend that cannot run on this CPU is skipped unless asked for by name.
    if (!created.ok() && options.backends.empty()) continue;
    LWAI_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, std::move(created));
    if (std::string(backend->name()) == "reference") {
      if (has_reference) continue;
      has_reference = true;
    }
    executor->backends_.push_back(std::move(backend));
  }
  if (!has_reference) executor->backends_.push_back(std::make_unique<ReferenceBackend>());
  LWAI_RETURN_IF_ERROR(executor->AssignBackends());
  executor->views_.resize(graph.tensors.size());
  executor->node_time_ns_.assign(graph.nodes.size(), 0);
  executor->persistent_states_.resize(graph.nodes.size());
  return executor;
}

Status Executor::AssignBackends() {
  const int num_nodes = static_cast<int>(graph_.nodes.size());
  refused_.assign(num_nodes, {});
  // Partitions without an anchoring node are dissolved and their nodes assigned again without
  // that backend; each round refuses at least one more (node, backend) pair.
  for (;;) {
    LWAI_RETURN_IF_ERROR(AssignOnce());
    bool dissolved = false;
    for (const std::vector<int>& run : claimed_runs_) {
      const Backend* backend = backends_of_node_[run[0]];
      bool anchored = false;
      for (int n : run) anchored = anchored || backend->AnchorsPartition(graph_, graph_.nodes[n]);
      if (anchored) continue;
      for (int n : run) refused_[n].push_back(backend);
      dissolved = true;
    }
    if (!dissolved) break;
  }
  deferred_.assign(num_nodes, 0);
  folded_.assign(num_nodes, 0);
  return BuildPartitions();
}

Status Executor::AssignOnce() {
  std::string unsupported;
  int unsupported_count = 0;
  const int num_nodes = static_cast<int>(graph_.nodes.size());
  partition_of_node_.assign(num_nodes, -1);
  backends_of_node_.clear();
  kernels_.clear();
  claimed_runs_.clear();
  compiled_.clear();
  std::vector<char> in_partition(num_nodes, 0);
  for (int n = 0; n < num_nodes; ++n) {
    const Node& node = graph_.nodes[n];
    const Backend* chosen = nullptr;
    const KernelRegistration* kernel = nullptr;
    for (const auto& backend : backends_) {
      const auto& refused = refused_[n];
      if (std::find(refused.begin(), refused.end(), backend.get()) != refused.end()) continue;
      kernel = backend->Claim(graph_, node);
      if (kernel == nullptr && FindReferenceKernel(node.op) != nullptr &&
          backend->ClaimForPartition(graph_, node)) {
        kernel = FindReferenceKernel(node.op);
        in_partition[n] = 1;
      }
      if (kernel != nullptr) {
        chosen = backend.get();
        break;
      }
    }
    if (kernel == nullptr) {
      unsupported += (unsupported_count++ ? ", " : "") + node.Describe();
    }
    backends_of_node_.push_back(chosen);
    kernels_.push_back(kernel);
  }
  if (unsupported_count > 0) {
    return Unsupported(LWAI_MSG(std::to_string(unsupported_count) +
                                " node(s) have no kernel in any backend: " + unsupported));
  }
  claimed_for_partition_ = in_partition;
  return ClusterPartitions();
}

// Partitions from graph connectivity. Scanning nodes in graph order, an open partition takes
// every later node its backend claims for partitions unless that node depends on a node left
// outside after the partition opened (which would make a path leave the partition and re-enter,
// so the set would not be convex). Nodes left outside that do not depend on the partition run
// before it; those that do run after it. So a node on a parallel branch (a Shape, a head's
// Reshape) no longer splits a partition in two with layout transposes between them. order_
// becomes a topological order with each partition's nodes contiguous; the partitions are
// compiled here, so that weights are packed once per session, whatever the input shapes.
Status Executor::ClusterPartitions() {
  const int num_nodes = static_cast<int>(graph_.nodes.size());
  const std::vector<int> producers = graph_.Producers();
  order_.clear();
  std::vector<int> open, before, after;
  std::vector<char> in_open(num_nodes, 0), must_follow(num_nodes, 0);
  auto reads_from = [&](int n, const std::vector<char>& set) {
    for (int t : graph_.nodes[n].inputs) {
      if (t >= 0 && producers[t] >= 0 && set[producers[t]]) return true;
    }
    return false;
  };
  auto close = [&]() -> Status {
    if (open.empty()) return Status::Ok();
    order_.insert(order_.end(), before.begin(), before.end());
    order_.insert(order_.end(), open.begin(), open.end());
    order_.insert(order_.end(), after.begin(), after.end());
    LWAI_ASSIGN_OR_RETURN(std::unique_ptr<CompiledPartition> compiled,
                          backends_of_node_[open[0]]->CompilePartition(graph_, open, pool_));
    claimed_runs_.push_back(open);
    compiled_.emplace_back(open, std::move(compiled));
    for (int n : open) in_open[n] = 0;
    for (int n : after) must_follow[n] = 0;
    open.clear();
    before.clear();
    after.clear();
    return Status::Ok();
  };
  // A claimed node fed only from outside partitions (an upsampling Resize of a decoder head)
  // joins the partition of its readers: it is visited just before the first of them instead of
  // at its place in the graph's order, where it would open (or join) an unrelated partition.
  std::vector<std::vector<int>> sunk_before(num_nodes);
  std::vector<char> sunk(num_nodes, 0);
  {
    std::vector<int> first_reader(num_nodes, -1);
    std::vector<char> read_outside(num_nodes, 0);  // by an unclaimed node or as graph output
    for (int n = num_nodes - 1; n >= 0; --n) {
      for (int t : graph_.nodes[n].inputs) {
        const int p = t >= 0 ? producers[t] : -1;
        if (p < 0) continue;
        first_reader[p] = n;
        if (!claimed_for_partition_[n] || backends_of_node_[n] != backends_of_node_[p]) {
          read_outside[p] = 1;
        }
      }
    }
    for (int t : graph_.outputs) {
      if (producers[t] >= 0) read_outside[producers[t]] = 1;
    }
    for (int n = 0; n < num_nodes; ++n) {
      if (!claimed_for_partition_[n] || read_outside[n] || first_reader[n] < 0) continue;
      bool fed_by_partition = false;
      for (int t : graph_.nodes[n].inputs) {
        const int p = t >= 0 ? producers[t] : -1;
        fed_by_partition = fed_by_partition || (p >= 0 && claimed_for_partition_[p]);
      }
      if (fed_by_partition) continue;
      sunk[n] = 1;
      sunk_before[first_reader[n]].push_back(n);
    }
  }
  std::function<Status(int)> visit = [&](int n) -> Status {
    // Sunk nodes and their reader start a new partition unless all of them can join the open
    // one.
    bool group_joins = !reads_from(n, must_follow);
    for (int s : sunk_before[n]) group_joins = group_joins && !reads_from(s, must_follow);
    if (!sunk_before[n].empty() && !group_joins) LWAI_RETURN_IF_ERROR(close());
    for (int s : sunk_before[n]) LWAI_RETURN_IF_ERROR(visit(s));
    if (claimed_for_partition_[n]) {
      const bool joins = !open.empty() && backends_of_node_[n] == backends_of_node_[open[0]] &&
                         !reads_from(n, must_follow);
      if (!joins) LWAI_RETURN_IF_ERROR(close());
      open.push_back(n);
      in_open[n] = 1;
      return Status::Ok();
    }
    if (open.empty()) {
      order_.push_back(n);
    } else if (reads_from(n, in_open) || reads_from(n, must_follow)) {
      must_follow[n] = 1;
      after.push_back(n);
    } else {
      before.push_back(n);
    }
    return Status::Ok();
  };
  for (int n = 0; n < num_nodes; ++n) {
    if (!sunk[n]) LWAI_RETURN_IF_ERROR(visit(n));
  }
  LWAI_RETURN_IF_ERROR(close());
  position_.assign(num_nodes, 0);
  for (int i = 0; i < num_nodes; ++i) position_[order_[i]] = i;
  return Status::Ok();
}

Status Executor::BuildPartitions() {
  partitions_.clear();
  partition_of_node_.assign(graph_.nodes.size(), -1);
  for (const std::vector<int>& run : claimed_runs_) {
    // The run minus the dynamic region is convex too: the dynamic region is closed under
    // successors, so a path between two static nodes never passes through it. So is the run
    // minus the nodes evaluated at prepare (closed under predecessors); their values are the
    // partition's inputs.
    Partition partition;
    for (int n : run) {
      if (!deferred_[n] && !folded_[n]) partition.nodes.push_back(n);
    }
    if (partition.nodes.empty()) continue;
    for (auto& [nodes, compiled] : compiled_) {
      if (nodes == partition.nodes) partition.compiled = compiled.get();
    }
    if (partition.compiled == nullptr) {
      LWAI_ASSIGN_OR_RETURN(
          std::unique_ptr<CompiledPartition> compiled,
          backends_of_node_[partition.nodes[0]]->CompilePartition(graph_, partition.nodes, pool_));
      partition.compiled = compiled.get();
      compiled_.emplace_back(partition.nodes, std::move(compiled));
    }
    for (int n : partition.nodes) partition_of_node_[n] = static_cast<int>(partitions_.size());
    partitions_.push_back(std::move(partition));
  }
  FindPartitionBoundaries();
  return Status::Ok();
}

const char* Executor::node_backend(int node) const {
  // A partition backend's node in the dynamic region runs on its reference kernel.
  if (claimed_for_partition_[node] && node_dynamic(node)) return "reference";
  return backends_of_node_[node]->name();
}

void Executor::FindPartitionBoundaries() {
  const std::vector<int> producers = graph_.Producers();
  std::vector<char> read_outside(graph_.tensors.size(), 0);
  for (int t : graph_.outputs) read_outside[t] = 1;
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    for (int t : graph_.nodes[n].inputs) {
      if (t < 0 || producers[t] < 0) continue;
      if (partition_of_node_[n] < 0 || partition_of_node_[producers[t]] != partition_of_node_[n]) {
        read_outside[t] = 1;
      }
    }
  }
  for (Partition& partition : partitions_) {
    const int p = partition_of_node_[partition.nodes[0]];
    for (int n : partition.nodes) {
      for (int t : graph_.nodes[n].inputs) {
        if (t < 0 || graph_.tensors[t].is_constant()) continue;
        const bool produced_inside = producers[t] >= 0 && partition_of_node_[producers[t]] == p;
        if (!produced_inside &&
            std::find(partition.float_inputs.begin(), partition.float_inputs.end(), t) ==
                partition.float_inputs.end()) {
          partition.float_inputs.push_back(t);
        }
      }
      for (int t : graph_.nodes[n].outputs) {
        if (t >= 0 && read_outside[t]) partition.outputs_read_outside.push_back(t);
      }
    }
  }
}

bool Executor::PartitionInputsFinite(const Partition& partition) const {
  for (int t : partition.float_inputs) {
    const TensorView& view = views_[t];
    if (view.dtype != DataType::kFloat32 || view.data == nullptr) continue;
    const auto* bits = static_cast<const uint32_t*>(view.data);
    const int64_t count = view.NumElements();
    uint32_t non_finite = 0;
    // An all-ones exponent is an infinity or a NaN; the OR reduction vectorizes.
    for (int64_t i = 0; i < count; ++i) non_finite |= (bits[i] & 0x7f800000u) == 0x7f800000u;
    if (non_finite) return false;
  }
  return true;
}

Status Executor::RunPartitionOnReference(const Partition& partition) {
  std::vector<std::shared_ptr<void>> storage;
  std::vector<std::pair<int, void*>> moved;  // tensors given a heap buffer: their arena address
  Status status;
  for (size_t i = 0; i < partition.nodes.size() && status.ok(); ++i) {
    const int n = partition.nodes[i];
    if (folded_[n]) continue;
    const Node& node = graph_.nodes[n];
    KernelContext ctx(node, views_.data(), pool_);
    ctx.registration_ = kernels_[n];
    ctx.limits_ = limits_;
    status = kernels_[n]->prepare(ctx);
    if (!status.ok()) break;
    for (int o = 0; o < ctx.num_outputs() && status.ok(); ++o) {
      const int t = node.outputs[o];
      if (t < 0) continue;
      const bool read_outside =
          std::find(partition.outputs_read_outside.begin(), partition.outputs_read_outside.end(),
                    t) != partition.outputs_read_outside.end();
      if (read_outside && views_[t].data != nullptr) continue;
      status = CheckBytes(views_[t].ByteSize(), {node, "output"});
      std::shared_ptr<void> buffer = status.ok() ? AllocateAligned(views_[t].ByteSize()) : nullptr;
      if (status.ok() && buffer == nullptr)
        status = OutOfMemory(LWAI_MSG(node.Describe() + ": output"));
      if (!status.ok()) break;
      moved.emplace_back(t, views_[t].data);
      views_[t].data = buffer.get();
      storage.push_back(std::move(buffer));
    }
    if (!status.ok()) break;
    std::shared_ptr<void> scratch = AllocateAligned(ctx.scratch_bytes_);
    if (scratch == nullptr) {
      status = OutOfMemory(LWAI_MSG(node.Describe() + ": scratch"));
      break;
    }
    ctx.scratch_ = scratch.get();
    ctx.state_ = ctx.state_owner_.get();
    status = kernels_[n]->eval(ctx);
  }
  // The partition's own buffers (its arena slots) are what its next regular run expects.
  for (auto it = moved.rbegin(); it != moved.rend(); ++it) views_[it->first].data = it->second;
  return status;
}

std::string Executor::node_kernel(int node) const {
  const int p = partition_of_node_[node];
  if (p >= 0) return partitions_[p].compiled->NodeKernel(node);
  if (!aliased_.empty() && aliased_[node]) return "in place (aliases its input)";
  std::string kernel = node_dynamic(node) ? "dynamic region" : "";
  const OpState* state = static_cast<size_t>(node) < contexts_.size() && contexts_[node]
                             ? contexts_[node]->state_owner_.get()
                             : nullptr;
  if (state != nullptr && *state->variant() != '\0') {
    kernel += (kernel.empty() ? "" : "; ") + std::string(state->variant());
  }
  if (FindControlFlowKernel(graph_.nodes[node].op) != nullptr) {
    const std::string subgraphs =
        DescribeSubgraphs(graph_.nodes[node], persistent_states_[node].get());
    if (!subgraphs.empty()) kernel += (kernel.empty() ? "" : "; ") + subgraphs;
  }
  return kernel;
}

std::vector<SubgraphNodeProfile> Executor::subgraph_profiles() const {
  std::vector<SubgraphNodeProfile> profiles;
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    const Node& node = graph_.nodes[n];
    if (FindControlFlowKernel(node.op) == nullptr) continue;
    CollectSubgraphProfiles(node, persistent_states_[n].get(),
                            node.name.empty() ? "#" + std::to_string(n) : node.name, &profiles);
  }
  return profiles;
}

void Executor::ResetSubgraphProfiles() {
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    if (FindControlFlowKernel(graph_.nodes[n].op) != nullptr) {
      lwai::ResetSubgraphProfiles(persistent_states_[n].get());
    }
  }
}

Status Executor::ResetViews(const std::vector<Shape>& input_shapes) {
  if (input_shapes.size() != graph_.inputs.size()) {
    return InvalidArgument(LWAI_MSG("expected " + std::to_string(graph_.inputs.size()) +
                                    " input shapes, got " + std::to_string(input_shapes.size())));
  }
  // Reset every view: stale data pointers would look like values known at prepare time.
  for (size_t t = 0; t < graph_.tensors.size(); ++t) {
    const TensorDesc& desc = graph_.tensors[t];
    TensorView& view = views_[t];
    view = TensorView();
    view.dtype = desc.dtype;
    if (desc.is_constant()) {
      view.shape = desc.StaticShape();
      view.data = const_cast<uint8_t*>(desc.constant.data);
    }
  }
  for (size_t i = 0; i < graph_.inputs.size(); ++i) {
    TensorView& input = views_[graph_.inputs[i]];
    input.shape = input_shapes[i];
    if (input.dtype == DataType::kUndefined && i < input_dtypes_.size()) {
      input.dtype = input_dtypes_[i];
    }
    LWAI_RETURN_IF_ERROR(CheckTensorSize(
        input, *limits_, LWAI_MSG("input '" + graph_.tensors[graph_.inputs[i]].name + "'")));
  }
  return Status::Ok();
}

Status Executor::PrepareNodes() {
  const size_t num_nodes = graph_.nodes.size();
  folded_.assign(num_nodes, 0);
  folded_storage_.clear();
  // The previous preparation's kernel states stay alive until this one is done, so packed
  // weights that both use (SharedPacking) are found again instead of packed anew.
  std::vector<std::unique_ptr<KernelContext>> previous_contexts = std::move(contexts_);
  contexts_.clear();
  has_deferred_nodes_ = false;
  deferred_.assign(num_nodes, 0);
  // Tensors whose producer could not be prepared before their values are known.
  std::vector<char> deferred(graph_.tensors.size(), 0);
  uint64_t evaluated_bytes = 0;
  for (size_t n = 0; n < num_nodes; ++n) {
    const Node& node = graph_.nodes[n];
    contexts_.push_back(std::make_unique<KernelContext>(node, views_.data(), pool_));
    if (expanded_graph_ != nullptr && OutputsAreConstants(graph_, node)) {
      folded_[n] = 1;  // expanded at creation (ExpandCompressedConstants)
      continue;
    }
    KernelContext& ctx = *contexts_.back();
    ctx.shape_only_ = claimed_for_partition_[n];
    ctx.registration_ = kernels_[n];
    ctx.limits_ = limits_;
    ctx.executor_ = this;
    ctx.persistent_state_ = &persistent_states_[n];
    ctx.graph_ = &graph_;
    LWAI_RETURN_IF_ERROR(limits_->Check(node));
    bool defer = false;
    for (int t : node.inputs) defer = defer || (t >= 0 && deferred[t]);
    if (!defer) {
      for (int o = 0; o < ctx.num_outputs(); ++o) {
        if (ctx.has_output(o)) ctx.output(o).dtype = DataType::kUndefined;
      }
      const Status status = kernels_[n]->prepare(ctx);
      if (!status.ok() && !ctx.value_needed_) return status;
      defer = !status.ok();
    }
    if (defer) {
      has_deferred_nodes_ = true;
      deferred_[n] = 1;
      for (int t : node.outputs) {
        if (t < 0) continue;
        deferred[t] = 1;
        views_[t] = TensorView();  // dtype undefined: not known before running
      }
      continue;
    }
    // Shape needs only its input's shape, which is always known here.
    bool inputs_known = true;
    for (int i = 0; i < ctx.num_inputs() && node.op != OpType::Shape; ++i) {
      if (ctx.has_input(i) && ctx.input(i).data == nullptr) inputs_known = false;
    }
    for (int o = 0; o < ctx.num_outputs(); ++o) {
      if (!ctx.has_output(o)) continue;
      if (ctx.output(o).dtype == DataType::kUndefined) {
        return Internal(LWAI_MSG(node.Describe() + ": prepare left output " + std::to_string(o) +
                                 " without a dtype"));
      }
      LWAI_RETURN_IF_ERROR(
          CheckTensorSize(ctx.output(o), *limits_,
                          LimitSubject(node, "output", graph_.tensors[node.outputs[o]].name)));
    }
    if (!inputs_known) continue;
    // Every input is known now: evaluate once here (shape arithmetic, constant subgraphs). A
    // node claimed for a partition was prepared for its shapes only; evaluating it needs the
    // full prepare (scratch, packed weights).
    if (ctx.shape_only_) {
      ctx.shape_only_ = false;
      ctx.scratch_bytes_ = 0;
      LWAI_RETURN_IF_ERROR(kernels_[n]->prepare(ctx));
    }
    for (int o = 0; o < ctx.num_outputs(); ++o) {
      if (ctx.has_output(o)) evaluated_bytes += ctx.output(o).ByteSize();
    }
    evaluated_bytes += ctx.scratch_bytes_;
    LWAI_RETURN_IF_ERROR(
        CheckBytes(evaluated_bytes, {node, "the values computed while preparing"}));
    LWAI_RETURN_IF_ERROR(EvaluatePrepared(*kernels_[n], ctx, &folded_storage_));
    folded_[n] = 1;
  }
  return Status::Ok();
}

Status Executor::Prepare(const std::vector<Shape>& input_shapes) {
  prepared_ = false;
  LWAI_RETURN_IF_ERROR(ResetViews(input_shapes));
  LWAI_RETURN_IF_ERROR(PrepareNodes());
  dynamic_ = has_deferred_nodes_;
  LWAI_RETURN_IF_ERROR(BuildPartitions());
  std::vector<PartitionMemory> partition_memory(partitions_.size());
  uint64_t private_bytes = 0;
  for (size_t p = 0; p < partitions_.size(); ++p) {
    const uint64_t limit = limits_->max_memory_bytes;
    // What is held besides the partitions' previous private bytes, which this prepare replaces.
    const uint64_t held =
        limits_->bytes_held - std::min(limits_->bytes_held, private_held_) + private_bytes;
    partition_memory[p].private_limit = limit == 0 ? 0 : (limit > held ? limit - held : 1);
    LWAI_RETURN_IF_ERROR(partitions_[p].compiled->Prepare(views_, folded_, &partition_memory[p]));
    private_bytes += partition_memory[p].private_bytes;
  }
  LWAI_RETURN_IF_ERROR(
      limits_->Hold(private_held_, private_bytes, "the partitions' own buffers and weights"));
  private_held_ = private_bytes;
  LWAI_RETURN_IF_ERROR(PlanAndAssign(partition_memory));
  prepared_shapes_ = input_shapes;
  prepared_ = true;
  return Status::Ok();
}

Status Executor::PlanAndAssign(const std::vector<PartitionMemory>& partition_memory) {
  const int num_nodes = static_cast<int>(graph_.nodes.size());
  const int end_of_run = num_nodes;
  // Reshape-like nodes whose input has an arena buffer of the same size: the output aliases
  // it (buffer_of[out] = the tensor that owns the bytes) and the node does not run.
  const std::vector<int> producers = graph_.Producers();
  std::vector<int> buffer_of(graph_.tensors.size());
  for (size_t t = 0; t < buffer_of.size(); ++t) buffer_of[t] = static_cast<int>(t);
  aliased_.assign(num_nodes, 0);
  for (int n = 0; n < num_nodes; ++n) {
    const Node& node = graph_.nodes[n];
    const bool reshape_like = node.op == OpType::Reshape || node.op == OpType::Flatten ||
                              node.op == OpType::Squeeze || node.op == OpType::Unsqueeze ||
                              node.op == OpType::Identity;
    if (!reshape_like || folded_[n] || deferred_[n] || partition_of_node_[n] >= 0 ||
        node.inputs.empty() || node.outputs.size() != 1) {
      continue;
    }
    const int in = node.inputs[0], out = node.outputs[0];
    if (in < 0 || out < 0 || producers[in] < 0) continue;  // graph inputs and constants stay
    const int producer = producers[in];
    if (folded_[producer] || deferred_[producer] || views_[in].dtype != views_[out].dtype ||
        views_[in].ByteSize() != views_[out].ByteSize()) {
      continue;
    }
    buffer_of[out] = buffer_of[in];
    aliased_[n] = 1;
  }
  std::vector<int> request_of_tensor(graph_.tensors.size(), -1);
  std::vector<BufferRequest> requests;
  for (int n = 0; n < num_nodes; ++n) {
    if (folded_[n] || deferred_[n] || aliased_[n]) continue;
    for (int t : graph_.nodes[n].outputs) {
      if (t < 0) continue;
      request_of_tensor[t] = static_cast<int>(requests.size());
      requests.push_back(BufferRequest{views_[t].ByteSize(), position_[n], position_[n]});
    }
  }
  // A use of an alias is a use of the buffer it aliases.
  auto request_of = [&](int t) { return t >= 0 ? request_of_tensor[buffer_of[t]] : -1; };
  for (int n = 0; n < num_nodes; ++n) {
    if (folded_[n]) continue;
    // The dynamic region runs after every static node.
    const int use = deferred_[n] ? end_of_run : position_[n];
    for (int t : graph_.nodes[n].inputs) {
      const int r = request_of(t);
      if (r >= 0) requests[r].last_use = std::max(requests[r].last_use, use);
    }
  }
  for (int t : graph_.outputs) {
    const int r = request_of(t);
    if (r >= 0) requests[r].last_use = end_of_run;
  }
  for (const PartitionMemory& memory : partition_memory) {
    for (const auto& [tensor, node] : memory.live_from) {
      if (request_of_tensor[tensor] < 0) continue;
      BufferRequest& request = requests[request_of_tensor[tensor]];
      request.first_use = std::min(request.first_use, position_[node]);
    }
    for (int tensor : memory.unused) {
      if (request_of_tensor[tensor] < 0) continue;
      requests[request_of_tensor[tensor]].size = 0;
      request_of_tensor[tensor] = -1;
    }
  }
  // Partition working buffers, live between two of the partition's nodes.
  std::vector<std::vector<int>> requests_of_partition(partition_memory.size());
  for (size_t p = 0; p < partition_memory.size(); ++p) {
    for (const PartitionMemory::Scratch& scratch : partition_memory[p].scratch) {
      requests_of_partition[p].push_back(static_cast<int>(requests.size()));
      requests.push_back(BufferRequest{scratch.bytes, position_[scratch.first_node],
                                       position_[scratch.last_node]});
    }
  }
  std::vector<int> request_of_scratch(num_nodes, -1);
  for (int n = 0; n < num_nodes; ++n) {
    if (folded_[n] || deferred_[n] || partition_of_node_[n] >= 0 ||
        contexts_[n]->scratch_bytes_ == 0) {
      continue;
    }
    request_of_scratch[n] = static_cast<int>(requests.size());
    requests.push_back(BufferRequest{contexts_[n]->scratch_bytes_, position_[n], position_[n]});
  }
  const MemoryPlan plan = PlanMemory(requests, kArenaAlignment);
  if (plan.arena_bytes > SIZE_MAX / 2) {  // 32-bit targets: beyond the address space
    return Status(StatusCode::kOutOfMemory,
                  LWAI_MSG("the arena would need " + std::to_string(plan.arena_bytes) +
                           " bytes, more than this platform can address"));
  }
  arena_bytes_ = static_cast<size_t>(plan.arena_bytes);
  unshared_bytes_ = static_cast<size_t>(std::min<uint64_t>(plan.unshared_bytes, SIZE_MAX));
  if (options_.arena == nullptr) LWAI_RETURN_IF_ERROR(CheckBytes(plan.arena_bytes, "the arena"));
  if (options_.plan_only) {  // a memory query: nothing is allocated, nothing will run
    arena_ = nullptr;
  } else if (options_.arena != nullptr) {
    if (plan.arena_bytes > options_.arena_size) {
      return Status(
          StatusCode::kOutOfMemory,
          LWAI_MSG("the caller-provided arena has " + std::to_string(options_.arena_size) +
                   " bytes, this model needs " + std::to_string(plan.arena_bytes)));
    }
    if (reinterpret_cast<uintptr_t>(options_.arena) % kArenaAlignment != 0) {
      return InvalidArgument(LWAI_MSG("the caller-provided arena must be 64-byte aligned"));
    }
    arena_ = static_cast<uint8_t*>(options_.arena);
  } else if (arena_owned_bytes_ < plan.arena_bytes || arena_owned_ == nullptr) {
    LWAI_RETURN_IF_ERROR(limits_->Hold(arena_owned_bytes_, plan.arena_bytes, "the arena"));
    arena_owned_.reset();
    arena_owned_ = AllocateAligned(arena_bytes_);
    arena_owned_bytes_ = arena_owned_ ? arena_bytes_ : 0;
    if (!arena_owned_) {
      limits_->bytes_held -= std::min<uint64_t>(limits_->bytes_held, plan.arena_bytes);
      return Status(
          StatusCode::kOutOfMemory,
          LWAI_MSG("cannot allocate an arena of " + std::to_string(plan.arena_bytes) + " bytes"));
    }
    arena_ = static_cast<uint8_t*>(arena_owned_.get());
  }
  // (No arena when only planning: the buffers stay null.)
  auto in_arena = [&](int request) -> void* {
    return arena_ != nullptr ? arena_ + plan.offsets[request] : nullptr;
  };
  for (size_t t = 0; t < graph_.tensors.size(); ++t) {
    if (request_of_tensor[t] >= 0) views_[t].data = in_arena(request_of_tensor[t]);
  }
  PropagateAliases();
  // Graph outputs that Invoke can write into caller memory: those with an arena buffer of
  // their own (a partition may write a tensor into a slice of another: those have none) that no
  // partition reads (XNNPACK may read up to 16 bytes past an input's end, XNN_EXTRA_BYTES:
  // inside the arena those bytes are lwai's, past a caller's array they may be unmapped).
  std::vector<char> read_by_partition(graph_.tensors.size(), 0);
  for (int n = 0; n < num_nodes; ++n) {
    if (partition_of_node_[n] < 0) continue;
    for (int t : graph_.nodes[n].inputs) {
      if (t >= 0) read_by_partition[buffer_of[t]] = 1;
    }
  }
  output_root_.assign(graph_.outputs.size(), -1);
  output_arena_address_.assign(graph_.outputs.size(), nullptr);
  output_known_.assign(graph_.outputs.size(), 0);
  for (size_t i = 0; i < graph_.outputs.size(); ++i) {
    const int t = graph_.outputs[i];
    if (t < 0) continue;
    output_known_[i] = producers[t] < 0 || !deferred_[producers[t]];
    const int root = buffer_of[t];
    if (request_of_tensor[root] < 0 || read_by_partition[root] ||
        views_[root].ByteSize() != views_[t].ByteSize() ||
        std::find(output_root_.begin(), output_root_.end(), root) != output_root_.end()) {
      continue;
    }
    output_root_[i] = root;
    output_arena_address_[i] = views_[root].data;
  }
  // Outputs that read another output's buffer (the same tensor twice, X and Reshape(X)): that
  // buffer moves only when they are placed too, so an output left in the session stays there.
  output_sharers_.assign(graph_.outputs.size(), {});
  for (size_t i = 0; i < graph_.outputs.size(); ++i) {
    if (output_root_[i] < 0) continue;
    for (size_t j = 0; j < graph_.outputs.size(); ++j) {
      if (j != i && graph_.outputs[j] >= 0 && buffer_of[graph_.outputs[j]] == output_root_[i]) {
        output_sharers_[i].push_back(static_cast<int>(j));
      }
    }
  }
  for (size_t p = 0; p < requests_of_partition.size(); ++p) {
    std::vector<void*> buffers;
    for (int r : requests_of_partition[p]) buffers.push_back(in_arena(r));
    partitions_[p].compiled->BindScratch(buffers);
  }
  for (int n = 0; n < num_nodes; ++n) {
    KernelContext& ctx = *contexts_[n];
    ctx.scratch_ = request_of_scratch[n] >= 0 ? in_arena(request_of_scratch[n]) : nullptr;
    ctx.state_ = ctx.state_owner_.get();
  }
  return Status::Ok();
}

void Executor::PropagateAliases() {
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    if (aliased_[n]) {
      views_[graph_.nodes[n].outputs[0]].data = views_[graph_.nodes[n].inputs[0]].data;
    }
  }
}

Status Executor::Invoke(const std::vector<TensorRef>& inputs,
                        const std::vector<void*>* output_memory) {
  if (!prepared_) return Internal(LWAI_MSG("Invoke before Prepare"));
  for (size_t i = 0; i < graph_.inputs.size(); ++i) {
    views_[graph_.inputs[i]].data = const_cast<void*>(inputs[i].data);
  }
  // Each run puts the movable outputs where this run wants them: caller memory, or back in the
  // arena after a run that had them elsewhere.
  bool moved = false;
  for (size_t i = 0; i < output_root_.size(); ++i) {
    const int root = output_root_[i];
    if (root < 0 || arena_ == nullptr) continue;
    void* wanted = output_arena_address_[i];
    if (output_memory != nullptr && i < output_memory->size() && (*output_memory)[i] != nullptr &&
        reinterpret_cast<uintptr_t>((*output_memory)[i]) % kPlacedOutputAlignment == 0) {
      bool sharers_placed = true;
      for (int j : output_sharers_[i]) {
        sharers_placed = sharers_placed && static_cast<size_t>(j) < output_memory->size() &&
                         (*output_memory)[j] != nullptr;
      }
      if (sharers_placed) wanted = (*output_memory)[i];
    }
    if (views_[root].data != wanted) {
      views_[root].data = wanted;
      moved = true;
    }
  }
  if (moved) PropagateAliases();
  const int num_nodes = static_cast<int>(graph_.nodes.size());
  const bool checked =
      limits_->cancel != nullptr || limits_->deadline != ExecutionLimits::Clock::time_point::max();
  for (int i = 0; i < num_nodes; ++i) {
    const int n = order_[i];
    if (folded_[n] || deferred_[n] || aliased_[n]) continue;
    if (checked) LWAI_RETURN_IF_ERROR(limits_->Check(graph_.nodes[n]));
    if (partition_of_node_[n] >= 0) {
      Partition& partition = partitions_[partition_of_node_[n]];
      if (n != partition.nodes[0]) continue;
      if (!partition.compiled->RunsOnReference() && PartitionInputsFinite(partition)) {
        LWAI_RETURN_IF_ERROR(
            partition.compiled->Run(views_, profiling_ ? node_time_ns_.data() : nullptr));
      } else {
        LWAI_RETURN_IF_ERROR(RunPartitionOnReference(partition));
      }
      continue;
    }
    if (profiling_) {
      const auto start = std::chrono::steady_clock::now();
      LWAI_RETURN_IF_ERROR(kernels_[n]->eval(*contexts_[n]));
      node_time_ns_[n] = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count();
    } else {
      LWAI_RETURN_IF_ERROR(kernels_[n]->eval(*contexts_[n]));
    }
  }
  // A kernel that stopped early at the deadline left partial outputs: never return them.
  if (checked) LWAI_RETURN_IF_ERROR(limits_->Check("the end of the run"));
  return dynamic_ ? RunDynamicRegion() : Status::Ok();
}

Status Executor::DynamicBuffer(size_t slot, size_t bytes, const LimitSubject& what, void** data) {
  if (slot >= dynamic_buffers_.size()) dynamic_buffers_.resize(slot + 1);
  auto& [buffer, size] = dynamic_buffers_[slot];
  if (buffer == nullptr || size < bytes) {
    LWAI_RETURN_IF_ERROR(limits_->Hold(size, bytes, what));
    buffer.reset();
    buffer = AllocateAligned(bytes);
    if (buffer == nullptr) {
      limits_->bytes_held -= bytes;
      size = 0;
      return OutOfMemory(LWAI_MSG("cannot allocate " + what.Describe()));
    }
    size = bytes;
  }
  *data = buffer.get();
  return Status::Ok();
}

Executor::~Executor() {
  // Subgraph executors (in persistent_states_) release what they hold first.
  persistent_states_.clear();
  uint64_t held = arena_owned_bytes_ + private_held_;
  for (const auto& slot : dynamic_buffers_) held += slot.second;
  limits_->bytes_held -= std::min(limits_->bytes_held, held);
}

Status Executor::RunDynamicRegion() {
  // Every tensor the region produces gets its shape from this run's prepare.
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    if (!deferred_[n]) continue;
    for (int t : graph_.nodes[n].outputs) {
      if (t >= 0) views_[t] = TensorView();
    }
  }
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    if (!deferred_[n]) continue;
    LWAI_RETURN_IF_ERROR(limits_->Check(graph_.nodes[n]));
    if (profiling_) {
      const auto start = std::chrono::steady_clock::now();
      LWAI_RETURN_IF_ERROR(PrepareAndRunDynamicNode(static_cast<int>(n)));
      node_time_ns_[n] = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count();
    } else {
      LWAI_RETURN_IF_ERROR(PrepareAndRunDynamicNode(static_cast<int>(n)));
    }
  }
  return Status::Ok();
}

Status Executor::PrepareAndRunDynamicNode(int n) {
  const Node& node = graph_.nodes[n];
  contexts_[n] = std::make_unique<KernelContext>(node, views_.data(), pool_);
  KernelContext& ctx = *contexts_[n];
  ctx.registration_ = kernels_[n];
  ctx.limits_ = limits_;
  ctx.executor_ = this;
  ctx.persistent_state_ = &persistent_states_[n];
  ctx.graph_ = &graph_;
  for (int o = 0; o < ctx.num_outputs(); ++o) {
    if (ctx.has_output(o)) ctx.output(o).dtype = DataType::kUndefined;
  }
  LWAI_RETURN_IF_ERROR(kernels_[n]->prepare(ctx));
  for (int o = 0; o < ctx.num_outputs(); ++o) {
    if (!ctx.has_output(o)) continue;
    TensorView& output = ctx.output(o);
    if (output.dtype == DataType::kUndefined) {
      return Internal(LWAI_MSG(node.Describe() + ": prepare left output " + std::to_string(o) +
                               " without a dtype"));
    }
    const LimitSubject what(node, "output", graph_.tensors[node.outputs[o]].name);
    LWAI_RETURN_IF_ERROR(CheckTensorSize(output, *limits_, what));
    LWAI_RETURN_IF_ERROR(
        DynamicBuffer(static_cast<size_t>(node.outputs[o]), output.ByteSize(), what, &output.data));
  }
  LWAI_RETURN_IF_ERROR(CheckBytes(ctx.scratch_bytes_, {node, "scratch"}));
  LWAI_RETURN_IF_ERROR(DynamicBuffer(graph_.tensors.size() + static_cast<size_t>(n),
                                     ctx.scratch_bytes_, {node, "scratch"}, &ctx.scratch_));
  ctx.state_ = ctx.state_owner_.get();
  LWAI_RETURN_IF_ERROR(kernels_[n]->eval(ctx));
  return limits_->Check(node);
}

}  // namespace lwai
