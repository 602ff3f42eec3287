// Binary .lwai loading: flatbuffers verification, then conversion to the IR with constants
// pointing into the (mapped or borrowed) file, then semantic validation.
#ifndef LWAI_NO_MMAP
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "format/crc32c.h"
#include "format/model_format.h"
#include "ir/graph.h"
#include "ir/no_throw.h"
#include "lwai/model.h"
#include "lwai_generated.h"

namespace lwai {
namespace {

// "CRC-32C 0a1b2c3d" (without printf, which device builds would otherwise link for this).
[[maybe_unused]] std::string Hex32(uint32_t value) {
  std::string text = "CRC-32C ";
  for (int shift = 28; shift >= 0; shift -= 4) text += "0123456789abcdef"[(value >> shift) & 15];
  return text;
}

static_assert(static_cast<int>(fb::DataType::FLOAT32) == static_cast<int>(DataType::kFloat32) &&
                  static_cast<int>(fb::DataType::INT64) == static_cast<int>(DataType::kInt64) &&
                  static_cast<int>(fb::DataType::BFLOAT16) == static_cast<int>(DataType::kBFloat16),
              "schema DataType must match lwai::DataType");

// Names and strings must be UTF-8: they end up in Python strings and error messages.
bool IsValidUtf8(const flatbuffers::String* text) {
  if (text == nullptr) return true;
  const auto* p = reinterpret_cast<const unsigned char*>(text->data());
  const auto* end = p + text->size();
  while (p < end) {
    int continuation = 0;
    if (*p < 0x80) {
      continuation = 0;
    } else if ((*p & 0xE0) == 0xC0 && *p >= 0xC2) {
      continuation = 1;
    } else if ((*p & 0xF0) == 0xE0) {
      continuation = 2;
    } else if ((*p & 0xF8) == 0xF0 && *p <= 0xF4) {
      continuation = 3;
    } else {
      return false;
    }
    if (end - p <= continuation) return false;
    for (int i = 1; i <= continuation; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
    }
    p += continuation + 1;
  }
  return true;
}

Status CheckGraphStrings(const fb::Graph* graph) {
  if (graph == nullptr) return Status::Ok();
  if (graph->tensors()) {
    for (uint32_t t = 0; t < graph->tensors()->size(); ++t) {
      const fb::Tensor* tensor = graph->tensors()->Get(t);
      bool ok = IsValidUtf8(tensor->name());
      if (tensor->shape()) {
        for (const fb::Dim* dim : *tensor->shape()) ok = ok && IsValidUtf8(dim->name());
      }
      if (!ok)
        return InvalidModel(
            LWAI_MSG("tensor " + std::to_string(t) + " has a name that is not UTF-8"));
    }
  }
  if (graph->nodes()) {
    for (uint32_t n = 0; n < graph->nodes()->size(); ++n) {
      const fb::Node* node = graph->nodes()->Get(n);
      bool ok = IsValidUtf8(node->name());
      if (node->attributes()) {
        for (const fb::Attribute* a : *node->attributes()) {
          ok = ok && IsValidUtf8(a->name()) && IsValidUtf8(a->s());
          if (ok) LWAI_RETURN_IF_ERROR(CheckGraphStrings(a->g()));
        }
      }
      if (!ok)
        return InvalidModel(
            LWAI_MSG("node " + std::to_string(n) + " has a name or string that is not UTF-8"));
    }
  }
  return Status::Ok();
}

Status CheckStrings(const fb::Model& model) {
  if (!IsValidUtf8(model.producer()) || !IsValidUtf8(model.source_format())) {
    return InvalidModel(LWAI_MSG("producer or source format is not valid UTF-8"));
  }
  LWAI_RETURN_IF_ERROR(CheckGraphStrings(model.graph()));
  if (model.metadata()) {
    for (const fb::KeyValue* kv : *model.metadata()) {
      if (!IsValidUtf8(kv->key()) || !IsValidUtf8(kv->value()))
        return InvalidModel(LWAI_MSG("metadata is not UTF-8"));
    }
  }
  return Status::Ok();
}

bool IsKnownDataType(int8_t value) {
  const DataType type = static_cast<DataType>(value);
  return value != 0 && std::strcmp(DataTypeName(type), "undefined") != 0;
}

// What converting any graph of one model needs.
struct LoadContext {
  const fb::Model& model;
  const uint8_t* file;
  size_t file_size;
  const std::shared_ptr<const void>& storage;
  bool file_backed;
  bool verify_checksums;
  // Per buffer: checksum already verified (a hostile file may point many tensors at one).
  std::vector<char>* verified;
};

Status ConvertGraph(const LoadContext& context, const fb::Graph* src, Graph* graph);

Status ConvertAttribute(const LoadContext& context, const fb::Attribute& src, Attribute* dst) {
  dst->name = src.name()->str();
  switch (src.type()) {
    case fb::AttributeType::INT:
      dst->type = AttributeType::kInt;
      dst->i = src.i();
      break;
    case fb::AttributeType::FLOAT:
      dst->type = AttributeType::kFloat;
      dst->f = src.f();
      break;
    case fb::AttributeType::INTS:
      dst->type = AttributeType::kInts;
      // memcpy: a hostile file may misalign the vector (flatbuffers data is little-endian,
      // as every target lwai builds for).
      if (src.ints()) {
        dst->ints.resize(src.ints()->size());
        if (!dst->ints.empty()) {
          std::memcpy(dst->ints.data(), src.ints()->Data(), dst->ints.size() * sizeof(int64_t));
        }
      }
      break;
    case fb::AttributeType::FLOATS:
      dst->type = AttributeType::kFloats;
      if (src.floats()) {
        dst->floats.resize(src.floats()->size());
        if (!dst->floats.empty()) {
          std::memcpy(dst->floats.data(), src.floats()->Data(), dst->floats.size() * sizeof(float));
        }
      }
      break;
    case fb::AttributeType::STRING:
      dst->type = AttributeType::kString;
      if (src.s()) dst->s = src.s()->str();
      break;
    case fb::AttributeType::GRAPH: {
      dst->type = AttributeType::kGraph;
      auto graph = std::make_shared<Graph>();
      if (src.g() == nullptr)
        return InvalidModel(LWAI_MSG("attribute '" + dst->name + "' has no graph"));
      LWAI_RETURN_IF_ERROR(ConvertGraph(context, src.g(), graph.get())
                               .WithContext(LWAI_MSG("subgraph '" + dst->name + "'")));
      dst->graph = std::move(graph);
      break;
    }
    default:
      return InvalidModel(LWAI_MSG("attribute '" + dst->name + "' has unknown type " +
                                   std::to_string(static_cast<int>(src.type()))));
  }
  return Status::Ok();
}

// Files hold 4-bit constants two per byte (writer.cc); memory holds them one per byte. Data of
// exactly one byte per element (written before the packing) stays as it is; other sizes are
// left to Graph::Validate, which names the mismatch.
void UnpackFourBit(TensorDesc* dst) {
  uint64_t count = 0;
  if (!IsFourBitType(dst->dtype) || !dst->HasStaticShape() ||
      !dst->StaticShape().CheckedByteSize(1, &count) || count < 2 ||
      dst->constant.size != (count + 1) / 2) {
    return;
  }
  std::vector<uint8_t> values(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    values[i] = static_cast<uint8_t>((dst->constant.data[i / 2] >> (i % 2 ? 4 : 0)) & 0x0F);
  }
  dst->constant = ConstantData::Copy(values.data(), values.size());
}

Status ConvertTensor(const LoadContext& context, const fb::Graph& graph, int index,
                     TensorDesc* dst) {
  const fb::Model& model = context.model;
  const uint8_t* file = context.file;
  const size_t file_size = context.file_size;
  const fb::Tensor& src = *graph.tensors()->Get(index);
  dst->name = src.name()->str();
  const std::string where = "tensor " + std::to_string(index) + " '" + dst->name + "'";
  // Intermediate tensors may have an undefined dtype: prepare infers it.
  const bool undefined_intermediate = src.dtype() == fb::DataType::UNDEFINED && src.buffer() == 0;
  if (!undefined_intermediate && !IsKnownDataType(static_cast<int8_t>(src.dtype()))) {
    return InvalidModel(
        LWAI_MSG(where + " has unknown dtype " + std::to_string(static_cast<int>(src.dtype()))));
  }
  dst->dtype = static_cast<DataType>(src.dtype());
  dst->shape_known = src.shape_known();
  if (src.shape()) {
    if (src.shape()->size() > static_cast<uint32_t>(kMaxRank)) {
      return InvalidModel(LWAI_MSG(where + " has rank " + std::to_string(src.shape()->size()) +
                                   " (at most " + std::to_string(kMaxRank) + ")"));
    }
    for (const fb::Dim* dim : *src.shape()) {
      if (dim->value() < -1) {
        return InvalidModel(
            LWAI_MSG(where + " has negative dimension " + std::to_string(dim->value())));
      }
      dst->shape.push_back(Dim{dim->value(), dim->name() ? dim->name()->str() : ""});
    }
  }
  const uint32_t buffer_index = src.buffer();
  if (buffer_index == 0) return Status::Ok();
  const auto* buffers = model.buffers();
  if (buffers == nullptr || buffer_index >= buffers->size()) {
    return InvalidModel(LWAI_MSG(where + " refers to buffer " + std::to_string(buffer_index) +
                                 ", but the model has " +
                                 std::to_string(buffers ? buffers->size() : 0)));
  }
  const fb::Buffer& buffer = *buffers->Get(buffer_index);
  if (buffer.data() != nullptr) {
    // Inline data is only 4-byte aligned inside the flatbuffer: copy it once.
    dst->constant = ConstantData::Copy(buffer.data()->data(), buffer.data()->size());
    UnpackFourBit(dst);
    return Status::Ok();
  }
  const uint64_t offset = buffer.offset();
  const uint64_t size = buffer.size();
  if (offset % kDataAlignment != 0 || offset > file_size || size > file_size - offset) {
    return InvalidModel(LWAI_MSG(where + ": data at offset " + std::to_string(offset) +
                                 " of size " + std::to_string(size) + " lies outside the file (" +
                                 std::to_string(file_size) + " bytes) or is misaligned"));
  }
  if (context.verify_checksums && buffer.has_crc32c() && !(*context.verified)[buffer_index]) {
    const uint32_t computed = Crc32c(file + offset, size);
    if (computed != buffer.crc32c()) {
      return InvalidModel(LWAI_MSG(where + ": its data does not match its checksum (stored " +
                                   Hex32(buffer.crc32c()) + ", computed " + Hex32(computed) +
                                   "): the file is corrupted"));
    }
    (*context.verified)[buffer_index] = 1;
  }
  dst->constant.data = file + offset;
  dst->constant.size = size;
  dst->constant.keepalive = context.storage;
  dst->constant.file_backed = context.file_backed;
  // Zero-size constants still count as constants.
  if (size == 0) dst->constant.data = file;
  UnpackFourBit(dst);
  return Status::Ok();
}

Status ConvertGraph(const LoadContext& context, const fb::Graph* src, Graph* graph) {
  if (src == nullptr) return InvalidModel(LWAI_MSG("model has no graph"));
  const int num_tensors = src->tensors() ? static_cast<int>(src->tensors()->size()) : 0;
  graph->tensors.resize(num_tensors);
  for (int t = 0; t < num_tensors; ++t) {
    LWAI_RETURN_IF_ERROR(ConvertTensor(context, *src, t, &graph->tensors[t]));
  }
  if (src->nodes()) {
    for (const fb::Node* node_src : *src->nodes()) {
      Node node;
      node.name = node_src->name() ? node_src->name()->str() : "";
      node.op = node_src->op();
      if (node_src->inputs())
        node.inputs.assign(node_src->inputs()->begin(), node_src->inputs()->end());
      if (node_src->outputs()) {
        node.outputs.assign(node_src->outputs()->begin(), node_src->outputs()->end());
      }
      if (node_src->attributes()) {
        for (const fb::Attribute* attr : *node_src->attributes()) {
          Attribute converted;
          Status status = ConvertAttribute(context, *attr, &converted);
          if (!status.ok()) return status.WithContext(LWAI_MSG(node.Describe()));
          node.attributes.push_back(std::move(converted));
        }
      }
      graph->nodes.push_back(std::move(node));
    }
  }
  if (src->inputs()) graph->inputs.assign(src->inputs()->begin(), src->inputs()->end());
  if (src->outputs()) graph->outputs.assign(src->outputs()->begin(), src->outputs()->end());
  return graph->Validate();
}

#ifndef LWAI_NO_MMAP
// Owns an mmap'ed file.
struct Mapping {
  void* address = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (address != nullptr) munmap(address, size);
  }
};
#endif

}  // namespace

