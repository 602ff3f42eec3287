// Plugin backends: a shared library speaking the C ABI of lwai/plugin_api.h, wrapped as a node
// backend. Every kernel it hands out runs the reference prepare (output dtypes and shapes,
// attribute checks), then lets the plugin build its state; eval calls the plugin's run.
#include "runtime/plugin_backend.h"

#ifndef LWAI_NO_PLUGINS
#include <dlfcn.h>
#endif
#include <sys/stat.h>

#include <cstddef>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lwai/plugin_api.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

static_assert(LWAI_STATUS_INVALID_ARGUMENT == static_cast<int>(StatusCode::kInvalidArgument) &&
                  LWAI_STATUS_INVALID_MODEL == static_cast<int>(StatusCode::kInvalidModel) &&
                  LWAI_STATUS_UNSUPPORTED == static_cast<int>(StatusCode::kUnsupported) &&
                  LWAI_STATUS_SHAPE_MISMATCH == static_cast<int>(StatusCode::kShapeMismatch) &&
                  LWAI_STATUS_NOT_FOUND == static_cast<int>(StatusCode::kNotFound) &&
                  LWAI_STATUS_IO_ERROR == static_cast<int>(StatusCode::kIoError) &&
                  LWAI_STATUS_OUT_OF_MEMORY == static_cast<int>(StatusCode::kOutOfMemory) &&
                  LWAI_STATUS_INTERNAL == static_cast<int>(StatusCode::kInternal),
              "plugin status codes must equal lwai::StatusCode");
static_assert(LWAI_DTYPE_FLOAT32 == static_cast<int>(DataType::kFloat32) &&
                  LWAI_DTYPE_INT64 == static_cast<int>(DataType::kInt64) &&
                  LWAI_DTYPE_BOOL == static_cast<int>(DataType::kBool) &&
                  LWAI_DTYPE_UINT64 == static_cast<int>(DataType::kUInt64) &&
                  LWAI_DTYPE_BFLOAT16 == static_cast<int>(DataType::kBFloat16),
              "plugin dtypes must equal lwai::DataType");
static_assert(LWAI_ATTRIBUTE_INT == static_cast<int>(AttributeType::kInt) &&
                  LWAI_ATTRIBUTE_FLOAT == static_cast<int>(AttributeType::kFloat) &&
                  LWAI_ATTRIBUTE_INTS == static_cast<int>(AttributeType::kInts) &&
                  LWAI_ATTRIBUTE_FLOATS == static_cast<int>(AttributeType::kFloats) &&
                  LWAI_ATTRIBUTE_STRING == static_cast<int>(AttributeType::kString),
              "plugin attribute types must equal lwai::AttributeType");

constexpr size_t kErrorBufferSize = 512;

// A node in the ABI's terms, owning everything its pointers point to (except attribute values
// and names, which point into the graph, alive as long as the session).
class NodeDescription {
 public:
  NodeDescription() = default;
  NodeDescription(const NodeDescription&) = delete;
  NodeDescription& operator=(const NodeDescription&) = delete;

  // Claim time: what the graph knows (rank -1 / dims -1 where unknown; data of constants).
  void FromGraph(const Graph& graph, const Node& node) {
    Begin(node);
    for (int t : node.inputs) AddGraphTensor(graph, t, /*with_data=*/true);
    for (int t : node.outputs) AddGraphTensor(graph, t, /*with_data=*/false);
    Finish(node);
  }

  // Prepare time: final dtypes and shapes from the reference prepare; data where known.
  void FromContext(KernelContext& ctx, const std::vector<std::string>* names) {
    const Node& node = ctx.node();
    Begin(node);
    const int num_inputs = ctx.num_inputs();
    for (int i = 0; i < num_inputs; ++i) {
      if (ctx.has_input(i)) {
        AddView(ctx.input(i), ctx.input(i).data, Name(names, i));
      } else {
        AddOmitted();
      }
    }
    for (int o = 0; o < ctx.num_outputs(); ++o) {
      if (ctx.has_output(o)) {
        AddView(ctx.output(o), nullptr, Name(names, num_inputs + o));
      } else {
        AddOmitted();
      }
    }
    Finish(node);
  }

