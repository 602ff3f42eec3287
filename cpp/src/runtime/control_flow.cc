#include "runtime/control_flow.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "kernels/common.h"
#include "runtime/executor.h"

namespace lwai {

#ifndef LWAI_NO_CONTROL_FLOW
namespace {

// A tensor value owned by a control-flow node between its prepare and eval.
struct OwnedTensor {
  DataType dtype = DataType::kUndefined;
  Shape shape;
  std::shared_ptr<void> data;
  size_t bytes = 0;
};

// `view` may be `out` itself: a body that passes a state through unchanged outputs its input's
// buffer. So the old buffer is released only after the copy.
Status CopyView(const TensorView& view, OwnedTensor* out) {
  const size_t bytes = view.ByteSize();
  std::shared_ptr<void> data = AllocateAligned(bytes);
  if (!data) return Status(StatusCode::kOutOfMemory, LWAI_MSG("cannot allocate a subgraph output"));
  if (bytes) std::memcpy(data.get(), view.data, bytes);
  out->dtype = view.dtype;
  out->shape = view.shape;
  out->bytes = bytes;
  out->data = std::move(data);
  return Status::Ok();
}

TensorRef RefOf(const TensorView& view) { return TensorRef{view.dtype, view.shape, view.data}; }

// Runs `graph` on `inputs` with one executor, prepared again only when input shapes or dtypes
// change. The executor inherits the session's backends, threads and limits, so a subgraph
// gets partitions, fast kernels and an arena like the main graph.
class SubgraphRunner {
 public:
  explicit SubgraphRunner(const Graph& graph) : graph_(graph) {}

  const Graph& graph() const { return graph_; }

  // Prepares for inputs of these dtypes and shapes (data may be absent).
  Status Prepare(const KernelContext& ctx, const std::vector<TensorRef>& inputs) {
    if (inputs.size() != graph_.inputs.size()) {
      return ctx.InvalidModel(LWAI_MSG("subgraph takes " + std::to_string(graph_.inputs.size()) +
                                       " inputs, got " + std::to_string(inputs.size())));
    }
    if (executor_ == nullptr) {
      const auto* parent = static_cast<const Executor*>(ctx.executor_);
      SessionOptions options;
      ThreadPool* pool = nullptr;
      if (parent != nullptr) {
        options = parent->options();
        options.arena = nullptr;  // the caller's arena belongs to the outer graph
        options.arena_size = 0;
        pool = parent->thread_pool();
      } else {
        options.threads = 1;
      }
      options.max_memory_bytes = ctx.limits().max_memory_bytes;
      Result<std::unique_ptr<Executor>> created =
          Executor::Create(graph_, options, &ctx.limits(), pool);
      if (!created.ok()) return created.status().WithContext(LWAI_MSG(ctx.node().Describe()));
      executor_ = std::move(created).value();
    }
    // Compared in place: a Loop body runs this once per iteration, without allocating.
    bool same = executor_->prepared() && dtypes_.size() == inputs.size();
    for (size_t i = 0; i < inputs.size(); ++i) {
      const DataType declared = graph_.tensors[graph_.inputs[i]].dtype;
      if (declared != DataType::kUndefined && declared != inputs[i].dtype) {
        return ctx.InvalidModel(
            LWAI_MSG("subgraph input '" + graph_.tensors[graph_.inputs[i]].name + "' is declared " +
                     DataTypeName(declared) + ", got " + DataTypeName(inputs[i].dtype)));
      }
      same = same && dtypes_[i] == inputs[i].dtype &&
             executor_->prepared_shapes()[i] == inputs[i].shape;
    }
    if (!same) {
      std::vector<Shape> shapes;
      dtypes_.clear();
      for (const TensorRef& input : inputs) {
        shapes.push_back(input.shape);
        dtypes_.push_back(input.dtype);
      }
      executor_->set_input_dtypes(dtypes_);
      LWAI_RETURN_IF_ERROR(executor_->Prepare(shapes).WithContext(LWAI_MSG(ctx.node().Describe())));
    }
    return Status::Ok();
  }

