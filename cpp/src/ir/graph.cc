#include "ir/graph.h"

#if defined(__unix__)
#ifndef LWAI_NO_MMAP
#include <sys/mman.h>
#include <unistd.h>
#endif
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

namespace lwai {

void ReleaseConstantPages(const ConstantData& constant) {
#if defined(__unix__) && !defined(LWAI_NO_MMAP)
  if (!constant.file_backed || constant.data == nullptr) return;
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(constant.data) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(constant.data) + constant.size) / page * page;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
#endif
}

const char* OpTypeName(OpType op) {
  if (op < OpType::MIN || op > OpType::MAX) return nullptr;
  return fb::EnumNameOpType(op);
}

bool ParseOpType(const std::string& name, OpType* op) {
  const char* const* names = fb::EnumNamesOpType();
  for (int i = static_cast<int>(OpType::MIN) + 1; i <= static_cast<int>(OpType::MAX); ++i) {
    if (name == names[i]) {
      *op = static_cast<OpType>(i);
      return true;
    }
  }
  return false;
}

std::shared_ptr<void> AllocateAligned(size_t size) {
  constexpr size_t kAlignment = 64;
  if (size > SIZE_MAX - kAlignment) return nullptr;
  const size_t padded = (size + kAlignment - 1) / kAlignment * kAlignment;
  // Aligned operator new, not aligned_alloc, which some C libraries (newlib) do not declare.
  void* memory =
      ::operator new(padded == 0 ? kAlignment : padded, std::align_val_t(kAlignment), std::nothrow);
  if (memory == nullptr) return nullptr;
  return std::shared_ptr<void>(memory,
                               [](void* p) { ::operator delete(p, std::align_val_t(kAlignment)); });
}

ConstantData ConstantData::Copy(const void* bytes, size_t size) {
  ConstantData constant;
  std::shared_ptr<void> memory = AllocateAligned(size);
  if (memory == nullptr) return constant;  // data stays null: Validate reports the size
  if (size > 0) std::memcpy(memory.get(), bytes, size);
  constant.data = static_cast<const uint8_t*>(memory.get());
  constant.size = size;
  constant.keepalive = std::move(memory);
  return constant;
}

bool TensorDesc::HasStaticShape() const {
  if (!shape_known) return false;
  for (const Dim& d : shape) {
    if (d.value < 0) return false;
  }
  return shape.size() <= kMaxRank;
}

Shape TensorDesc::StaticShape() const {
  Shape s;
  for (const Dim& d : shape) s.dims[s.rank++] = d.value;
  return s;
}

std::string TensorDesc::ShapeString() const {
  if (!shape_known) return "[?]";
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    if (shape[i].value >= 0) {
      s += std::to_string(shape[i].value);
    } else {
      s += shape[i].name.empty() ? "?" : shape[i].name;
    }
  }
  return s + "]";
}

TensorInfo TensorDesc::Info() const {
  TensorInfo info;
  info.name = name;
  info.dtype = dtype;
  info.shape_known = shape_known;
  for (const Dim& d : shape) {
    info.shape.push_back(d.value);
    info.dim_names.push_back(d.name);
  }
  return info;
}

const Attribute* Node::FindAttribute(const std::string& attr_name) const {
  for (const Attribute& a : attributes) {
    if (a.name == attr_name) return &a;
  }
  return nullptr;
}

int64_t Node::GetInt(const std::string& attr_name, int64_t default_value) const {
  const Attribute* a = FindAttribute(attr_name);
  return a && a->type == AttributeType::kInt ? a->i : default_value;
}

float Node::GetFloat(const std::string& attr_name, float default_value) const {
  const Attribute* a = FindAttribute(attr_name);
  if (a && a->type == AttributeType::kFloat) return a->f;
  if (a && a->type == AttributeType::kInt) return static_cast<float>(a->i);
  return default_value;
}

