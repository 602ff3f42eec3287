// lwai's oneDNN backend: a vendor library behind the C plugin ABI (lwai/plugin_api.h, version 2),
// built as its own shared library (liblwai_onednn.so) and loaded by path or by its name
// ("onednn"), as a vendor would ship it. It claims the int8 part of quantized networks for
// partitions and runs each partition in NHWC, the layout oneDNN's int8 kernels want, so that only
// the partition's boundary tensors are converted from and to lwai's NCHW:
//   QLinearConv              oneDNN convolution (u8/s8 activations, s8 weights per channel,
//                            s32 bias, requantization and fused Relu/Clip in the kernel)
//   MaxPool, AveragePool     oneDNN pooling (MaxPool on int8 or float32, AveragePool float32)
//   QuantizeLinear, DequantizeLinear, QLinearAdd, QLinearConcat (channels),
//   QLinearGlobalAveragePool
//                            lwai's own int8 row functions (kernels/int8_elementwise.h), the
//                            definitions its reference kernels use
//   Conv, Add, Concat, GlobalAveragePool (float32)
//                            with LWAI_ONEDNN_FLOAT32=1 only (see FloatEnabled)
// Requantization in oneDNN adds the output zero point before rounding; where that lands on an
// exact tie, a value can differ from lwai's reference by one quantization step.
//
// Threads: oneDNN runs on OpenMP; each run uses the session's thread count.
#include <omp.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dnnl.hpp"
#include "kernels/int8_elementwise.h"
#include "lwai/plugin_api.h"