  Status Run(const KernelContext& ctx, const std::vector<TensorRef>& inputs) {
    LWAI_RETURN_IF_ERROR(Prepare(ctx, inputs));
    const auto* parent = static_cast<const Executor*>(ctx.executor_);
    const bool profiling = parent != nullptr && parent->profiling();
    executor_->set_profiling(profiling);
    LWAI_RETURN_IF_ERROR(executor_->Invoke(inputs).WithContext(LWAI_MSG(ctx.node().Describe())));
    if (profiling) {
      const std::vector<int64_t>& times = executor_->node_time_ns();
      time_ns_.resize(times.size(), 0);
      for (size_t n = 0; n < times.size(); ++n) time_ns_[n] += times[n];
      ++calls_;
    }
    return Status::Ok();
  }

  // Profiling: each node's time summed over the runs since the last reset, and their count.
  const std::vector<int64_t>& time_ns() const { return time_ns_; }
  int64_t calls() const { return calls_; }
  void ResetProfile() {
    std::fill(time_ns_.begin(), time_ns_.end(), 0);
    calls_ = 0;
    if (executor_ != nullptr) executor_->ResetSubgraphProfiles();
  }

  // After Prepare: whether every output's dtype and shape is known before running.
  bool OutputsKnown() const {
    for (int t : graph_.outputs) {
      if (executor_->tensor(t).dtype == DataType::kUndefined) return false;
    }
    return true;
  }
  const TensorView& output(int i) const { return executor_->tensor(graph_.outputs[i]); }
  int num_outputs() const { return static_cast<int>(graph_.outputs.size()); }
  // The executor once created (null before the first Prepare).
  const Executor* executor() const { return executor_.get(); }

 private:
  const Graph& graph_;
  std::unique_ptr<Executor> executor_;
  std::vector<DataType> dtypes_;
  std::vector<int64_t> time_ns_;
  int64_t calls_ = 0;
};

// The runners of one control-flow node, one per subgraph. Kept in the node's persistent state
// when the executor offers one, so subgraphs are compiled once per session, not once per run.
class SubgraphRunners : public OpState {
 public:
  SubgraphRunner* Get(const Graph& graph) {
    for (auto& runner : runners_) {
      if (&runner->graph() == &graph) return runner.get();
    }
    runners_.push_back(std::make_unique<SubgraphRunner>(graph));
    return runners_.back().get();
  }
  const std::vector<std::unique_ptr<SubgraphRunner>>& runners() const { return runners_; }
  std::vector<std::unique_ptr<SubgraphRunner>>& runners() { return runners_; }

 private:
  std::vector<std::unique_ptr<SubgraphRunner>> runners_;
};

std::shared_ptr<SubgraphRunners> RunnersOf(const KernelContext& ctx) {
  if (ctx.persistent_state_ == nullptr) return std::make_shared<SubgraphRunners>();
  if (*ctx.persistent_state_ == nullptr) {
    *ctx.persistent_state_ = std::make_shared<SubgraphRunners>();
  }
  return std::static_pointer_cast<SubgraphRunners>(*ctx.persistent_state_);
}

// Outputs computed while preparing (copied out at eval), or, for an If whose branches are
// prepared ahead, the runners that eval runs.
class ControlFlowState : public OpState {
 public:
  std::vector<OwnedTensor> outputs;
  std::shared_ptr<SubgraphRunners> runners;
  SubgraphRunner* then_runner = nullptr;  // set when eval runs a branch
  SubgraphRunner* else_runner = nullptr;
};

// An integer attribute that counts node inputs: clamped to [0, the node's input count + 1] so
// that the arithmetic on it stays in range (out-of-range counts then fail the callers' checks).
int InputCount(const KernelContext& ctx, const char* name) {
  const int64_t value = ctx.node().GetInt(name, 0);
  if (value < 0) return -1;
  return static_cast<int>(std::min<int64_t>(value, ctx.num_inputs() + 1));
}

// Inputs a subgraph reads from the enclosing graph: the node's last `captured_inputs` inputs.
Status CapturedInputs(const KernelContext& ctx, int first, std::vector<TensorRef>* refs) {
  const int captured = InputCount(ctx, "captured_inputs");
  if (captured < 0 || first + captured > ctx.num_inputs()) {
    return ctx.InvalidModel(LWAI_MSG("captured_inputs " + std::to_string(captured) +
                                     " does not fit " + std::to_string(ctx.num_inputs()) +
                                     " inputs"));
  }
  for (int i = ctx.num_inputs() - captured; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i))
      return ctx.InvalidModel(LWAI_MSG("captured input " + std::to_string(i) + " is missing"));
    refs->push_back(RefOf(ctx.input(i)));
  }
  return Status::Ok();
}

