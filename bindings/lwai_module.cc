// The lwai Python extension: translation only. numpy <-> tensors, Status -> exceptions (one
// class per StatusCode), GIL released while a session runs.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdlib>
#include <cstring>
#include <map>

#include "ir/graph.h"
#include "ir/operators_used.h"
#include "kernels/kernel_api.h"
#include "lwai/model.h"
#include "lwai/session.h"
#include "passes/passes.h"
#include "passes/quantize.h"
#include "runtime/backend.h"
#include "runtime/control_flow.h"

namespace py = pybind11;

namespace lwai {
namespace {

struct StatusError {
  Status status;
  // Raised instead of the class of the status code when set (a more specific subclass).
  PyObject* python_class = nullptr;
};

PyObject* g_error_classes[11] = {};
// kNotFound from creating a session: an unknown backend name or a missing plugin library.
PyObject* g_backend_not_found = nullptr;

void ThrowIfError(const Status& status) {
  if (!status.ok()) throw StatusError{status};
}

template <typename T>
T ValueOrThrow(Result<T> result) {
  ThrowIfError(result.status());
  return std::move(result).value();
}

void RegisterErrors(py::module_& m) {
  PyObject* base = PyErr_NewExceptionWithDoc("lwai.LwaiError", "Base class of lwai errors.",
                                             PyExc_RuntimeError, nullptr);
  struct Spec {
    StatusCode code;
    const char* name;
    PyObject* python_base;
    const char* doc;
  };
  const Spec specs[] = {
      {StatusCode::kInvalidArgument, "InvalidArgumentError", PyExc_ValueError,
       "Bad arguments: wrong input name, dtype, count, ..."},
      {StatusCode::kInvalidModel, "InvalidModelError", PyExc_ValueError,
       "A malformed, truncated or inconsistent model."},
      {StatusCode::kUnsupported, "UnsupportedOperatorError", PyExc_NotImplementedError,
       "A valid model that uses operators or attributes lwai cannot run."},
      {StatusCode::kShapeMismatch, "ShapeMismatchError", PyExc_ValueError,
       "Shapes that do not fit the model or each other."},
      {StatusCode::kNotFound, "ModelNotFoundError", PyExc_FileNotFoundError,
       "A file or name that does not exist."},
      {StatusCode::kIoError, "LwaiIOError", PyExc_OSError, "Reading or writing failed."},
      {StatusCode::kOutOfMemory, "OutOfMemoryError", PyExc_MemoryError, "Allocation failed."},
      {StatusCode::kInternal, "InternalError", nullptr, "A bug in lwai: please report it."},
      {StatusCode::kDeadlineExceeded, "DeadlineExceededError", PyExc_TimeoutError,
       "A run passed its timeout, or an evaluation its work limit."},
      {StatusCode::kCancelled, "CancelledError", nullptr, "The run was cancelled."},
  };
  m.attr("LwaiError") = py::reinterpret_borrow<py::object>(base);
  g_error_classes[static_cast<int>(StatusCode::kOk)] = base;
  for (const Spec& spec : specs) {
    PyObject* bases =
        spec.python_base ? PyTuple_Pack(2, base, spec.python_base) : PyTuple_Pack(1, base);
    const std::string qualified = std::string("lwai.") + spec.name;
    PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), spec.doc, bases, nullptr);
    Py_DECREF(bases);
    g_error_classes[static_cast<int>(spec.code)] = cls;
    m.attr(spec.name) = py::reinterpret_borrow<py::object>(cls);
  }
  PyObject* bases = PyTuple_Pack(2, base, PyExc_LookupError);
  g_backend_not_found = PyErr_NewExceptionWithDoc(
      "lwai.BackendNotFoundError", "An unknown backend name or a missing plugin library.", bases,
      nullptr);
  Py_DECREF(bases);
  m.attr("BackendNotFoundError") = py::reinterpret_borrow<py::object>(g_backend_not_found);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusError& e) {
      const std::string& m = e.status.message();
      PyObject* text = PyUnicode_DecodeUTF8(m.data(), static_cast<Py_ssize_t>(m.size()), "replace");
      PyObject* cls = e.python_class != nullptr
                          ? e.python_class
                          : g_error_classes[static_cast<int>(e.status.code())];
      PyErr_SetObject(cls, text);
      Py_XDECREF(text);
    }
  });
}

// The numpy equivalents of lwai dtypes: (numpy kind, item size) identify a dtype.
struct NumpyType {
  DataType type;
  char kind;
  size_t itemsize;
  const char* name;
};
constexpr NumpyType kNumpyTypes[] = {
    {DataType::kFloat32, 'f', 4, "float32"}, {DataType::kFloat16, 'f', 2, "float16"},
    {DataType::kFloat64, 'f', 8, "float64"}, {DataType::kInt8, 'i', 1, "int8"},
    {DataType::kInt16, 'i', 2, "int16"},     {DataType::kInt32, 'i', 4, "int32"},
    {DataType::kInt64, 'i', 8, "int64"},     {DataType::kUInt8, 'u', 1, "uint8"},
    {DataType::kUInt16, 'u', 2, "uint16"},   {DataType::kUInt32, 'u', 4, "uint32"},
    {DataType::kUInt64, 'u', 8, "uint64"},   {DataType::kBool, 'b', 1, "bool"},
};