namespace {

using dnnl::algorithm;
using dnnl::memory;
using Tag = dnnl::memory::format_tag;
using Type = dnnl::memory::data_type;

// --- Reading lwai tensors and attributes -----------------------------------------------------

bool IsByte(int32_t dtype) { return dtype == LWAI_DTYPE_UINT8 || dtype == LWAI_DTYPE_INT8; }
bool Omitted(const lwai_tensor& t) { return t.dtype == LWAI_DTYPE_UNDEFINED; }

// A constant float32 scalar (one value, any rank).
bool ConstantScalar(const lwai_tensor& t) {
  return t.data != nullptr && t.dtype == LWAI_DTYPE_FLOAT32 && lwai_tensor_num_elements(&t) == 1;
}

// An omitted zero point, or a constant 8-bit scalar.
bool ConstantZeroPoint(const lwai_tensor& t) {
  return Omitted(t) || (t.data != nullptr && IsByte(t.dtype) && lwai_tensor_num_elements(&t) == 1);
}

float ScalarValue(const lwai_tensor& t) { return *static_cast<const float*>(t.data); }

int32_t ZeroPointValue(const lwai_tensor& t) {
  if (Omitted(t)) return 0;
  return t.dtype == LWAI_DTYPE_INT8 ? *static_cast<const int8_t*>(t.data)
                                    : *static_cast<const uint8_t*>(t.data);
}

std::vector<int64_t> Ints(const lwai_node* node, const char* name) {
  const lwai_attribute* a = lwai_node_find_attribute(node, name);
  if (a == nullptr || a->type != LWAI_ATTRIBUTE_INTS) return {};
  return std::vector<int64_t>(a->ints, a->ints + a->count);
}

std::string String(const lwai_node* node, const char* name) {
  const lwai_attribute* a = lwai_node_find_attribute(node, name);
  return a != nullptr && a->type == LWAI_ATTRIBUTE_STRING ? std::string(a->s) : std::string();
}

bool AllEqual(const std::vector<int64_t>& v, int64_t value) {
  return std::all_of(v.begin(), v.end(), [&](int64_t x) { return x == value; });
}

bool Rank4(const lwai_tensor& t) { return t.rank == 4; }

// Window attributes shared by convolution and pooling: 2-D kernels, explicit pads, no auto_pad
// other than NOTSET/VALID (the importer writes explicit pads).
bool PlainWindow(const lwai_node* node) {
  const std::string auto_pad = String(node, "auto_pad");
  if (!auto_pad.empty() && auto_pad != "NOTSET" && auto_pad != "VALID") return false;
  const std::vector<int64_t> pads = Ints(node, "pads");
  return pads.empty() || pads.size() == 4;
}

// --- What the plugin claims ----------------------------------------------------------------------

bool SupportsQLinearConv(const lwai_node* node) {
  if (node->num_inputs < 8 || node->num_outputs != 1) return false;
  const lwai_tensor* in = node->inputs;
  const lwai_tensor& w = in[3];
  if (!Rank4(in[0]) && in[0].rank != -1) return false;
  if (!IsByte(in[0].dtype) || w.data == nullptr || w.dtype != LWAI_DTYPE_INT8 || w.rank != 4) {
    return false;
  }
  if (!ConstantScalar(in[1]) || !ConstantZeroPoint(in[2]) || !ConstantScalar(in[6]) ||
      !ConstantZeroPoint(in[7]) || in[4].data == nullptr || in[4].dtype != LWAI_DTYPE_FLOAT32) {
    return false;
  }
  const int64_t out_channels = w.dims[0];
  const int64_t w_scales = lwai_tensor_num_elements(&in[4]);
  if (w_scales != 1 && w_scales != out_channels) return false;
  // Symmetric weights only: every weight zero point 0.
  if (!Omitted(in[5])) {
    if (in[5].data == nullptr || in[5].dtype != LWAI_DTYPE_INT8) return false;
    const auto* zp = static_cast<const int8_t*>(in[5].data);
    for (int64_t i = 0; i < lwai_tensor_num_elements(&in[5]); ++i) {
      if (zp[i] != 0) return false;
    }
  }
  if (node->num_inputs > 8 && !Omitted(in[8]) &&
      (in[8].data == nullptr || in[8].dtype != LWAI_DTYPE_INT32)) {
    return false;
  }
  const std::string activation = String(node, "activation");
  if (!activation.empty() && activation != "Relu" && activation != "Clip") return false;
  return PlainWindow(node);
}

bool SupportsPool(const lwai_node* node, bool max) {
  if (node->num_inputs != 1) return false;
  if (node->num_outputs > 1 && !Omitted(node->outputs[1])) return false;  // MaxPool's indices
  const lwai_tensor& x = node->inputs[0];
  if (!Rank4(x) && x.rank != -1) return false;
  if (x.dtype != LWAI_DTYPE_FLOAT32 && !(max && IsByte(x.dtype))) return false;
  if (Ints(node, "kernel_shape").size() != 2 || !AllEqual(Ints(node, "dilations"), 1)) {
    return false;
  }
  if (lwai_node_get_int(node, "storage_order", 0) != 0) return false;
  // ONNX counts a ceil_mode window's overhang differently from oneDNN when padding counts.
  if (!max && lwai_node_get_int(node, "ceil_mode", 0) != 0 &&
      lwai_node_get_int(node, "count_include_pad", 0) != 0) {
    return false;
  }
  return PlainWindow(node);
}

bool SupportsQuantize(const lwai_node* node, bool quantize) {
  if (node->num_inputs < 2 || node->num_outputs != 1) return false;
  if (lwai_node_get_int(node, "block_size", 0) != 0) return false;
  const lwai_tensor& x = node->inputs[0];
  if (quantize ? x.dtype != LWAI_DTYPE_FLOAT32 : !IsByte(x.dtype)) return false;
  if (quantize && !IsByte(node->outputs[0].dtype)) return false;
  return ConstantScalar(node->inputs[1]) &&
         (node->num_inputs < 3 || ConstantZeroPoint(node->inputs[2]));
}

// Same known shape on both sides (no broadcasting).
bool SameShape(const lwai_tensor& a, const lwai_tensor& b) {
  if (a.rank < 0 || a.rank != b.rank) return false;
  for (int32_t d = 0; d < a.rank; ++d) {
    if (a.dims[d] != b.dims[d]) return false;
  }
  return true;
}

bool SupportsQLinearAdd(const lwai_node* node) {
  if (node->num_inputs != 8 || node->num_outputs != 1) return false;
  const lwai_tensor* in = node->inputs;
  if (!IsByte(in[0].dtype) || in[3].dtype != in[0].dtype) return false;
  if (!String(node, "activation").empty() || !SameShape(in[0], in[3])) return false;
  return ConstantScalar(in[1]) && ConstantZeroPoint(in[2]) && ConstantScalar(in[4]) &&
         ConstantZeroPoint(in[5]) && ConstantScalar(in[6]) && ConstantZeroPoint(in[7]);
}

bool SupportsQLinearConcat(const lwai_node* node) {
  if (node->num_inputs < 5 || (node->num_inputs - 2) % 3 != 0 || node->num_outputs != 1) {
    return false;
  }
  const int64_t axis = lwai_node_get_int(node, "axis", 0);
  if (axis != 1 && axis != -3) return false;
  if (!ConstantScalar(node->inputs[0]) || !ConstantZeroPoint(node->inputs[1])) return false;
  for (int32_t i = 2; i < node->num_inputs; i += 3) {
    const lwai_tensor& x = node->inputs[i];
    if (!Rank4(x) || !IsByte(x.dtype) || !ConstantScalar(node->inputs[i + 1]) ||
        !ConstantZeroPoint(node->inputs[i + 2])) {
      return false;
    }
  }
  return true;
}

bool SupportsQLinearGlobalAveragePool(const lwai_node* node) {
  if (node->num_inputs != 5 || node->num_outputs != 1) return false;
  const lwai_tensor* in = node->inputs;
  if (!Rank4(in[0]) || !IsByte(in[0].dtype)) return false;
  if (lwai_node_get_int(node, "channels_last", 0) != 0) return false;
  return ConstantScalar(in[1]) && ConstantZeroPoint(in[2]) && ConstantScalar(in[3]) &&
         ConstantZeroPoint(in[4]);
}

// float32 Conv with constant weights (and bias) and lwai's fused Relu/Clip.
bool SupportsConv(const lwai_node* node) {
  if (node->num_inputs < 2 || node->num_outputs != 1) return false;
  const lwai_tensor& x = node->inputs[0];
  const lwai_tensor& w = node->inputs[1];
  if (x.dtype != LWAI_DTYPE_FLOAT32 || (!Rank4(x) && x.rank != -1)) return false;
  if (w.data == nullptr || w.dtype != LWAI_DTYPE_FLOAT32 || w.rank != 4) return false;
  if (node->num_inputs > 2 && !Omitted(node->inputs[2]) &&
      (node->inputs[2].data == nullptr || node->inputs[2].dtype != LWAI_DTYPE_FLOAT32)) {
    return false;
  }
  const std::string activation = String(node, "activation");
  if (!activation.empty() && activation != "Relu" && activation != "Clip") return false;
  return PlainWindow(node);
}

bool SupportsFloatAdd(const lwai_node* node) {
  return node->num_inputs == 2 && node->num_outputs == 1 &&
         node->inputs[0].dtype == LWAI_DTYPE_FLOAT32 &&
         node->inputs[1].dtype == LWAI_DTYPE_FLOAT32 && String(node, "activation").empty() &&
         SameShape(node->inputs[0], node->inputs[1]);
}

bool SupportsFloatChannelConcat(const lwai_node* node) {
  const int64_t axis = lwai_node_get_int(node, "axis", 0);
  if (node->num_inputs < 1 || node->num_outputs != 1 || (axis != 1 && axis != -3)) return false;
  for (int32_t i = 0; i < node->num_inputs; ++i) {
    if (!Rank4(node->inputs[i]) || node->inputs[i].dtype != LWAI_DTYPE_FLOAT32) return false;
  }
  return true;
}

bool SupportsGlobalAveragePool(const lwai_node* node) {
  return node->num_inputs == 1 && node->num_outputs == 1 && Rank4(node->inputs[0]) &&
         node->inputs[0].dtype == LWAI_DTYPE_FLOAT32;
}

// float32 convolutions (and the Add, Concat and GlobalAveragePool between them) only when
// LWAI_ONEDNN_FLOAT32=1: measured on this project's seed networks, oneDNN 2.6's float kernels
// are 1.0-1.6x slower than lwai's own (Winograd, XNNPACK), while its int8 ones are faster.
bool FloatEnabled() {
  const char* value = std::getenv("LWAI_ONEDNN_FLOAT32");
  return value != nullptr && std::strcmp(value, "1") == 0;
}

// Convolutions anchor partitions; everything else only joins one (alone, its layout
// conversions would cost more than oneDNN saves).
int SupportsPartition(const lwai_node* node) {
  const std::string op = node->op_type;
  bool claimed = false;
  if (op == "QLinearConv") return SupportsQLinearConv(node) ? LWAI_PARTITION_CLAIM : 0;
  if (op == "Conv") return FloatEnabled() && SupportsConv(node) ? LWAI_PARTITION_CLAIM : 0;
  if (op == "Add") {
    claimed = FloatEnabled() && SupportsFloatAdd(node);
  } else if (op == "Concat") {
    claimed = FloatEnabled() && SupportsFloatChannelConcat(node);
  } else if (op == "GlobalAveragePool") {
    claimed = FloatEnabled() && SupportsGlobalAveragePool(node);
  } else if (op == "MaxPool" || op == "AveragePool") {
    claimed = SupportsPool(node, /*max=*/op == "MaxPool");
  } else if (op == "QuantizeLinear" || op == "DequantizeLinear") {
    claimed = SupportsQuantize(node, /*quantize=*/op == "QuantizeLinear");
  } else if (op == "QLinearAdd") {
    claimed = SupportsQLinearAdd(node);
  } else if (op == "QLinearConcat") {
    claimed = SupportsQLinearConcat(node);
  } else if (op == "QLinearGlobalAveragePool") {
    claimed = SupportsQLinearGlobalAveragePool(node);
  }
  return claimed ? LWAI_PARTITION_JOIN_ONLY : LWAI_PARTITION_DECLINE;
}

// --- Partitions ------------------------------------------------------------------------------

// GNU OpenMP's thread pool does not survive fork(): a child whose parent ran parallel regions
// waits forever for workers that do not exist. In a forked child, partitions therefore run on
// the calling thread only, and partitions created before the fork refuse to run.
std::atomic<bool> g_forked{false};
void MarkForked() { g_forked = true; }
const bool kForkHandlerInstalled = pthread_atfork(nullptr, nullptr, MarkForked) == 0;

// An error with a message for the ABI's error buffer.
struct PluginError {
  int code;
  std::string message;
};

size_t ElementSize(int32_t dtype) {
  switch (dtype) {
    case LWAI_DTYPE_UINT8:
    case LWAI_DTYPE_INT8:
      return 1;
    case LWAI_DTYPE_INT32:
    case LWAI_DTYPE_FLOAT32:
      return 4;
    default:
      return 0;
  }
}

Type DnnlType(int32_t dtype) {
  switch (dtype) {
    case LWAI_DTYPE_UINT8:
      return Type::u8;
    case LWAI_DTYPE_INT8:
      return Type::s8;
    case LWAI_DTYPE_INT32:
      return Type::s32;
    default:
      return Type::f32;
  }
}

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

// A tensor of the partition. Rank-4 tensors live in NHWC inside the partition; a boundary tensor
// of rank 4 therefore has its own buffer and is converted on the way in or out, others use the
// session's buffer directly.
struct Slot {
  std::string name;
  int32_t dtype = LWAI_DTYPE_UNDEFINED;
  std::vector<int64_t> dims;  // lwai's (NCHW) dims
  int buffer = -1;            // index into Partition::buffers_, or -1 (the session's buffer)
  int input = -1, output = -1;
  void* data = nullptr;  // this run's address

