// lwai_run: loads a .lwai model and runs it from plain C++, on random inputs or .npy files,
// printing outputs and timing. Usage:
//   lwai_run model.lwai [--input NAME=FILE.npy]... [--threads N] [--runs N] [--batch N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "lwai/model.h"
#include "lwai/session.h"

namespace {

using Clock = std::chrono::steady_clock;

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Buffer {
  lwai::DataType dtype = lwai::DataType::kUndefined;
  lwai::Shape shape;
  std::vector<uint8_t> bytes;
};

// Reads a little-endian, C-order .npy file of float32/int64/int32/uint8/bool.
lwai::Status ReadNpy(const std::string& path, Buffer* out) {
  // C stdio, not iostreams: device builds of this tool link none.
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) return lwai::NotFound(path + ": cannot open");
  auto read = [&](void* to, size_t count) { return std::fread(to, 1, count, file.get()) == count; };
  char magic[8];
  if (!read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) {
    return lwai::InvalidArgument(path + ": not a .npy file");
  }
  uint32_t header_len = 0;
  bool header_size_read = false;
  if (magic[6] == 1) {
    uint16_t len16 = 0;
    header_size_read = read(&len16, 2);
    header_len = len16;
  } else {
    header_size_read = read(&header_len, 4);
  }
  std::string header(header_size_read ? header_len : 0, '\0');
  if (!header_size_read || !read(header.data(), header_len))
    return lwai::InvalidArgument(path + ": truncated header");
  const std::map<std::string, lwai::DataType> types = {{"<f4", lwai::DataType::kFloat32},
                                                       {"<i8", lwai::DataType::kInt64},
                                                       {"<i4", lwai::DataType::kInt32},
                                                       {"|u1", lwai::DataType::kUInt8},
                                                       {"|b1", lwai::DataType::kBool}};
  for (const auto& [descr, type] : types) {
    if (header.find("'" + descr + "'") != std::string::npos) out->dtype = type;
  }
  if (out->dtype == lwai::DataType::kUndefined) {
    return lwai::Unsupported(path + ": dtype not supported by lwai_run (header " + header + ")");
  }
  if (header.find("'fortran_order': True") != std::string::npos) {
    return lwai::Unsupported(path + ": Fortran-order arrays are not supported");
  }
  const size_t open = header.find('(', header.find("'shape'"));
  const size_t close = header.find(')', open);
  if (open == std::string::npos || close == std::string::npos) {
    return lwai::InvalidArgument(path + ": no shape in header");
  }
  const std::string dims = header.substr(open + 1, close - open - 1);
  for (size_t pos = 0; pos < dims.size();) {
    const size_t comma = dims.find(',', pos);
    const std::string item =
        dims.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (item.find_first_of("0123456789") != std::string::npos) {
      if (out->shape.rank >= lwai::kMaxRank) return lwai::Unsupported(path + ": rank above 8");
      out->shape.dims[out->shape.rank++] = std::strtoll(item.c_str(), nullptr, 10);
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  uint64_t bytes = 0;
  if (!out->shape.CheckedByteSize(lwai::DataTypeSize(out->dtype), &bytes) ||
      bytes > lwai::DefaultMaxMemoryBytes()) {
    return lwai::InvalidArgument(path + ": shape " + out->shape.ToString() +
                                 " is negative or too large");
  }
  out->bytes.resize(bytes);
  if (!read(out->bytes.data(), out->bytes.size())) {
    return lwai::InvalidArgument(path + ": truncated data");
  }
  return lwai::Status::Ok();
}

lwai::Status RandomInput(const lwai::TensorInfo& info, int64_t batch, std::mt19937& rng,
                         Buffer* out) {
  Buffer& b = *out;
  b.dtype = info.dtype;
  if (!info.shape_known || info.shape.size() > static_cast<size_t>(lwai::kMaxRank)) {
    return lwai::InvalidArgument("input '" + info.name + "' has no known shape: pass --input");
  }
  for (int64_t d : info.shape) b.shape.dims[b.shape.rank++] = d < 0 ? batch : d;
  uint64_t bytes = 0;
  if (!b.shape.CheckedByteSize(lwai::DataTypeSize(info.dtype), &bytes) ||
      bytes > lwai::DefaultMaxMemoryBytes()) {
    return lwai::InvalidArgument("input '" + info.name + "': shape " + b.shape.ToString() +
                                 " is too large for random data");
  }
  const int64_t n = b.shape.NumElements();
  b.bytes.resize(bytes);
  std::normal_distribution<float> normal;
  for (int64_t i = 0; i < n; ++i) {
    if (info.dtype == lwai::DataType::kFloat32) {
      reinterpret_cast<float*>(b.bytes.data())[i] = normal(rng);
    } else if (info.dtype == lwai::DataType::kInt64) {
      reinterpret_cast<int64_t*>(b.bytes.data())[i] = static_cast<int64_t>(rng() % 10);
    } else {
      b.bytes[i * lwai::DataTypeSize(info.dtype)] = static_cast<uint8_t>(rng() % 2);
    }
  }
  return lwai::Status::Ok();
}

void PrintOutput(const lwai::TensorInfo& info, const lwai::TensorRef& out) {
  std::printf("%s: %s %s\n ", info.name.c_str(), lwai::DataTypeName(out.dtype),
              out.shape.ToString().c_str());
  const int64_t n = out.shape.NumElements();
  for (int64_t i = 0; i < std::min<int64_t>(n, 8); ++i) {
    if (out.dtype == lwai::DataType::kFloat32) {
      std::printf(" %.6g", static_cast<const float*>(out.data)[i]);
    } else if (out.dtype == lwai::DataType::kInt64) {
      std::printf(" %lld", static_cast<long long>(static_cast<const int64_t*>(out.data)[i]));
    }
  }
  std::printf("%s\n", n > 8 ? " ..." : "");
}

int Fail(const lwai::Status& status) {
  std::fprintf(stderr, "lwai_run: error: %s\n", status.ToString().c_str());
  return 1;
}

int Main(int argc, char** argv);

}  // namespace

int main(int argc, char** argv) {
  // The library never throws; this tool's own containers could, on hostile input sizes.
  try {
    return Main(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "lwai_run: error: out of memory\n");
    return 1;
  }
}

namespace {

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: lwai_run model.lwai [--input NAME=FILE.npy]... [--threads N] "
                 "[--runs N] [--batch N] [--timeout-ms N] [--max-memory BYTES]\n");
    return 2;
  }
  const std::string model_path = argv[1];
  std::map<std::string, std::string> input_files;
  lwai::SessionOptions options;
  int runs = 10;
  int64_t batch = 1;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "lwai_run: %s needs a value\n", arg.c_str());
      return 2;
    }
    const std::string value = argv[++i];
    if (arg == "--input") {
      const size_t eq = value.find('=');
      if (eq == std::string::npos) {
        std::fprintf(stderr, "lwai_run: --input takes NAME=FILE.npy\n");
        return 2;
      }
      input_files[value.substr(0, eq)] = value.substr(eq + 1);
    } else if (arg == "--threads") {
      options.threads = std::atoi(value.c_str());
    } else if (arg == "--runs") {
      runs = std::max(1, std::atoi(value.c_str()));
    } else if (arg == "--batch") {
      batch = std::max(1, std::atoi(value.c_str()));
    } else if (arg == "--timeout-ms") {
      options.timeout_ms = std::max(0LL, std::atoll(value.c_str()));
    } else if (arg == "--max-memory") {
      options.max_memory_bytes = std::strtoull(value.c_str(), nullptr, 10);
    } else {
      std::fprintf(stderr, "lwai_run: unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  const auto start = Clock::now();
  auto model = lwai::Model::LoadFile(model_path);
  if (!model.ok()) return Fail(model.status());
  auto session = lwai::Session::Create(*model, options);
  if (!session.ok()) return Fail(session.status());
  const double load_ms = MillisecondsSince(start);

  std::mt19937 rng(0);
  std::vector<Buffer> buffers;
  std::vector<lwai::TensorRef> refs;
  for (const lwai::TensorInfo& info : (*session)->inputs()) {
    Buffer b;
    const auto file = input_files.find(info.name);
    if (file != input_files.end()) {
      lwai::Status status = ReadNpy(file->second, &b);
      if (!status.ok()) return Fail(status);
      input_files.erase(file);
    } else {
      lwai::Status status = RandomInput(info, batch, rng, &b);
      if (!status.ok()) return Fail(status);
    }
    buffers.push_back(std::move(b));
  }
  if (!input_files.empty()) {
    return Fail(
        lwai::InvalidArgument("the model has no input named '" + input_files.begin()->first + "'"));
  }
  for (const Buffer& b : buffers) refs.push_back(lwai::TensorRef{b.dtype, b.shape, b.bytes.data()});

  const auto first = Clock::now();
  lwai::Status status = (*session)->Run(refs);
  if (!status.ok()) return Fail(status);
  const double first_ms = MillisecondsSince(first);
  std::vector<double> times;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = Clock::now();
    status = (*session)->Run(refs);
    if (!status.ok()) return Fail(status);
    times.push_back(MillisecondsSince(t0));
  }
  const auto& outputs = (*session)->outputs();
  for (size_t o = 0; o < outputs.size(); ++o)
    PrintOutput(outputs[o], (*session)->output(static_cast<int>(o)));
  std::sort(times.begin(), times.end());
  std::printf(
      "load+prepare %.2f ms, first run %.2f ms, median %.3f ms over %d runs (min %.3f, "
      "max %.3f), threads %d, arena %zu bytes\n",
      load_ms, first_ms, times[times.size() / 2], runs, times.front(), times.back(),
      options.threads, (*session)->arena_bytes());
  return 0;
}

}  // namespace