// Every (present) input must have its values: control flow runs while preparing.
Status NeedAllValues(const KernelContext& ctx) {
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (ctx.has_input(i) && ctx.input(i).data == nullptr && ctx.input(i).NumElements() > 0) {
      return ctx.ValueNeeded(i);
    }
  }
  return Status::Ok();
}

Status SetOutputs(KernelContext& ctx, std::unique_ptr<ControlFlowState> state) {
  if (static_cast<int>(state->outputs.size()) < ctx.num_outputs()) {
    return ctx.InvalidModel(LWAI_MSG("the subgraph produces " +
                                     std::to_string(state->outputs.size()) + " values for " +
                                     std::to_string(ctx.num_outputs()) + " outputs"));
  }
  for (int o = 0; o < ctx.num_outputs(); ++o) {
    if (!ctx.has_output(o)) continue;
    ctx.output(o).dtype = state->outputs[o].dtype;
    ctx.output(o).shape = state->outputs[o].shape;
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalCopyOutputs(KernelContext& ctx) {
  const auto* state = ctx.state<ControlFlowState>();
  for (int o = 0; o < ctx.num_outputs(); ++o) {
    if (!ctx.has_output(o) || state->outputs[o].bytes == 0) continue;
    std::memcpy(ctx.output(o).data, state->outputs[o].data.get(), state->outputs[o].bytes);
  }
  return Status::Ok();
}

bool ReadBoolScalar(const TensorView& view) {
  if (view.dtype == DataType::kBool || view.dtype == DataType::kUInt8) {
    return *static_cast<const uint8_t*>(view.data) != 0;
  }
  return false;
}

// ---------------------------------------------------------------------------------------- If
// Output dtypes and shapes of a prepared branch.
bool SameOutputs(const SubgraphRunner& a, const SubgraphRunner& b) {
  if (a.num_outputs() != b.num_outputs()) return false;
  for (int o = 0; o < a.num_outputs(); ++o) {
    if (a.output(o).dtype != b.output(o).dtype || a.output(o).shape != b.output(o).shape) {
      return false;
    }
  }
  return true;
}

Status SetOutputsFrom(KernelContext& ctx, const SubgraphRunner& runner) {
  if (runner.num_outputs() < ctx.num_outputs()) {
    return ctx.InvalidModel(LWAI_MSG("the subgraph produces " +
                                     std::to_string(runner.num_outputs()) + " values for " +
                                     std::to_string(ctx.num_outputs()) + " outputs"));
  }
  for (int o = 0; o < ctx.num_outputs(); ++o) {
    if (!ctx.has_output(o)) continue;
    ctx.output(o).dtype = runner.output(o).dtype;
    ctx.output(o).shape = runner.output(o).shape;
  }
  return Status::Ok();
}

// Branches are prepared ahead when their output shapes are known without running them: both
// branches agreeing (condition unknown until run time) or the one the known condition picks.
// Eval then runs the chosen branch's executor and copies its outputs. Otherwise the chosen
// branch runs here, with values, and eval copies what it produced.
Status PrepareIf(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1 << 20));
  const Graph* then_branch = ctx.node().GetGraph("then_branch");
  const Graph* else_branch = ctx.node().GetGraph("else_branch");
  if (then_branch == nullptr || else_branch == nullptr) {
    return ctx.InvalidModel(LWAI_MSG("needs subgraph attributes then_branch and else_branch"));
  }
  const TensorView& cond = ctx.input(0);
  if (cond.NumElements() != 1 || (cond.dtype != DataType::kBool)) {
    return ctx.InvalidModel(LWAI_MSG("condition must be one bool, got " +
                                     std::string(DataTypeName(cond.dtype)) + " " +
                                     cond.shape.ToString()));
  }
  std::vector<TensorRef> captured;
  LWAI_RETURN_IF_ERROR(CapturedInputs(ctx, 1, &captured));
  auto state = std::make_unique<ControlFlowState>();
  state->runners = RunnersOf(ctx);
  SubgraphRunner* then_runner = state->runners->Get(*then_branch);
  SubgraphRunner* else_runner = state->runners->Get(*else_branch);
  if (cond.data == nullptr) {
    // Either branch may run: usable ahead only when both prepare and agree.
    if (!then_runner->Prepare(ctx, captured).ok() || !else_runner->Prepare(ctx, captured).ok() ||
        !then_runner->OutputsKnown() || !else_runner->OutputsKnown() ||
        !SameOutputs(*then_runner, *else_runner)) {
      return ctx.ValueNeeded(0);
    }
    state->then_runner = then_runner;
    state->else_runner = else_runner;
    LWAI_RETURN_IF_ERROR(SetOutputsFrom(ctx, *then_runner));
    ctx.SetState(std::move(state));
    return Status::Ok();
  }
  SubgraphRunner* chosen = ReadBoolScalar(cond) ? then_runner : else_runner;
  LWAI_RETURN_IF_ERROR(chosen->Prepare(ctx, captured));
  if (chosen->OutputsKnown()) {
    (ReadBoolScalar(cond) ? state->then_runner : state->else_runner) = chosen;
    LWAI_RETURN_IF_ERROR(SetOutputsFrom(ctx, *chosen));
    ctx.SetState(std::move(state));
    return Status::Ok();
  }
  LWAI_RETURN_IF_ERROR(NeedAllValues(ctx));
  LWAI_RETURN_IF_ERROR(chosen->Run(ctx, captured));
  state->outputs.resize(chosen->num_outputs());
  for (int o = 0; o < chosen->num_outputs(); ++o) {
    LWAI_RETURN_IF_ERROR(CopyView(chosen->output(o), &state->outputs[o]));
  }
  return SetOutputs(ctx, std::move(state));
}