std::vector<int64_t> Node::GetInts(const std::string& attr_name) const {
  const Attribute* a = FindAttribute(attr_name);
  return a && a->type == AttributeType::kInts ? a->ints : std::vector<int64_t>();
}

std::string Node::GetString(const std::string& attr_name, const std::string& default_value) const {
  const Attribute* a = FindAttribute(attr_name);
  return a && a->type == AttributeType::kString ? a->s : default_value;
}

const Graph* Node::GetGraph(const std::string& attr_name) const {
  const Attribute* a = FindAttribute(attr_name);
  return a && a->type == AttributeType::kGraph ? a->graph.get() : nullptr;
}

namespace {
Attribute& UpsertAttribute(std::vector<Attribute>& attributes, const std::string& name) {
  for (Attribute& a : attributes) {
    if (a.name == name) return a;
  }
  attributes.push_back(Attribute{});
  attributes.back().name = name;
  return attributes.back();
}
}  // namespace

void Node::SetInt(const std::string& attr_name, int64_t value) {
  Attribute& a = UpsertAttribute(attributes, attr_name);
  a.type = AttributeType::kInt;
  a.i = value;
}

void Node::SetFloat(const std::string& attr_name, float value) {
  Attribute& a = UpsertAttribute(attributes, attr_name);
  a.type = AttributeType::kFloat;
  a.f = value;
}

void Node::SetString(const std::string& attr_name, const std::string& value) {
  Attribute& a = UpsertAttribute(attributes, attr_name);
  a.type = AttributeType::kString;
  a.s = value;
}

void Node::SetInts(const std::string& attr_name, std::vector<int64_t> values) {
  Attribute& a = UpsertAttribute(attributes, attr_name);
  a.type = AttributeType::kInts;
  a.ints = std::move(values);
}

std::string Node::Describe() const {
  const char* op_name = OpTypeName(op);
  return "node '" + name + "' (" + (op_name ? op_name : "?") + ")";
}

int Graph::AddTensor(TensorDesc tensor) {
  tensors.push_back(std::move(tensor));
  return static_cast<int>(tensors.size()) - 1;
}

int Graph::FindTensor(const std::string& name) const {
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::vector<int> Graph::Producers() const {
  std::vector<int> producers(tensors.size(), -1);
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (int t : nodes[n].outputs) {
      if (t >= 0 && t < static_cast<int>(tensors.size())) producers[t] = static_cast<int>(n);
    }
  }
  return producers;
}

std::vector<int> Graph::UseCounts() const {
  std::vector<int> counts(tensors.size(), 0);
  for (const Node& node : nodes) {
    for (int t : node.inputs) {
      if (t >= 0 && t < static_cast<int>(tensors.size())) ++counts[t];
    }
  }
  for (int t : outputs) {
    if (t >= 0 && t < static_cast<int>(tensors.size())) ++counts[t];
  }
  return counts;
}