  // Partition prepare: final dtypes and shapes from the session's views; data for constants and
  // for values evaluated at prepare (`known`), else null.
  void FromViews(const Graph& graph, const Node& node, const std::vector<TensorView>& views,
                 const std::vector<char>& known) {
    Begin(node);
    for (int t : node.inputs) AddTensor(graph, views, known, t);
    for (int t : node.outputs) AddTensor(graph, views, known, t);
    Finish(node);
  }

  // Eval: the current data pointers (inputs may move between runs; no allocation here).
  void UpdateData(KernelContext& ctx) {
    const int num_inputs = ctx.num_inputs();
    for (int i = 0; i < num_inputs; ++i) {
      if (ctx.has_input(i)) tensors_[i].data = ctx.input(i).data;
    }
    for (int o = 0; o < ctx.num_outputs(); ++o) {
      if (ctx.has_output(o)) tensors_[num_inputs + o].data = ctx.output(o).data;
    }
  }

  const lwai_node* node() const { return &node_; }

 private:
  static const char* Name(const std::vector<std::string>* names, int index) {
    return names != nullptr && index < static_cast<int>(names->size()) ? (*names)[index].c_str()
                                                                       : "";
  }

  void Begin(const Node& node) {
    dims_.clear();
    tensors_.clear();
    attributes_.clear();
    dims_.reserve(node.inputs.size() + node.outputs.size());
    tensors_.reserve(node.inputs.size() + node.outputs.size());
  }

  void AddOmitted() {
    dims_.emplace_back();
    lwai_tensor tensor{};
    tensor.dtype = LWAI_DTYPE_UNDEFINED;
    tensor.name = "";
    tensors_.push_back(tensor);
  }

  void AddGraphTensor(const Graph& graph, int t, bool with_data) {
    if (t < 0) return AddOmitted();
    const TensorDesc& desc = graph.tensors[t];
    dims_.emplace_back();
    for (const Dim& d : desc.shape) dims_.back().push_back(d.value >= 0 ? d.value : -1);
    lwai_tensor tensor{};
    tensor.dtype = static_cast<int32_t>(desc.dtype);
    tensor.rank = desc.shape_known ? static_cast<int32_t>(desc.shape.size()) : -1;
    tensor.data =
        with_data && desc.is_constant() ? const_cast<uint8_t*>(desc.constant.data) : nullptr;
    tensor.name = desc.name.c_str();
    tensors_.push_back(tensor);
  }

  void AddTensor(const Graph& graph, const std::vector<TensorView>& views,
                 const std::vector<char>& known, int t) {
    if (t < 0) return AddOmitted();
    AddView(views[t], known[t] ? views[t].data : nullptr, graph.tensors[t].name.c_str());
  }

  void AddView(const TensorView& view, void* data, const char* name) {
    dims_.emplace_back(view.shape.dims, view.shape.dims + view.shape.rank);
    lwai_tensor tensor{};
    tensor.dtype = static_cast<int32_t>(view.dtype);
    tensor.rank = view.shape.rank;
    tensor.data = data;
    tensor.name = name;
    tensors_.push_back(tensor);
  }