  bool nhwc() const { return dims.size() == 4; }
  int64_t elements() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
  }
  size_t bytes() const { return static_cast<size_t>(elements()) * ElementSize(dtype); }
  memory::dims dnnl_dims() const { return memory::dims(dims.begin(), dims.end()); }
  // Rank-4 slots only (the primitives' activations).
  memory::desc desc() const { return memory::desc(dnnl_dims(), DnnlType(dtype), Tag::nhwc); }
};

class Partition {
 public:
  Partition(int threads, uint64_t max_memory_bytes)
      : threads_(g_forked ? 1 : std::max(1, threads)),
        max_memory_bytes_(max_memory_bytes),
        stream_(engine_) {}

  // Buffers and packed weights held.
  uint64_t memory_bytes() const { return memory_bytes_; }

  // oneDNN's implementation for the primitive of partition node `node`, or null.
  const char* kernel(int32_t node) const {
    auto found = kernels_.find(node);
    return found != kernels_.end() ? found->second.c_str() : nullptr;
  }

  void Compile(const lwai_partition& p) {
    // oneDNN sizes its kernels' work split for the OpenMP thread count at creation.
    omp_set_num_threads(threads_);
    for (int32_t i = 0; i < p.num_inputs; ++i) Define(p.inputs[i]).input = i;
    for (int32_t i = 0; i < p.num_outputs; ++i) Define(p.outputs[i]).output = i;
    // Buffers: every internal tensor, and every rank-4 boundary tensor (NHWC copy), is given a
    // buffer from a pool reused once its last reader has run.
    std::unordered_map<std::string, int> last_use;
    for (int32_t n = 0; n < p.num_nodes; ++n) {
      for (int32_t i = 0; i < p.nodes[n].num_inputs; ++i) {
        if (!Omitted(p.nodes[n].inputs[i])) last_use[p.nodes[n].inputs[i].name] = n;
      }
    }
    for (auto& [name, slot] : slots_) {
      if (slot.input >= 0 && slot.nhwc()) Allocate(&slot);
    }
    for (int32_t n = 0; n < p.num_nodes; ++n) {
      const lwai_node& node = p.nodes[n];
      for (int32_t o = 0; o < node.num_outputs; ++o) {
        if (Omitted(node.outputs[o])) continue;
        Slot& slot = Define(node.outputs[o]);
        if (slot.output < 0 || slot.nhwc()) Allocate(&slot);
      }
      AddStep(node, n);
      // Internal tensors whose last reader this was give their buffer back. Outputs stay.
      for (int32_t i = 0; i < node.num_inputs; ++i) {
        const lwai_tensor& t = node.inputs[i];
        if (Omitted(t) || t.data != nullptr || last_use[t.name] != n) continue;
        Slot& slot = slots_.at(t.name);
        if (slot.output < 0 && slot.buffer >= 0) free_buffers_.push_back(slot.buffer);
      }
    }
    for (int32_t i = 0; i < p.num_inputs; ++i) inputs_.push_back(&slots_.at(p.inputs[i].name));
    for (int32_t i = 0; i < p.num_outputs; ++i) {
      outputs_.push_back(&slots_.at(p.outputs[i].name));
    }
    for (Slot* slot : inputs_) {
      if (slot->nhwc()) input_copies_.emplace(slot, MakeLayoutCopy(*slot, true));
    }
    for (Slot* slot : outputs_) {
      if (slot->nhwc()) output_copies_.emplace(slot, MakeLayoutCopy(*slot, false));
    }
  }