static Result<std::shared_ptr<Model>> LoadModelImageUnguarded(const uint8_t* data, size_t size,
                                                              std::shared_ptr<const void> storage,
                                                              bool file_backed,
                                                              const LoadOptions& options);

Result<std::shared_ptr<Model>> LoadModelImage(const uint8_t* data, size_t size,
                                              std::shared_ptr<const void> storage, bool file_backed,
                                              const LoadOptions& options) {
  return CatchAllocationFailure<std::shared_ptr<Model>>("loading the model", [&] {
    return LoadModelImageUnguarded(data, size, std::move(storage), file_backed, options);
  });
}

static Result<std::shared_ptr<Model>> LoadModelImageUnguarded(const uint8_t* data, size_t size,
                                                              std::shared_ptr<const void> storage,
                                                              bool file_backed,
                                                              const LoadOptions& load_options) {
  if (size < 8 || !fb::ModelBufferHasIdentifier(data)) {
    return InvalidModel(LWAI_MSG("not an .lwai model (missing 'LWAI' file identifier" +
                                 std::string(size < 8 ? ", file too short)" : ")")));
  }
  flatbuffers::Verifier::Options options;
  // Room for kMaxSubgraphDepth levels of subgraphs (three tables each), so that too deep a
  // model gets CheckSubgraphDepth's clear message.
  options.max_depth = 128;
  options.max_tables = 50000000;
  flatbuffers::Verifier verifier(data, size, options);
  if (!fb::VerifyModelBuffer(verifier)) {
    return InvalidModel(
        LWAI_MSG("the model structure failed verification (truncated or corrupted file)"));
  }
  const fb::Model& model = *fb::GetModel(data);
  if (model.schema_version() > kSchemaVersion) {
    return InvalidModel(LWAI_MSG("schema version " + std::to_string(model.schema_version()) +
                                 " is newer than this lwai reads (" +
                                 std::to_string(kSchemaVersion) + ")"));
  }
  LWAI_RETURN_IF_ERROR(CheckStrings(model));
  auto graph = std::make_unique<Graph>();
  std::vector<char> verified(model.buffers() ? model.buffers()->size() : 0, 0);
  const LoadContext context{
      model, data, size, storage, file_backed, load_options.verify_checksums, &verified};
  LWAI_RETURN_IF_ERROR(ConvertGraph(context, model.graph(), graph.get()));
  LWAI_RETURN_IF_ERROR(graph->CheckSubgraphDepth());
  auto info = std::make_unique<ModelInfo>();
  if (model.producer()) info->producer = model.producer()->str();
  if (model.source_format()) info->source_format = model.source_format()->str();
  info->source_opset = model.source_opset();
  info->optimized = model.optimized();
  if (model.metadata()) {
    for (const fb::KeyValue* kv : *model.metadata()) {
      info->metadata.emplace_back(kv->key()->str(), kv->value() ? kv->value()->str() : "");
    }
  }
  return std::make_shared<Model>(std::move(graph), std::move(info), std::move(storage));
}

