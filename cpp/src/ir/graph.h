// The in-memory graph IR: what the loader produces, converters build, passes rewrite, the
// writer serializes and sessions execute.
#ifndef LWAI_IR_GRAPH_H_
#define LWAI_IR_GRAPH_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lwai/status.h"
#include "lwai/types.h"
#include "lwai_generated.h"

namespace lwai {

using OpType = fb::OpType;

// "Conv", "Relu", ...; nullptr for values outside the schema's enum.
const char* OpTypeName(OpType op);
// Parses an operator name of the schema; returns false when unknown.
bool ParseOpType(const std::string& name, OpType* op);

enum class AttributeType : int8_t { kInt, kFloat, kInts, kFloats, kString, kGraph };

struct Graph;

struct Attribute {
  std::string name;
  AttributeType type = AttributeType::kInt;
  int64_t i = 0;
  float f = 0.0f;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::string s;
  // kGraph: a subgraph (see the schema's Attribute.g). Shared, never modified after building.
  std::shared_ptr<const Graph> graph;
};

// 64-byte aligned memory of at least `size` bytes (null on failure), freed with the pointer.
std::shared_ptr<void> AllocateAligned(size_t size);

// Hints that `constant` will not be read for a while (its contents were packed into another
// form): drops the resident pages of a file-backed constant, so that peak memory does not hold
// both copies. Later reads still see the same bytes. No-op for other constants.
struct ConstantData;
void ReleaseConstantPages(const ConstantData& constant);

// Constant tensor bytes. `data` is either borrowed from a loaded file (kept alive by
// `keepalive`, which owns the mapping) or owned by `keepalive` itself.
struct ConstantData {
  const uint8_t* data = nullptr;
  size_t size = 0;
  std::shared_ptr<const void> keepalive;
  // The bytes lie in a read-only private mapping of a model file: the OS can drop their pages
  // and read them again from the file on the next access.
  bool file_backed = false;

  // Copies `bytes` into a new 64-byte aligned owned buffer.
  static ConstantData Copy(const void* bytes, size_t size);
};

struct Dim {
  int64_t value = -1;  // -1: dynamic
  std::string name;    // symbolic name of a dynamic dimension, may be empty
};

struct TensorDesc {
  std::string name;
  DataType dtype = DataType::kUndefined;
  bool shape_known = false;
  std::vector<Dim> shape;
  ConstantData constant;  // data == nullptr unless the tensor is a constant

  bool is_constant() const { return constant.data != nullptr || constant.size > 0; }
  // Static shape, if shape_known and every dim is fixed.
  bool HasStaticShape() const;
  Shape StaticShape() const;        // only valid when HasStaticShape()
  std::string ShapeString() const;  // "[batch, 3, 224, 224]" or "[?]"
  // The public description (name, dtype, dims with -1 and names for dynamic ones).
  TensorInfo Info() const;
};

struct Node {
  std::string name;
  OpType op = OpType::Unknown;
  std::vector<int> inputs;  // -1: omitted optional input
  std::vector<int> outputs;
  std::vector<Attribute> attributes;

  const Attribute* FindAttribute(const std::string& attr_name) const;
  int64_t GetInt(const std::string& attr_name, int64_t default_value) const;
  float GetFloat(const std::string& attr_name, float default_value) const;
  std::vector<int64_t> GetInts(const std::string& attr_name) const;  // empty if absent
  std::string GetString(const std::string& attr_name, const std::string& default_value) const;
  // The subgraph attribute `attr_name`, or null.
  const Graph* GetGraph(const std::string& attr_name) const;
  void SetInt(const std::string& attr_name, int64_t value);
  void SetFloat(const std::string& attr_name, float value);
  void SetString(const std::string& attr_name, const std::string& value);
  void SetInts(const std::string& attr_name, std::vector<int64_t> values);
  // "node 'conv1' (Conv)": the prefix of every error message about a node.
  std::string Describe() const;
};

struct ModelInfo {
  std::string producer;
  std::string source_format;
  int64_t source_opset = 0;
  bool optimized = false;
  std::vector<std::pair<std::string, std::string>> metadata;
};

// The deepest nesting of subgraphs (If/Loop/Scan bodies inside bodies) a model may have. The
// converter, the writers and the loaders all enforce it, so that whatever lwai saves it can load
// again (binary and JSON) and nested execution stays within a small stack.
constexpr int kMaxSubgraphDepth = 10;

struct Graph {
  std::vector<TensorDesc> tensors;
  std::vector<Node> nodes;  // topological order (Validate checks it)
  std::vector<int> inputs;
  std::vector<int> outputs;

  int AddTensor(TensorDesc tensor);
  // Index of the tensor with this name, or -1.
  int FindTensor(const std::string& name) const;

  // Checks indices, uniqueness of names and producers, topological order, that graph
  // inputs are not constants and that every consumed tensor is produced, constant or input.
  Status Validate() const;
  // Fails with kUnsupported when subgraphs nest deeper than kMaxSubgraphDepth.
  Status CheckSubgraphDepth() const;
  // Reorders nodes topologically; fails with InvalidModel on cycles.
  Status SortTopologically();
  // For each tensor, the index of the node producing it, or -1.
  std::vector<int> Producers() const;
  // For each tensor, how many node inputs plus graph outputs read it.
  std::vector<int> UseCounts() const;
};

}  // namespace lwai

#endif  // LWAI_IR_GRAPH_H_
