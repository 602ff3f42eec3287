// Plugin backends: a shared library speaking the C ABI of lwai/plugin_api.h, wrapped as a node
// backend. Every kernel it hands out runs the reference prepare (output dtypes and shapes,
// attribute checks), then lets the plugin build its state; eval calls the plugin's run.
#include "runtime/plugin_backend.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lwai/plugin_api.h"

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

class PluginBackend : public Backend {
 public:
  PluginBackend(std::string path, const lwai_plugin_api* api) : path_(std::move(path)), api_(api) {
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
    if (api_->supports(description.node()) == 0) return nullptr;
    std::vector<std::string>& names = tensor_names_[&node];
    names.clear();
    for (int t : node.inputs) names.push_back(t >= 0 ? graph.tensors[t].name : "");
    for (int t : node.outputs) names.push_back(t >= 0 ? graph.tensors[t].name : "");
    return &registration->second;
  }

 private:
  static const PluginBackend& Of(const KernelContext& ctx) {
    return *static_cast<const PluginBackend*>(ctx.registration()->user_data);
  }

  // "plugin 'example' (/path/libexample.so): <message>" with the plugin's code when it is a
  // valid lwai code, else kInternal.
  Status PluginError(const KernelContext& ctx, int code, const char* function,
                     const char* error) const {
    StatusCode status_code = StatusCode::kInternal;
    if (code >= LWAI_STATUS_INVALID_ARGUMENT && code <= LWAI_STATUS_INTERNAL) {
      status_code = static_cast<StatusCode>(code);
    }
    std::string message = error != nullptr && error[0] != '\0'
                              ? std::string(error)
                              : std::string(function) + " failed with code " +
                                    std::to_string(code) + " and no message";
    return ctx.Error(status_code,
                     "plugin '" + std::string(api_->name) + "' (" + path_ + "): " + message);
  }

  static Status Prepare(KernelContext& ctx) {
    const PluginBackend& backend = Of(ctx);
    const KernelRegistration* reference = FindReferenceKernel(ctx.node().op);
    if (reference == nullptr) return ctx.Error(StatusCode::kInternal, "no reference kernel");
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
  std::map<OpType, KernelRegistration> registrations_;
  // Tensor names of each claimed node (inputs, then outputs), for the descriptions at prepare.
  mutable std::map<const Node*, std::vector<std::string>> tensor_names_;
};

}  // namespace

Result<std::unique_ptr<Backend>> LoadPluginBackend(const std::string& path) {
  dlerror();
  // RTLD_LOCAL: plugins do not see each other's symbols. Never dlclosed once accepted: kernel
  // registrations and plugin states point into the library for the rest of the process.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = dlerror();
    const std::string reason = error != nullptr ? error : "unknown dlopen error";
    struct stat info;
    if (stat(path.c_str(), &info) == 0) {
      return InvalidModel("backend plugin '" + path + "' cannot be loaded: " + reason);
    }
    return NotFound("backend plugin '" + path + "' not found: " + reason);
  }
  auto reject = [&](const std::string& why) -> Status {
    dlclose(handle);
    return InvalidModel("'" + path + "' is not a usable lwai backend plugin: " + why);
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
  if (api->api_version != LWAI_PLUGIN_API_VERSION) {
    return reject("plugin API version: expected " + std::to_string(LWAI_PLUGIN_API_VERSION) +
                  ", got " + std::to_string(api->api_version) +
                  " (rebuild the plugin against this lwai's lwai/plugin_api.h)");
  }
  if (api->struct_size < sizeof(lwai_plugin_api)) {
    return reject("its lwai_plugin_api table has " + std::to_string(api->struct_size) +
                  " bytes, expected at least " + std::to_string(sizeof(lwai_plugin_api)));
  }
  if (api->name == nullptr || api->name[0] == '\0') return reject("it has no name");
  if (std::strcmp(api->name, "reference") == 0) {
    return reject("the name 'reference' belongs to lwai's reference kernels");
  }
  if (api->supports == nullptr || api->run == nullptr) {
    return reject("its table lacks supports() or run()");
  }
  return std::unique_ptr<Backend>(new PluginBackend(path, api));
}

}  // namespace lwai
