#include "lwai/session.h"

#include <cstring>

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
  consume(CurrentOutputs());
  return Status::Ok();
}

Status Session::Run(const std::vector<TensorRef>& inputs, const RunOptions& options,
                    const OutputPlacer& place,
                    const std::function<void(const std::vector<TensorRef>& outputs)>& consume) {
  std::lock_guard<Mutex> lock(mutex_);
  LWAI_RETURN_IF_ERROR(RunLocked(inputs, options, place ? &place : nullptr));
  if (consume) consume(CurrentOutputs());
  return Status::Ok();
}

std::vector<TensorRef> Session::CurrentOutputs() const {
  const std::vector<int>& graph_outputs = model_->graph().outputs;
  std::vector<TensorRef> outputs;
  for (size_t i = 0; i < graph_outputs.size(); ++i) {
    const TensorView& view = executor_->tensor(graph_outputs[i]);
    void* placed = i < placed_.size() ? placed_[i] : nullptr;
    outputs.push_back(TensorRef{view.dtype, view.shape, placed != nullptr ? placed : view.data});
  }
  return outputs;
}

Status Session::RunLocked(const std::vector<TensorRef>& inputs, const RunOptions& options,
                          const OutputPlacer* place) {
  if (options.timeout_ms < 0) {
    return InvalidArgument(
        LWAI_MSG("timeout_ms must be >= 0, got " + std::to_string(options.timeout_ms)));
  }
  ScopedRunLimits limits(executor_->own_limits(),
                         options.timeout_ms > 0 ? options.timeout_ms : timeout_ms_, options.cancel);
  return CatchAllocationFailure("running", [&] { return RunUnguarded(inputs, place); });
}

Status Session::RunUnguarded(const std::vector<TensorRef>& inputs, const OutputPlacer* place) {
  placed_.clear();
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
  if (place == nullptr) return executor_->Invoke(inputs);
  return InvokePlaced(inputs, *place);
}

namespace {

// [begin, end) of a buffer, for overlap tests.
struct ByteRange {
  uintptr_t begin = 0, end = 0;
  bool Overlaps(const ByteRange& other) const {
    return begin < end && other.begin < other.end && begin < other.end && other.begin < end;
  }
};

ByteRange RangeOf(const void* data, DataType dtype, const Shape& shape) {
  uint64_t bytes = 0;
  if (data == nullptr || !shape.CheckedByteSize(DataTypeSize(dtype), &bytes)) return {};
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  return ByteRange{begin, begin + static_cast<uintptr_t>(bytes)};
}

}  // namespace

Status Session::InvokePlaced(const std::vector<TensorRef>& inputs, const OutputPlacer& place) {
  const std::vector<int>& graph_outputs = model_->graph().outputs;
  const int num_outputs = static_cast<int>(graph_outputs.size());
  placed_.assign(num_outputs, nullptr);
  std::vector<ByteRange> ranges(num_outputs);
  for (int i = 0; i < num_outputs; ++i) {
    if (!executor_->output_shape_known(i)) continue;
    const TensorView& view = executor_->tensor(graph_outputs[i]);
    Status placed = place(i, view.dtype, view.shape, &placed_[i]);
    if (!placed.ok()) {
      placed_.clear();
      return placed;
    }
    ranges[i] = RangeOf(placed_[i], view.dtype, view.shape);
    for (int j = 0; j < i; ++j) {
      if (ranges[i].Overlaps(ranges[j])) {
        placed_.clear();
        return InvalidArgument(LWAI_MSG("outputs '" + outputs_[j].name + "' and '" +
                                        outputs_[i].name + "' were placed in overlapping memory"));
      }
    }
  }
  // Kernels write an output in place only where they cannot overwrite an input they still read.
  std::vector<void*> in_place = placed_;
  for (int i = 0; i < num_outputs; ++i) {
    for (const TensorRef& input : inputs) {
      if (ranges[i].Overlaps(RangeOf(input.data, input.dtype, input.shape))) in_place[i] = nullptr;
    }
  }
  Status run = executor_->Invoke(inputs, &in_place);
  if (!run.ok()) {
    placed_.clear();
    return run;
  }
  for (int i = 0; i < num_outputs; ++i) {
    const TensorView& view = executor_->tensor(graph_outputs[i]);
    const size_t bytes = static_cast<size_t>(ranges[i].end - ranges[i].begin);
    if (placed_[i] != nullptr && view.data != placed_[i] && bytes > 0) {
      std::memmove(placed_[i], view.data, bytes);
    }
  }
  return Status::Ok();
}

TensorRef Session::output(int index) const {
  std::lock_guard<Mutex> lock(mutex_);
  const std::vector<int>& outputs = model_->graph().outputs;
  if (index < 0 || index >= static_cast<int>(outputs.size()) || !executor_->prepared()) {
    return TensorRef{};
  }
  return CurrentOutputs()[index];
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