Result<std::shared_ptr<Model>> Model::LoadBuffer(const void* data, size_t size, bool copy,
                                                 const LoadOptions& options) {
  if (data == nullptr) return InvalidArgument(LWAI_MSG("model buffer is null"));
  if (!copy) {
    if (reinterpret_cast<uintptr_t>(data) % 8 != 0) {
      return InvalidArgument(LWAI_MSG("a borrowed model buffer must be 8-byte aligned"));
    }
    return LoadModelImage(static_cast<const uint8_t*>(data), size, nullptr, false, options);
  }
  std::shared_ptr<void> owned = AllocateAligned(size);
  if (owned == nullptr)
    return Status(StatusCode::kOutOfMemory, LWAI_MSG("cannot allocate model copy"));
  std::memcpy(owned.get(), data, size);
  const auto* bytes = static_cast<const uint8_t*>(owned.get());
  return LoadModelImage(bytes, size, std::move(owned), false, options);
}

Result<std::shared_ptr<Model>> Model::LoadFile(const std::string& path,
                                               const LoadOptions& options) {
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
#ifdef LWAI_WITH_JSON
    LWAI_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path));
    return LoadJson(text, path);
#else
    return LoadJson(std::string(), path);  // the error that names the missing JSON support
#endif
  }
#ifdef LWAI_NO_MMAP
  // Built without mmap (LWAI_WITH_MMAP=OFF): the file is read into owned memory, with C stdio
  // only (bare-metal C libraries have no POSIX files).
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return NotFound(LWAI_MSG(path + ": cannot open: " + std::strerror(errno)));
  long end = -1;
  if (std::fseek(file, 0, SEEK_END) == 0) end = std::ftell(file);
  if (end < 0 || std::fseek(file, 0, SEEK_SET) != 0) {
    std::fclose(file);
    return IoError(LWAI_MSG(path + ": not a regular file"));
  }
  const size_t size = static_cast<size_t>(end);
  std::shared_ptr<void> owned = AllocateAligned(size > 0 ? size : 1);
  if (owned == nullptr) {
    std::fclose(file);
    return Status(StatusCode::kOutOfMemory, LWAI_MSG(path + ": cannot allocate " +
                                                     std::to_string(size) + " bytes to read it"));
  }
  const size_t got = std::fread(owned.get(), 1, size, file);
  const bool failed = got != size || std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return IoError(LWAI_MSG(path + ": read failed"));
  const auto* image = static_cast<const uint8_t*>(owned.get());
  auto loaded = LoadModelImage(image, size, std::move(owned), /*file_backed=*/false, options);
  if (!loaded.ok()) return loaded.status().WithContext(LWAI_MSG(path));
  return loaded;
#else
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound(LWAI_MSG(path + ": cannot open: " + std::strerror(errno)));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return IoError(LWAI_MSG(path + ": not a regular file"));
  }
  auto mapping = std::make_shared<Mapping>();
  mapping->size = static_cast<size_t>(st.st_size);
  if (mapping->size > 0) {
    void* address = mmap(nullptr, mapping->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (address == MAP_FAILED) {
      close(fd);
      return IoError(LWAI_MSG(path + ": mmap failed: " + std::strerror(errno)));
    }
    mapping->address = address;
  }
  close(fd);
  const auto* bytes = static_cast<const uint8_t*>(mapping->address);
  auto result = LoadModelImage(bytes, mapping->size, mapping, /*file_backed=*/true, options);
  if (!result.ok()) return result.status().WithContext(LWAI_MSG(path));
  return result;
#endif
}

}  // namespace lwai