// Types numpy lacks: ml_dtypes (an onnx dependency) registers them with numpy, by these
// names (numpy kind 'V'). Its 4-bit types hold one element per byte, as lwai does.
struct MlDtypesType {
  DataType type;
  size_t itemsize;
  const char* name;  // the ml_dtypes attribute, which is also str(numpy dtype)
};
constexpr MlDtypesType kMlDtypesTypes[] = {
    {DataType::kBFloat16, 2, "bfloat16"},
    {DataType::kInt4, 1, "int4"},
    {DataType::kUInt4, 1, "uint4"},
    {DataType::kFloat4E2M1, 1, "float4_e2m1fn"},
};

py::dtype ToNumpy(DataType type) {
  for (const NumpyType& t : kNumpyTypes) {
    if (t.type == type) return py::dtype(t.name);
  }
  for (const MlDtypesType& t : kMlDtypesTypes) {
    if (t.type == type) {
      return py::dtype::from_args(py::module_::import("ml_dtypes").attr(t.name));
    }
  }
  throw StatusError{Unsupported(std::string("no numpy dtype for ") + DataTypeName(type))};
}

// kUndefined for dtypes lwai has no equivalent of, and for non-native byte order (whose bytes
// the kernels would misread).
DataType FromNumpy(const py::dtype& dtype) {
  if (!dtype.attr("isnative").cast<bool>()) return DataType::kUndefined;
  for (const NumpyType& t : kNumpyTypes) {
    if (t.kind == dtype.kind() && t.itemsize == static_cast<size_t>(dtype.itemsize()))
      return t.type;
  }
  if (dtype.kind() == 'V') {
    const std::string name = py::str(dtype).cast<std::string>();
    for (const MlDtypesType& t : kMlDtypesTypes) {
      if (t.itemsize == static_cast<size_t>(dtype.itemsize()) && name == t.name) return t.type;
    }
  }
  return DataType::kUndefined;
}

py::dict DescribeInfo(const TensorInfo& info) {
  py::list shape;
  for (size_t d = 0; d < info.shape.size(); ++d) {
    if (info.shape[d] >= 0) {
      shape.append(info.shape[d]);
    } else if (!info.dim_names[d].empty()) {
      shape.append(info.dim_names[d]);
    } else {
      shape.append(py::none());
    }
  }
  py::dict d;
  d["name"] = info.name;
  d["dtype"] = DataTypeName(info.dtype);
  d["shape"] = info.shape_known ? py::object(py::tuple(shape)) : py::object(py::none());
  return d;
}

py::list DescribeTensors(const Graph& graph, const std::vector<int>& indices) {
  py::list list;
  for (int t : indices) list.append(DescribeInfo(graph.tensors[t].Info()));
  return list;
}

// A finished subgraph, to be given to GraphBuilder.add_node as an attribute value.
struct Subgraph {
  std::shared_ptr<const Graph> graph;
};

Attribute ToAttribute(const std::string& name, const py::handle& value) {
  Attribute a;
  a.name = name;
  if (py::isinstance<Subgraph>(value)) {
    a.type = AttributeType::kGraph;
    a.graph = value.cast<const Subgraph&>().graph;
  } else if (py::isinstance<py::bool_>(value) || py::isinstance<py::int_>(value)) {
    a.type = AttributeType::kInt;
    a.i = value.cast<int64_t>();
  } else if (py::isinstance<py::float_>(value)) {
    a.type = AttributeType::kFloat;
    a.f = value.cast<float>();
  } else if (py::isinstance<py::str>(value) || py::isinstance<py::bytes>(value)) {
    a.type = AttributeType::kString;
    a.s = value.cast<std::string>();
  } else if (py::isinstance<py::sequence>(value)) {
    bool all_int = true;
    for (const py::handle& item : value) all_int = all_int && py::isinstance<py::int_>(item);
    if (all_int) {
      a.type = AttributeType::kInts;
      a.ints = value.cast<std::vector<int64_t>>();
    } else {
      a.type = AttributeType::kFloats;
      a.floats = value.cast<std::vector<float>>();
    }
  } else {
    throw StatusError{InvalidArgument("attribute '" + name + "' has an unsupported Python type")};
  }
  return a;
}

// Builds a Graph from converter calls; finish() validates, optimizes and returns a Model.
QuantizationOptions ParseQuantizationOptions(const py::dict& options) {
  QuantizationOptions parsed;
  for (const auto& [key, value] : options) {
    const std::string name = py::str(key);
    if (name == "activations_signed") {
      parsed.activations_signed = value.cast<bool>();
    } else if (name == "per_channel") {
      parsed.per_channel = value.cast<bool>();
    } else if (name == "exclude_nodes") {
      parsed.exclude_nodes = value.cast<std::vector<std::string>>();
    } else if (name == "exclude_ops") {
      for (const std::string& op : value.cast<std::vector<std::string>>()) {
        OpType parsed_op;
        if (!ParseOpType(op, &parsed_op)) {
          ThrowIfError(InvalidArgument("exclude_ops: unknown operator '" + op + "'"));
        }
        parsed.exclude_ops.push_back(parsed_op);
      }
    } else {
      ThrowIfError(InvalidArgument("unknown quantization option '" + name + "'"));
    }
  }
  return parsed;
}