  void Run(const lwai_tensor* inputs, const lwai_tensor* outputs, int64_t* node_time_ns) {
    if (g_forked && threads_ > 1) {
      throw PluginError{LWAI_STATUS_INVALID_ARGUMENT,
                        "this session was created with " + std::to_string(threads_) +
                            " threads before the process forked, and OpenMP's threads do not "
                            "survive fork(): create the session in the child process (or use "
                            "the 'spawn' or 'forkserver' start method)"};
    }
    omp_set_num_threads(threads_);
    for (auto& [name, slot] : slots_) {
      if (slot.buffer >= 0) slot.data = buffers_[slot.buffer].get();
    }
    for (Slot* slot : inputs_) {
      if (slot->nhwc()) {
        RunLayoutCopy(input_copies_.at(slot), inputs[slot->input].data, true);
      } else {
        slot->data = inputs[slot->input].data;
      }
    }
    for (Slot* slot : outputs_) {
      if (!slot->nhwc()) slot->data = outputs[slot->output].data;
    }
    for (const Step& step : steps_) {
      if (node_time_ns == nullptr) {
        step.run();
        continue;
      }
      const auto start = std::chrono::steady_clock::now();
      step.run();
      node_time_ns[step.node] = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::steady_clock::now() - start)
                                    .count();
    }
    for (Slot* slot : outputs_) {
      if (slot->nhwc()) RunLayoutCopy(output_copies_.at(slot), outputs[slot->output].data, false);
    }
  }

 private:
  struct Step {
    int node;
    std::function<void()> run;
  };

  Slot& Define(const lwai_tensor& t) {
    auto found = slots_.find(t.name);
    if (found != slots_.end()) return found->second;
    Slot& slot = slots_[t.name];
    slot.name = t.name;
    slot.dtype = t.dtype;
    slot.dims.assign(t.dims, t.dims + t.rank);
    return slot;
  }

  void Allocate(Slot* slot) {
    const size_t bytes = std::max<size_t>(64, (slot->bytes() + 63) / 64 * 64);
    int best = -1;
    for (size_t i = 0; i < free_buffers_.size(); ++i) {
      const int b = free_buffers_[i];
      if (buffer_bytes_[b] >= bytes && (best < 0 || buffer_bytes_[b] < buffer_bytes_[best])) {
        best = b;
      }
    }
    if (best >= 0) {
      free_buffers_.erase(std::find(free_buffers_.begin(), free_buffers_.end(), best));
      slot->buffer = best;
      return;
    }
    Charge(bytes, slot->name);
    void* data = std::aligned_alloc(64, bytes);
    if (data == nullptr) throw std::bad_alloc();
    buffers_.emplace_back(data);
    buffer_bytes_.push_back(bytes);
    slot->buffer = static_cast<int>(buffers_.size()) - 1;
  }

  // Counts `bytes` more held for `what` against the session's memory limit.
  void Charge(uint64_t bytes, const std::string& what) {
    memory_bytes_ += bytes;
    if (max_memory_bytes_ != 0 && memory_bytes_ > max_memory_bytes_) {
      throw PluginError{LWAI_STATUS_OUT_OF_MEMORY,
                        "'" + what + "' would bring the partition's memory to " +
                            std::to_string(memory_bytes_) + " bytes, over the session's limit of " +
                            std::to_string(max_memory_bytes_)};
    }
  }

  Slot& In(const lwai_node& node, int i) { return slots_.at(node.inputs[i].name); }
  Slot& Out(const lwai_node& node, int o) { return slots_.at(node.outputs[o].name); }

  // NCHW (session) <-> NHWC (partition) copies of a boundary tensor.
  // The NCHW <-> NHWC conversion of a rank-4 boundary tensor: a reorder between the session's
  // buffer (its address set per run) and the slot's own buffer, built once.
  struct LayoutCopy {
    dnnl::reorder reorder;
    memory session, own;
  };
  LayoutCopy MakeLayoutCopy(const Slot& slot, bool into_partition) {
    const memory::desc nchw(slot.dnnl_dims(), DnnlType(slot.dtype), Tag::nchw);
    const memory::desc nhwc(slot.dnnl_dims(), DnnlType(slot.dtype), Tag::nhwc);
    LayoutCopy copy{dnnl::reorder(), memory(nchw, engine_, nullptr),
                    memory(nhwc, engine_, buffers_[slot.buffer].get())};
    copy.reorder = into_partition ? dnnl::reorder(copy.session, copy.own)
                                  : dnnl::reorder(copy.own, copy.session);
    return copy;
  }
  void RunLayoutCopy(LayoutCopy& copy, void* session_data, bool into_partition) {
    copy.session.set_data_handle(session_data);
    if (into_partition) {
      copy.reorder.execute(stream_, copy.session, copy.own);
    } else {
      copy.reorder.execute(stream_, copy.own, copy.session);
    }
    stream_.wait();
  }

  void AddStep(const lwai_node& node, int index) {
    const std::string op = node.op_type;
    if (op == "QLinearConv") return AddConvolution(node, index);
    if (op == "Conv") return AddFloatConvolution(node, index);
    if (op == "Add") return AddFloatAdd(node, index);
    if (op == "Concat") return AddChannelConcat(node, index, /*quantized=*/false);
    if (op == "GlobalAveragePool") return AddGlobalAveragePoolFloat(node, index);
    if (op == "MaxPool" || op == "AveragePool") return AddPooling(node, index, op == "MaxPool");
    if (op == "QuantizeLinear") return AddQuantize(node, index);
    if (op == "DequantizeLinear") return AddDequantize(node, index);
    if (op == "QLinearAdd") return AddQLinearAdd(node, index);
    if (op == "QLinearConcat") return AddChannelConcat(node, index, /*quantized=*/true);
    if (op == "QLinearGlobalAveragePool") return AddGlobalAveragePool(node, index);
    throw PluginError{LWAI_STATUS_INTERNAL, std::string("no step for ") + node.op_type};
  }

  // Runs a oneDNN primitive. Its activations are rank-4 slots, which always live in the
  // partition's own buffers, at addresses fixed since Allocate: the arguments are bound once.
  void AddPrimitive(int index, dnnl::primitive primitive,
                    std::vector<std::pair<int, std::pair<memory, Slot*>>> args) {
    auto bound = std::make_shared<std::unordered_map<int, memory>>();
    for (auto& [arg, value] : args) {
      if (value.second != nullptr) {
        if (value.second->buffer < 0) {
          throw PluginError{LWAI_STATUS_INTERNAL,
                            "tensor '" + value.second->name + "' has no partition buffer"};
        }
        value.first.set_data_handle(buffers_[value.second->buffer].get());
      }
      bound->emplace(arg, value.first);
    }
    steps_.push_back({index, [this, primitive, bound]() {
                        primitive.execute(stream_, *bound);
                        stream_.wait();
                      }});
  }

  // Window geometry of a 2-D convolution or pooling: strides, pads (begin, end); the end pads
  // include any ceil_mode overhang, so that oneDNN's output size equals lwai's.
  struct Window {
    memory::dims kernel, strides, dilations, pad_begin, pad_end;
  };
  Window WindowOf(const lwai_node& node, const Slot& x, const Slot& y,
                  const std::vector<int64_t>& kernel) {
    Window w;
    std::vector<int64_t> strides = Ints(&node, "strides"), pads = Ints(&node, "pads"),
                         dilations = Ints(&node, "dilations");
    if (strides.empty()) strides = {1, 1};
    if (dilations.empty()) dilations = {1, 1};
    if (pads.empty()) pads = {0, 0, 0, 0};
    for (int d = 0; d < 2; ++d) {
      const int64_t extent = (kernel[d] - 1) * dilations[d] + 1;
      w.kernel.push_back(kernel[d]);
      w.strides.push_back(strides[d]);
      w.dilations.push_back(dilations[d] - 1);
      w.pad_begin.push_back(pads[d]);
      // oneDNN: out = (in + begin + end - extent) / stride + 1; solve for `end`.
      const int64_t end = (y.dims[2 + d] - 1) * strides[d] + extent - x.dims[2 + d] - pads[d];
      w.pad_end.push_back(std::max<int64_t>(end, 0));
    }
    return w;
  }

  void AddConvolution(const lwai_node& node, int index) {
    const lwai_tensor* in = node.inputs;
    Slot& x = In(node, 0);
    Slot& y = Out(node, 0);
    const lwai_tensor& w = in[3];
    const int64_t out_channels = w.dims[0];
    const int64_t group = lwai_node_get_int(&node, "group", 1);
    const Window window = WindowOf(node, x, y, {w.dims[2], w.dims[3]});

    const float x_scale = ScalarValue(in[1]), y_scale = ScalarValue(in[6]);
    const int32_t x_zp = ZeroPointValue(in[2]), y_zp = ZeroPointValue(in[7]);
    const auto* w_scale = static_cast<const float*>(in[4].data);
    const int64_t w_scales = lwai_tensor_num_elements(&in[4]);
    std::vector<float> scales(out_channels);
    for (int64_t c = 0; c < out_channels; ++c) {
      scales[c] = x_scale * w_scale[w_scales == 1 ? 0 : c] / y_scale;
      // Scales whose product overflows or vanishes: the reference defines what NaN does there.
      if (!std::isfinite(scales[c]) || !(scales[c] > 0)) {
        throw PluginError{LWAI_STATUS_UNSUPPORTED, "output scale out of range"};
      }
    }
    dnnl::primitive_attr attr;
    attr.set_output_scales(out_channels > 1 ? 2 : 0, scales);
    if (x_zp != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {x_zp});
    if (y_zp != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {y_zp});
    // The activation clamps the quantized output: in oneDNN's order (scale, post-ops, then the
    // zero point), a clip to the bounds minus the zero point.
    const bool is_signed = y.dtype == LWAI_DTYPE_INT8;
    int32_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
    const std::string activation = String(&node, "activation");
    if (!activation.empty()) {
      const float inf = std::numeric_limits<float>::infinity();
      const float a_min =
          activation == "Relu" ? 0.0f : lwai_node_get_float(&node, "activation_min", -inf);
      const float a_max =
          activation == "Relu" ? inf : lwai_node_get_float(&node, "activation_max", inf);
      lwai::NarrowToActivationBounds(a_min, a_max, y_scale, y_zp, &lo, &hi);
      dnnl::post_ops post;
      post.append_eltwise(1.0f, algorithm::eltwise_clip, static_cast<float>(lo - y_zp),
                          static_cast<float>(hi - y_zp));
      attr.set_post_ops(post);
    }

    const bool has_bias = node.num_inputs > 8 && !Omitted(in[8]);
    const memory::desc bias_desc =
        has_bias ? memory::desc({out_channels}, Type::s32, Tag::x) : memory::desc();
    AddConvolutionPrimitive(node, index, x, y, window, group, Type::s8, attr, bias_desc,
                            has_bias ? in[8].data : nullptr);
  }

  void AddFloatConvolution(const lwai_node& node, int index) {
    Slot& x = In(node, 0);
    Slot& y = Out(node, 0);
    const lwai_tensor& w = node.inputs[1];
    const int64_t out_channels = w.dims[0];
    const int64_t group = lwai_node_get_int(&node, "group", 1);
    const Window window = WindowOf(node, x, y, {w.dims[2], w.dims[3]});
    dnnl::primitive_attr attr;
    const std::string activation = String(&node, "activation");
    if (!activation.empty()) {
      const float inf = std::numeric_limits<float>::infinity();
      dnnl::post_ops post;
      if (activation == "Relu") {
        post.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
      } else {
        post.append_eltwise(1.0f, algorithm::eltwise_clip,
                            lwai_node_get_float(&node, "activation_min", -inf),
                            lwai_node_get_float(&node, "activation_max", inf));
      }
      attr.set_post_ops(post);
    }
    const bool has_bias = node.num_inputs > 2 && !Omitted(node.inputs[2]);
    const memory::desc bias_desc =
        has_bias ? memory::desc({out_channels}, Type::f32, Tag::x) : memory::desc();
    AddConvolutionPrimitive(node, index, x, y, window, group, Type::f32, attr, bias_desc,
                            has_bias ? node.inputs[2].data : nullptr);
  }

  // A convolution on NHWC slots: weights (input 1 of Conv, 3 of QLinearConv) reordered once into
  // the layout the chosen kernel wants and kept with the step.
  void AddConvolutionPrimitive(const lwai_node& node, int index, Slot& x, Slot& y,
                               const Window& window, int64_t group, Type weight_type,
                               const dnnl::primitive_attr& attr, const memory::desc& bias_desc,
                               const void* bias) {
    const lwai_tensor& w = node.inputs[weight_type == Type::f32 ? 1 : 3];
    const int64_t out_channels = w.dims[0];
    memory::dims w_dims = {out_channels, w.dims[1], w.dims[2], w.dims[3]};
    Tag w_tag = Tag::oihw;
    if (group > 1) {
      w_dims = {group, out_channels / group, w.dims[1], w.dims[2], w.dims[3]};
      w_tag = Tag::goihw;
    }
    const memory::desc w_any(w_dims, weight_type, Tag::any);
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, algorithm::convolution_direct, x.desc(), w_any,
        bias_desc, y.desc(), window.strides, window.dilations, window.pad_begin, window.pad_end);
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, engine_);
    kernels_[index] = pd.impl_info_str();
    memory user_w({w_dims, weight_type, w_tag}, engine_, w.data);
    Charge(pd.weights_desc().get_size() + bias_desc.get_size(), w.name);
    memory packed_w(pd.weights_desc(), engine_);
    dnnl::reorder(user_w, packed_w).execute(stream_, user_w, packed_w);
    stream_.wait();
    std::vector<std::pair<int, std::pair<memory, Slot*>>> args = {
        {DNNL_ARG_SRC, {memory(pd.src_desc(), engine_, nullptr), &x}},
        {DNNL_ARG_WEIGHTS, {packed_w, nullptr}},
        {DNNL_ARG_DST, {memory(pd.dst_desc(), engine_, nullptr), &y}}};
    if (bias != nullptr) {
      memory bias_memory(bias_desc, engine_);
      std::memcpy(bias_memory.get_data_handle(), bias, bias_desc.get_size());
      args.push_back({DNNL_ARG_BIAS, {bias_memory, nullptr}});
    }
    AddPrimitive(index, dnnl::convolution_forward(pd), std::move(args));
  }

  // Elementwise steps take same-shape operands only. Claimed where the shapes looked equal, they
  // may still broadcast once dynamic dims are known: then the partition is declined.
  static void RequireSameShape(const lwai_node& node, const Slot& a, const Slot& b, const Slot& c) {
    if (a.dims != c.dims || b.dims != c.dims) {
      throw PluginError{LWAI_STATUS_UNSUPPORTED, std::string(node.op_type) + " '" + node.name +
                                                     "' broadcasts: no same-shape step"};
    }
  }

  void AddFloatAdd(const lwai_node& node, int index) {
    Slot& a = In(node, 0);
    Slot& b = In(node, 1);
    Slot& c = Out(node, 0);
    RequireSameShape(node, a, b, c);
    steps_.push_back({index, [this, &a, &b, &c]() {
                        const auto* pa = static_cast<const float*>(a.data);
                        const auto* pb = static_cast<const float*>(b.data);
                        auto* pc = static_cast<float*>(c.data);
                        ParallelFor(c.elements(), 16384, [&](int64_t begin, int64_t end) {
                          for (int64_t i = begin; i < end; ++i) pc[i] = pa[i] + pb[i];
                        });
                      }});
  }

  void AddGlobalAveragePoolFloat(const lwai_node& node, int index) {
    Slot& x = In(node, 0);
    Slot& y = Out(node, 0);
    const memory::dims kernel = {x.dims[2], x.dims[3]};
    const dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference,
                                           algorithm::pooling_avg_exclude_padding, x.desc(),
                                           y.desc(), {1, 1}, kernel, {0, 0}, {0, 0});
    const dnnl::pooling_forward::primitive_desc pd(desc, engine_);
    kernels_[index] = pd.impl_info_str();
    AddPrimitive(index, dnnl::pooling_forward(pd),
                 {{DNNL_ARG_SRC, {memory(pd.src_desc(), engine_, nullptr), &x}},
                  {DNNL_ARG_DST, {memory(pd.dst_desc(), engine_, nullptr), &y}}});
  }

  void AddPooling(const lwai_node& node, int index, bool max) {
    Slot& x = In(node, 0);
    Slot& y = Out(node, 0);
    const Window window = WindowOf(node, x, y, Ints(&node, "kernel_shape"));
    algorithm kind = algorithm::pooling_max;
    if (!max) {
      kind = lwai_node_get_int(&node, "count_include_pad", 0) != 0
                 ? algorithm::pooling_avg_include_padding
                 : algorithm::pooling_avg_exclude_padding;
    }
    const dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, kind, x.desc(),
                                           y.desc(), window.strides, window.kernel,
                                           window.pad_begin, window.pad_end);
    const dnnl::pooling_forward::primitive_desc pd(desc, engine_);
    kernels_[index] = pd.impl_info_str();
    AddPrimitive(index, dnnl::pooling_forward(pd),
                 {{DNNL_ARG_SRC, {memory(pd.src_desc(), engine_, nullptr), &x}},
                  {DNNL_ARG_DST, {memory(pd.dst_desc(), engine_, nullptr), &y}}});
  }

  // Splits `count` elements over the session's threads in pieces of at least `grain`.
  template <typename Fn>
  void ParallelFor(int64_t count, int64_t grain, Fn fn) {
    const int64_t pieces = std::max<int64_t>(1, std::min<int64_t>(threads_, count / grain));
    if (pieces == 1) return fn(int64_t{0}, count);
#pragma omp parallel for num_threads(pieces) schedule(static)
    for (int64_t p = 0; p < pieces; ++p) fn(count * p / pieces, count * (p + 1) / pieces);
  }

  void AddQuantize(const lwai_node& node, int index) {
    Slot& x = In(node, 0);
    Slot& y = Out(node, 0);
    const float scale = ScalarValue(node.inputs[1]);
    const int32_t zp = node.num_inputs > 2 ? ZeroPointValue(node.inputs[2]) : 0;
    steps_.push_back(
        {index, [this, &x, &y, scale, zp]() {
           const auto* from = static_cast<const float*>(x.data);
           ParallelFor(x.elements(), 16384, [&](int64_t b, int64_t e) {
             if (y.dtype == LWAI_DTYPE_INT8) {
               lwai::QuantizeRange(from + b, static_cast<int8_t*>(y.data) + b, e - b, scale, zp);
             } else {
               lwai::QuantizeRange(from + b, static_cast<uint8_t*>(y.data) + b, e - b, scale, zp);
             }
           });
         }});
  }

  void AddDequantize(const lwai_node& node, int index) {
    Slot& x = In(node, 0);
    Slot& y = Out(node, 0);
    const float scale = ScalarValue(node.inputs[1]);
    const int32_t zp = node.num_inputs > 2 ? ZeroPointValue(node.inputs[2]) : 0;
    steps_.push_back({index, [this, &x, &y, scale, zp]() {
                        auto* to = static_cast<float*>(y.data);
                        ParallelFor(x.elements(), 16384, [&](int64_t b, int64_t e) {
                          if (x.dtype == LWAI_DTYPE_INT8) {
                            lwai::DequantizeRange(static_cast<const int8_t*>(x.data) + b, to + b,
                                                  e - b, scale, zp);
                          } else {
                            lwai::DequantizeRange(static_cast<const uint8_t*>(x.data) + b, to + b,
                                                  e - b, scale, zp);
                          }
                        });
                      }});
  }

  void AddQLinearAdd(const lwai_node& node, int index) {
    Slot& a = In(node, 0);
    Slot& b = In(node, 3);
    Slot& c = Out(node, 0);
    RequireSameShape(node, a, b, c);
    const lwai_tensor* in = node.inputs;
    lwai::QLinearBinaryParams params;
    const float c_scale = ScalarValue(in[6]);
    params.a_ratio = ScalarValue(in[1]) / c_scale;
    params.b_ratio = ScalarValue(in[4]) / c_scale;
    params.a_zero_point = ZeroPointValue(in[2]);
    params.b_zero_point = ZeroPointValue(in[5]);
    params.c_zero_point = ZeroPointValue(in[7]);
    const bool is_signed = c.dtype == LWAI_DTYPE_INT8;
    params.c_min = is_signed ? -128 : 0;
    params.c_max = is_signed ? 127 : 255;
    steps_.push_back({index, [this, &a, &b, &c, params, is_signed]() {
                        const auto* pa = static_cast<const uint8_t*>(a.data);
                        const auto* pb = static_cast<const uint8_t*>(b.data);
                        auto* pc = static_cast<uint8_t*>(c.data);
                        ParallelFor(c.elements(), 16384, [&](int64_t begin, int64_t end) {
                          lwai::QLinearBinaryRow(params, is_signed, pa + begin, pb + begin, 1,
                                                 end - begin, pc + begin);
                        });
                      }});
  }

  // Concatenation along channels, which in NHWC interleaves each pixel's channel runs. Of
  // QLinearConcat (quantized), inputs whose scale or zero point differ from the output's are
  // requantized through a table.
  void AddChannelConcat(const lwai_node& node, int index, bool quantized) {
    Slot& y = Out(node, 0);
    const size_t element = ElementSize(y.dtype);
    struct Part {
      Slot* x;
      int64_t bytes, offset;  // per pixel
      bool requantize;
      uint8_t table[256];
    };
    auto parts = std::make_shared<std::vector<Part>>();
    int64_t offset = 0;
    const int32_t first = quantized ? 2 : 0, step = quantized ? 3 : 1;
    for (int32_t i = first; i < node.num_inputs; i += step) {
      Part part{};
      part.x = &In(node, i);
      part.bytes = part.x->dims[1] * static_cast<int64_t>(element);
      part.offset = offset;
      if (quantized) {
        const float y_scale = ScalarValue(node.inputs[0]);
        const int32_t y_zp = ZeroPointValue(node.inputs[1]);
        const float x_scale = ScalarValue(node.inputs[i + 1]);
        const int32_t x_zp = ZeroPointValue(node.inputs[i + 2]);
        part.requantize = x_scale != y_scale || x_zp != y_zp;
        lwai::Int8RequantizeTable(y.dtype == LWAI_DTYPE_INT8, x_scale, x_zp, y_scale, y_zp,
                                  part.table);
      }
      offset += part.bytes;
      parts->push_back(part);
    }
    const int64_t pixel_bytes = offset;
    steps_.push_back({index, [this, &y, parts, pixel_bytes]() {
                        const int64_t pixels = static_cast<int64_t>(y.bytes()) / pixel_bytes;
                        auto* out = static_cast<uint8_t*>(y.data);
                        ParallelFor(pixels, 64, [&](int64_t begin, int64_t end) {
                          for (const Part& part : *parts) {
                            const auto* in = static_cast<const uint8_t*>(part.x->data);
                            for (int64_t p = begin; p < end; ++p) {
                              const uint8_t* from = in + p * part.bytes;
                              uint8_t* to = out + p * pixel_bytes + part.offset;
                              if (part.requantize) {
                                lwai::Int8LookupRow(part.table, from, part.bytes, to);
                              } else {
                                std::memcpy(to, from, part.bytes);
                              }
                            }
                          }
                        });
                      }});
  }

  void AddGlobalAveragePool(const lwai_node& node, int index) {
    Slot& x = In(node, 0);
    Slot& y = Out(node, 0);
    const lwai_tensor* in = node.inputs;
    const float x_scale = ScalarValue(in[1]), y_scale = ScalarValue(in[3]);
    const int32_t x_zp = ZeroPointValue(in[2]), y_zp = ZeroPointValue(in[4]);
    steps_.push_back({index, [this, &x, &y, x_scale, y_scale, x_zp, y_zp]() {
                        const bool is_signed = x.dtype == LWAI_DTYPE_INT8;
                        const int64_t batch = x.dims[0], channels = x.dims[1];
                        const int64_t pixels = x.dims[2] * x.dims[3];
                        const float lo = static_cast<float>((is_signed ? -128 : 0) - y_zp);
                        const float hi = static_cast<float>((is_signed ? 127 : 255) - y_zp);
                        std::vector<int64_t> sums(channels);
                        for (int64_t n = 0; n < batch; ++n) {
                          std::fill(sums.begin(), sums.end(), 0);
                          const auto* image =
                              static_cast<const uint8_t*>(x.data) + n * pixels * channels;
                          for (int64_t p = 0; p < pixels; ++p) {
                            const uint8_t* pixel = image + p * channels;
                            for (int64_t c = 0; c < channels; ++c) {
                              sums[c] += is_signed ? static_cast<int8_t>(pixel[c]) : pixel[c];
                            }
                          }
                          auto* out = static_cast<uint8_t*>(y.data) + n * channels;
                          for (int64_t c = 0; c < channels; ++c) {
                            out[c] = static_cast<uint8_t>(lwai::QuantizedMean(
                                sums[c], pixels, x_zp, x_scale, y_scale, lo, hi, y_zp));
                          }
                        }
                      }});
  }

  int threads_;
  uint64_t max_memory_bytes_;  // 0: no limit
  uint64_t memory_bytes_ = 0;
  std::unordered_map<int, std::string> kernels_;  // by partition node index
  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream_;
  std::unordered_map<std::string, Slot> slots_;  // node-stable: Slot addresses never move
  std::vector<std::unique_ptr<void, AlignedFree>> buffers_;
  std::vector<size_t> buffer_bytes_;
  std::vector<int> free_buffers_;
  std::vector<Slot*> inputs_, outputs_;
  std::unordered_map<const Slot*, LayoutCopy> input_copies_, output_copies_;
  std::vector<Step> steps_;
};