  // Points tensors at their dims and fills the node; dims_ no longer changes after this.
  void Finish(const Node& node) {
    for (size_t t = 0; t < tensors_.size(); ++t) {
      tensors_[t].dims = dims_[t].empty() ? nullptr : dims_[t].data();
    }
    for (const Attribute& a : node.attributes) {
      lwai_attribute attribute{};
      attribute.name = a.name.c_str();
      attribute.type = static_cast<int32_t>(a.type);
      attribute.i = a.i;
      attribute.f = a.f;
      switch (a.type) {
        case AttributeType::kInts:
          attribute.ints = a.ints.data();
          attribute.count = static_cast<int64_t>(a.ints.size());
          break;
        case AttributeType::kFloats:
          attribute.floats = a.floats.data();
          attribute.count = static_cast<int64_t>(a.floats.size());
          break;
        case AttributeType::kString:
          attribute.s = a.s.c_str();
          attribute.count = static_cast<int64_t>(a.s.size());
          break;
        default:
          break;
      }
      attributes_.push_back(attribute);
    }
    node_ = lwai_node{};
    node_.struct_size = sizeof(lwai_node);
    node_.api_version = LWAI_PLUGIN_API_VERSION;
    node_.op_type = OpTypeName(node.op);
    node_.name = node.name.c_str();
    node_.num_inputs = static_cast<int32_t>(node.inputs.size());
    node_.inputs = tensors_.data();
    node_.num_outputs = static_cast<int32_t>(node.outputs.size());
    node_.outputs = tensors_.data() + node.inputs.size();
    node_.num_attributes = static_cast<int32_t>(attributes_.size());
    node_.attributes = attributes_.empty() ? nullptr : attributes_.data();
  }

  std::vector<std::vector<int64_t>> dims_;
  std::vector<lwai_tensor> tensors_;  // inputs, then outputs
  std::vector<lwai_attribute> attributes_;
  lwai_node node_{};
};

class PluginBackend;

// What the plugin's prepare leaves for eval: the plugin's state (or the reference kernel's,
// when the plugin declined these shapes) and the node description with preallocated storage.
class PluginState : public OpState {
 public:
  explicit PluginState(const lwai_plugin_api* api) : api_(api) {}
  ~PluginState() override {
    if (plugin_state != nullptr && api_->destroy_state != nullptr)
      api_->destroy_state(plugin_state);
  }

  void* plugin_state = nullptr;
  // The reference kernel's state from its prepare; used when the plugin declined (fallback).
  std::unique_ptr<OpState> reference_state;
  bool fallback = false;
  // Eval updates data pointers in place: eval sees the state as const.
  mutable NodeDescription description;

 private:
  const lwai_plugin_api* api_;
};

// "plugin 'example' (/path/libexample.so): <message>", with the plugin's code when it is a valid
// lwai code, else kInternal. `prefix` names the node or partition.
Status PluginStatus(const std::string& prefix, const lwai_plugin_api* api, const std::string& path,
                    int code, const char* function, const char* error) {
  StatusCode status_code = StatusCode::kInternal;
  if (code >= LWAI_STATUS_INVALID_ARGUMENT && code <= LWAI_STATUS_INTERNAL) {
    status_code = static_cast<StatusCode>(code);
  }
  std::string message =
      error != nullptr && error[0] != '\0'
          ? std::string(error)
          : std::string(function) + " failed with code " + std::to_string(code) + " and no message";
  return Status(status_code,
                prefix + "plugin '" + std::string(api->name) + "' (" + path + "): " + message);
}

// A partition compiled by a version-2 plugin: at every prepare, lwai_partition descriptions of
// the nodes (final shapes, constants' data) and of the boundary tensors, then the plugin's
// create_partition; runs pass the boundary tensors' current addresses.
class PluginPartition : public CompiledPartition {
 public:
  PluginPartition(const Graph& graph, std::vector<int> nodes, const lwai_plugin_api* api,
                  const std::string& path, ThreadPool* pool)
      : graph_(graph), nodes_(std::move(nodes)), api_(api), path_(path), pool_(pool) {}
  ~PluginPartition() override { Release(); }