class GraphBuilder {
 public:
  int AddTensor(const std::string& name, int dtype, const py::object& shape,
                const py::object& data) {
    TensorDesc desc;
    desc.name = name;
    desc.dtype = static_cast<DataType>(dtype);
    if (DataTypeSize(desc.dtype) == 0 && (dtype != 0 || !data.is_none())) {
      throw StatusError{Unsupported("tensor '" + name + "' has dtype " + std::to_string(dtype) +
                                    " which lwai cannot hold")};
    }
    if (!shape.is_none()) {
      desc.shape_known = true;
      for (const py::handle& d : shape) {
        if (py::isinstance<py::int_>(d)) {
          desc.shape.push_back(Dim{d.cast<int64_t>(), ""});
        } else {
          desc.shape.push_back(Dim{-1, d.is_none() ? "" : d.cast<std::string>()});
        }
      }
    }
    if (!data.is_none()) {
      py::buffer_info buffer = py::buffer(data).request();
      const size_t bytes = static_cast<size_t>(buffer.size * buffer.itemsize);
      desc.constant = ConstantData::Copy(buffer.ptr, bytes);
      if (bytes == 0) {
        static const uint8_t kEmpty[1] = {0};
        desc.constant.data = kEmpty;
      }
    }
    const int index = graph_->FindTensor(name);
    if (index >= 0) throw StatusError{InvalidModel("tensor '" + name + "' is defined twice")};
    return graph_->AddTensor(std::move(desc));
  }

  void AddNode(const std::string& name, const std::string& op, const std::vector<int>& inputs,
               const std::vector<int>& outputs, const py::dict& attributes) {
    Node node;
    node.name = name;
    if (!ParseOpType(op, &node.op)) {
      throw StatusError{Unsupported("node '" + name + "': lwai has no operator '" + op + "'")};
    }
    node.inputs = inputs;
    node.outputs = outputs;
    for (const auto& item : attributes) {
      node.attributes.push_back(ToAttribute(item.first.cast<std::string>(), item.second));
    }
    graph_->nodes.push_back(std::move(node));
  }

  std::shared_ptr<Model> Finish(const std::string& producer, const std::string& source_format,
                                int64_t opset, bool optimize, const std::vector<int>& inputs,
                                const std::vector<int>& outputs,
                                const std::vector<std::pair<std::string, std::string>>& metadata) {
    graph_->inputs = inputs;
    graph_->outputs = outputs;
    auto info = std::make_unique<ModelInfo>();
    info->producer = producer;
    info->source_format = source_format;
    info->source_opset = opset;
    info->metadata = metadata;
    std::unique_ptr<Graph> graph = std::move(graph_);
    graph_ = std::make_unique<Graph>();
    {
      py::gil_scoped_release release;
      ThrowIfError(graph->SortTopologically());
      ThrowIfError(graph->Validate());
      ThrowIfError(graph->CheckSubgraphDepth());
      if (optimize) {
        ThrowIfError(OptimizeGraph(*graph));
        info->optimized = true;
      } else {
        ThrowIfError(InferShapes(*graph));
      }
    }
    return std::make_shared<Model>(std::move(graph), std::move(info), nullptr);
  }

  // Finishes the graph built so far as a subgraph (no optimization: its shapes are known only
  // when it runs) and starts a new one.
  Subgraph FinishSubgraph(const std::vector<int>& inputs, const std::vector<int>& outputs) {
    graph_->inputs = inputs;
    graph_->outputs = outputs;
    std::shared_ptr<Graph> graph = std::move(graph_);
    graph_ = std::make_unique<Graph>();
    ThrowIfError(graph->SortTopologically());
    ThrowIfError(graph->Validate());
    return Subgraph{std::move(graph)};
  }

 private:
  std::unique_ptr<Graph> graph_ = std::make_unique<Graph>();
};