// Turns exceptions (oneDNN's dnnl::error, allocation failures, PluginError) into status codes.
template <typename Fn>
int Guarded(char* error_buffer, size_t error_size, Fn fn) {
  try {
    fn();
    return LWAI_STATUS_OK;
  } catch (const PluginError& e) {
    lwai_set_error(error_buffer, error_size, e.message.c_str());
    return e.code;
  } catch (const dnnl::error& e) {
    const std::string message = std::string("oneDNN: ") + e.what();
    lwai_set_error(error_buffer, error_size, message.c_str());
    // Whatever oneDNN cannot build (an unimplemented case, a geometry it rejects), lwai's
    // reference kernels can still run: decline rather than fail the session.
    return LWAI_STATUS_UNSUPPORTED;
  } catch (const std::bad_alloc&) {
    lwai_set_error(error_buffer, error_size, "out of memory");
    return LWAI_STATUS_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    lwai_set_error(error_buffer, error_size, e.what());
    return LWAI_STATUS_INTERNAL;
  }
}

int CreatePartition(const lwai_partition* partition, void** state, char* error_buffer,
                    size_t error_size) {
  *state = nullptr;
  std::unique_ptr<Partition> compiled;
  const int code = Guarded(error_buffer, error_size, [&]() {
    compiled = std::make_unique<Partition>(partition->num_threads, partition->max_memory_bytes);
    compiled->Compile(*partition);
  });
  if (code == LWAI_STATUS_OK) *state = compiled.release();
  return code;
}