  Status Prepare(const std::vector<TensorView>& views, const std::vector<char>& folded,
                 PartitionMemory* memory) override {
    Release();
    declined_ = false;
    const std::vector<int> producers = graph_.Producers();
    std::vector<char> inside(graph_.nodes.size(), 0);
    for (int n : nodes_) inside[n] = 1;
    // Values known now: constants and outputs of nodes evaluated at prepare.
    std::vector<char> known(graph_.tensors.size(), 0);
    for (size_t t = 0; t < graph_.tensors.size(); ++t) {
      const int p = producers[t];
      known[t] = graph_.tensors[t].is_constant() || (p >= 0 && folded[p]);
    }
    std::vector<char> read_outside(graph_.tensors.size(), 0);
    for (int t : graph_.outputs) read_outside[t] = 1;
    for (size_t n = 0; n < graph_.nodes.size(); ++n) {
      if (inside[n]) continue;
      for (int t : graph_.nodes[n].inputs) {
        if (t >= 0) read_outside[t] = 1;
      }
    }
    inputs_.clear();
    outputs_.clear();
    std::vector<char> listed(graph_.tensors.size(), 0);
    for (int n : nodes_) {
      for (int t : graph_.nodes[n].inputs) {
        if (t < 0 || known[t] || listed[t]) continue;
        const int p = producers[t];
        if (p >= 0 && inside[p]) continue;
        listed[t] = 1;
        inputs_.push_back(t);
      }
    }
    for (int n : nodes_) {
      for (int t : graph_.nodes[n].outputs) {
        if (t < 0) continue;
        if (read_outside[t]) {
          outputs_.push_back(t);
        } else {
          internal_.push_back(t);
        }
      }
    }
    descriptions_ = std::vector<NodeDescription>(nodes_.size());
    std::vector<lwai_node> node_array;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      descriptions_[i].FromViews(graph_, graph_.nodes[nodes_[i]], views, known);
      node_array.push_back(*descriptions_[i].node());
    }
    boundary_dims_.clear();
    input_tensors_ = Boundary(views, inputs_);
    output_tensors_ = Boundary(views, outputs_);
    lwai_partition partition{};
    partition.struct_size = sizeof(lwai_partition);
    partition.num_nodes = static_cast<int32_t>(node_array.size());
    partition.nodes = node_array.data();
    partition.num_inputs = static_cast<int32_t>(input_tensors_.size());
    partition.inputs = input_tensors_.data();
    partition.num_outputs = static_cast<int32_t>(output_tensors_.size());
    partition.outputs = output_tensors_.data();
    partition.num_threads = pool_ != nullptr ? pool_->num_threads() : 1;
    partition.max_memory_bytes = memory->private_limit;
    char error[kErrorBufferSize] = {};
    const int code = api_->create_partition(&partition, &state_, error, sizeof(error));
    error[sizeof(error) - 1] = '\0';
    if (code == LWAI_STATUS_UNSUPPORTED) {
      if (state_ != nullptr) api_->destroy_partition(state_);
      state_ = nullptr;
      declined_ = true;
      internal_.clear();
      return Status::Ok();
    }
    if (code != LWAI_STATUS_OK) {
      state_ = nullptr;
      return PluginStatus(Describe(), api_, path_, code, "create_partition", error);
    }
    memory->unused = internal_;
    if (api_->partition_memory_bytes != nullptr) {
      memory->private_bytes = api_->partition_memory_bytes(state_);
    }
    return Status::Ok();
  }

  Status Run(const std::vector<TensorView>& views, int64_t* node_time_ns) override {
    for (size_t i = 0; i < inputs_.size(); ++i) input_tensors_[i].data = views[inputs_[i]].data;
    for (size_t i = 0; i < outputs_.size(); ++i) {
      output_tensors_[i].data = views[outputs_[i]].data;
    }
    int64_t* times = nullptr;
    if (node_time_ns != nullptr) {
      times_.assign(nodes_.size(), 0);
      times = times_.data();
    }
    // The plugin runs its own threads: lwai's must not spin beside them.
    if (pool_ != nullptr) pool_->ParkWorkers();
    char error[kErrorBufferSize];
    error[0] = '\0';
    const int code = api_->run_partition(
        state_, input_tensors_.data(), static_cast<int32_t>(input_tensors_.size()),
        output_tensors_.data(), static_cast<int32_t>(output_tensors_.size()), times, error,
        sizeof(error));
    if (times != nullptr) {
      for (size_t i = 0; i < nodes_.size(); ++i) node_time_ns[nodes_[i]] = times_[i];
    }
    if (code == LWAI_STATUS_OK) return Status::Ok();
    error[sizeof(error) - 1] = '\0';
    return PluginStatus(Describe(), api_, path_, code, "run_partition", error);
  }

  bool RunsOnReference() const override { return declined_; }

  std::string NodeKernel(int node) const override {
    if (state_ == nullptr || api_->partition_node_kernel == nullptr) return "";
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i] != node) continue;
      const char* kernel = api_->partition_node_kernel(state_, static_cast<int32_t>(i));
      return kernel != nullptr ? kernel : "";
    }
    return "";
  }

 private:
  void Release() {
    if (state_ != nullptr) api_->destroy_partition(state_);
    state_ = nullptr;
    internal_.clear();
  }

  std::string Describe() const {
    const Node& first = graph_.nodes[nodes_.front()];
    return "partition of " + std::to_string(nodes_.size()) + " node(s) from " + first.Describe() +
           ": ";
  }

  std::vector<lwai_tensor> Boundary(const std::vector<TensorView>& views,
                                    const std::vector<int>& tensors) {
    std::vector<lwai_tensor> result;
    for (int t : tensors) {
      const TensorView& view = views[t];
      boundary_dims_.emplace_back(view.shape.dims, view.shape.dims + view.shape.rank);
      lwai_tensor tensor{};
      tensor.dtype = static_cast<int32_t>(view.dtype);
      tensor.rank = view.shape.rank;
      tensor.dims = boundary_dims_.back().data();
      tensor.name = graph_.tensors[t].name.c_str();
      result.push_back(tensor);
    }
    return result;
  }

  const Graph& graph_;
  std::vector<int> nodes_;
  const lwai_plugin_api* api_;
  std::string path_;
  ThreadPool* pool_;
  void* state_ = nullptr;
  bool declined_ = false;
  std::vector<int> inputs_, outputs_, internal_;
  std::vector<NodeDescription> descriptions_;
  std::vector<lwai_tensor> input_tensors_, output_tensors_;
  std::deque<std::vector<int64_t>> boundary_dims_;  // stable addresses as it grows
  std::vector<int64_t> times_;
};

