// The C API (lwai/lwai_c.h) over lwai::Model and lwai::Session.
#include "lwai/lwai_c.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "lwai/model.h"
#include "lwai/session.h"
#include "lwai/status.h"
#include "lwai/types.h"

struct LwaiModel {
  std::shared_ptr<const lwai::Model> model;
};

struct LwaiSession {
  std::unique_ptr<lwai::Session> session;
  // Dims that the views handed out point to: the declared inputs and outputs (filled at
  // creation), and the outputs of the last run.
  std::vector<std::array<int64_t, lwai::kMaxRank>> declared_inputs, declared_outputs, outputs;
  std::vector<lwai::TensorRef> inputs;
  std::vector<char> input_set;
};

namespace {

using lwai::DataType;

static_assert(LWAI_SHAPE_MISMATCH == static_cast<int>(lwai::StatusCode::kShapeMismatch) &&
                  LWAI_CANCELLED == static_cast<int>(lwai::StatusCode::kCancelled),
              "LwaiStatus follows StatusCode");
static_assert(LWAI_FLOAT32 == static_cast<int>(DataType::kFloat32) &&
                  LWAI_INT64 == static_cast<int>(DataType::kInt64) &&
                  LWAI_BOOL == static_cast<int>(DataType::kBool) &&
                  LWAI_UINT64 == static_cast<int>(DataType::kUInt64),
              "LwaiDataType follows DataType");
using lwai::Status;
using lwai::StatusCode;

// The last error's message (and code: code-only builds report its name), per thread.
#ifdef LWAI_NO_THREADS
std::string g_last_error;  // one thread (and bare-metal targets may have no thread-local storage)
StatusCode g_last_code = StatusCode::kOk;
#else
thread_local std::string g_last_error;
thread_local StatusCode g_last_code = StatusCode::kOk;
#endif

LwaiStatus Fail(StatusCode code, std::string message) {
  g_last_error = std::move(message);
  g_last_code = code;
  return static_cast<LwaiStatus>(code);
}

LwaiStatus Fail(const Status& status) { return Fail(status.code(), status.message()); }

// One of the two is used, depending on LWAI_STATUS_MESSAGES (LWAI_MSG's result type).
[[maybe_unused]] LwaiStatus ArgumentError(const std::string& message) {
  return Fail(StatusCode::kInvalidArgument, message);
}
[[maybe_unused]] LwaiStatus ArgumentError(lwai::NoMessage) {
  return Fail(StatusCode::kInvalidArgument, std::string());
}

#if defined(__cpp_exceptions)
// Fail() for the exception handlers below: building the message may itself fail to allocate
// (after a bad_alloc), and nothing may throw out of them; the code is recorded either way.
LwaiStatus FailWithoutThrowing(StatusCode code, const char* function, const char* what) noexcept {
  try {
    return Fail(code, std::string(function) + what);
  } catch (...) {
    g_last_error.clear();
    g_last_code = code;
    return static_cast<LwaiStatus>(code);
  }
}
#endif

// Runs `body` (returning LwaiStatus), turning an allocation failure into LWAI_OUT_OF_MEMORY:
// nothing may unwind through a C caller.
template <typename Body>
LwaiStatus Guarded(const char* function, Body&& body) {
#if defined(__cpp_exceptions)
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return FailWithoutThrowing(StatusCode::kOutOfMemory, function, ": out of memory");
  } catch (...) {
    return FailWithoutThrowing(StatusCode::kInternal, function, ": unexpected exception");
  }
#else
  (void)function;
  return body();
#endif
}

lwai::SessionOptions ToSessionOptions(const LwaiSessionOptions* options) {
  lwai::SessionOptions out;
  if (options == nullptr) return out;
  out.threads = options->threads;
  out.arena = options->arena;
  out.arena_size = options->arena_size;
  out.max_memory_bytes = options->max_memory_bytes;
  out.timeout_ms = options->timeout_ms;
  return out;
}

