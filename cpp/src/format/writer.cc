// Serializing the IR to the .lwai image.
#include <cstdio>
#include <cstring>
#include <map>
#include <utility>

#include "format/crc32c.h"
#include "format/model_format.h"
#include "ir/graph.h"
#include "lwai_generated.h"

namespace lwai {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

// Where constant data goes while building: buffers of the model, and for external data the
// next free offset and what lies where.
struct DataWriter {
  bool inline_data = false;
  uint64_t cursor = 0;
  std::vector<Offset<fb::Buffer>> buffers;
  std::vector<std::pair<uint64_t, ConstantData>>* layout = nullptr;
  // Buffers written so far by their bytes' address and size: constants that share bytes (an
  // outer constant inlined into a subgraph) share one buffer.
  std::map<std::pair<const uint8_t*, size_t>, uint32_t> written;
};

Offset<fb::Graph> WriteGraph(FlatBufferBuilder& b, const Graph& g, DataWriter& data);

// The schema's int32 vectors from the IR's int ones (int32_t is long on some 32-bit targets).
Offset<flatbuffers::Vector<int32_t>> Int32Vector(FlatBufferBuilder& b, const std::vector<int>& v) {
  return b.CreateVector(std::vector<int32_t>(v.begin(), v.end()));
}

// The bytes a constant is stored as: its own, or for 4-bit types two values per byte (element
// 2i in the low nibble, as ONNX packs them; in memory they are one per byte, types.h).
ConstantData StoredBytes(const TensorDesc& desc) {
  if (!IsFourBitType(desc.dtype) || desc.constant.size < 2) return desc.constant;
  std::vector<uint8_t> packed((desc.constant.size + 1) / 2, 0);
  for (size_t i = 0; i < desc.constant.size; ++i) {
    packed[i / 2] |= static_cast<uint8_t>((desc.constant.data[i] & 0x0F) << (i % 2 ? 4 : 0));
  }
  return ConstantData::Copy(packed.data(), packed.size());
}

Offset<fb::Attribute> WriteAttribute(FlatBufferBuilder& b, const Attribute& a, DataWriter& data) {
  const auto name = b.CreateString(a.name);
  Offset<flatbuffers::Vector<int64_t>> ints;
  Offset<flatbuffers::Vector<float>> floats;
  Offset<flatbuffers::String> s;
  Offset<fb::Graph> graph;
  fb::AttributeType type = fb::AttributeType::INT;
  switch (a.type) {
    case AttributeType::kInt:
      type = fb::AttributeType::INT;
      break;
    case AttributeType::kFloat:
      type = fb::AttributeType::FLOAT;
      break;
    case AttributeType::kInts:
      type = fb::AttributeType::INTS;
      ints = b.CreateVector(a.ints);
      break;
    case AttributeType::kFloats:
      type = fb::AttributeType::FLOATS;
      floats = b.CreateVector(a.floats);
      break;
    case AttributeType::kString:
      type = fb::AttributeType::STRING;
      s = b.CreateString(a.s);
      break;
    case AttributeType::kGraph:
      type = fb::AttributeType::GRAPH;
      graph = WriteGraph(b, *a.graph, data);
      break;
  }
  return fb::CreateAttribute(b, name, type, a.i, a.f, ints, floats, s, graph);
}

Offset<fb::Graph> WriteGraph(FlatBufferBuilder& b, const Graph& g, DataWriter& data) {
  std::vector<Offset<fb::Tensor>> tensors;
  for (const TensorDesc& desc : g.tensors) {
    uint32_t buffer_index = 0;
    const auto key = std::make_pair(desc.constant.data, desc.constant.size);
    if (desc.is_constant() && data.written.count(key) != 0) {
      buffer_index = data.written[key];
    } else if (desc.is_constant()) {
      buffer_index = static_cast<uint32_t>(data.buffers.size());
      data.written[key] = buffer_index;
      const ConstantData stored = StoredBytes(desc);
      if (data.inline_data) {
        data.buffers.push_back(fb::CreateBuffer(b, 0, 0, b.CreateVector(stored.data, stored.size)));
      } else {
        data.buffers.push_back(fb::CreateBuffer(b, data.cursor, stored.size, 0,
                                                Crc32c(stored.data, stored.size),
                                                /*has_crc32c=*/true));
        data.layout->emplace_back(data.cursor, stored);
        data.cursor += (stored.size + kDataAlignment - 1) / kDataAlignment * kDataAlignment;
      }
    }
    std::vector<Offset<fb::Dim>> dims;
    for (const Dim& d : desc.shape) {
      dims.push_back(fb::CreateDim(b, d.value, d.name.empty() ? 0 : b.CreateString(d.name)));
    }
    tensors.push_back(fb::CreateTensor(b, b.CreateString(desc.name),
                                       static_cast<fb::DataType>(desc.dtype), desc.shape_known,
                                       b.CreateVector(dims), buffer_index));
  }
  std::vector<Offset<fb::Node>> nodes;
  for (const Node& node : g.nodes) {
    std::vector<Offset<fb::Attribute>> attributes;
    for (const Attribute& a : node.attributes) attributes.push_back(WriteAttribute(b, a, data));
    nodes.push_back(fb::CreateNode(b, b.CreateString(node.name), node.op,
                                   Int32Vector(b, node.inputs), Int32Vector(b, node.outputs),
                                   b.CreateVector(attributes)));
  }
  return fb::CreateGraph(b, b.CreateVector(tensors), b.CreateVector(nodes),
                         Int32Vector(b, g.inputs), Int32Vector(b, g.outputs));
}

// Builds the flatbuffer. External constant data is placed from `data_start` on, each piece at
// a 64-byte boundary; `layout` receives (offset, constant) for the data section.
void BuildFlatbuffer(const Model& model, bool inline_data, uint64_t data_start,
                     FlatBufferBuilder& b, std::vector<std::pair<uint64_t, ConstantData>>* layout) {
  const ModelInfo& info = model.info();
  DataWriter data;
  data.inline_data = inline_data;
  data.cursor = data_start;
  data.layout = layout;
  data.buffers.push_back(fb::CreateBuffer(b));  // buffers[0]: "no data"
  const auto graph = WriteGraph(b, model.graph(), data);
  std::vector<Offset<fb::KeyValue>> metadata;
  for (const auto& kv : info.metadata) {
    metadata.push_back(fb::CreateKeyValue(b, b.CreateString(kv.first), b.CreateString(kv.second)));
  }
  const auto root =
      fb::CreateModel(b, kSchemaVersion, b.CreateString(info.producer),
                      b.CreateString(info.source_format), info.source_opset, info.optimized, graph,
                      b.CreateVector(data.buffers), b.CreateVector(metadata));
  fb::FinishModelBuffer(b, root);
}

}  // namespace