py::bytes ToBytes(const std::vector<uint8_t>& bytes) {
  return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

class PySession {
 public:
  PySession(std::shared_ptr<Model> model, int threads, std::vector<std::string> backends,
            uint64_t max_memory_bytes, int64_t timeout_ms) {
    SessionOptions options;
    options.threads = threads;
    options.backends = std::move(backends);
    options.max_memory_bytes = max_memory_bytes;
    options.timeout_ms = timeout_ms;
    Result<std::unique_ptr<Session>> session = [&] {
      py::gil_scoped_release release;
      return Session::Create(std::move(model), options);
    }();
    // The model is loaded already: NotFound can only be about backends.
    if (!session.ok() && session.status().code() == StatusCode::kNotFound) {
      throw StatusError{session.status(), g_backend_not_found};
    }
    session_ = ValueOrThrow(std::move(session));
  }

  // `out`: empty, or one entry per graph output: None (a new array) or a C-contiguous,
  // writeable array of the output's dtype and shape that receives it. Outputs whose shapes are
  // known before the run are written by the kernels straight into their arrays (the caller's, or
  // new 64-byte-aligned ones), without a copy; a shape mismatch raises InvalidArgumentError
  // before any node runs. Data-dependent outputs are copied after the run, once every such
  // shape was checked.
  py::list Run(const std::vector<py::array>& arrays, int64_t timeout_ms,
               const std::vector<py::object>& out) {
    const auto& output_infos = session_->outputs();
    if (!out.empty() && out.size() != output_infos.size()) {
      throw StatusError{InvalidArgument("out has " + std::to_string(out.size()) +
                                        " entries for a model with " +
                                        std::to_string(output_infos.size()) + " outputs")};
    }
    const size_t num_outputs = output_infos.size();
    std::vector<py::array> out_arrays(num_outputs);
    std::vector<Shape> out_shapes(num_outputs);
    std::vector<DataType> out_dtypes(num_outputs, DataType::kUndefined);
    std::vector<bool> given(num_outputs, false);
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i].is_none()) continue;
      const std::string what = "out array for output '" + output_infos[i].name + "'";
      if (!py::isinstance<py::array>(out[i])) {
        throw StatusError{InvalidArgument(what + " is not a numpy array")};
      }
      py::array a = py::reinterpret_borrow<py::array>(out[i]);
      if (FromNumpy(a.dtype()) != output_infos[i].dtype) {
        throw StatusError{InvalidArgument(what + ": expected dtype " +
                                          DataTypeName(output_infos[i].dtype) + ", got " +
                                          py::str(a.dtype()).cast<std::string>())};
      }
      if (!(a.flags() & py::array::c_style) || !a.writeable()) {
        throw StatusError{InvalidArgument(what + " must be C-contiguous and writeable")};
      }
      if (a.ndim() > kMaxRank) throw StatusError{InvalidArgument(what + ": rank above 8")};
      for (py::ssize_t d = 0; d < a.ndim(); ++d) {
        out_shapes[i].dims[out_shapes[i].rank++] = a.shape(d);
      }
      out_dtypes[i] = FromNumpy(a.dtype());
      out_arrays[i] = std::move(a);
      given[i] = true;
    }

    std::vector<py::array> contiguous;
    std::vector<TensorRef> refs;
    const auto& infos = session_->inputs();
    for (size_t i = 0; i < arrays.size(); ++i) {
      py::array a = py::array::ensure(arrays[i], py::array::c_style);
      if (!a) throw StatusError{InvalidArgument("input " + std::to_string(i) + " is not an array")};
      TensorRef ref;
      ref.dtype = FromNumpy(a.dtype());
      if (ref.dtype == DataType::kUndefined) {
        throw StatusError{InvalidArgument(
            "input '" + (i < infos.size() ? infos[i].name : "?") + "': numpy dtype " +
            py::str(a.dtype()).cast<std::string>() + " has no lwai equivalent")};
      }
      if (a.ndim() > kMaxRank) throw StatusError{InvalidArgument("input rank above 8")};
      for (py::ssize_t d = 0; d < a.ndim(); ++d) ref.shape.dims[ref.shape.rank++] = a.shape(d);
      ref.data = a.data();
      refs.push_back(ref);
      contiguous.push_back(std::move(a));
    }
    // Placed without the GIL: the caller's arrays (their pointers were read above), or new
    // aligned buffers that become the returned arrays.
    std::vector<std::unique_ptr<void, AlignedFree>> fresh(num_outputs);
    auto place = [&](int i, DataType dtype, const Shape& shape, void** data) -> Status {
      if (given[i]) {
        // The declared dtype was checked; a model may compute another.
        if (dtype != out_dtypes[i]) return OutDtypeMismatch(i, dtype, out_dtypes[i]);
        if (!(shape == out_shapes[i])) return OutMismatch(i, shape, out_shapes[i]);
        *data = out_arrays[i].mutable_data();
        return Status::Ok();
      }
      uint64_t bytes = 0;
      if (!shape.CheckedByteSize(DataTypeSize(dtype), &bytes) || bytes > SIZE_MAX - 64) {
        return Status(StatusCode::kOutOfMemory, "output '" + output_infos[i].name + "' of shape " +
                                                    shape.ToString() + " is too large");
      }
      const size_t rounded = (static_cast<size_t>(bytes) + 63) / 64 * 64;
      fresh[i].reset(std::aligned_alloc(64, rounded == 0 ? 64 : rounded));
      if (fresh[i] == nullptr) {
        return Status(StatusCode::kOutOfMemory, "cannot allocate output '" + output_infos[i].name +
                                                    "' of shape " + shape.ToString());
      }
      *data = fresh[i].get();
      return Status::Ok();
    };
    RunOptions options;
    options.timeout_ms = timeout_ms;
    py::list outputs;
    Status out_status;
    // What was not placed (data-dependent outputs) is copied while the session is still held:
    // another thread's run cannot overwrite it in between. The GIL is taken back only then.
    auto collect = [&](const std::vector<TensorRef>& results) {
      py::gil_scoped_acquire acquire;
      for (size_t i = 0; i < num_outputs; ++i) {
        if (!given[i] || results[i].data == out_arrays[i].data()) continue;
        if (results[i].dtype != out_dtypes[i]) {
          out_status = OutDtypeMismatch(static_cast<int>(i), results[i].dtype, out_dtypes[i]);
          return;
        }
        if (!(results[i].shape == out_shapes[i])) {
          out_status = OutMismatch(static_cast<int>(i), results[i].shape, out_shapes[i]);
          return;
        }
      }
      for (size_t i = 0; i < num_outputs; ++i) {
        const TensorRef& result = results[i];
        const std::vector<py::ssize_t> shape(result.shape.dims,
                                             result.shape.dims + result.shape.rank);
        if (given[i]) {
          if (result.data != out_arrays[i].data() && out_arrays[i].nbytes() > 0) {
            std::memcpy(out_arrays[i].mutable_data(), result.data, out_arrays[i].nbytes());
          }
          outputs.append(out_arrays[i]);
        } else if (fresh[i] != nullptr) {
          void* buffer = fresh[i].release();
          py::capsule owner(buffer, [](void* p) { std::free(p); });
          outputs.append(py::array(ToNumpy(result.dtype), shape, buffer, owner));
        } else {
          py::array array(ToNumpy(result.dtype), shape);
          if (array.nbytes() > 0) std::memcpy(array.mutable_data(), result.data, array.nbytes());
          outputs.append(array);
        }
      }
    };
    Status status;
    {
      py::gil_scoped_release release;
      status = session_->Run(refs, options, place, collect);
    }
    ThrowIfError(status);
    ThrowIfError(out_status);
    return outputs;
  }

  // An out array whose dtype is not the one the run computes.
  Status OutDtypeMismatch(int i, DataType output, DataType array) const {
    return InvalidArgument("out array for output '" + session_->outputs()[i].name +
                           "': the output is " + DataTypeName(output) + ", the array " +
                           DataTypeName(array));
  }

  // An out array whose shape is not the output's.
  Status OutMismatch(int i, const Shape& output, const Shape& array) const {
    std::string tuple = "(";
    for (int d = 0; d < array.rank; ++d) {
      tuple += (d ? ", " : "") + std::to_string(array.dims[d]);
    }
    tuple += array.rank == 1 ? ",)" : ")";
    return InvalidArgument("out array for output '" + session_->outputs()[i].name +
                           "': the output has shape " + output.ToString() + ", the array " + tuple);
  }

  void Prepare(const std::vector<std::vector<int64_t>>& shapes) {
    std::vector<Shape> converted;
    for (const auto& dims : shapes) {
      Shape s;
      if (dims.size() > static_cast<size_t>(kMaxRank)) {
        throw StatusError{InvalidArgument("prepare: rank " + std::to_string(dims.size()) +
                                          " is above lwai's maximum of 8")};
      }
      for (int64_t d : dims) s.dims[s.rank++] = d;
      converted.push_back(s);
    }
    py::gil_scoped_release release;
    ThrowIfError(session_->Prepare(converted));
  }

  py::list Inputs() const {
    py::list l;
    for (const auto& i : session_->inputs()) l.append(DescribeInfo(i));
    return l;
  }
  py::list Outputs() const {
    py::list l;
    for (const auto& o : session_->outputs()) l.append(DescribeInfo(o));
    return l;
  }
  // Methods that take the session's lock release the GIL first: a run on another thread holds
  // that lock and takes the GIL to copy its outputs.
  size_t ArenaBytes() const {
    py::gil_scoped_release release;
    return session_->arena_bytes();
  }
  size_t UnsharedBytes() const {
    py::gil_scoped_release release;
    return session_->unshared_bytes();
  }
  std::vector<std::string> Backends() const { return session_->backend_names(); }

  // Per graph node: {"backend", "kernel", "folded"}.
  py::list NodeAssignments() const {
    py::list list;
    std::vector<Session::NodeAssignment> assignments;
    {
      py::gil_scoped_release release;
      assignments = session_->node_assignments();
    }
    for (const Session::NodeAssignment& a : assignments) {
      py::dict d;
      d["backend"] = a.backend;
      d["kernel"] = a.kernel;
      d["folded"] = a.folded;
      list.append(d);
    }
    return list;
  }

  // Shapes as tuples, None for omitted inputs.
  static py::list ShapeList(const std::vector<Shape>& shapes) {
    py::list list;
    for (const Shape& shape : shapes) {
      if (shape.rank < 0) {
        list.append(py::none());
      } else {
        list.append(py::tuple(py::cast(std::vector<int64_t>(shape.dims, shape.dims + shape.rank))));
      }
    }
    return list;
  }

  // Per graph node: (input shapes, output shapes); empty before the first prepare.
  py::list NodeShapes() const {
    const auto convert = &PySession::ShapeList;
    py::list list;
    std::vector<Session::NodeShapes> node_shapes;
    {
      py::gil_scoped_release release;
      node_shapes = session_->node_shapes();
    }
    for (const Session::NodeShapes& s : node_shapes) {
      list.append(py::make_tuple(convert(s.inputs), convert(s.outputs)));
    }
    return list;
  }

  void SetProfiling(bool enabled) {
    py::gil_scoped_release release;
    session_->set_profiling(enabled);
  }
  std::vector<int64_t> NodeTimeNs() const {
    py::gil_scoped_release release;
    return session_->node_time_ns();
  }
  // The last run's subgraph nodes (profiling on): dicts with parent, path, op, backend, kernel,
  // inputs, outputs (shapes), time_ns, calls.
  py::list SubgraphProfiles() const {
    std::vector<SubgraphNodeProfile> profiles;
    {
      py::gil_scoped_release release;
      profiles = session_->subgraph_profiles();
    }
    py::list list;
    for (const SubgraphNodeProfile& p : profiles) {
      py::dict d;
      d["parent"] = p.parent;
      d["path"] = p.path;
      d["op"] = p.op;
      d["backend"] = p.backend;
      d["kernel"] = p.kernel;
      d["inputs"] = ShapeList(p.input_shapes);
      d["outputs"] = ShapeList(p.output_shapes);
      d["time_ns"] = p.time_ns;
      d["calls"] = p.calls;
      list.append(d);
    }
    return list;
  }

 private:
  std::unique_ptr<Session> session_;
};