LwaiStatus CheckOptions(const LwaiSessionOptions* options) {
  if (options == nullptr) return LWAI_OK;
  if (options->struct_size < sizeof(LwaiSessionOptions)) {
    return ArgumentError(
        LWAI_MSG("session options: struct_size " + std::to_string(options->struct_size) +
                 " is smaller than this version's " + std::to_string(sizeof(LwaiSessionOptions)) +
                 " (call session_options_init first)"));
  }
  if (options->threads < 1) {
    return ArgumentError(
        LWAI_MSG("session options: threads must be >= 1, got " + std::to_string(options->threads)));
  }
  if ((options->arena == nullptr) != (options->arena_size == 0)) {
    return ArgumentError(LWAI_MSG("session options: arena and arena_size must be given together"));
  }
  if (options->arena != nullptr && reinterpret_cast<uintptr_t>(options->arena) % 64 != 0) {
    return ArgumentError(LWAI_MSG("session options: the arena must be 64-byte aligned"));
  }
  return LWAI_OK;
}

// The declared dims of graph inputs or outputs (-1 where dynamic).
std::vector<std::array<int64_t, lwai::kMaxRank>> DeclaredDims(
    const std::vector<lwai::TensorInfo>& tensors) {
  std::vector<std::array<int64_t, lwai::kMaxRank>> dims(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const size_t rank = std::min<size_t>(tensors[i].shape.size(), lwai::kMaxRank);
    for (size_t d = 0; d < rank; ++d) dims[i][d] = tensors[i].shape[d];
  }
  return dims;
}

const char* LastError() {
#if LWAI_STATUS_MESSAGES
  return g_last_error.c_str();
#else
  return g_last_code == StatusCode::kOk ? "" : lwai::StatusCodeName(g_last_code);
#endif
}

LwaiStatus ModelLoadFile(const char* path, LwaiModel** model) {
  if (path == nullptr || model == nullptr)
    return ArgumentError(LWAI_MSG("model_load_file: null argument"));
  return Guarded("model_load_file", [&] {
    lwai::Result<std::shared_ptr<lwai::Model>> loaded = lwai::Model::LoadFile(path);
    if (!loaded.ok()) return Fail(loaded.status());
    *model = new LwaiModel{std::move(loaded).value()};
    return LWAI_OK;
  });
}

LwaiStatus ModelLoadBuffer(const void* data, size_t size, int copy, LwaiModel** model) {
  if (data == nullptr || model == nullptr) {
    return ArgumentError(LWAI_MSG("model_load_buffer: null argument"));
  }
  return Guarded("model_load_buffer", [&] {
    lwai::Result<std::shared_ptr<lwai::Model>> loaded =
        lwai::Model::LoadBuffer(data, size, copy != 0);
    if (!loaded.ok()) return Fail(loaded.status());
    *model = new LwaiModel{std::move(loaded).value()};
    return LWAI_OK;
  });
}

void ModelRelease(LwaiModel* model) { delete model; }

void SessionOptionsInit(LwaiSessionOptions* options) {
  if (options == nullptr) return;
  std::memset(options, 0, sizeof(*options));
  options->struct_size = sizeof(LwaiSessionOptions);
  options->threads = 1;
}

LwaiStatus SessionMemoryBytes(const LwaiModel* model, const LwaiSessionOptions* options,
                              size_t* bytes) {
  if (model == nullptr || bytes == nullptr) {
    return ArgumentError(LWAI_MSG("session_memory_bytes: null argument"));
  }
  if (LwaiStatus checked = CheckOptions(options); checked != LWAI_OK) return checked;
  return Guarded("session_memory_bytes", [&] {
    lwai::SessionOptions planning = ToSessionOptions(options);
    planning.arena = nullptr;  // only planning: the caller's memory stays untouched
    planning.arena_size = 0;
    planning.plan_only = true;  // and no arena of its own either
    auto created = lwai::Session::Create(model->model, planning);
    if (!created.ok()) return Fail(created.status());
    lwai::Session& session = *created.value();
    std::vector<lwai::Shape> shapes;
    for (const lwai::TensorInfo& input : session.inputs()) {
      lwai::Shape shape;
      shape.rank = static_cast<int>(std::min<size_t>(input.shape.size(), lwai::kMaxRank));
      for (int d = 0; d < shape.rank; ++d) shape[d] = input.shape[d] < 0 ? 1 : input.shape[d];
      shapes.push_back(shape);
    }
    if (Status prepared = session.Prepare(shapes); !prepared.ok()) return Fail(prepared);
    *bytes = session.arena_bytes();
    return LWAI_OK;
  });
}