class PluginBackend : public Backend {
 public:
  PluginBackend(std::string path, const lwai_plugin_api* api)
      : path_(std::move(path)),
        api_(api),
        partitions_(api->api_version >= 2 && api->struct_size >= sizeof(lwai_plugin_api) &&
                    api->supports_partition != nullptr) {
    for (OpType op : ReferenceOps()) {
      registrations_[op] = KernelRegistration{op, &PluginBackend::Prepare, &PluginBackend::Eval,
                                              static_cast<const void*>(this)};
    }
  }

  const char* name() const override { return api_->name; }

  const KernelRegistration* Claim(const Graph& graph, const Node& node) const override {
    auto registration = registrations_.find(node.op);
    if (registration == registrations_.end()) return nullptr;  // no reference kernel
    NodeDescription description;
    description.FromGraph(graph, node);
    if (api_->supports == nullptr || api_->supports(description.node()) == 0) return nullptr;
    std::vector<std::string>& names = tensor_names_[&node];
    names.clear();
    for (int t : node.inputs) names.push_back(t >= 0 ? graph.tensors[t].name : "");
    for (int t : node.outputs) names.push_back(t >= 0 ? graph.tensors[t].name : "");
    return &registration->second;
  }

  bool ClaimForPartition(const Graph& graph, const Node& node) const override {
    if (!partitions_) return false;
    NodeDescription description;
    description.FromGraph(graph, node);
    const int answer = api_->supports_partition(description.node());
    partition_answers_[&node] = answer;
    return answer != LWAI_PARTITION_DECLINE;
  }