Status EvalIf(KernelContext& ctx) {
  const auto* state = ctx.state<ControlFlowState>();
  if (state->then_runner == nullptr && state->else_runner == nullptr) {
    return EvalCopyOutputs(ctx);
  }
  SubgraphRunner* runner = ReadBoolScalar(ctx.input(0)) ? state->then_runner : state->else_runner;
  if (runner == nullptr) return ctx.InvalidModel(LWAI_MSG("the condition changed after preparing"));
  std::vector<TensorRef> captured;
  LWAI_RETURN_IF_ERROR(CapturedInputs(ctx, 1, &captured));
  LWAI_RETURN_IF_ERROR(runner->Run(ctx, captured));
  for (int o = 0; o < ctx.num_outputs(); ++o) {
    if (!ctx.has_output(o)) continue;
    const TensorView& value = runner->output(o);
    if (value.ByteSize() > 0) std::memcpy(ctx.output(o).data, value.data, value.ByteSize());
  }
  return Status::Ok();
}

// -------------------------------------------------------------------------------------- Loop
// Appends one iteration's scan output to a growing stacked buffer.
Status AppendScanOutput(const KernelContext& ctx, const TensorView& value, int iteration,
                        OwnedTensor* stacked, std::vector<uint8_t>* bytes) {
  if (iteration == 0) {
    stacked->dtype = value.dtype;
    stacked->shape.rank = value.shape.rank + 1;
    if (stacked->shape.rank > kMaxRank)
      return ctx.Unsupported(LWAI_MSG("scan output rank too large"));
    for (int d = 0; d < value.shape.rank; ++d) stacked->shape[d + 1] = value.shape[d];
  } else {
    bool same = value.dtype == stacked->dtype && value.shape.rank + 1 == stacked->shape.rank;
    for (int d = 0; same && d < value.shape.rank; ++d)
      same = value.shape[d] == stacked->shape[d + 1];
    if (!same) {
      return ctx.ShapeMismatch(
          LWAI_MSG("scan output changes shape between iterations: " + value.shape.ToString()));
    }
  }
  stacked->shape[0] = iteration + 1;
  uint64_t total = 0;
  if (!stacked->shape.CheckedByteSize(DataTypeSize(value.dtype), &total)) {
    return ctx.Error(StatusCode::kOutOfMemory, LWAI_MSG("scan output size overflows"));
  }
  LWAI_RETURN_IF_ERROR(ctx.limits().CheckBytes(total, {ctx.node(), "a scan output"}));
  const auto* begin = static_cast<const uint8_t*>(value.data);
  bytes->insert(bytes->end(), begin, begin + value.ByteSize());
  return Status::Ok();
}

Status Finish(const std::vector<uint8_t>& bytes, OwnedTensor* tensor) {
  tensor->bytes = bytes.size();
  tensor->data = AllocateAligned(bytes.size());
  if (!tensor->data)
    return Status(StatusCode::kOutOfMemory, LWAI_MSG("cannot allocate a scan output"));
  if (!bytes.empty()) std::memcpy(tensor->data.get(), bytes.data(), bytes.size());
  return Status::Ok();
}