LwaiStatus SessionCreate(const LwaiModel* model, const LwaiSessionOptions* options,
                         LwaiSession** session) {
  if (model == nullptr || session == nullptr) {
    return ArgumentError(LWAI_MSG("session_create: null argument"));
  }
  if (LwaiStatus checked = CheckOptions(options); checked != LWAI_OK) return checked;
  return Guarded("session_create", [&] {
    auto created = lwai::Session::Create(model->model, ToSessionOptions(options));
    if (!created.ok()) return Fail(created.status());
    auto wrapped = std::make_unique<LwaiSession>();
    wrapped->session = std::move(created).value();
    const size_t inputs = wrapped->session->inputs().size();
    wrapped->declared_inputs = DeclaredDims(wrapped->session->inputs());
    wrapped->declared_outputs = DeclaredDims(wrapped->session->outputs());
    wrapped->outputs.resize(wrapped->session->outputs().size());
    wrapped->inputs.resize(inputs);
    wrapped->input_set.assign(inputs, 0);
    *session = wrapped.release();
    return LWAI_OK;
  });
}

void SessionRelease(LwaiSession* session) { delete session; }

size_t SessionInputCount(const LwaiSession* session) {
  return session != nullptr ? session->session->inputs().size() : 0;
}

size_t SessionOutputCount(const LwaiSession* session) {
  return session != nullptr ? session->session->outputs().size() : 0;
}

LwaiStatus TensorInfoOf(const LwaiSession* session, size_t index, bool input, const char** name,
                        LwaiTensor* info) {
  const char* function = input ? "session_input_info" : "session_output_info";
  if (session == nullptr || name == nullptr || info == nullptr) {
    return ArgumentError(LWAI_MSG(std::string(function) + ": null argument"));
  }
  const std::vector<lwai::TensorInfo>& tensors =
      input ? session->session->inputs() : session->session->outputs();
  if (index >= tensors.size()) {
    return ArgumentError(LWAI_MSG(std::string(function) + ": index " + std::to_string(index) +
                                  " out of range (the model has " + std::to_string(tensors.size()) +
                                  (input ? " inputs)" : " outputs)")));
  }
  const lwai::TensorInfo& tensor = tensors[index];
  const auto& dims = input ? session->declared_inputs : session->declared_outputs;
  info->dtype = static_cast<LwaiDataType>(tensor.dtype);
  info->rank = tensor.shape_known
                   ? static_cast<int32_t>(std::min<size_t>(tensor.shape.size(), lwai::kMaxRank))
                   : -1;
  info->dims = dims[index].data();
  info->data = nullptr;
  info->byte_size = 0;
  *name = tensors[index].name.c_str();
  return LWAI_OK;
}

LwaiStatus SessionInputInfo(const LwaiSession* session, size_t index, const char** name,
                            LwaiTensor* info) {
  return TensorInfoOf(session, index, true, name, info);
}

LwaiStatus SessionOutputInfo(const LwaiSession* session, size_t index, const char** name,
                             LwaiTensor* info) {
  return TensorInfoOf(session, index, false, name, info);
}