namespace {

// The inputs of quantized operators that hold scales (positive and finite by definition).
std::vector<int> ScaleInputs(const Node& node) {
  switch (node.op) {
    case OpType::QuantizeLinear:
    case OpType::DequantizeLinear:
      return {1};
    case OpType::QLinearConv:
    case OpType::QLinearMatMul:
    case OpType::QLinearAdd:
    case OpType::QLinearMul:
      return {1, 4, 6};
    case OpType::QGemm:
      return {1, 4, 7};
    case OpType::DynamicQuantizeMatMul:
      return {2};
    case OpType::QLinearGlobalAveragePool:
      return {1, 3};
    case OpType::QLinearConcat: {
      std::vector<int> scales = {0};
      for (size_t i = 3; i < node.inputs.size(); i += 3) scales.push_back(static_cast<int>(i));
      return scales;
    }
    default:
      return {};
  }
}

// A quantization scale stored in the model that is zero, negative or not finite (a corrupted
// file, or a model no quantizer wrote) would turn every value it touches into garbage.
Status CheckConstantScales(const Graph& graph, const Node& node) {
  for (int i : ScaleInputs(node)) {
    if (i >= static_cast<int>(node.inputs.size()) || node.inputs[i] < 0) continue;
    const TensorDesc& scale = graph.tensors[node.inputs[i]];
    if (!scale.is_constant() || scale.dtype != DataType::kFloat32 ||
        scale.constant.data == nullptr) {
      continue;
    }
    const size_t count = scale.constant.size / sizeof(float);
    for (size_t e = 0; e < count; ++e) {
      float v;
      std::memcpy(&v, scale.constant.data + e * sizeof(float), sizeof(float));
      if (!(v > 0.0f) || !std::isfinite(v)) {
        return InvalidModel(LWAI_MSG(node.Describe() + ": scale tensor '" + scale.name +
                                     "' element " + std::to_string(e) + " is " + std::to_string(v) +
                                     "; quantization scales must be positive and finite"));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Status Graph::Validate() const {
  const int num_tensors = static_cast<int>(tensors.size());
  // Duplicate names, found by sorting (a hash set would link hashing and floating-point
  // rehash policy code into device builds).
  std::vector<const std::string*> names;
  names.reserve(tensors.size());
  for (const TensorDesc& tensor : tensors) names.push_back(&tensor.name);
  std::sort(names.begin(), names.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  for (size_t i = 1; i < names.size(); ++i) {
    if (!names[i]->empty() && *names[i] == *names[i - 1]) {
      return InvalidModel(LWAI_MSG("tensor name '" + *names[i] + "' is used twice"));
    }
  }
  for (int t = 0; t < num_tensors; ++t) {
    const TensorDesc& tensor = tensors[t];
    if (tensor.name.empty())
      return InvalidModel(LWAI_MSG("tensor " + std::to_string(t) + " has no name"));
    if (tensor.shape.size() > static_cast<size_t>(kMaxRank)) {
      return Unsupported(LWAI_MSG("tensor '" + tensor.name + "' has rank " +
                                  std::to_string(tensor.shape.size()) + ", lwai supports at most " +
                                  std::to_string(kMaxRank)));
    }
    if (tensor.is_constant()) {
      if (!tensor.HasStaticShape()) {
        return InvalidModel(
            LWAI_MSG("constant tensor '" + tensor.name + "' must have a static shape"));
      }
      uint64_t expected = 0;
      if (!tensor.StaticShape().CheckedByteSize(DataTypeSize(tensor.dtype), &expected)) {
        return InvalidModel(LWAI_MSG("constant tensor '" + tensor.name + "' has shape " +
                                     tensor.ShapeString() + ", whose size overflows 64 bits"));
      }
      if (DataTypeSize(tensor.dtype) == 0 || tensor.constant.size != expected) {
        return InvalidModel(LWAI_MSG("constant tensor '" + tensor.name + "' holds " +
                                     std::to_string(tensor.constant.size) + " bytes, its dtype " +
                                     DataTypeName(tensor.dtype) + " and shape " +
                                     tensor.ShapeString() + " need " + std::to_string(expected)));
      }
    }
  }
  // available[t]: tensor t can be read at this point of the node order.
  std::vector<char> available(num_tensors, 0);
  std::vector<char> produced(num_tensors, 0);
  for (int t = 0; t < num_tensors; ++t) available[t] = tensors[t].is_constant();
  for (int t : inputs) {
    if (t < 0 || t >= num_tensors) {
      return InvalidModel(LWAI_MSG("graph input index " + std::to_string(t) + " is out of range"));
    }
    if (tensors[t].is_constant()) {
      return InvalidModel(LWAI_MSG("graph input '" + tensors[t].name + "' is also a constant"));
    }
    available[t] = 1;
    produced[t] = 1;
  }
  for (const Node& node : nodes) {
    if (OpTypeName(node.op) == nullptr || node.op == OpType::Unknown) {
      return InvalidModel(LWAI_MSG(node.Describe() + ": unknown operator code " +
                                   std::to_string(static_cast<int>(node.op))));
    }
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int t = node.inputs[i];
      if (t == -1) continue;
      if (t < 0 || t >= num_tensors) {
        return InvalidModel(LWAI_MSG(
            node.Describe() + ": input " + std::to_string(i) + " refers to tensor " +
            std::to_string(t) + ", but the graph has " + std::to_string(num_tensors) + " tensors"));
      }
      if (!available[t]) {
        return InvalidModel(
            LWAI_MSG(node.Describe() + ": input '" + tensors[t].name +
                     "' is not a graph input, a constant or produced by an earlier node "
                     "(cycle or wrong order)"));
      }
    }
    LWAI_RETURN_IF_ERROR(CheckConstantScales(*this, node));
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const int t = node.outputs[i];
      if (t == -1) continue;
      if (t < 0 || t >= num_tensors) {
        return InvalidModel(LWAI_MSG(
            node.Describe() + ": output " + std::to_string(i) + " refers to tensor " +
            std::to_string(t) + ", but the graph has " + std::to_string(num_tensors) + " tensors"));
      }
      if (produced[t] || tensors[t].is_constant()) {
        return InvalidModel(LWAI_MSG(node.Describe() + ": output '" + tensors[t].name +
                                     "' is already produced elsewhere"));
      }
      produced[t] = 1;
      available[t] = 1;
    }
  }
  for (int t : outputs) {
    if (t < 0 || t >= num_tensors) {
      return InvalidModel(LWAI_MSG("graph output index " + std::to_string(t) + " is out of range"));
    }
    if (!available[t]) {
      return InvalidModel(LWAI_MSG("graph output '" + tensors[t].name + "' is never produced"));
    }
  }
  return Status::Ok();
}

namespace {
// The nesting depth of subgraphs below `graph`, counting at most up to `limit` + 1.
int SubgraphDepth(const Graph& graph, int limit) {
  int depth = 0;
  for (const Node& node : graph.nodes) {
    for (const Attribute& a : node.attributes) {
      if (a.type != AttributeType::kGraph || a.graph == nullptr) continue;
      depth = std::max(depth, 1 + (limit > 0 ? SubgraphDepth(*a.graph, limit - 1) : 0));
      if (depth > limit) return depth;
    }
  }
  return depth;
}
}  // namespace

Status Graph::CheckSubgraphDepth() const {
  const int depth = SubgraphDepth(*this, kMaxSubgraphDepth);
  if (depth > kMaxSubgraphDepth) {
    return Unsupported(LWAI_MSG("subgraphs (If/Loop/Scan bodies) nest more than " +
                                std::to_string(kMaxSubgraphDepth) + " levels deep"));
  }
  return Status::Ok();
}

Status Graph::SortTopologically() {
  const int num_tensors = static_cast<int>(tensors.size());
  const std::vector<int> producers = Producers();
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<int>> consumers(num_tensors);
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (int t : nodes[n].inputs) {
      if (t < 0 || t >= num_tensors || producers[t] < 0) continue;
      ++pending[n];
      consumers[t].push_back(static_cast<int>(n));
    }
  }
  std::vector<int> ready;
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (pending[n] == 0) ready.push_back(static_cast<int>(n));
  }
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  // Pop from the front to keep the original order among independent nodes.
  for (size_t head = 0; head < ready.size(); ++head) {
    const int n = ready[head];
    for (int t : nodes[n].outputs) {
      if (t < 0 || t >= num_tensors) continue;
      for (int consumer : consumers[t]) {
        if (--pending[consumer] == 0) ready.push_back(consumer);
      }
    }
  }
  if (ready.size() != nodes.size()) {
    for (size_t n = 0; n < nodes.size(); ++n) {
      if (pending[n] > 0)
        return InvalidModel(LWAI_MSG(nodes[n].Describe() + " is part of a cycle"));
    }
  }
  for (int n : ready) sorted.push_back(std::move(nodes[n]));
  nodes = std::move(sorted);
  return Status::Ok();
}

}  // namespace lwai