Status PrepareLoop(KernelContext& ctx) {
  const Graph* body = ctx.node().GetGraph("body");
  if (body == nullptr) return ctx.InvalidModel(LWAI_MSG("needs a subgraph attribute 'body'"));
  LWAI_RETURN_IF_ERROR(NeedAllValues(ctx));
  const int captured = InputCount(ctx, "captured_inputs");
  const int num_carried = ctx.num_inputs() - captured - 2;
  const int num_scan = static_cast<int>(body->outputs.size()) - 1 - num_carried;
  if (num_carried < 0 || num_scan < 0 || ctx.num_outputs() > num_carried + num_scan) {
    return ctx.InvalidModel(LWAI_MSG("body with " + std::to_string(body->outputs.size()) +
                                     " outputs does not match " + std::to_string(num_carried) +
                                     " loop-carried values"));
  }
  int64_t max_trips = INT64_MAX;
  if (ctx.has_input(0)) {
    const TensorView& m = ctx.input(0);
    if (m.dtype != DataType::kInt64 || m.NumElements() != 1) {
      return ctx.InvalidModel(LWAI_MSG("M must be one int64"));
    }
    max_trips = *m.Data<const int64_t>();
  }
  bool cond = true;
  if (ctx.has_input(1)) {
    if (ctx.input(1).dtype != DataType::kBool || ctx.input(1).NumElements() != 1) {
      return ctx.InvalidModel(LWAI_MSG("cond must be one bool"));
    }
    cond = ReadBoolScalar(ctx.input(1));
  }
  std::vector<TensorRef> outer;
  LWAI_RETURN_IF_ERROR(CapturedInputs(ctx, 2, &outer));
  std::vector<OwnedTensor> carried(num_carried);
  for (int v = 0; v < num_carried; ++v) {
    if (!ctx.has_input(2 + v)) return ctx.InvalidModel(LWAI_MSG("loop-carried input missing"));
    LWAI_RETURN_IF_ERROR(CopyView(ctx.input(2 + v), &carried[v]));
  }
  std::vector<OwnedTensor> scans(num_scan);
  std::vector<std::vector<uint8_t>> scan_bytes(num_scan);
  const std::shared_ptr<SubgraphRunners> runners = RunnersOf(ctx);
  SubgraphRunner& runner = *runners->Get(*body);
  int64_t iteration = 0;
  bool cond_value = cond;
  for (; iteration < max_trips && cond_value; ++iteration) {
    LWAI_RETURN_IF_ERROR(ctx.limits().ChargeIteration(ctx.node()));
    std::vector<TensorRef> inputs;
    inputs.push_back(TensorRef{DataType::kInt64, Shape{}, &iteration});
    inputs.push_back(TensorRef{DataType::kBool, Shape{}, &cond_value});
    for (const OwnedTensor& v : carried) inputs.push_back({v.dtype, v.shape, v.data.get()});
    inputs.insert(inputs.end(), outer.begin(), outer.end());
    LWAI_RETURN_IF_ERROR(runner.Run(ctx, inputs));
    cond_value = ReadBoolScalar(runner.output(0));
    for (int v = 0; v < num_carried; ++v) {
      LWAI_RETURN_IF_ERROR(CopyView(runner.output(1 + v), &carried[v]));
    }
    for (int s = 0; s < num_scan; ++s) {
      LWAI_RETURN_IF_ERROR(AppendScanOutput(ctx, runner.output(1 + num_carried + s),
                                            static_cast<int>(iteration), &scans[s],
                                            &scan_bytes[s]));
    }
  }
  auto state = std::make_unique<ControlFlowState>();
  for (OwnedTensor& v : carried) state->outputs.push_back(std::move(v));
  for (int s = 0; s < num_scan; ++s) {
    if (iteration == 0) {
      // No iteration ran: an empty stack whose element shape is unknown.
      scans[s].dtype = body->tensors[body->outputs[1 + num_carried + s]].dtype;
      scans[s].shape = Shape{0};
    }
    LWAI_RETURN_IF_ERROR(Finish(scan_bytes[s], &scans[s]));
    state->outputs.push_back(std::move(scans[s]));
  }
  return SetOutputs(ctx, std::move(state));
}