// A model made of `graph`, rewritten from `model`: it keeps `model` alive (their constants
// share bytes) and its info, marked optimized when the rewrite ran the optimizer.
std::shared_ptr<Model> DerivedModel(const std::shared_ptr<Model>& model,
                                    std::unique_ptr<Graph> graph, bool optimized) {
  auto info = std::make_unique<ModelInfo>(model->info());
  if (optimized) info->optimized = true;
  return std::make_shared<Model>(std::move(graph), std::move(info),
                                 std::shared_ptr<const void>(model));
}

py::list DescribeNodes(const Model& model) {
  const Graph& g = model.graph();
  py::list nodes;
  for (const Node& node : g.nodes) {
    py::dict d;
    d["name"] = node.name;
    d["op"] = OpTypeName(node.op);
    py::list inputs, outputs;
    for (int t : node.inputs)
      inputs.append(t >= 0 ? py::object(py::str(g.tensors[t].name)) : py::object(py::none()));
    for (int t : node.outputs)
      outputs.append(t >= 0 ? py::object(py::str(g.tensors[t].name)) : py::object(py::none()));
    d["inputs"] = inputs;
    d["outputs"] = outputs;
    py::dict attrs;
    for (const Attribute& a : node.attributes) {
      switch (a.type) {
        case AttributeType::kInt:
          attrs[a.name.c_str()] = a.i;
          break;
        case AttributeType::kFloat:
          attrs[a.name.c_str()] = a.f;
          break;
        case AttributeType::kInts:
          attrs[a.name.c_str()] = a.ints;
          break;
        case AttributeType::kFloats:
          attrs[a.name.c_str()] = a.floats;
          break;
        case AttributeType::kString:
          attrs[a.name.c_str()] = a.s;
          break;
        case AttributeType::kGraph:
          attrs[a.name.c_str()] =
              "<subgraph of " + std::to_string(a.graph->nodes.size()) + " nodes>";
          break;
      }
    }
    d["attributes"] = attrs;
    nodes.append(d);
  }
  return nodes;
}

}  // namespace
}  // namespace lwai

