#include "lwai/session.h"

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "ir/graph.h"
#include "ir/no_throw.h"
#include "runtime/executor.h"

namespace lwai {
namespace {

// Sets the executor's deadline and cancel flag for one call and clears them after.
class ScopedRunLimits {
 public:
  ScopedRunLimits(ExecutionLimits& limits, int64_t timeout_ms, const std::atomic<bool>* cancel)
      : limits_(limits), saved_cancel_(limits.cancel) {
    limits_.deadline = timeout_ms > 0
                           ? ExecutionLimits::Clock::now() + std::chrono::milliseconds(timeout_ms)
                           : ExecutionLimits::Clock::time_point::max();
    if (cancel != nullptr) limits_.cancel = cancel;
  }
  ~ScopedRunLimits() {
    limits_.deadline = ExecutionLimits::Clock::time_point::max();
    limits_.cancel = saved_cancel_;
  }

 private:
  ExecutionLimits& limits_;
  const std::atomic<bool>* saved_cancel_;
};

}  // namespace

uint64_t DefaultMaxMemoryBytes() {
#if defined(__unix__) || defined(__APPLE__)
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0) {
    return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size) / 2;
  }
#endif
  return uint64_t{1} << 30;  // unknown (bare-metal targets: allocation failures bound it there)
}

Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::Create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options) {
  return CatchAllocationFailure<std::unique_ptr<Session>>(
      "creating a session", [&]() -> Result<std::unique_ptr<Session>> {
        SessionOptions resolved = options;
        if (resolved.max_memory_bytes == 0) resolved.max_memory_bytes = DefaultMaxMemoryBytes();
        return CreateUnguarded(std::move(model), resolved);
      });
}

Result<std::unique_ptr<Session>> Session::CreateUnguarded(std::shared_ptr<const Model> model,
                                                          const SessionOptions& options) {
  if (model == nullptr) return InvalidArgument(LWAI_MSG("model is null"));
  if (options.timeout_ms < 0) {
    return InvalidArgument(
        LWAI_MSG("timeout_ms must be >= 0, got " + std::to_string(options.timeout_ms)));
  }
  std::unique_ptr<Session> session(new Session());
  session->model_ = std::move(model);
  const Graph& graph = session->model_->graph();
  for (int t : graph.inputs) session->inputs_.push_back(graph.tensors[t].Info());
  for (int t : graph.outputs) session->outputs_.push_back(graph.tensors[t].Info());
  LWAI_ASSIGN_OR_RETURN(session->executor_, Executor::Create(graph, options));
  session->timeout_ms_ = options.timeout_ms;
  // Prepare right away when every input has a known rank, with dynamic dims as 1, so that
  // model errors surface at creation and arena_bytes() is meaningful before the first run.
  // With dynamic dims, 1 may be no valid size (a network that downsamples an image): then
  // errors wait for the first run's real shapes.
  std::vector<Shape> shapes;
  bool has_dynamic_dims = false;
  for (const TensorInfo& input : session->inputs_) {
    if (!input.shape_known) return session;
    Shape shape;
    for (int64_t d : input.shape) {
      shape.dims[shape.rank++] = d < 0 ? 1 : d;
      has_dynamic_dims = has_dynamic_dims || d < 0;
    }
    shapes.push_back(shape);
  }
  ScopedRunLimits limits(session->executor_->own_limits(), options.timeout_ms, nullptr);
  const Status prepared = session->executor_->Prepare(shapes);
  if (!prepared.ok() && !(has_dynamic_dims && prepared.code() == StatusCode::kShapeMismatch)) {
    return prepared;
  }
  return session;
}

Status Session::Prepare(const std::vector<Shape>& input_shapes) {
  std::lock_guard<Mutex> lock(mutex_);
  ScopedRunLimits limits(executor_->own_limits(), timeout_ms_, nullptr);
  return CatchAllocationFailure("preparing", [&] { return executor_->Prepare(input_shapes); });
}

Status Session::Run(const std::vector<TensorRef>& inputs, const RunOptions& options) {
  std::lock_guard<Mutex> lock(mutex_);
  return RunLocked(inputs, options);
}

Status Session::Run(const std::vector<TensorRef>& inputs, const RunOptions& options,
                    const std::function<void(const std::vector<TensorRef>& outputs)>& consume) {
  std::lock_guard<Mutex> lock(mutex_);
  LWAI_RETURN_IF_ERROR(RunLocked(inputs, options));
  std::vector<TensorRef> outputs;
  for (int t : model_->graph().outputs) {
    const TensorView& view = executor_->tensor(t);
    outputs.push_back(TensorRef{view.dtype, view.shape, view.data});
  }
  consume(outputs);
  return Status::Ok();
}

Status Session::RunLocked(const std::vector<TensorRef>& inputs, const RunOptions& options) {
  if (options.timeout_ms < 0) {
    return InvalidArgument(
        LWAI_MSG("timeout_ms must be >= 0, got " + std::to_string(options.timeout_ms)));
  }
  ScopedRunLimits limits(executor_->own_limits(),
                         options.timeout_ms > 0 ? options.timeout_ms : timeout_ms_, options.cancel);
  return CatchAllocationFailure("running", [&] { return RunUnguarded(inputs); });
}