// -------------------------------------------------------------------------------------- Scan
// Copies slice `index` along `axis` of `src` (shape `shape`) into `dst`, or back when
// `to_slice` is false.
void CopySlice(const uint8_t* src, uint8_t* dst, const Shape& shape, int axis, int64_t index,
               size_t element_size, bool to_slice) {
  int64_t outer = 1, inner = static_cast<int64_t>(element_size);
  for (int d = 0; d < axis; ++d) outer *= shape[d];
  for (int d = axis + 1; d < shape.rank; ++d) inner *= shape[d];
  const int64_t length = shape[axis];
  if (inner == 0 || outer == 0) return;  // empty slices (their data may be null)
  for (int64_t o = 0; o < outer; ++o) {
    const int64_t full = (o * length + index) * inner, part = o * inner;
    if (to_slice) {
      std::memcpy(dst + part, src + full, inner);
    } else {
      std::memcpy(dst + full, src + part, inner);
    }
  }
}

Status PrepareScan(KernelContext& ctx) {
  const Node& node = ctx.node();
  const Graph* body = node.GetGraph("body");
  if (body == nullptr) return ctx.InvalidModel(LWAI_MSG("needs a subgraph attribute 'body'"));
  LWAI_RETURN_IF_ERROR(NeedAllValues(ctx));
  const int captured = InputCount(ctx, "captured_inputs");
  const int num_scan_in = InputCount(ctx, "num_scan_inputs");
  const int num_state = ctx.num_inputs() - captured - num_scan_in;
  const int num_scan_out = static_cast<int>(body->outputs.size()) - num_state;
  if (num_scan_in < 1 || num_state < 0 || num_scan_out < 0) {
    return ctx.InvalidModel(LWAI_MSG("num_scan_inputs " + std::to_string(num_scan_in) +
                                     " does not match the inputs and the body"));
  }
  auto axes_or_zero = [&](const char* name, int count) {
    std::vector<int64_t> values = node.GetInts(name);
    values.resize(count, 0);
    return values;
  };
  std::vector<int64_t> in_axes = axes_or_zero("scan_input_axes", num_scan_in);
  std::vector<int64_t> in_reverse = axes_or_zero("scan_input_directions", num_scan_in);
  std::vector<int64_t> out_axes = axes_or_zero("scan_output_axes", num_scan_out);
  std::vector<int64_t> out_reverse = axes_or_zero("scan_output_directions", num_scan_out);
  int64_t length = -1;
  std::vector<int> in_axis(num_scan_in);
  for (int s = 0; s < num_scan_in; ++s) {
    const TensorView& x = ctx.input(num_state + s);
    if (!NormalizeAxis(in_axes[s], x.shape.rank, &in_axis[s])) {
      return ctx.InvalidModel(LWAI_MSG("scan_input_axes[" + std::to_string(s) + "] out of range"));
    }
    const int64_t n = x.shape[in_axis[s]];
    if (length >= 0 && n != length) {
      return ctx.ShapeMismatch(LWAI_MSG("scan inputs have different lengths " +
                                        std::to_string(length) + " and " + std::to_string(n)));
    }
    length = n;
  }
  std::vector<TensorRef> outer;
  LWAI_RETURN_IF_ERROR(CapturedInputs(ctx, num_state + num_scan_in, &outer));
  std::vector<OwnedTensor> states(num_state);
  for (int v = 0; v < num_state; ++v) LWAI_RETURN_IF_ERROR(CopyView(ctx.input(v), &states[v]));
  std::vector<OwnedTensor> slices(num_scan_in);
  for (int s = 0; s < num_scan_in; ++s) {
    const TensorView& x = ctx.input(num_state + s);
    OwnedTensor& slice = slices[s];
    slice.dtype = x.dtype;
    for (int d = 0; d < x.shape.rank; ++d) {
      if (d != in_axis[s]) slice.shape[slice.shape.rank++] = x.shape[d];
    }
    slice.bytes = static_cast<size_t>(slice.shape.NumElements()) * DataTypeSize(x.dtype);
    slice.data = AllocateAligned(slice.bytes);
    if (!slice.data)
      return ctx.Error(StatusCode::kOutOfMemory, LWAI_MSG("cannot allocate a scan slice"));
  }
  std::vector<std::vector<OwnedTensor>> per_step(num_scan_out);
  uint64_t step_bytes = 0;
  const std::shared_ptr<SubgraphRunners> runners = RunnersOf(ctx);
  SubgraphRunner& runner = *runners->Get(*body);
  for (int64_t t = 0; t < length; ++t) {
    LWAI_RETURN_IF_ERROR(ctx.limits().ChargeIteration(node));
    std::vector<TensorRef> inputs;
    for (const OwnedTensor& v : states) inputs.push_back({v.dtype, v.shape, v.data.get()});
    for (int s = 0; s < num_scan_in; ++s) {
      const TensorView& x = ctx.input(num_state + s);
      const int64_t index = in_reverse[s] ? length - 1 - t : t;
      CopySlice(static_cast<const uint8_t*>(x.data), static_cast<uint8_t*>(slices[s].data.get()),
                x.shape, in_axis[s], index, DataTypeSize(x.dtype), true);
      inputs.push_back({slices[s].dtype, slices[s].shape, slices[s].data.get()});
    }
    inputs.insert(inputs.end(), outer.begin(), outer.end());
    LWAI_RETURN_IF_ERROR(runner.Run(ctx, inputs));
    for (int v = 0; v < num_state; ++v)
      LWAI_RETURN_IF_ERROR(CopyView(runner.output(v), &states[v]));
    for (int s = 0; s < num_scan_out; ++s) {
      per_step[s].emplace_back();
      LWAI_RETURN_IF_ERROR(CopyView(runner.output(num_state + s), &per_step[s].back()));
      // The steps are kept until they are stacked: they count against the limit as they come.
      step_bytes += per_step[s].back().bytes;
      LWAI_RETURN_IF_ERROR(ctx.limits().CheckBytes(step_bytes, {node, "the scan outputs so far"}));
    }
  }
  auto state = std::make_unique<ControlFlowState>();
  for (OwnedTensor& v : states) state->outputs.push_back(std::move(v));
  for (int s = 0; s < num_scan_out; ++s) {
    OwnedTensor stacked;
    stacked.dtype = body->tensors[body->outputs[num_state + s]].dtype;
    Shape element;
    if (!per_step[s].empty()) {
      element = per_step[s][0].shape;
      stacked.dtype = per_step[s][0].dtype;
    }
    int axis = 0;
    if (!NormalizeAxis(out_axes[s], element.rank + 1, &axis)) {
      return ctx.InvalidModel(LWAI_MSG("scan_output_axes[" + std::to_string(s) + "] out of range"));
    }
    stacked.shape.rank = element.rank + 1;
    for (int d = 0, e = 0; d < stacked.shape.rank; ++d) {
      stacked.shape[d] = d == axis ? length : element[e++];
    }
    uint64_t stacked_bytes = 0;
    if (!stacked.shape.CheckedByteSize(DataTypeSize(stacked.dtype), &stacked_bytes)) {
      return ctx.Error(StatusCode::kOutOfMemory, LWAI_MSG("scan output size overflows"));
    }
    LWAI_RETURN_IF_ERROR(ctx.limits().CheckBytes(stacked_bytes, {node, "a scan output"}));
    stacked.bytes = static_cast<size_t>(stacked_bytes);
    stacked.data = AllocateAligned(stacked.bytes);
    if (!stacked.data)
      return ctx.Error(StatusCode::kOutOfMemory, LWAI_MSG("cannot allocate scan output"));
    for (int64_t t = 0; t < length; ++t) {
      const OwnedTensor& step = per_step[s][t];
      if (step.shape != element || step.dtype != stacked.dtype) {
        return ctx.ShapeMismatch(LWAI_MSG("scan output changes shape between iterations"));
      }
      const int64_t index = out_reverse[s] ? length - 1 - t : t;
      CopySlice(static_cast<const uint8_t*>(step.data.get()),
                static_cast<uint8_t*>(stacked.data.get()), stacked.shape, axis, index,
                DataTypeSize(stacked.dtype), false);
    }
    state->outputs.push_back(std::move(stacked));
  }
  return SetOutputs(ctx, std::move(state));
}