LwaiStatus SessionSetInput(LwaiSession* session, size_t index, const LwaiTensor* tensor) {
  if (session == nullptr || tensor == nullptr) {
    return ArgumentError(LWAI_MSG("session_set_input: null argument"));
  }
  const std::vector<lwai::TensorInfo>& inputs = session->session->inputs();
  if (index >= inputs.size()) {
    return ArgumentError(LWAI_MSG("session_set_input: index " + std::to_string(index) +
                                  " out of range (the model has " + std::to_string(inputs.size()) +
                                  " inputs)"));
  }
  const std::string& name = inputs[index].name;
  if (tensor->rank < 0 || tensor->rank > lwai::kMaxRank ||
      (tensor->rank > 0 && tensor->dims == nullptr)) {
    return ArgumentError(LWAI_MSG("session_set_input: input '" + name + "': rank " +
                                  std::to_string(tensor->rank) + " with " +
                                  (tensor->dims == nullptr ? "no dims" : "dims") + " (rank 0 to " +
                                  std::to_string(lwai::kMaxRank) + ")"));
  }
  lwai::TensorRef ref;
  ref.dtype = static_cast<DataType>(tensor->dtype);
  ref.shape.rank = tensor->rank;
  for (int d = 0; d < tensor->rank; ++d) ref.shape[d] = tensor->dims[d];
  const size_t element = lwai::DataTypeSize(ref.dtype);
  uint64_t bytes = 0;
  if (element == 0 || !ref.shape.CheckedByteSize(element, &bytes)) {
    return ArgumentError(LWAI_MSG("session_set_input: input '" + name + "': dtype " +
                                  std::to_string(tensor->dtype) + " and shape " +
                                  ref.shape.ToString() + " do not make a tensor"));
  }
  if (bytes != tensor->byte_size || (bytes > 0 && tensor->data == nullptr)) {
    return ArgumentError(LWAI_MSG(
        "session_set_input: input '" + name + "': " + std::string(lwai::DataTypeName(ref.dtype)) +
        " " + ref.shape.ToString() + " takes " + std::to_string(bytes) + " bytes, got " +
        std::to_string(tensor->byte_size) + (tensor->data == nullptr ? " and no data" : "")));
  }
  ref.data = tensor->data;
  session->inputs[index] = ref;
  session->input_set[index] = 1;
  return LWAI_OK;
}

LwaiStatus SessionRun(LwaiSession* session) {
  if (session == nullptr) return ArgumentError(LWAI_MSG("session_run: null session"));
  for (size_t i = 0; i < session->input_set.size(); ++i) {
    if (!session->input_set[i]) {
      return ArgumentError(LWAI_MSG("session_run: input '" + session->session->inputs()[i].name +
                                    "' was not set (session_set_input)"));
    }
  }
  return Guarded("session_run", [&] {
    if (Status run = session->session->Run(session->inputs); !run.ok()) return Fail(run);
    return LWAI_OK;
  });
}

LwaiStatus SessionOutput(LwaiSession* session, size_t index, LwaiTensor* output) {
  if (session == nullptr || output == nullptr) {
    return ArgumentError(LWAI_MSG("session_output: null argument"));
  }
  if (index >= session->outputs.size()) {
    return ArgumentError(LWAI_MSG("session_output: index " + std::to_string(index) +
                                  " out of range (the model has " +
                                  std::to_string(session->outputs.size()) + " outputs)"));
  }
  const lwai::TensorRef ref = session->session->output(static_cast<int>(index));
  if (ref.dtype == DataType::kUndefined) {
    return ArgumentError(LWAI_MSG("session_output: no successful run yet"));
  }
  std::array<int64_t, lwai::kMaxRank>& dims = session->outputs[index];
  for (int d = 0; d < ref.shape.rank; ++d) dims[d] = ref.shape[d];
  uint64_t bytes = 0;
  if (!ref.shape.CheckedByteSize(lwai::DataTypeSize(ref.dtype), &bytes)) {
    return Fail(StatusCode::kInternal, "session_output: output shape overflows");
  }
  output->dtype = static_cast<LwaiDataType>(ref.dtype);
  output->rank = ref.shape.rank;
  output->dims = dims.data();
  output->data = ref.data;
  output->byte_size = static_cast<size_t>(bytes);
  return LWAI_OK;
}

constexpr LwaiApi kApiV1 = {
    1,
    LastError,
    ModelLoadFile,
    ModelLoadBuffer,
    ModelRelease,
    SessionOptionsInit,
    SessionMemoryBytes,
    SessionCreate,
    SessionRelease,
    SessionInputCount,
    SessionOutputCount,
    SessionInputInfo,
    SessionOutputInfo,
    SessionSetInput,
    SessionRun,
    SessionOutput,
};

}  // namespace

extern "C" const LwaiApi* lwai_get_api(uint32_t version) {
  return version == 1 ? &kApiV1 : nullptr;
}