int RunPartition(void* state, const lwai_tensor* inputs, int32_t num_inputs,
                 const lwai_tensor* outputs, int32_t num_outputs, int64_t* node_time_ns,
                 char* error_buffer, size_t error_size) {
  (void)num_inputs;
  (void)num_outputs;
  const int code = Guarded(error_buffer, error_size, [&]() {
    static_cast<Partition*>(state)->Run(inputs, outputs, node_time_ns);
  });
  return code == LWAI_STATUS_UNSUPPORTED ? LWAI_STATUS_INTERNAL : code;
}

void DestroyPartition(void* state) { delete static_cast<Partition*>(state); }

uint64_t PartitionMemoryBytes(void* state) {
  return static_cast<const Partition*>(state)->memory_bytes();
}

const char* PartitionNodeKernel(void* state, int32_t node) {
  return static_cast<const Partition*>(state)->kernel(node);
}

const lwai_plugin_api kApi = {
    LWAI_PLUGIN_API_VERSION,
    sizeof(lwai_plugin_api),
    "onednn",
    nullptr,  // supports: partitions only
    nullptr,
    nullptr,
    nullptr,
    SupportsPartition,
    CreatePartition,
    RunPartition,
    DestroyPartition,
    PartitionMemoryBytes,
    PartitionNodeKernel,
};

}  // namespace

extern "C" LWAI_PLUGIN_EXPORT const lwai_plugin_api* lwai_plugin_entry(void) { return &kApi; }