const KernelRegistration kIfKernel = {OpType::If, PrepareIf, EvalIf};
const KernelRegistration kLoopKernel = {OpType::Loop, PrepareLoop, EvalCopyOutputs};
const KernelRegistration kScanKernel = {OpType::Scan, PrepareScan, EvalCopyOutputs};

}  // namespace

std::string DescribeSubgraphs(const Node& node, const OpState* persistent_state) {
  const auto* runners = static_cast<const SubgraphRunners*>(persistent_state);
  if (runners == nullptr) return "";
  std::string description;
  for (const Attribute& a : node.attributes) {
    if (a.graph == nullptr) continue;
    for (const auto& runner : runners->runners()) {
      const Executor* executor = runner->executor();
      if (&runner->graph() != a.graph.get() || executor == nullptr || !executor->prepared()) {
        continue;
      }
      // Nodes per backend, in the order backends were first seen.
      std::vector<std::pair<std::string, int>> counts;
      for (size_t n = 0; n < runner->graph().nodes.size(); ++n) {
        if (executor->node_folded(static_cast<int>(n))) continue;
        const std::string backend = executor->node_backend(static_cast<int>(n));
        auto it = std::find_if(counts.begin(), counts.end(),
                               [&](const auto& c) { return c.first == backend; });
        if (it == counts.end()) {
          counts.emplace_back(backend, 1);
        } else {
          ++it->second;
        }
      }
      description += (description.empty() ? "" : "; ") + a.name + ":";
      for (const auto& [backend, count] : counts) {
        description += " " + backend + " " + std::to_string(count);
      }
    }
  }
  return description;
}

