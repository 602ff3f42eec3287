#include "runtime/executor.h"

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "runtime/evaluate.h"
#include "runtime/memory_planner.h"

namespace lwai {
namespace {

constexpr size_t kArenaAlignment = 64;
// No single tensor may exceed this (1 TiB): hostile shapes must not overflow size arithmetic.
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 40;

bool ByteSizeFits(const TensorView& view) {
  uint64_t bytes = DataTypeSize(view.dtype);
  for (int d = 0; d < view.shape.rank; ++d) {
    const int64_t dim = view.shape.dims[d];
    if (dim < 0) return false;
    if (dim == 0) return true;
    if (bytes > kMaxTensorBytes / static_cast<uint64_t>(dim)) return false;
    bytes *= static_cast<uint64_t>(dim);
  }
  return bytes <= kMaxTensorBytes;
}

}  // namespace

Executor::Executor(const Graph& graph, const SessionOptions& options)
    : graph_(graph), options_(options), pool_(options.threads) {}

Result<std::unique_ptr<Executor>> Executor::Create(const Graph& graph,
                                                   const SessionOptions& options) {
  if (options.threads < 1) {
    return InvalidArgument("threads must be >= 1, got " + std::to_string(options.threads));
  }
  std::unique_ptr<Executor> executor(new Executor(graph, options));
  executor->backends_.push_back(std::make_unique<ReferenceBackend>());
  std::string unsupported;
  int unsupported_count = 0;
  for (const Node& node : graph.nodes) {
    const Backend* chosen = nullptr;
    const KernelRegistration* kernel = nullptr;
    for (const auto& backend : executor->backends_) {
      kernel = backend->Claim(graph, node);
      if (kernel != nullptr) {
        chosen = backend.get();
        break;
      }
    }
    if (kernel == nullptr) {
      unsupported += (unsupported_count++ ? ", " : "") + node.Describe();
    }
    executor->backends_of_node_.push_back(chosen);
    executor->kernels_.push_back(kernel);
  }
  if (unsupported_count > 0) {
    return Unsupported(std::to_string(unsupported_count) +
                       " node(s) have no kernel in any backend: " + unsupported);
  }
  executor->views_.resize(graph.tensors.size());
  executor->node_time_ns_.assign(graph.nodes.size(), 0);
  return executor;
}

Status Executor::Prepare(const std::vector<Shape>& input_shapes) {
  prepared_ = false;
  if (input_shapes.size() != graph_.inputs.size()) {
    return InvalidArgument("expected " + std::to_string(graph_.inputs.size()) +
                           " input shapes, got " + std::to_string(input_shapes.size()));
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
    if (!ByteSizeFits(input)) {
      return ShapeMismatch("input '" + graph_.tensors[graph_.inputs[i]].name + "': shape " +
                           input.shape.ToString() + " is negative or too large");
    }
  }

  const size_t num_nodes = graph_.nodes.size();
  folded_.assign(num_nodes, 0);
  folded_storage_.clear();
  contexts_.clear();
  for (size_t n = 0; n < num_nodes; ++n) {
    const Node& node = graph_.nodes[n];
    contexts_.push_back(std::make_unique<KernelContext>(node, views_.data(), &pool_));
    KernelContext& ctx = *contexts_.back();
    for (int o = 0; o < ctx.num_outputs(); ++o) {
      if (ctx.has_output(o)) ctx.output(o).dtype = DataType::kUndefined;
    }
    LWAI_RETURN_IF_ERROR(kernels_[n]->prepare(ctx));
    // Shape needs only its input's shape, which is always known here.
    bool inputs_known = true;
    for (int i = 0; i < ctx.num_inputs() && node.op != OpType::Shape; ++i) {
      if (ctx.has_input(i) && ctx.input(i).data == nullptr) inputs_known = false;
    }
    for (int o = 0; o < ctx.num_outputs(); ++o) {
      if (!ctx.has_output(o)) continue;
      if (ctx.output(o).dtype == DataType::kUndefined) {
        return Internal(node.Describe() + ": prepare left output " + std::to_string(o) +
                        " without a dtype");
      }
      if (!ByteSizeFits(ctx.output(o))) {
        return ShapeMismatch(node.Describe() + ": output '" + graph_.tensors[node.outputs[o]].name +
                             "' would have shape " + ctx.output(o).shape.ToString() +
                             ", which is negative or too large");
      }
    }
    if (!inputs_known) continue;
    // Every input is known now: evaluate once here (shape arithmetic, constant subgraphs).
    LWAI_RETURN_IF_ERROR(EvaluatePrepared(*kernels_[n], ctx, &folded_storage_));
    folded_[n] = 1;
  }
  LWAI_RETURN_IF_ERROR(PlanAndAssign());
  prepared_shapes_ = input_shapes;
  prepared_ = true;
  return Status::Ok();
}

Status Executor::PlanAndAssign() {
  const int num_nodes = static_cast<int>(graph_.nodes.size());
  const int end_of_run = num_nodes;
  std::vector<int> request_of_tensor(graph_.tensors.size(), -1);
  std::vector<BufferRequest> requests;
  for (int n = 0; n < num_nodes; ++n) {
    if (folded_[n]) continue;
    for (int t : graph_.nodes[n].outputs) {
      if (t < 0) continue;
      request_of_tensor[t] = static_cast<int>(requests.size());
      requests.push_back(BufferRequest{views_[t].ByteSize(), n, n});
    }
  }
  for (int n = 0; n < num_nodes; ++n) {
    if (folded_[n]) continue;
    for (int t : graph_.nodes[n].inputs) {
      if (t >= 0 && request_of_tensor[t] >= 0) requests[request_of_tensor[t]].last_use = n;
    }
  }
  for (int t : graph_.outputs) {
    if (request_of_tensor[t] >= 0) requests[request_of_tensor[t]].last_use = end_of_run;
  }
  std::vector<int> request_of_scratch(num_nodes, -1);
  for (int n = 0; n < num_nodes; ++n) {
    if (folded_[n] || contexts_[n]->scratch_bytes_ == 0) continue;
    request_of_scratch[n] = static_cast<int>(requests.size());
    requests.push_back(BufferRequest{contexts_[n]->scratch_bytes_, n, n});
  }
  const MemoryPlan plan = PlanMemory(requests, kArenaAlignment);
  arena_bytes_ = plan.arena_bytes;
  unshared_bytes_ = plan.unshared_bytes;
  if (options_.arena != nullptr) {
    if (plan.arena_bytes > options_.arena_size) {
      return Status(StatusCode::kOutOfMemory,
                    "the caller-provided arena has " + std::to_string(options_.arena_size) +
                        " bytes, this model needs " + std::to_string(plan.arena_bytes));
    }
    if (reinterpret_cast<uintptr_t>(options_.arena) % kArenaAlignment != 0) {
      return InvalidArgument("the caller-provided arena must be 64-byte aligned");
    }
    arena_ = static_cast<uint8_t*>(options_.arena);
  } else if (arena_owned_bytes_ < plan.arena_bytes || arena_owned_ == nullptr) {
    arena_owned_.reset();
    arena_owned_ = AllocateAligned(plan.arena_bytes);
    arena_owned_bytes_ = arena_owned_ ? plan.arena_bytes : 0;
    if (!arena_owned_) {
      return Status(StatusCode::kOutOfMemory,
                    "cannot allocate an arena of " + std::to_string(plan.arena_bytes) + " bytes");
    }
    arena_ = static_cast<uint8_t*>(arena_owned_.get());
  }
  for (size_t t = 0; t < graph_.tensors.size(); ++t) {
    if (request_of_tensor[t] >= 0) views_[t].data = arena_ + plan.offsets[request_of_tensor[t]];
  }
  for (int n = 0; n < num_nodes; ++n) {
    KernelContext& ctx = *contexts_[n];
    ctx.scratch_ =
        request_of_scratch[n] >= 0 ? arena_ + plan.offsets[request_of_scratch[n]] : nullptr;
    ctx.state_ = ctx.state_owner_.get();
  }
  return Status::Ok();
}

Status Executor::Invoke(const std::vector<TensorRef>& inputs) {
  if (!prepared_) return Internal("Invoke before Prepare");
  for (size_t i = 0; i < graph_.inputs.size(); ++i) {
    views_[graph_.inputs[i]].data = const_cast<void*>(inputs[i].data);
  }
  const int num_nodes = static_cast<int>(graph_.nodes.size());
  for (int n = 0; n < num_nodes; ++n) {
    if (folded_[n]) continue;
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
  return Status::Ok();
}

}  // namespace lwai