Result<std::vector<uint8_t>> SerializeModel(const Model& model, bool inline_data) {
  LWAI_RETURN_IF_ERROR(model.graph().Validate());
  LWAI_RETURN_IF_ERROR(model.graph().CheckSubgraphDepth());
  std::vector<std::pair<uint64_t, ConstantData>> layout;
  // Pass 1 measures the flatbuffer; pass 2 writes the real data offsets. Defaults are forced
  // so that both passes have the same size whatever the offset values.
  FlatBufferBuilder measure;
  measure.ForceDefaults(true);
  BuildFlatbuffer(model, inline_data, 0, measure, &layout);
  const uint64_t data_start =
      (measure.GetSize() + kDataAlignment - 1) / kDataAlignment * kDataAlignment;
  layout.clear();
  FlatBufferBuilder builder;
  builder.ForceDefaults(true);
  BuildFlatbuffer(model, inline_data, data_start, builder, &layout);
  if (builder.GetSize() != measure.GetSize()) {
    return Internal(LWAI_MSG("flatbuffer size changed between passes"));
  }
  uint64_t total = builder.GetSize();
  for (const auto& [offset, constant] : layout) total = offset + constant.size;
  std::vector<uint8_t> image(inline_data ? builder.GetSize() : total, 0);
  std::memcpy(image.data(), builder.GetBufferPointer(), builder.GetSize());
  for (const auto& [offset, constant] : layout) {
    if (constant.size) std::memcpy(image.data() + offset, constant.data, constant.size);
  }
  return image;
}

Result<std::string> ReadTextFile(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");  // C stdio: the core links no iostreams
  if (file == nullptr) return NotFound(LWAI_MSG(path + ": cannot open"));
  std::string text;
  char chunk[65536];
  size_t got = 0;
  while ((got = std::fread(chunk, 1, sizeof(chunk), file)) > 0) text.append(chunk, got);
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return IoError(LWAI_MSG(path + ": read failed"));
  return text;
}

Result<std::vector<uint8_t>> Model::Serialize() const { return SerializeModel(*this, false); }

Status Model::Save(const std::string& path) const {
  LWAI_ASSIGN_OR_RETURN(std::vector<uint8_t> image, Serialize());
  const std::string temp = path + ".tmp";
  FILE* file = std::fopen(temp.c_str(), "wb");
  if (file == nullptr) return IoError(LWAI_MSG(path + ": cannot open for writing"));
  const bool written = std::fwrite(image.data(), 1, image.size(), file) == image.size();
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed || std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    return IoError(LWAI_MSG(path + ": write failed"));
  }
  return Status::Ok();
}

}  // namespace lwai