  bool AnchorsPartition(const Graph& graph, const Node& node) const override {
    auto answer = partition_answers_.find(&node);
    return answer == partition_answers_.end() || answer->second != LWAI_PARTITION_JOIN_ONLY;
  }

  Result<std::unique_ptr<CompiledPartition>> CompilePartition(const Graph& graph,
                                                              const std::vector<int>& nodes,
                                                              ThreadPool* pool) const override {
    return std::unique_ptr<CompiledPartition>(new PluginPartition(graph, nodes, api_, path_, pool));
  }

 private:
  static const PluginBackend& Of(const KernelContext& ctx) {
    return *static_cast<const PluginBackend*>(ctx.registration()->user_data);
  }

  // "plugin 'example' (/path/libexample.so): <message>" with the plugin's code when it is a
  // valid lwai code, else kInternal.
  Status PluginError(const KernelContext& ctx, int code, const char* function,
                     const char* error) const {
    const Status status = PluginStatus("", api_, path_, code, function, error);
    return ctx.Error(status.code(), status.message());
  }

  static Status Prepare(KernelContext& ctx) {
    const PluginBackend& backend = Of(ctx);
    const KernelRegistration* reference = FindReferenceKernel(ctx.node().op);
    if (reference == nullptr)
      return ctx.Error(StatusCode::kInternal, LWAI_MSG("no reference kernel"));
    LWAI_RETURN_IF_ERROR(reference->prepare(ctx));
    auto state = std::make_unique<PluginState>(backend.api_);
    state->reference_state = std::move(ctx.state_owner_);
    auto names = backend.tensor_names_.find(&ctx.node());
    state->description.FromContext(ctx,
                                   names == backend.tensor_names_.end() ? nullptr : &names->second);
    if (backend.api_->create_state != nullptr) {
      char error[kErrorBufferSize] = {};
      const int code = backend.api_->create_state(state->description.node(), &state->plugin_state,
                                                  error, sizeof(error));
      error[sizeof(error) - 1] = '\0';
      if (code == LWAI_STATUS_UNSUPPORTED) {
        state->fallback = true;
        if (state->plugin_state != nullptr && backend.api_->destroy_state != nullptr) {
          backend.api_->destroy_state(state->plugin_state);
        }
        state->plugin_state = nullptr;
      } else if (code != LWAI_STATUS_OK) {
        return backend.PluginError(ctx, code, "create_state", error);
      }
    }
    // The plugin manages its own temporary memory; the reference kernel's scratch is only
    // needed when it runs instead.
    if (!state->fallback) ctx.RequestScratch(0);
    ctx.SetState(std::move(state));
    return Status::Ok();
  }

  static Status Eval(KernelContext& ctx) {
    const PluginBackend& backend = Of(ctx);
    const PluginState& state = *ctx.state<PluginState>();
    if (state.fallback) {
      const KernelRegistration* reference = FindReferenceKernel(ctx.node().op);
      const OpState* own = ctx.state_;
      ctx.state_ = state.reference_state.get();
      Status status = reference->eval(ctx);
      ctx.state_ = own;
      return status;
    }
    state.description.UpdateData(ctx);
    const lwai_node* node = state.description.node();
    char error[kErrorBufferSize];
    error[0] = '\0';
    const int code = backend.api_->run(state.plugin_state, node, node->inputs, node->num_inputs,
                                       node->outputs, node->num_outputs, error, sizeof(error));
    if (code == LWAI_STATUS_OK) return Status::Ok();
    error[sizeof(error) - 1] = '\0';
    return backend.PluginError(ctx, code, "run", error);
  }