void CollectSubgraphProfiles(const Node& node, const OpState* persistent_state, std::string prefix,
                             std::vector<SubgraphNodeProfile>* out) {
  const auto* runners = static_cast<const SubgraphRunners*>(persistent_state);
  if (runners == nullptr) return;
  for (const Attribute& a : node.attributes) {
    if (a.graph == nullptr) continue;
    for (const auto& runner : runners->runners()) {
      const Executor* executor = runner->executor();
      if (&runner->graph() != a.graph.get() || executor == nullptr || !executor->prepared() ||
          runner->calls() == 0) {
        continue;
      }
      const Graph& graph = runner->graph();
      const std::string graph_path = prefix + "/" + a.name;
      for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const int n = static_cast<int>(i);
        if (executor->node_folded(n)) continue;
        const Node& inner = graph.nodes[i];
        SubgraphNodeProfile profile;
        profile.parent = prefix;
        profile.path =
            graph_path + "/" + (inner.name.empty() ? "#" + std::to_string(n) : inner.name);
        profile.op = OpTypeName(inner.op);
        profile.backend = executor->node_backend(n);
        profile.kernel = executor->node_kernel(n);
        auto shape_of = [&](int t) {
          Shape shape;
          if (t >= 0) {
            shape = executor->tensor(t).shape;
          } else {
            shape.rank = -1;
          }
          return shape;
        };
        for (int t : inner.inputs) profile.input_shapes.push_back(shape_of(t));
        for (int t : inner.outputs) profile.output_shapes.push_back(shape_of(t));
        profile.time_ns = i < runner->time_ns().size() ? runner->time_ns()[i] : 0;
        profile.calls = runner->calls();
        out->push_back(std::move(profile));
        if (FindControlFlowKernel(inner.op) != nullptr) {
          // Taken by value: the callee's push_backs may move the vector the path lives in.
          CollectSubgraphProfiles(inner, executor->persistent_state(n), out->back().path, out);
        }
      }
    }
  }
}

void ResetSubgraphProfiles(OpState* persistent_state) {
  auto* runners = static_cast<SubgraphRunners*>(persistent_state);
  if (runners == nullptr) return;
  for (auto& runner : runners->runners()) runner->ResetProfile();
}

const KernelRegistration* FindControlFlowKernel(OpType op) {
  for (const KernelRegistration* kernel : {&kIfKernel, &kLoopKernel, &kScanKernel}) {
    if (kernel->op == op) return kernel;
  }
  return nullptr;
}

std::vector<OpType> ControlFlowOps() { return {OpType::If, OpType::Loop, OpType::Scan}; }

#else  // A selective runtime without If, Loop and Scan (CMake's LWAI_SELECTED_OPS).

std::string DescribeSubgraphs(const Node&, const OpState*) { return ""; }
void CollectSubgraphProfiles(const Node&, const OpState*, std::string,
                             std::vector<SubgraphNodeProfile>*) {}
void ResetSubgraphProfiles(OpState*) {}
const KernelRegistration* FindControlFlowKernel(OpType) { return nullptr; }
std::vector<OpType> ControlFlowOps() { return {}; }

#endif  // LWAI_NO_CONTROL_FLOW

}  // namespace lwai