Status Session::RunUnguarded(const std::vector<TensorRef>& inputs) {
  if (executor_->options().plan_only) {
    return InvalidArgument(
        LWAI_MSG("this session only plans memory (SessionOptions::plan_only): it cannot run"));
  }
  if (inputs.size() != inputs_.size()) {
    return InvalidArgument(LWAI_MSG("the model has " + std::to_string(inputs_.size()) +
                                    " input(s), got " + std::to_string(inputs.size())));
  }
  bool same_shapes = executor_->prepared();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorInfo& expected = inputs_[i];
    const TensorRef& given = inputs[i];
    if (given.dtype != expected.dtype) {
      return InvalidArgument(LWAI_MSG("input '" + expected.name + "': expected dtype " +
                                      DataTypeName(expected.dtype) + ", got " +
                                      DataTypeName(given.dtype)));
    }
    if (expected.shape_known) {
      bool fits = given.shape.rank == static_cast<int>(expected.shape.size());
      for (int d = 0; fits && d < given.shape.rank; ++d) {
        fits = expected.shape[d] < 0 || expected.shape[d] == given.shape.dims[d];
      }
      if (!fits) {
        std::string want = "[";
        for (size_t d = 0; d < expected.shape.size(); ++d) {
          want += (d ? ", " : "") +
                  (expected.shape[d] >= 0
                       ? std::to_string(expected.shape[d])
                       : (expected.dim_names[d].empty() ? "?" : expected.dim_names[d]));
        }
        return ShapeMismatch(LWAI_MSG("input '" + expected.name + "': expected shape " + want +
                                      "], got " + given.shape.ToString()));
      }
    }
    if (given.data == nullptr && given.shape.NumElements() > 0) {
      return InvalidArgument(LWAI_MSG("input '" + expected.name + "': data is null"));
    }
    same_shapes = same_shapes && executor_->prepared_shapes()[i] == given.shape;
  }
  // A run with the prepared shapes allocates nothing.
  if (!same_shapes) {
    std::vector<Shape> shapes;
    for (const TensorRef& given : inputs) shapes.push_back(given.shape);
    LWAI_RETURN_IF_ERROR(executor_->Prepare(shapes));
  }
  if (executor_->profiling()) executor_->ResetSubgraphProfiles();
  return executor_->Invoke(inputs);
}

TensorRef Session::output(int index) const {
  std::lock_guard<Mutex> lock(mutex_);
  const std::vector<int>& outputs = model_->graph().outputs;
  if (index < 0 || index >= static_cast<int>(outputs.size()) || !executor_->prepared()) {
    return TensorRef{};
  }
  const TensorView& view = executor_->tensor(outputs[index]);
  return TensorRef{view.dtype, view.shape, view.data};
}

size_t Session::arena_bytes() const {
  std::lock_guard<Mutex> lock(mutex_);
  return executor_->arena_bytes();
}
size_t Session::unshared_bytes() const {
  std::lock_guard<Mutex> lock(mutex_);
  return executor_->unshared_bytes();
}

std::vector<Session::NodeAssignment> Session::node_assignments() const {
  std::lock_guard<Mutex> lock(mutex_);
  std::vector<NodeAssignment> assignments;
  const int num_nodes = static_cast<int>(model_->graph().nodes.size());
  for (int n = 0; n < num_nodes; ++n) {
    assignments.push_back(NodeAssignment{executor_->node_backend(n), executor_->node_kernel(n),
                                         executor_->node_folded(n)});
  }
  return assignments;
}

std::vector<std::string> Session::backend_names() const {
  std::vector<std::string> names;
  for (const auto& backend : executor_->backends()) names.push_back(backend->name());
  return names;
}

std::vector<Session::NodeShapes> Session::node_shapes() const {
  std::lock_guard<Mutex> lock(mutex_);
  std::vector<NodeShapes> result;
  if (!executor_->prepared()) return result;
  auto shape_of = [this](int tensor) {
    Shape shape;
    if (tensor >= 0) {
      shape = executor_->tensor(tensor).shape;
    } else {
      shape.rank = -1;
    }
    return shape;
  };
  for (const Node& node : model_->graph().nodes) {
    NodeShapes shapes;
    for (int t : node.inputs) shapes.inputs.push_back(shape_of(t));
    for (int t : node.outputs) shapes.outputs.push_back(shape_of(t));
    result.push_back(std::move(shapes));
  }
  return result;
}

void Session::set_profiling(bool enabled) {
  std::lock_guard<Mutex> lock(mutex_);
  executor_->set_profiling(enabled);
}

std::vector<SubgraphNodeProfile> Session::subgraph_profiles() const {
  std::lock_guard<Mutex> lock(mutex_);
  return executor_->subgraph_profiles();
}

std::vector<int64_t> Session::node_time_ns() const {
  std::lock_guard<Mutex> lock(mutex_);
  return executor_->node_time_ns();
}

}  // namespace lwai