  std::string path_;
  const lwai_plugin_api* api_;
  bool partitions_;  // version 2 with supports_partition
  std::map<OpType, KernelRegistration> registrations_;
  // Tensor names of each claimed node (inputs, then outputs), for the descriptions at prepare.
  mutable std::map<const Node*, std::vector<std::string>> tensor_names_;
  // supports_partition's answer for each node asked.
  mutable std::map<const Node*, int> partition_answers_;
};

}  // namespace

Result<std::unique_ptr<Backend>> LoadPluginBackend(const std::string& path) {
#ifdef LWAI_NO_PLUGINS
  return Unsupported(LWAI_MSG("backend plugin '" + path +
                              "': this lwai was built without plugins (LWAI_WITH_PLUGINS=OFF)"));
#else
  dlerror();
  // RTLD_LOCAL: plugins do not see each other's symbols. Never dlclosed once accepted: kernel
  // registrations and plugin states point into the library for the rest of the process.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = dlerror();
    const std::string reason = error != nullptr ? error : "unknown dlopen error";
    struct stat info;
    if (stat(path.c_str(), &info) == 0) {
      return InvalidModel(LWAI_MSG("backend plugin '" + path + "' cannot be loaded: " + reason));
    }
    return NotFound(LWAI_MSG("backend plugin '" + path + "' not found: " + reason));
  }
  auto reject = [&](const std::string& why) -> Status {
    dlclose(handle);
    return InvalidModel(LWAI_MSG("'" + path + "' is not a usable lwai backend plugin: " + why));
  };
  void* symbol = dlsym(handle, LWAI_PLUGIN_ENTRY_SYMBOL);
  if (symbol == nullptr) {
    return reject(std::string("it does not export ") + LWAI_PLUGIN_ENTRY_SYMBOL + "()");
  }
  lwai_plugin_entry_fn entry;
  static_assert(sizeof(entry) == sizeof(symbol), "function and data pointers differ in size");
  std::memcpy(&entry, &symbol, sizeof(entry));
  const lwai_plugin_api* api = entry();
  if (api == nullptr) return reject(std::string(LWAI_PLUGIN_ENTRY_SYMBOL) + "() returned null");
  if (api->api_version < LWAI_PLUGIN_API_MIN_VERSION ||
      api->api_version > LWAI_PLUGIN_API_VERSION) {
    return reject("plugin API version: expected " + std::to_string(LWAI_PLUGIN_API_MIN_VERSION) +
                  " to " + std::to_string(LWAI_PLUGIN_API_VERSION) + ", got " +
                  std::to_string(api->api_version) +
                  " (rebuild the plugin against this lwai's lwai/plugin_api.h)");
  }
  const size_t expected_size =
      api->api_version == 1 ? LWAI_PLUGIN_API_V1_SIZE : sizeof(lwai_plugin_api);
  if (api->struct_size < expected_size) {
    return reject("its lwai_plugin_api table has " + std::to_string(api->struct_size) +
                  " bytes, expected at least " + std::to_string(expected_size) + " for version " +
                  std::to_string(api->api_version));
  }
  if (api->name == nullptr || api->name[0] == '\0') return reject("it has no name");
  if (std::strcmp(api->name, "reference") == 0) {
    return reject("the name 'reference' belongs to lwai's reference kernels");
  }
  const bool partitions = api->api_version >= 2 && api->supports_partition != nullptr;
  if ((api->supports == nullptr && !partitions) ||
      (api->supports != nullptr && api->run == nullptr)) {
    return reject("its table lacks supports() or run()");
  }
  if (partitions && (api->create_partition == nullptr || api->run_partition == nullptr ||
                     api->destroy_partition == nullptr)) {
    return reject(
        "it sets supports_partition() but lacks create_partition(), run_partition() or "
        "destroy_partition()");
  }
  return std::unique_ptr<Backend>(new PluginBackend(path, api));
#endif
}

}  // namespace lwai