PYBIND11_MODULE(_lwai, m) {
  using namespace lwai;
  m.doc() = "lwai native core (use the `lwai` package, not this module directly)";
  RegisterErrors(m);

  m.def("supported_ops", [] {
    std::vector<std::string> names;
    for (OpType op : ReferenceOps()) names.push_back(OpTypeName(op));
    for (OpType op : ControlFlowOps()) names.push_back(OpTypeName(op));
    return names;
  });
  m.attr("SCHEMA_VERSION") = kSchemaVersion;
  m.def("available_backends", &AvailableBackends,
        "Built-in backends of this build, fastest first; 'reference' is always last.");
  m.def("installed_plugins", &InstalledPlugins,
        "lwai's vendor plugins installed next to this module (e.g. 'onednn'), loadable by name.");

  py::class_<Model, std::shared_ptr<Model>>(m, "Model")
      .def_static(
          "load",
          [](const std::string& path, bool verify_checksums) {
            LoadOptions options;
            options.verify_checksums = verify_checksums;
            py::gil_scoped_release release;
            return ValueOrThrow(Model::LoadFile(path, options));
          },
          py::arg("path"), py::arg("verify_checksums") = true)
      .def_static(
          "load_bytes",
          [](py::bytes data, bool verify_checksums) {
            LoadOptions options;
            options.verify_checksums = verify_checksums;
            std::string_view view = data;
            return ValueOrThrow(Model::LoadBuffer(view.data(), view.size(), true, options));
          },
          py::arg("data"), py::arg("verify_checksums") = true)
      .def_static("load_json",
                  [](const std::string& text) { return ValueOrThrow(Model::LoadJson(text)); })
      .def("save",
           [](const Model& model, const std::string& path) {
             py::gil_scoped_release release;
             ThrowIfError(model.Save(path));
           })
      .def("to_bytes", [](const Model& model) { return ToBytes(ValueOrThrow(model.Serialize())); })
      .def("to_json", [](const Model& model) { return ValueOrThrow(model.ToJson()); })
      .def_property_readonly(
          "inputs",
          [](const Model& model) { return DescribeTensors(model.graph(), model.graph().inputs); })
      .def_property_readonly(
          "outputs",
          [](const Model& model) { return DescribeTensors(model.graph(), model.graph().outputs); })
      .def_property_readonly("nodes", &DescribeNodes)
      .def(
          "operators_used",
          [](const Model& model) {
            std::vector<std::pair<std::string, std::vector<std::string>>> list;
            for (const OperatorUse& use : OperatorsUsed(model.graph())) {
              std::vector<std::string> dtypes;
              for (DataType dtype : use.dtypes) dtypes.push_back(DataTypeName(dtype));
              list.emplace_back(OpTypeName(use.op), std::move(dtypes));
            }
            return list;
          },
          "(operator, [dtypes it reads]) for every operator the model uses, subgraphs "
          "included, by name.")
      .def(
          "tensor_info",
          [](const Model& model, const std::string& name) -> py::object {
            const int t = model.graph().FindTensor(name);
            if (t < 0) return py::none();
            return DescribeInfo(model.graph().tensors[t].Info());
          },
          "Name, dtype and shape of tensor `name` as the converter inferred them, or None.")
      .def(
          "constant",
          [](const Model& model, const std::string& name) -> py::object {
            const int t = model.graph().FindTensor(name);
            if (t < 0 || !model.graph().tensors[t].is_constant()) return py::none();
            const TensorDesc& desc = model.graph().tensors[t];
            std::vector<py::ssize_t> shape;
            for (const Dim& d : desc.shape) shape.push_back(d.value);
            py::array array(ToNumpy(desc.dtype), shape);
            if (desc.constant.size > 0) {
              std::memcpy(array.mutable_data(), desc.constant.data, desc.constant.size);
            }
            return std::move(array);
          },
          "A copy of the constant tensor `name`, or None when there is no such constant.")
      .def_property_readonly("parameter_bytes", &Model::parameter_bytes)
      .def_property_readonly("producer", [](const Model& m) { return m.info().producer; })
      .def_property_readonly("source_format", [](const Model& m) { return m.info().source_format; })
      .def_property_readonly("source_opset", [](const Model& m) { return m.info().source_opset; })
      .def_property_readonly("optimized", [](const Model& m) { return m.info().optimized; })
      .def_property_readonly("metadata", [](const Model& m) {
        std::map<std::string, std::string> d(m.info().metadata.begin(), m.info().metadata.end());
        return d;
      });

  // Quantization (python/lwai/quantize.py drives these).
  m.def("quantization_targets", [](const std::shared_ptr<Model>& model, const py::dict& options) {
    const QuantizationOptions parsed = ParseQuantizationOptions(options);
    std::vector<std::string> names;
    for (int t : QuantizationTargets(model->graph(), parsed)) {
      names.push_back(model->graph().tensors[t].name);
    }
    return names;
  });
  m.def("quantizable_nodes", [](const std::shared_ptr<Model>& model, const py::dict& options) {
    const QuantizationOptions parsed = ParseQuantizationOptions(options);
    std::vector<std::pair<std::string, std::string>> nodes;
    for (int n : QuantizableNodes(model->graph(), parsed)) {
      const Node& node = model->graph().nodes[n];
      nodes.emplace_back(node.name, OpTypeName(node.op));
    }
    return nodes;
  });
  m.def(
      "with_outputs",
      [](const std::shared_ptr<Model>& model, const std::vector<std::string>& names) {
        auto graph = std::make_unique<Graph>();
        ThrowIfError(ObservableTensors(model->graph(), names, graph.get()));
        return DerivedModel(model, std::move(graph), /*optimized=*/false);
      },
      "A copy of the model that also returns the named tensors (for calibration), those in If "
      "branches passed out through their If nodes (empty when the other branch runs).");
  m.def(
      "quantize_model",
      [](const std::shared_ptr<Model>& model,
         const std::map<std::string, std::pair<float, float>>& ranges, const py::dict& options,
         const std::map<std::string, std::vector<float>>& channel_means) {
        const QuantizationOptions parsed = ParseQuantizationOptions(options);
        auto graph = std::make_unique<Graph>(model->graph());
        std::vector<TensorRange> list;
        for (const auto& [name, range] : ranges) {
          const int t = graph->FindTensor(name);
          if (t < 0) ThrowIfError(NotFound("calibration range for unknown tensor '" + name + "'"));
          auto means = channel_means.find(name);
          list.push_back(
              TensorRange{t, range.first, range.second,
                          means != channel_means.end() ? means->second : std::vector<float>()});
        }
        {
          py::gil_scoped_release release;
          ThrowIfError(InsertQuantization(*graph, list, parsed));
          ThrowIfError(OptimizeGraph(*graph));
        }
        return DerivedModel(model, std::move(graph), /*optimized=*/true);
      },
      py::arg("model"), py::arg("ranges"), py::arg("options"),
      py::arg("channel_means") = std::map<std::string, std::vector<float>>());

  m.def(
      "equalize_cross_layer",
      [](const std::shared_ptr<Model>& model, const py::dict& options,
         const std::map<std::string, std::vector<float>>& activation_ranges) {
        const QuantizationOptions parsed = ParseQuantizationOptions(options);
        auto graph = std::make_unique<Graph>(model->graph());
        std::map<int, std::vector<float>> ranges;
        for (const auto& [name, values] : activation_ranges) {
          const int t = graph->FindTensor(name);
          if (t < 0) ThrowIfError(NotFound("activation ranges for unknown tensor '" + name + "'"));
          ranges[t] = values;
        }
        int pairs = 0;
        {
          py::gil_scoped_release release;
          ThrowIfError(EqualizeCrossLayer(*graph, parsed, ranges, &pairs));
          ThrowIfError(EliminateDeadNodes(*graph));
          CompactTensors(*graph);
        }
        return py::make_tuple(DerivedModel(model, std::move(graph), /*optimized=*/false), pairs);
      },
      "Cross-layer equalization of Conv pairs: (the new float model, the number of pairs).",
      py::arg("model"), py::arg("options"),
      py::arg("activation_ranges") = std::map<std::string, std::vector<float>>());
  m.def(
      "equalization_tensors",
      [](const std::shared_ptr<Model>& model, const py::dict& options) {
        std::vector<std::string> names;
        for (int t : EqualizationTensors(model->graph(), ParseQuantizationOptions(options))) {
          names.push_back(model->graph().tensors[t].name);
        }
        return names;
      },
      "The tensors between the Conv pairs that equalize_cross_layer would rescale.");
  m.def(
      "quantize_dynamic",
      [](const std::shared_ptr<Model>& model, const py::dict& options, const py::dict& rounded) {
        const QuantizationOptions parsed = ParseQuantizationOptions(options);
        std::map<std::string, RoundedWeights> parsed_rounded;
        for (const auto& [name, pair] : rounded) {
          const auto values_and_scales = pair.cast<py::tuple>();
          const auto values = values_and_scales[0].cast<py::array_t<int8_t, py::array::c_style>>();
          const auto scales = values_and_scales[1].cast<py::array_t<float, py::array::c_style>>();
          RoundedWeights& weights = parsed_rounded[name.cast<std::string>()];
          weights.values.assign(values.data(), values.data() + values.size());
          weights.scales.assign(scales.data(), scales.data() + scales.size());
        }
        auto graph = std::make_unique<Graph>(model->graph());
        int quantized = 0;
        {
          py::gil_scoped_release release;
          ThrowIfError(InsertDynamicQuantization(*graph, parsed, &quantized, parsed_rounded));
          if (quantized > 0) ThrowIfError(OptimizeGraph(*graph));
        }
        return py::make_tuple(DerivedModel(model, std::move(graph), /*optimized=*/true), quantized);
      },
      "Dynamic quantization: (the new model, the number of MatMul/Gemm nodes rewritten). "
      "`rounded` maps node names to (int8 weights [K, N], scales) to use instead of the nearest "
      "rounding.",
      py::arg("model"), py::arg("options"), py::arg("rounded") = py::dict());
  m.def(
      "dynamic_quantization_targets",
      [](const std::shared_ptr<Model>& model, const py::dict& options) {
        py::list targets;
        for (DynamicTarget& t :
             DynamicQuantizationTargets(model->graph(), ParseQuantizationOptions(options))) {
          py::array_t<float> weights({t.k, t.n});
          std::memcpy(weights.mutable_data(), t.weights.data(), t.weights.size() * sizeof(float));
          py::dict entry;
          entry["node"] = t.node;
          entry["input"] = t.input;
          entry["weights"] = weights;
          entry["observable"] = t.observable;
          targets.append(entry);
        }
        return targets;
      },
      "The MatMul/Gemm nodes quantize_dynamic would rewrite: dicts of node, input (the tensor "
      "multiplied), weights (float [K, N]) and observable (with_outputs can return the input).");

  m.def(
      "compress_weights",
      [](const std::shared_ptr<Model>& model, const py::dict& options, const std::string& type) {
        const QuantizationOptions parsed = ParseQuantizationOptions(options);
        WeightStorage storage = WeightStorage::kInt8;
        if (type == "float16") {
          storage = WeightStorage::kFloat16;
        } else if (type == "int4") {
          storage = WeightStorage::kInt4;
        } else if (type != "int8") {
          ThrowIfError(InvalidArgument("weight_type must be 'int8', 'int4' or 'float16', got '" +
                                       type + "'"));
        }
        auto graph = std::make_unique<Graph>(model->graph());
        int compressed = 0;
        {
          py::gil_scoped_release release;
          ThrowIfError(CompressWeights(*graph, storage, parsed, &compressed));
          // Only the float weights left behind go: optimizing would fold the expansions.
          ThrowIfError(EliminateDeadNodes(*graph));
          CompactTensors(*graph);
        }
        return py::make_tuple(DerivedModel(model, std::move(graph), /*optimized=*/false),
                              compressed);
      },
      "Weight-only compression: (the new model, the number of weights stored compressed).");

  py::class_<GraphBuilder>(m, "GraphBuilder")
      .def(py::init<>())
      .def("add_tensor", &GraphBuilder::AddTensor, py::arg("name"), py::arg("dtype"),
           py::arg("shape") = py::none(), py::arg("data") = py::none())
      .def("add_node", &GraphBuilder::AddNode, py::arg("name"), py::arg("op"), py::arg("inputs"),
           py::arg("outputs"), py::arg("attributes") = py::dict())
      .def("finish", &GraphBuilder::Finish, py::arg("producer"), py::arg("source_format"),
           py::arg("opset"), py::arg("optimize"), py::arg("inputs"), py::arg("outputs"),
           py::arg("metadata") = std::vector<std::pair<std::string, std::string>>())
      .def("finish_subgraph", &GraphBuilder::FinishSubgraph, py::arg("inputs"), py::arg("outputs"));
  py::class_<Subgraph>(m, "Subgraph");

  py::class_<PySession>(m, "Session")
      .def(py::init<std::shared_ptr<Model>, int, std::vector<std::string>, uint64_t, int64_t>(),
           py::arg("model"), py::arg("threads") = 1,
           py::arg("backends") = std::vector<std::string>(), py::arg("max_memory_bytes") = 0,
           py::arg("timeout_ms") = 0)
      .def("run", &PySession::Run, py::arg("inputs"), py::arg("timeout_ms") = 0,
           py::arg("out") = std::vector<py::object>())
      .def("prepare", &PySession::Prepare)
      .def_property_readonly("inputs", &PySession::Inputs)
      .def_property_readonly("outputs", &PySession::Outputs)
      .def_property_readonly("arena_bytes", &PySession::ArenaBytes)
      .def_property_readonly("unshared_bytes", &PySession::UnsharedBytes)
      .def_property_readonly("backends", &PySession::Backends)
      .def("node_assignments", &PySession::NodeAssignments)
      .def("node_shapes", &PySession::NodeShapes)
      .def("set_profiling", &PySession::SetProfiling)
      .def("node_time_ns", &PySession::NodeTimeNs)
      .def("subgraph_profiles", &PySession::SubgraphProfiles);
}
