#include "backends/xnnpack/xnnpack_backend.h"

#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "backends/xnnpack/claims.h"
#include "kernels/common.h"
#include "kernels/conv_common.h"
#include "kernels/depthwise_conv.h"
#include "kernels/group_norm.h"
#include "kernels/kernel_choice.h"
#include "kernels/pointwise_conv.h"
#include "kernels/resize.h"
#include "kernels/shared_packing.h"
#include "kernels/spatial_common.h"
#include "kernels/swish_rows.h"
#include "kernels/transpose_2d.h"
#include "kernels/winograd.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

struct XnnOperatorDeleter {
  void operator()(xnn_operator_t op) const { xnn_delete_operator(op); }
};
using XnnOperator = std::shared_ptr<xnn_operator>;

// A float's bits, for keys of cached operators.
int64_t FloatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

// One unit of work of a partition, counted toward the time of graph node `node`.
struct Step {
  int node = 0;
  XnnOperator op;                     // an XNNPACK operator, or null for lwai's own code
  std::function<xnn_status()> setup;  // binds an operator to the current addresses
  // The tensors whose session buffers setup gave the operator (recorded while it ran).
  std::vector<int> bound_views;
  std::function<void()> run;  // lwai's own code
};

// Where a tensor's values live while the partition runs. A 4-D tensor is NHWC: pixel p's
// channels start at root + channel_offset + p * pixel_stride, where root is the tensor's own
// storage, or that of the Concat output it is written into.
struct Placement {
  bool nhwc = false;
  int root = -1;
  int64_t channel_offset = 0;
  int64_t pixel_stride = 0;
};

Status XnnError(const Node& node, const char* call, xnn_status status) {
  return Internal(LWAI_MSG(node.Describe() + ": XNNPACK " + call + " failed with status " +
                           std::to_string(static_cast<int>(status))));
}

void TransposeNchwToNhwc(const float* src, float* dst, int64_t batch, int64_t channels,
                         int64_t pixels, ThreadPool* pool) {
  Transpose2DBatch(src, batch, channels, pixels, pixels, channels * pixels, dst, channels,
                   pixels * channels, pool);
}

void TransposeNhwcToNchw(const float* src, float* dst, int64_t batch, int64_t channels,
                         int64_t pixels, ThreadPool* pool) {
  Transpose2DBatch(src, batch, pixels, channels, channels, pixels * channels, dst, pixels,
                   channels * pixels, pool);
}

// An XNNPACK convolution from ONNX weights [O][I/g][kh][kw] (bias may be null).
xnn_status CreateXnnConvolution(const WindowGeometry& g, int64_t kh, int64_t kw, int64_t groups,
                                int64_t in_per_group, int64_t out_channels, int64_t x_stride,
                                int64_t y_stride, const float* weights, const float* bias,
                                float act_min, float act_max, xnn_operator_t* created) {
  // To XNNPACK's [O][kh][kw][I/g] (groups are consecutive runs of O).
  std::vector<float> packed(static_cast<size_t>(out_channels * in_per_group * kh * kw));
  for (int64_t o = 0; o < out_channels; ++o) {
    for (int64_t i = 0; i < in_per_group; ++i) {
      for (int64_t k = 0; k < kh * kw; ++k) {
        packed[(o * kh * kw + k) * in_per_group + i] =
            weights[(o * in_per_group + i) * kh * kw + k];
      }
    }
  }
  return xnn_create_convolution2d_nhwc_f32(
      g.pad_begin[0], g.pad_end[1], g.pad_end[0], g.pad_begin[1], kh, kw, g.strides[0],
      g.strides[1], g.dilations[0], g.dilations[1], groups, in_per_group, out_channels / groups,
      x_stride, y_stride, packed.data(), bias, act_min, act_max, 0, created);
}

class XnnpackPartition : public CompiledPartition {
 public:
  XnnpackPartition(const Graph& graph, std::vector<int> nodes, ThreadPool* pool)
      : graph_(graph), nodes_(std::move(nodes)), pool_(pool) {}

  Status Prepare(const std::vector<TensorView>& views, const std::vector<char>& folded,
                 PartitionMemory* memory) override;
  Status Run(const std::vector<TensorView>& views, int64_t* node_time_ns) override;
  void BindScratch(const std::vector<void*>& buffers) override {
    buffers_ = buffers;
    bound_ = false;  // operators set up with the old addresses
  }
  std::string NodeKernel(int node) const override {
    auto it = std::find(nodes_.begin(), nodes_.end(), node);
    // Before the first successful Prepare there are no kernel names yet.
    const size_t index = static_cast<size_t>(it - nodes_.begin());
    return it == nodes_.end() || index >= kernel_names_.size() ? "" : kernel_names_[index];
  }

 private:
  pthreadpool_t threadpool() const { return static_cast<pthreadpool_t>(pool_->pthreadpool()); }
  float* Address(int tensor) const {
    const Placement& p = placement_[tensor];
    if (own_buffer_[p.root] >= 0) {
      return static_cast<float*>(buffers_[own_buffer_[p.root]]) + p.channel_offset;
    }
    if (recording_ != nullptr) recording_->push_back(p.root);
    void* base = (*views_)[p.root].data;
    return static_cast<float*>(base) + p.channel_offset;
  }
  int64_t Stride(int tensor) const { return placement_[tensor].pixel_stride; }
  const Shape& ShapeOf(int tensor) const { return (*views_)[tensor].shape; }
  // An elementwise operand's dims for XNNPACK's broadcasting: NHWC for 4-D activations, [C]
  // for a per-channel constant ([1, C, 1, 1] in NCHW holds the same bytes as NHWC's
  // [1, 1, 1, C]), and one flat dim otherwise.
  void ElementwiseDims(int tensor, size_t* dims, size_t* rank) const {
    const Shape& s = ShapeOf(tensor);
    if (placement_[tensor].nhwc) {
      *rank = 4;
      dims[0] = s[0], dims[1] = s[2], dims[2] = s[3], dims[3] = s[1];
      return;
    }
    *rank = 1;
    dims[0] = static_cast<size_t>(s.NumElements());
  }
  void SetKernelName(int node, std::string name) {
    auto it = std::find(nodes_.begin(), nodes_.end(), node);
    kernel_names_[it - nodes_.begin()] = std::move(name);
  }

  Status AddNodeSteps(int n, const Node& node, const FusedActivation& clamp);
  // An own step applying `rows(in, out, count)` to all of x's values: pixel by pixel in NHWC
  // (channel slices of a Concat allowed), else in runs of the flat tensor.
  void AddRowsStep(int n, int x, int y,
                   std::function<void(const float* in, float* out, int64_t count)> rows);
  Status AddConv(int n, const Node& node, FusedActivation act);
  Status AddConvTranspose(int n, const Node& node);
  // Times lwai's Winograd kernel against XNNPACK's convolution on this layer's shape (once per
  // process and shape, kernel_choice.h): whether Winograd is faster here.
  Result<bool> WinogradWinsHere(const Node& node, const WindowGeometry& g, FusedActivation act);
  // Whether lwai's pointwise kernel runs rows x in_channels -> out_channels faster than
  // XNNPACK's GEMM on this machine (timed once per shape and process, whatever the thread
  // count, as the other timed choices).
  bool PointwiseWinsHere(int64_t rows, int in_channels, int out_channels);
  Status AddPool(int n, const Node& node);
  Status AddBatchNormalization(int n, const Node& node, FusedActivation act);
  Status AddGemm(int n, const Node& node, FusedActivation act);
  Status AddConcat(int n, const Node& node);
  // y = clamp(x * W^T + b) over the rows of x with lwai's pointwise kernel, when it beats
  // XNNPACK for this shape (by rule: few rows, large weights; otherwise timed on this machine).
  // Returns false when it does not.
  // `image_rows` (a convolution's pixels per image; 0 for a Gemm) are the rows timed where no
  // rule decides: one image, so that a new batch size re-prepares without timing.
  Result<bool> TryAddPointwise(int n, const Node& node, int x, int y, int64_t rows,
                               int64_t image_rows, const float* weights, bool weights_transposed,
                               const float* bias, int in_channels, int out_channels,
                               FusedActivation act);
  // Node n as lwai's depthwise kernel when, timed on this shape, it beats `xnn_op` (the
  // node's XNNPACK operator). Returns false when XNNPACK is faster.
  Result<bool> TryAddDepthwise(int n, const Node& node, const WindowGeometry& g,
                               FusedActivation act, xnn_operator_t xnn_op);
  void AddXnnStep(int n, xnn_operator_t op, std::function<xnn_status()> setup);
  void AddXnnStep(int n, XnnOperator op, std::function<xnn_status()> setup);
  // Operators that pack weights survive re-preparation (a new input shape) when they are made
  // with the same parameters (`key`): only their setup runs again. Returns the cached operator
  // of node n for `key`, or makes one with `create` (an error names the node and `what`).
  Result<XnnOperator> CachedOperator(int n, const Node& node, std::vector<int64_t> key,
                                     const char* what,
                                     const std::function<xnn_status(xnn_operator_t*)>& create);
  // Weights packed by lwai's own kernels for node n, made from the constants and parameters
  // named by `key`: the ones of an earlier Prepare, those of another session of the same model
  // (SharedPacking), or new ones from `make`.
  template <typename T, typename MakeFn>
  Result<std::shared_ptr<const T>> CachedPacking(int n, const PackingKey& key, MakeFn&& make);
  // Whether graph tensor t is a model constant read in place (so packings of it can be shared).
  bool IsModelConstant(int t) const {
    if (t < 0) return false;
    const TensorDesc& desc = graph_.tensors[t];
    return desc.is_constant() && desc.constant.data == (*views_)[t].data;
  }
  void AddOwnStep(int n, std::function<void()> run);

  const Graph& graph_;
  std::vector<int> nodes_;
  ThreadPool* pool_;
  std::vector<std::string> kernel_names_;
  std::vector<Step> steps_;
  std::vector<Placement> placement_;  // per graph tensor
  // Working buffers, planned in the session's arena (PartitionMemory::scratch): per graph
  // tensor, the buffer holding its NHWC copy (boundary tensors) or -1; per graph node, its
  // kernel's scratch or -1.
  std::vector<int> own_buffer_;
  std::vector<int> node_scratch_;
  std::vector<PartitionMemory::Scratch> buffer_requests_;
  std::vector<void*> buffers_;
  int AddBuffer(size_t bytes, int first_node, int last_node) {
    buffer_requests_.push_back({std::max<size_t>(bytes, 64), first_node, last_node});
    return static_cast<int>(buffer_requests_.size()) - 1;
  }
  void* NodeScratch(int n) const { return buffers_[node_scratch_[n]]; }
  std::vector<int> output_of_node_;  // per graph node: the tensor its steps write
  struct CacheEntry {
    int node = -1;
    const char* kind = "";  // of `packed` (PackingKey::kind), "" for an XNNPACK operator
    std::vector<int64_t> key;
    XnnOperator op;
    std::shared_ptr<const void> packed;
    bool used = false;  // by the current Prepare
  };
  std::vector<CacheEntry> cache_;
  std::vector<int> bound_tensors_;
  std::vector<void*> bound_addresses_;
  // While a step's setup runs: where Address() records the session buffers it hands out.
  mutable std::vector<int>* recording_ = nullptr;
  // Per tensor: its session buffer moved since the operators were set up.
  std::vector<char> moved_;
  bool bound_ = false;
  const std::vector<TensorView>* views_ = nullptr;
};

Result<bool> XnnpackPartition::TryAddPointwise(int n, const Node& node, int x, int y, int64_t rows,
                                               int64_t image_rows, const float* weights,
                                               bool weights_transposed, const float* bias,
                                               int in_channels, int out_channels,
                                               FusedActivation act) {
  if (!PointwiseConvIsProfitable(rows, in_channels, out_channels) &&
      (image_rows <= 0 || !PointwiseWinsHere(image_rows, in_channels, out_channels))) {
    return false;
  }
  const int bias_tensor = node.inputs.size() > 2 ? node.inputs[2] : -1;
  PackingKey key("pointwise");
  key.Constant(weights, IsModelConstant(node.inputs[1]))
      .Constant(bias, IsModelConstant(bias_tensor))
      .Param(weights_transposed)
      .Param(in_channels)
      .Param(out_channels);
  LWAI_ASSIGN_OR_RETURN(
      std::shared_ptr<const PointwiseConv> kernel, CachedPacking<PointwiseConv>(n, key, [&] {
        return PointwiseConv::Create(weights, weights_transposed, bias, in_channels, out_channels);
      }));
  node_scratch_[n] = AddBuffer(kernel->ScratchBytes(rows, pool_->num_threads()), n, n);
  const bool nhwc = placement_[x].nhwc;
  AddOwnStep(n, [this, n, kernel, x, y, nhwc, in_channels, out_channels, act] {
    const Shape& s = ShapeOf(x);
    const int64_t pixels = nhwc ? s[0] * s[2] * s[3] : s[0];
    kernel->Run(Address(x), pixels, nhwc ? static_cast<int>(Stride(x)) : in_channels, Address(y),
                placement_[y].nhwc ? static_cast<int>(Stride(y)) : out_channels, act.min, act.max,
                NodeScratch(n), pool_);
  });
  SetKernelName(n, "lwai pointwise");
  return true;
}

void XnnpackPartition::AddXnnStep(int n, xnn_operator_t op, std::function<xnn_status()> setup) {
  Step step;
  step.node = n;
  step.op = XnnOperator(op, XnnOperatorDeleter());
  step.setup = std::move(setup);
  steps_.push_back(std::move(step));
}

void XnnpackPartition::AddXnnStep(int n, XnnOperator op, std::function<xnn_status()> setup) {
  Step step;
  step.node = n;
  step.op = std::move(op);
  step.setup = std::move(setup);
  steps_.push_back(std::move(step));
}

Result<XnnOperator> XnnpackPartition::CachedOperator(
    int n, const Node& node, std::vector<int64_t> key, const char* what,
    const std::function<xnn_status(xnn_operator_t*)>& create) {
  for (CacheEntry& entry : cache_) {
    if (entry.node == n && entry.op && entry.key == key) {
      entry.used = true;
      return entry.op;
    }
  }
  xnn_operator_t op = nullptr;
  const xnn_status status = create(&op);
  if (status != xnn_status_success) return XnnError(node, what, status);
  CacheEntry entry;
  entry.node = n;
  entry.key = std::move(key);
  entry.op = XnnOperator(op, XnnOperatorDeleter());
  entry.used = true;
  cache_.push_back(entry);
  return entry.op;
}

template <typename T, typename MakeFn>
Result<std::shared_ptr<const T>> XnnpackPartition::CachedPacking(int n, const PackingKey& key,
                                                                 MakeFn&& make) {
  for (CacheEntry& entry : cache_) {
    if (entry.node == n && entry.packed && entry.kind == key.kind() && entry.key == key.parts()) {
      entry.used = true;
      return std::static_pointer_cast<const T>(entry.packed);
    }
  }
  LWAI_ASSIGN_OR_RETURN(std::shared_ptr<const T> packed,
                        SharedPacking<T>(key, std::forward<MakeFn>(make)));
  CacheEntry entry;
  entry.node = n;
  entry.kind = key.kind();
  entry.key = key.parts();
  entry.packed = packed;
  entry.used = true;
  cache_.push_back(std::move(entry));
  return packed;
}

void XnnpackPartition::AddOwnStep(int n, std::function<void()> run) {
  Step step;
  step.node = n;
  step.run = std::move(run);
  steps_.push_back(std::move(step));
}

Status XnnpackPartition::Prepare(const std::vector<TensorView>& views,
                                 const std::vector<char>& folded, PartitionMemory* memory) {
  views_ = &views;
  steps_.clear();
  bound_ = false;
  for (CacheEntry& entry : cache_) entry.used = false;
  const int num_tensors = static_cast<int>(graph_.tensors.size());
  kernel_names_.assign(nodes_.size(), "");
  placement_.assign(num_tensors, Placement());
  own_buffer_.assign(num_tensors, -1);
  node_scratch_.assign(graph_.nodes.size(), -1);
  buffer_requests_.clear();
  buffers_.clear();
  output_of_node_.assign(graph_.nodes.size(), -1);

  // Who produces and who reads each tensor inside the partition.
  std::vector<char> active(graph_.nodes.size(), 0);
  for (int n : nodes_) active[n] = !folded[n];
  std::vector<int> producer(num_tensors, -1);
  std::vector<int> inside_uses(num_tensors, 0);
  std::vector<int> first_consumer(num_tensors, -1);
  std::vector<int> only_consumer(num_tensors, -1);
  for (int n : nodes_) {
    if (!active[n]) continue;
    for (int t : graph_.nodes[n].outputs) {
      if (t >= 0) producer[t] = n;
    }
    for (int t : graph_.nodes[n].inputs) {
      if (t < 0) continue;
      ++inside_uses[t];
      if (first_consumer[t] < 0) first_consumer[t] = n;
      only_consumer[t] = n;
    }
  }
  const std::vector<int> uses = graph_.UseCounts();
  auto escapes = [&](int t) { return producer[t] >= 0 && uses[t] > inside_uses[t]; };
  auto single_use_inside = [&](int t) {
    return producer[t] >= 0 && uses[t] == 1 && inside_uses[t] == 1;
  };

  // Each node's output clamp: its own fused activation attributes, narrowed by a Relu/Clip
  // that is the only reader of a Conv/Gemm/Add/BatchNormalization output.
  std::vector<char> absorbed(graph_.nodes.size(), 0);
  std::vector<FusedActivation> clamp_of(graph_.nodes.size());
  for (int n : nodes_) {
    output_of_node_[n] = graph_.nodes[n].outputs[0];
    KernelContext ctx(graph_.nodes[n], const_cast<TensorView*>(views.data()), pool_);
    LWAI_RETURN_IF_ERROR(ParseFusedActivation(ctx, &clamp_of[n]));
  }
  for (int n : nodes_) {
    const Node& node = graph_.nodes[n];
    if (!active[n]) continue;
    const bool can_clamp = node.op == OpType::Conv || node.op == OpType::Gemm ||
                           node.op == OpType::Add || node.op == OpType::BatchNormalization;
    const int t = node.outputs[0];
    if (!can_clamp || !single_use_inside(t)) continue;
    const int c = only_consumer[t];
    const Node& consumer = graph_.nodes[c];
    if (consumer.op != OpType::Relu && consumer.op != OpType::Clip) continue;
    FusedActivation act;
    act.enabled = true;
    if (consumer.op == OpType::Relu) {
      act.min = 0.0f;
    } else {
      if (consumer.inputs.size() > 1 && consumer.inputs[1] >= 0) {
        act.min = *views[consumer.inputs[1]].Data<float>();
      }
      if (consumer.inputs.size() > 2 && consumer.inputs[2] >= 0) {
        act.max = *views[consumer.inputs[2]].Data<float>();
      }
    }
    absorbed[c] = 1;
    clamp_of[n].min = std::max(clamp_of[n].min, act.min);
    clamp_of[n].max = std::min(clamp_of[n].max, act.max);
    output_of_node_[n] = consumer.outputs[0];
    producer[consumer.outputs[0]] = n;
    memory->unused.push_back(t);
    memory->live_from.emplace_back(consumer.outputs[0], n);
    SetKernelName(c, "fused into " + node.name);
  }

  // Default placements: every 4-D float activation is NHWC in its own storage. Values known at
  // prepare time (weights, folded results) stay as they are: operators pack them once.
  for (int t = 0; t < num_tensors; ++t) {
    const TensorView& view = views[t];
    Placement& p = placement_[t];
    p.root = t;
    p.nhwc = view.shape.rank == 4 && view.dtype == DataType::kFloat32 &&
             !graph_.tensors[t].is_constant();
    p.pixel_stride = p.nhwc ? view.shape[1] : 0;
  }

  // A graph input that a claimed Transpose turns from NHWC to NCHW (claims.cc:
  // ClaimInputToNchw) is raw data, not an NCHW activation: its pixels are copied as they are
  // into the Transpose output's NHWC storage.
  for (int n : nodes_) {
    const Node& node = graph_.nodes[n];
    if (!active[n] || node.op != OpType::Transpose) continue;
    placement_[node.inputs[0]].nhwc = false;
    placement_[node.inputs[0]].pixel_stride = 0;
  }

  // Concat inputs written in place: the producer writes straight into the channel slice.
  std::vector<int> concat_parent(num_tensors, -1);
  for (int n : nodes_) {
    const Node& node = graph_.nodes[n];
    if (!active[n] || node.op != OpType::Concat) continue;
    int64_t offset = 0;
    for (int t : node.inputs) {
      const int writer = producer[t];
      const OpType op = writer >= 0 ? graph_.nodes[writer].op : OpType::Unknown;
      // Steps that write NHWC pixels with any pixel stride: convolutions, pooling, affine,
      // resizes and the unary activations (XNNPACK's strided unary operators, lwai's loops).
      const bool strided_writer =
          op == OpType::Conv || op == OpType::MaxPool || op == OpType::AveragePool ||
          op == OpType::Concat || op == OpType::BatchNormalization || op == OpType::Swish ||
          op == OpType::HardSwish || op == OpType::Relu || op == OpType::Clip ||
          op == OpType::Sigmoid || op == OpType::HardSigmoid || op == OpType::LeakyRelu ||
          op == OpType::Elu || op == OpType::PRelu || op == OpType::Resize ||
          op == OpType::GroupNormalization;
      const bool once = std::count(node.inputs.begin(), node.inputs.end(), t) == 1;
      // A clamp absorbed into the writer reads the writer's own output tensor, not t.
      if (strided_writer && once && single_use_inside(t) && output_of_node_[writer] == t) {
        concat_parent[t] = node.outputs[0];
        placement_[t].channel_offset = offset;
      }
      offset += views[t].shape[1];
    }
  }
  for (int t = 0; t < num_tensors; ++t) {
    if (concat_parent[t] < 0) continue;
    int root = concat_parent[t];
    int64_t offset = placement_[t].channel_offset;
    while (concat_parent[root] >= 0) {
      offset += placement_[root].channel_offset;
      root = concat_parent[root];
    }
    placement_[t].root = root;
    placement_[t].channel_offset = offset;
    placement_[t].pixel_stride = views[root].shape[1];
    memory->unused.push_back(t);
    memory->live_from.emplace_back(root, producer[t]);
  }
  // Concat outputs placed into an outer Concat carry their offset already; their own inputs
  // resolved to the outermost root above.
  for (int t = 0; t < num_tensors; ++t) {
    if (concat_parent[t] >= 0 && placement_[t].root == t) return Internal(LWAI_MSG("concat cycle"));
  }

  // Boundary 4-D tensors get NHWC storage of their own, live from the first to the last node
  // of the partition that touches them (or a tensor placed inside them).
  std::vector<int> first_touch(num_tensors, -1), last_touch(num_tensors, -1);
  for (int n : nodes_) {
    if (!active[n]) continue;
    for (const std::vector<int>* list : {&graph_.nodes[n].inputs, &graph_.nodes[n].outputs}) {
      for (int t : *list) {
        if (t < 0) continue;
        const int root = placement_[t].root >= 0 ? placement_[t].root : t;
        if (first_touch[root] < 0) first_touch[root] = n;
        last_touch[root] = n;
      }
    }
  }
  // A fused clamp's output is written by the producer it was fused into, earlier.
  for (int t = 0; t < num_tensors; ++t) {
    if (producer[t] < 0) continue;
    const int root = placement_[t].root >= 0 ? placement_[t].root : t;
    if (first_touch[root] < 0 || producer[t] < first_touch[root]) first_touch[root] = producer[t];
    last_touch[root] = std::max(last_touch[root], producer[t]);
  }
  std::vector<char> transposed_in(num_tensors, 0);
  for (int t = 0; t < num_tensors; ++t) {
    if (!placement_[t].nhwc || placement_[t].root != t) continue;
    const bool external_input = producer[t] < 0 && inside_uses[t] > 0;
    if ((external_input || escapes(t)) && first_touch[t] >= 0) {
      own_buffer_[t] = AddBuffer(views[t].ByteSize(), first_touch[t], last_touch[t]);
    }
  }

  for (int n : nodes_) {
    const Node& node = graph_.nodes[n];
    if (!active[n] || absorbed[n]) continue;
    for (int t : node.inputs) {
      if (t < 0 || own_buffer_[t] < 0 || producer[t] >= 0 || transposed_in[t]) continue;
      transposed_in[t] = 1;
      AddOwnStep(n, [this, t] {
        const Shape& s = ShapeOf(t);
        TransposeNchwToNhwc((*views_)[t].Data<float>(), Address(t), s[0], s[1], s[2] * s[3], pool_);
      });
    }
    LWAI_RETURN_IF_ERROR(AddNodeSteps(n, node, clamp_of[n]));
    const int out = output_of_node_[n];
    if (own_buffer_[out] >= 0 && escapes(out)) {
      AddOwnStep(n, [this, out] {
        const Shape& s = ShapeOf(out);
        TransposeNhwcToNchw(Address(out), (*views_)[out].Data<float>(), s[0], s[1], s[2] * s[3],
                            pool_);
      });
    }
  }
  // Tensors whose addresses the XNNPACK operators were set up with.
  bound_tensors_.clear();
  for (int t = 0; t < num_tensors; ++t) {
    if (inside_uses[t] > 0 || producer[t] >= 0) bound_tensors_.push_back(t);
  }
  memory->scratch = buffer_requests_;
  // Operators of earlier shapes that this one does not use are dropped.
  cache_.erase(std::remove_if(cache_.begin(), cache_.end(),
                              [](const CacheEntry& entry) { return !entry.used; }),
               cache_.end());
  return Status::Ok();
}

void XnnpackPartition::AddRowsStep(
    int n, int x, int y, std::function<void(const float* in, float* out, int64_t count)> rows) {
  const bool nhwc = placement_[x].nhwc;
  AddOwnStep(n, [this, x, y, nhwc, rows = std::move(rows)] {
    const Shape& s = ShapeOf(x);
    const float* in = Address(x);
    float* out = Address(y);
    if (!nhwc) {
      pool_->ParallelFor(s.NumElements(), 16384, [&](int64_t begin, int64_t end) {
        rows(in + begin, out + begin, end - begin);
      });
      return;
    }
    const int64_t pixels = s[0] * s[2] * s[3], channels = s[1];
    const int64_t x_stride = Stride(x), y_stride = Stride(y);
    const int64_t min_pixels = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, channels));
    pool_->ParallelFor(pixels, min_pixels, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) rows(in + p * x_stride, out + p * y_stride, channels);
    });
  });
}

Status XnnpackPartition::AddNodeSteps(int n, const Node& node, const FusedActivation& bounds) {
  // Unbounded ends are infinite for XNNPACK, so that infinities pass through unclamped.
  FusedActivation clamp = bounds;
  if (clamp.min <= -std::numeric_limits<float>::max()) clamp.min = -kInf;
  if (clamp.max >= std::numeric_limits<float>::max()) clamp.max = kInf;
  const int x = node.inputs[0];
  const int y = output_of_node_[n];
  switch (node.op) {
    case OpType::Conv:
      return AddConv(n, node, clamp);
    case OpType::ConvTranspose:
      return AddConvTranspose(n, node);
    case OpType::MaxPool:
    case OpType::AveragePool:
      return AddPool(n, node);
    case OpType::BatchNormalization:
      return AddBatchNormalization(n, node, clamp);
    case OpType::Gemm:
      return AddGemm(n, node, clamp);
    case OpType::Concat:
      return AddConcat(n, node);
    case OpType::GlobalAveragePool: {
      xnn_operator_t op = nullptr;
      const xnn_status status = xnn_create_global_average_pooling_nwc_f32(
          ShapeOf(x)[1], Stride(x), Stride(y), -kInf, kInf, 0, &op);
      if (status != xnn_status_success) return XnnError(node, "global average pooling", status);
      AddXnnStep(n, op, [this, op, x, y] {
        const Shape& s = ShapeOf(x);
        return xnn_setup_global_average_pooling_nwc_f32(op, s[0], s[2] * s[3], Address(x),
                                                        Address(y), threadpool());
      });
      return Status::Ok();
    }
    case OpType::Add:
    case OpType::Sub:
    case OpType::Mul:
    case OpType::Div: {
      // All broadcast (numpy rules) over the operands' XNNPACK dims; same setup signature.
      xnn_operator_t op = nullptr;
      xnn_status status = xnn_status_unsupported_parameter;
      decltype(&xnn_setup_add_nd_f32) setup = nullptr;
      switch (node.op) {
        case OpType::Add:
          status = xnn_create_add_nd_f32(clamp.min, clamp.max, 0, &op);
          setup = xnn_setup_add_nd_f32;
          break;
        case OpType::Sub:
          status = xnn_create_subtract_nd_f32(clamp.min, clamp.max, 0, &op);
          setup = xnn_setup_subtract_nd_f32;
          break;
        case OpType::Mul:
          status = xnn_create_multiply_nd_f32(clamp.min, clamp.max, 0, &op);
          setup = xnn_setup_multiply_nd_f32;
          break;
        default:
          status = xnn_create_divide_nd_f32(clamp.min, clamp.max, 0, &op);
          setup = xnn_setup_divide_nd_f32;
          break;
      }
      if (status != xnn_status_success) return XnnError(node, "binary elementwise", status);
      const int a = node.inputs[0];
      const int b = node.inputs[1];
      AddXnnStep(n, op, [this, op, setup, a, b, y] {
        size_t a_dims[kMaxRank], b_dims[kMaxRank];
        size_t a_rank = 0, b_rank = 0;
        ElementwiseDims(a, a_dims, &a_rank);
        ElementwiseDims(b, b_dims, &b_rank);
        return setup(op, a_rank, a_dims, b_rank, b_dims, Address(a), Address(b), Address(y),
                     threadpool());
      });
      return Status::Ok();
    }
    case OpType::Swish:
      // SiLU: lwai's own vectorized loop.
      AddRowsStep(n, x, y,
                  [](const float* in, float* out, int64_t count) { SiluRange(in, out, count); });
      SetKernelName(n, "lwai silu");
      return Status::Ok();
    case OpType::HardSigmoid: {
      // max(0, min(1, alpha * x + beta)); the comparisons keep NaN, as the reference does
      // (fmax/fmin would drop it).
      const float alpha = node.GetFloat("alpha", 0.2f);
      const float beta = node.GetFloat("beta", 0.5f);
      AddRowsStep(n, x, y, [alpha, beta](const float* in, float* out, int64_t count) {
        for (int64_t c = 0; c < count; ++c) {
          const float v = alpha * in[c] + beta;
          out[c] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
        }
      });
      SetKernelName(n, "lwai hard sigmoid");
      return Status::Ok();
    }
    case OpType::PRelu: {
      const Shape& s = ShapeOf(x);
      const bool nhwc = placement_[x].nhwc;
      const size_t channels = nhwc ? s[1] : static_cast<size_t>(s.NumElements());
      const TensorView& slope_view = (*views_)[node.inputs[1]];
      if (!nhwc && slope_view.shape.NumElements() != 1) {
        return Internal(LWAI_MSG(node.Describe() + ": per-channel PRelu on a tensor not in NHWC"));
      }
      // XNNPACK wants one slope per channel (it copies them); a single slope is repeated.
      std::vector<float> slopes(channels, slope_view.Data<float>()[0]);
      if (slope_view.shape.NumElements() != 1) {
        std::copy(slope_view.Data<float>(), slope_view.Data<float>() + channels, slopes.begin());
      }
      xnn_operator_t op = nullptr;
      const xnn_status status =
          xnn_create_prelu_nc_f32(channels, nhwc ? Stride(x) : channels,
                                  nhwc ? Stride(y) : channels, slopes.data(), 0, &op);
      if (status != xnn_status_success) return XnnError(node, "prelu", status);
      AddXnnStep(n, op, [this, op, x, y, nhwc] {
        const Shape& s = ShapeOf(x);
        return xnn_setup_prelu_nc_f32(op, nhwc ? s[0] * s[2] * s[3] : 1, Address(x), Address(y),
                                      threadpool());
      });
      return Status::Ok();
    }
    case OpType::Relu:
    case OpType::Clip:
    case OpType::HardSwish:
    case OpType::LeakyRelu:
    case OpType::Elu:
    case OpType::Sigmoid: {
      const Shape& s = ShapeOf(x);
      const bool nhwc = placement_[x].nhwc;
      const size_t channels = nhwc ? s[1] : static_cast<size_t>(s.NumElements());
      xnn_operator_t op = nullptr;
      xnn_status status;
      if (node.op == OpType::Sigmoid) {
        status = xnn_create_sigmoid_nc_f32(channels, nhwc ? Stride(x) : channels,
                                           nhwc ? Stride(y) : channels, 0, &op);
      } else if (node.op == OpType::HardSwish) {
        status = xnn_create_hardswish_nc_f32(channels, nhwc ? Stride(x) : channels,
                                             nhwc ? Stride(y) : channels, 0, &op);
      } else if (node.op == OpType::LeakyRelu) {
        status = xnn_create_leaky_relu_nc_f32(channels, nhwc ? Stride(x) : channels,
                                              nhwc ? Stride(y) : channels,
                                              node.GetFloat("alpha", 0.01f), 0, &op);
      } else if (node.op == OpType::Elu) {
        status = xnn_create_elu_nc_f32(channels, nhwc ? Stride(x) : channels,
                                       nhwc ? Stride(y) : channels, node.GetFloat("alpha", 1.0f), 0,
                                       &op);
      } else {
        float lo = node.op == OpType::Relu ? 0.0f : -kInf;
        float hi = kInf;
        if (node.op == OpType::Clip && node.inputs.size() > 1 && node.inputs[1] >= 0) {
          lo = *(*views_)[node.inputs[1]].Data<float>();
        }
        if (node.op == OpType::Clip && node.inputs.size() > 2 && node.inputs[2] >= 0) {
          hi = *(*views_)[node.inputs[2]].Data<float>();
        }
        status = xnn_create_clamp_nc_f32(channels, nhwc ? Stride(x) : channels,
                                         nhwc ? Stride(y) : channels, lo, hi, 0, &op);
      }
      if (status != xnn_status_success) return XnnError(node, "elementwise", status);
      const OpType kind = node.op;
      AddXnnStep(n, op, [this, op, x, y, nhwc, kind] {
        const Shape& s = ShapeOf(x);
        const size_t batch = nhwc ? s[0] * s[2] * s[3] : 1;
        if (kind == OpType::Sigmoid) {
          return xnn_setup_sigmoid_nc_f32(op, batch, Address(x), Address(y), threadpool());
        }
        if (kind == OpType::HardSwish) {
          return xnn_setup_hardswish_nc_f32(op, batch, Address(x), Address(y), threadpool());
        }
        if (kind == OpType::LeakyRelu) {
          return xnn_setup_leaky_relu_nc_f32(op, batch, Address(x), Address(y), threadpool());
        }
        if (kind == OpType::Elu) {
          return xnn_setup_elu_nc_f32(op, batch, Address(x), Address(y), threadpool());
        }
        return xnn_setup_clamp_nc_f32(op, batch, Address(x), Address(y), threadpool());
      });
      return Status::Ok();
    }
    case OpType::GroupNormalization: {
      const Shape& s = ShapeOf(x);
      GroupNormShape shape;
      shape.batch = s[0];
      shape.channels = s[1];
      shape.groups = node.GetInt("num_groups", 1);
      shape.pixels = s[2] * s[3];
      shape.epsilon = node.GetFloat("epsilon", 1e-5f);
      const float* scale = (*views_)[node.inputs[1]].Data<float>();
      const float* bias = (*views_)[node.inputs[2]].Data<float>();
      node_scratch_[n] = AddBuffer(GroupNormScratchBytes(shape, true), n, n);
      AddOwnStep(n, [this, n, shape, scale, bias, x, y] {
        GroupNormNhwc(shape, Address(x), Stride(x), scale, bias, Address(y), Stride(y),
                      NodeScratch(n), pool_);
      });
      SetKernelName(n, "lwai group norm");
      return Status::Ok();
    }
    case OpType::Resize: {
      KernelContext ctx(node, const_cast<TensorView*>(views_->data()), pool_);
      LWAI_ASSIGN_OR_RETURN(std::unique_ptr<NhwcResize> resize, NhwcResize::Prepare(ctx));
      if (resize == nullptr) {
        return Internal(
            LWAI_MSG(node.Describe() + ": claimed a Resize that is not a spatial resize"));
      }
      std::shared_ptr<const NhwcResize> kernel(std::move(resize));
      node_scratch_[n] = AddBuffer(kernel->ScratchBytes(pool_->num_threads()), n, n);
      AddOwnStep(n, [this, n, kernel, x, y] {
        kernel->Run(Address(x), Stride(x), Address(y), Stride(y), NodeScratch(n), pool_);
      });
      SetKernelName(n, "lwai nhwc resize");
      return Status::Ok();
    }
    case OpType::Softmax: {
      const size_t channels = ShapeOf(x)[1];
      xnn_operator_t op = nullptr;
      const xnn_status status = xnn_create_softmax_nc_f32(channels, channels, channels, 0, &op);
      if (status != xnn_status_success) return XnnError(node, "softmax", status);
      AddXnnStep(n, op, [this, op, x, y] {
        return xnn_setup_softmax_nc_f32(op, ShapeOf(x)[0], Address(x), Address(y), threadpool());
      });
      return Status::Ok();
    }
    case OpType::Pad: {
      // Claimed with constant pads [N, C, H, W begins, then ends], the batch's zero.
      const int64_t* pads = (*views_)[node.inputs[1]].Data<int64_t>();
      const float value = node.inputs.size() > 2 && node.inputs[2] >= 0
                              ? *(*views_)[node.inputs[2]].Data<float>()
                              : 0.0f;
      const int64_t c_before = pads[1], top = pads[2], left = pads[3];
      AddOwnStep(n, [this, x, y, c_before, top, left, value] {
        const Shape& in = ShapeOf(x);
        const Shape& out = ShapeOf(y);
        const int64_t channels = in[1], out_channels = out[1];
        const int64_t rows = out[0] * out[2];
        const int64_t min_rows =
            std::max<int64_t>(1, 16384 / std::max<int64_t>(1, out[3] * out_channels));
        pool_->ParallelFor(rows, min_rows, [&](int64_t begin, int64_t end) {
          for (int64_t r = begin; r < end; ++r) {
            const int64_t b = r / out[2], oh = r % out[2], ih = oh - top;
            for (int64_t ow = 0; ow < out[3]; ++ow) {
              float* pixel = Address(y) + (r * out[3] + ow) * Stride(y);
              const int64_t iw = ow - left;
              if (ih < 0 || ih >= in[2] || iw < 0 || iw >= in[3]) {
                std::fill(pixel, pixel + out_channels, value);
                continue;
              }
              const float* source = Address(x) + ((b * in[2] + ih) * in[3] + iw) * Stride(x);
              std::fill(pixel, pixel + c_before, value);
              std::memcpy(pixel + c_before, source, channels * sizeof(float));
              std::fill(pixel + c_before + channels, pixel + out_channels, value);
            }
          }
        });
      });
      SetKernelName(n, "lwai nhwc pad");
      return Status::Ok();
    }
    case OpType::Transpose:
      // NHWC input pixels into y's NHWC storage: a copy where a transpose would stand (the
      // input is read in place by no operator: a caller's new array each run would make
      // XNNPACK set its operators up again).
      AddOwnStep(n, [this, x, y] {
        const Shape& s = ShapeOf(y);
        const int64_t pixels = s[0] * s[2] * s[3], channels = s[1], stride = Stride(y);
        const float* in = (*views_)[x].Data<float>();
        float* out = Address(y);
        if (stride == channels) {
          std::memcpy(out, in, static_cast<size_t>(pixels * channels) * sizeof(float));
          return;
        }
        for (int64_t p = 0; p < pixels; ++p) {
          std::memcpy(out + p * stride, in + p * channels, channels * sizeof(float));
        }
      });
      SetKernelName(n, "lwai nhwc copy");
      return Status::Ok();
    case OpType::DepthToSpace: {
      const int64_t block = node.GetInt("blocksize", 1);
      const bool crd = node.GetString("mode", "DCR") == "CRD";
      AddOwnStep(n, [this, x, y, block, crd] {
        const Shape& s = ShapeOf(x);
        const int64_t height = s[2], width = s[3], out_channels = s[1] / (block * block);
        const int64_t in_stride = Stride(x), out_stride = Stride(y);
        const float* in = Address(x);
        float* out = Address(y);
        // Input row r (batch and row) fills output rows r * block .. r * block + block - 1.
        const int64_t min_rows = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, width * s[1]));
        pool_->ParallelFor(s[0] * height, min_rows, [&](int64_t begin, int64_t end) {
          for (int64_t r = begin; r < end; ++r) {
            for (int64_t i = 0; i < block; ++i) {
              float* out_row = out + (r * block + i) * width * block * out_stride;
              for (int64_t w = 0; w < width; ++w) {
                const float* pixel = in + (r * width + w) * in_stride;
                for (int64_t j = 0; j < block; ++j) {
                  float* dst = out_row + (w * block + j) * out_stride;
                  if (!crd) {
                    std::memcpy(dst, pixel + (i * block + j) * out_channels,
                                out_channels * sizeof(float));
                    continue;
                  }
                  const float* src = pixel + i * block + j;
                  for (int64_t c = 0; c < out_channels; ++c) dst[c] = src[c * block * block];
                }
              }
            }
          }
        });
      });
      SetKernelName(n, "lwai nhwc depth to space");
      return Status::Ok();
    }
    case OpType::Flatten:
    case OpType::Reshape:
      AddOwnStep(n, [this, x, y] {
        const Shape& s = ShapeOf(x);
        const int64_t stride = Stride(x);
        float* out = Address(y);
        for (int64_t b = 0; b < s[0]; ++b) {
          std::memcpy(out + b * s[1], Address(x) + b * stride, s[1] * sizeof(float));
        }
      });
      return Status::Ok();
    default:
      return Internal(LWAI_MSG(node.Describe() + ": not an XNNPACK operator"));
  }
}

Status XnnpackPartition::AddConv(int n, const Node& node, FusedActivation act) {
  const int x = node.inputs[0];
  const int y = output_of_node_[n];
  const TensorView& w = (*views_)[node.inputs[1]];
  const float* bias = node.inputs.size() > 2 && node.inputs[2] >= 0
                          ? (*views_)[node.inputs[2]].Data<float>()
                          : nullptr;
  KernelContext ctx(node, const_cast<TensorView*>(views_->data()), pool_);
  WindowGeometry g;
  const int64_t kernel[2] = {w.shape[2], w.shape[3]};
  LWAI_RETURN_IF_ERROR(ComputeWindowGeometry(ctx, ShapeOf(x), kernel, false, &g));
  const int64_t groups = node.GetInt("group", 1);
  const int64_t out_channels = w.shape[0];
  const int64_t in_per_group = w.shape[1];
  const int64_t kh = kernel[0], kw = kernel[1];

  const bool winograd_shape = groups == 1 && kh == 3 && kw == 3 && g.strides[0] == 1 &&
                              g.strides[1] == 1 && g.dilations[0] == 1 && g.dilations[1] == 1;
  const WinogradChoice choice =
      winograd_shape
          ? ChooseWinograd(static_cast<int>(in_per_group), static_cast<int>(out_channels),
                           static_cast<int>(g.output[0]), static_cast<int>(g.output[1]))
          : WinogradChoice::kNo;
  bool use_winograd = choice == WinogradChoice::kYes;
  if (choice == WinogradChoice::kMeasure) {
    LWAI_ASSIGN_OR_RETURN(use_winograd, WinogradWinsHere(node, g, act));
  }
  if (use_winograd) {
    PackingKey key("winograd3x3");
    key.Constant(w.data, IsModelConstant(node.inputs[1]))
        .Constant(bias, IsModelConstant(node.inputs.size() > 2 ? node.inputs[2] : -1))
        .Param(in_per_group)
        .Param(out_channels);
    LWAI_ASSIGN_OR_RETURN(
        std::shared_ptr<const Winograd3x3> winograd, CachedPacking<Winograd3x3>(n, key, [&] {
          return Winograd3x3::Create(w.Data<float>(), bias, static_cast<int>(in_per_group),
                                     static_cast<int>(out_channels));
        }));
    const Shape& s = ShapeOf(x);
    const int pads[4] = {static_cast<int>(g.pad_begin[0]), static_cast<int>(g.pad_begin[1]),
                         static_cast<int>(g.pad_end[0]), static_cast<int>(g.pad_end[1])};
    const size_t scratch_bytes = winograd->ScratchBytes(
        static_cast<int>(s[0]), static_cast<int>(s[2]), static_cast<int>(s[3]), pads[0], pads[1],
        pads[2], pads[3], pool_->num_threads());
    node_scratch_[n] = AddBuffer(scratch_bytes, n, n);
    std::shared_ptr<const Winograd3x3> kernel_ptr = winograd;
    AddOwnStep(n, [this, n, kernel_ptr, x, y, pads, act] {
      const Shape& s = ShapeOf(x);
      kernel_ptr->Run(Address(x), static_cast<int>(s[0]), static_cast<int>(s[2]),
                      static_cast<int>(s[3]), static_cast<int>(Stride(x)), pads[0], pads[1],
                      pads[2], pads[3], Address(y), static_cast<int>(Stride(y)), act.min, act.max,
                      NodeScratch(n), pool_);
    });
    SetKernelName(n, "winograd");
    ReleaseConstantPages(graph_.tensors[node.inputs[1]].constant);
    return Status::Ok();
  }

  const bool pointwise = groups == 1 && kh == 1 && kw == 1 && g.strides[0] == 1 &&
                         g.strides[1] == 1 && g.pad_begin[0] == 0 && g.pad_begin[1] == 0 &&
                         g.pad_end[0] == 0 && g.pad_end[1] == 0;
  if (pointwise) {
    const Shape& s = ShapeOf(x);
    LWAI_ASSIGN_OR_RETURN(
        bool added,
        TryAddPointwise(n, node, x, y, s[0] * s[2] * s[3], s[2] * s[3], w.Data<float>(), false,
                        bias, static_cast<int>(in_per_group), static_cast<int>(out_channels), act));
    if (added) {
      ReleaseConstantPages(graph_.tensors[node.inputs[1]].constant);
      return Status::Ok();
    }
  }

  std::vector<int64_t> key = {
      g.pad_begin[0], g.pad_end[1],       g.pad_end[0],      g.pad_begin[1], kh,     kw,
      g.strides[0],   g.strides[1],       g.dilations[0],    g.dilations[1], groups, Stride(x),
      Stride(y),      FloatBits(act.min), FloatBits(act.max)};
  LWAI_ASSIGN_OR_RETURN(
      XnnOperator op,
      CachedOperator(n, node, std::move(key), "convolution", [&](xnn_operator_t* created) {
        const xnn_status status =
            CreateXnnConvolution(g, kh, kw, groups, in_per_group, out_channels, Stride(x),
                                 Stride(y), w.Data<float>(), bias, act.min, act.max, created);
        ReleaseConstantPages(graph_.tensors[node.inputs[1]].constant);
        return status;
      }));
  if (groups > 1 && in_per_group == 1 && out_channels == groups && kh <= 64 && kw <= 64 &&
      DepthwiseConvHasFastPath()) {
    LWAI_ASSIGN_OR_RETURN(bool added, TryAddDepthwise(n, node, g, act, op.get()));
    if (added) return Status::Ok();
  }
  AddXnnStep(n, op, [this, op = op.get(), x, y] {
    const Shape& s = ShapeOf(x);
    return xnn_setup_convolution2d_nhwc_f32(op, s[0], s[2], s[3], Address(x), Address(y),
                                            threadpool());
  });
  SetKernelName(n, groups > 1 && in_per_group == 1 ? "depthwise" : "");
  return Status::Ok();
}

bool XnnpackPartition::PointwiseWinsHere(int64_t rows, int in_channels, int out_channels) {
  // The rule in PointwiseConvIsProfitable was measured on Zen 4, where the two kernels tie on
  // compute-bound shapes; on Zen 5 lwai's runs 1.1-1.3x faster there, and thin outputs (16
  // channels) still favour XNNPACK. So the remaining shapes are timed, on one probe each,
  // unless too big to time cheaply (then XNNPACK stays; the probes stay under 16 MiB each).
  // lwai's kernel copies blocks of input rows into scratch (up to 384 KiB per thread, planned
  // in the arena): it must be 10% faster to be worth that memory.
  constexpr double kPointwiseMargin = 1.1;
  constexpr int64_t kMaxProbeFloats = int64_t{1} << 22;
  if (!pointwise_internal::HasAvx512() || rows < 1) return false;
  if (rows * in_channels * out_channels > (int64_t{1} << 27) ||
      rows * in_channels > kMaxProbeFloats || rows * out_channels > kMaxProbeFloats ||
      int64_t{1} * in_channels * out_channels > kMaxProbeFloats) {
    return false;
  }
  const std::vector<int64_t> key = {rows, in_channels, out_channels};
  const int cached = CachedKernelChoice("pointwise", key);
  if (cached >= 0) return cached == 1;
  // Both probes are built before the timing: one that cannot be built decides nothing (and
  // is not cached), where a failing probe inside the timing would look infinitely fast.
  const std::vector<float> weights(static_cast<size_t>(in_channels) * out_channels, 0.01f);
  const std::vector<float> probe_in(static_cast<size_t>(rows * in_channels), 0.5f);
  std::vector<float> probe_out(static_cast<size_t>(rows * out_channels), 0.0f);
  auto created = PointwiseConv::Create(weights.data(), false, nullptr, in_channels, out_channels);
  if (!created.ok()) return false;
  std::unique_ptr<PointwiseConv> pointwise = std::move(created).value();
  const size_t scratch_bytes = pointwise->ScratchBytes(rows, pool_->num_threads());
  std::shared_ptr<void> scratch = scratch_bytes > 0 ? AllocateAligned(scratch_bytes) : nullptr;
  if (scratch_bytes > 0 && scratch == nullptr) return false;
  xnn_operator_t op = nullptr;
  if (xnn_create_fully_connected_nc_f32(in_channels, out_channels, in_channels, out_channels,
                                        weights.data(), nullptr, -kInf, kInf, 0,
                                        &op) != xnn_status_success) {
    return false;
  }
  XnnOperator gemm(op, XnnOperatorDeleter());
  if (xnn_setup_fully_connected_nc_f32(op, static_cast<size_t>(rows), probe_in.data(),
                                       probe_out.data(), threadpool()) != xnn_status_success) {
    return false;
  }
  const int choice = ChooseFasterKernel(
      "pointwise", key, [&] { xnn_run_operator(gemm.get(), threadpool()); },
      [&] {
        pointwise->Run(probe_in.data(), rows, in_channels, probe_out.data(), out_channels, -kInf,
                       kInf, scratch.get(), pool_);
      },
      kPointwiseMargin);
  return choice == 1;
}

Result<bool> XnnpackPartition::WinogradWinsHere(const Node& node, const WindowGeometry& g,
                                                FusedActivation act) {
  const Shape& s = ShapeOf(node.inputs[0]);
  const TensorView& w = (*views_)[node.inputs[1]];
  const int in_channels = static_cast<int>(w.shape[1]);
  const int out_channels = static_cast<int>(w.shape[0]);
  const int height = static_cast<int>(s[2]), width = static_cast<int>(s[3]);
  const int pads[4] = {static_cast<int>(g.pad_begin[0]), static_cast<int>(g.pad_begin[1]),
                       static_cast<int>(g.pad_end[0]), static_cast<int>(g.pad_end[1])};
  // Timed on one image (the ratio does not depend on the batch, and a new batch size then
  // re-prepares without timing), once per process whatever the thread count, so that results
  // do not depend on it. Layers too big to time cheaply (this range holds thin
  // layers, so rarely) keep the answer measured on Zen 4: Winograd from 16 input channels.
  const int64_t image = int64_t{1} * height * width * in_channels;
  const int64_t out_image = g.output[0] * g.output[1] * out_channels;
  const int64_t work = int64_t{9} * g.output[0] * g.output[1] * in_channels * out_channels;
  if (work > (int64_t{1} << 27) || image > (int64_t{1} << 24) || out_image > (int64_t{1} << 24)) {
    return in_channels >= 16;
  }
  const std::vector<int64_t> key = {
      height,  width,   in_channels, out_channels,       pads[0],
      pads[1], pads[2], pads[3],     FloatBits(act.min), FloatBits(act.max)};
  // Probes with constant weights and inputs, allocated only when the timing runs: the time
  // does not depend on the values.
  std::vector<float> weights, probe_in, probe_out;
  std::unique_ptr<Winograd3x3> winograd;
  std::shared_ptr<void> scratch;
  XnnOperator direct;
  bool failed = false;
  auto buffers = [&] {
    if (!probe_in.empty()) return;
    weights.assign(static_cast<size_t>(9) * in_channels * out_channels, 0.01f);
    probe_in.assign(static_cast<size_t>(image), 0.5f);
    probe_out.assign(static_cast<size_t>(out_image), 0.0f);
  };
  const int choice = ChooseFasterKernel(
      "winograd3x3", key,
      [&] {
        buffers();
        if (winograd == nullptr && !failed) {
          auto created = Winograd3x3::Create(weights.data(), nullptr, in_channels, out_channels);
          failed = !created.ok();
          if (failed) return;
          winograd = std::move(created).value();
          scratch = AllocateAligned(winograd->ScratchBytes(1, height, width, pads[0], pads[1],
                                                           pads[2], pads[3], pool_->num_threads()));
          failed = scratch == nullptr;
        }
        if (failed) return;
        winograd->Run(probe_in.data(), 1, height, width, in_channels, pads[0], pads[1], pads[2],
                      pads[3], probe_out.data(), out_channels, act.min, act.max, scratch.get(),
                      pool_);
      },
      [&] {
        buffers();
        if (!direct && !failed) {
          xnn_operator_t op = nullptr;
          failed = CreateXnnConvolution(g, 3, 3, 1, in_channels, out_channels, in_channels,
                                        out_channels, weights.data(), nullptr, act.min, act.max,
                                        &op) != xnn_status_success;
          direct = XnnOperator(op, XnnOperatorDeleter());
          failed = failed || xnn_setup_convolution2d_nhwc_f32(op, 1, height, width, probe_in.data(),
                                                              probe_out.data(),
                                                              threadpool()) != xnn_status_success;
        }
        if (!failed) xnn_run_operator(direct.get(), threadpool());
      });
  // A probe that could not run (out of memory) decides nothing: keep the rule.
  if (failed) return in_channels >= 16;
  return choice == 0;
}

Result<bool> XnnpackPartition::TryAddDepthwise(int n, const Node& node, const WindowGeometry& g,
                                               FusedActivation act, xnn_operator_t xnn_op) {
  const int x = node.inputs[0];
  const int y = output_of_node_[n];
  const TensorView& w = (*views_)[node.inputs[1]];
  const int bias_tensor = node.inputs.size() > 2 ? node.inputs[2] : -1;
  const float* bias = bias_tensor >= 0 ? (*views_)[bias_tensor].Data<float>() : nullptr;
  const Shape& s = ShapeOf(x);
  // The kernel works in int coordinates: leave absurd geometries to XNNPACK.
  constexpr int64_t kMaxExtent = int64_t{1} << 24;
  for (int64_t v :
       {s[0], s[1], s[2], s[3], g.output[0], g.output[1], g.pad_begin[0], g.pad_begin[1],
        g.pad_end[0], g.pad_end[1], g.strides[0], g.strides[1], g.dilations[0] * w.shape[2],
        g.dilations[1] * w.shape[3], Stride(x), Stride(y)}) {
    if (v < 0 || v > kMaxExtent) return false;
  }
  const int channels = static_cast<int>(w.shape[0]);
  DepthwiseGeometry dg;
  dg.batch = static_cast<int>(s[0]);
  dg.height = static_cast<int>(s[2]);
  dg.width = static_cast<int>(s[3]);
  dg.kernel_h = static_cast<int>(w.shape[2]);
  dg.kernel_w = static_cast<int>(w.shape[3]);
  dg.stride_h = static_cast<int>(g.strides[0]);
  dg.stride_w = static_cast<int>(g.strides[1]);
  dg.dilation_h = static_cast<int>(g.dilations[0]);
  dg.dilation_w = static_cast<int>(g.dilations[1]);
  dg.pad_top = static_cast<int>(g.pad_begin[0]);
  dg.pad_left = static_cast<int>(g.pad_begin[1]);
  dg.out_height = static_cast<int>(g.output[0]);
  dg.out_width = static_cast<int>(g.output[1]);
  // Layers too big to time cheaply (far beyond real networks' depthwise layers) stay on
  // XNNPACK.
  const int64_t work = static_cast<int64_t>(dg.batch) * dg.out_height * dg.out_width * channels *
                       dg.kernel_h * dg.kernel_w;
  if (work > (int64_t{1} << 27)) return false;
  PackingKey key("depthwise");
  key.Constant(w.data, IsModelConstant(node.inputs[1]))
      .Constant(bias, IsModelConstant(bias_tensor))
      .Param(channels)
      .Param(dg.kernel_h)
      .Param(dg.kernel_w);
  LWAI_ASSIGN_OR_RETURN(
      std::shared_ptr<const DepthwiseConv> kernel, CachedPacking<DepthwiseConv>(n, key, [&] {
        return DepthwiseConv::Create(w.Data<float>(), bias, channels, dg.kernel_h, dg.kernel_w);
      }));
  // Time both kernels on this shape (once per process) with scratch buffers. The thread count
  // is not part of the key: whatever sessions a process runs, a layer gets the same kernel, so
  // results do not depend on the thread count.
  const int in_stride = static_cast<int>(Stride(x)), out_stride = static_cast<int>(Stride(y));
  const std::vector<int64_t> shape_key = {dg.batch,      dg.height,     dg.width,    channels,
                                          dg.kernel_h,   dg.kernel_w,   dg.stride_h, dg.stride_w,
                                          dg.dilation_h, dg.dilation_w, dg.pad_top,  dg.pad_left,
                                          g.pad_end[0],  g.pad_end[1],  in_stride,   out_stride};
  std::vector<float> probe_in(static_cast<size_t>(dg.batch) * dg.height * dg.width * in_stride,
                              0.5f);
  std::vector<float> probe_out(static_cast<size_t>(dg.batch) * dg.out_height * dg.out_width *
                               out_stride);
  const int choice = ChooseFasterKernel(
      "depthwise", shape_key,
      [&] {
        kernel->Run(dg, probe_in.data(), in_stride, probe_out.data(), out_stride, act.min, act.max,
                    pool_);
      },
      [&] {
        if (xnn_setup_convolution2d_nhwc_f32(xnn_op, dg.batch, dg.height, dg.width, probe_in.data(),
                                             probe_out.data(),
                                             threadpool()) == xnn_status_success) {
          xnn_run_operator(xnn_op, threadpool());
        }
      });
  if (choice != 0) return false;
  AddOwnStep(n, [this, kernel, dg, x, y, act] {
    kernel->Run(dg, Address(x), static_cast<int>(Stride(x)), Address(y),
                static_cast<int>(Stride(y)), act.min, act.max, pool_);
  });
  SetKernelName(n, "lwai depthwise");
  return true;
}

Status XnnpackPartition::AddConvTranspose(int n, const Node& node) {
  const int x = node.inputs[0];
  const int y = output_of_node_[n];
  const TensorView& w = (*views_)[node.inputs[1]];
  const float* bias = node.inputs.size() > 2 && node.inputs[2] >= 0
                          ? (*views_)[node.inputs[2]].Data<float>()
                          : nullptr;
  KernelContext ctx(node, const_cast<TensorView*>(views_->data()), pool_);
  WindowGeometry g;  // the forward convolution this one is the adjoint of: g.input is our output
  LWAI_RETURN_IF_ERROR(ComputeTransposeGeometry(ctx, ShapeOf(x), &w.shape.dims[2], &g));
  const int64_t groups = node.GetInt("group", 1);
  const int64_t in_per_group = w.shape[0] / std::max<int64_t>(1, groups);
  const int64_t out_per_group = w.shape[1];
  const int64_t kh = w.shape[2], kw = w.shape[3];
  // ONNX's output_padding: what the output has beyond the last window (XNNPACK's adjustment).
  int64_t adjustment[2];
  for (int d = 0; d < 2; ++d) {
    const int64_t covered = (g.output[d] - 1) * g.strides[d] + g.dilations[d] * (g.kernel[d] - 1) +
                            1 - g.pad_begin[d] - g.pad_end[d];
    adjustment[d] = g.input[d] - covered;
    if (adjustment[d] < 0 || adjustment[d] >= std::max<int64_t>(g.strides[d], g.dilations[d])) {
      return Unsupported(LWAI_MSG(node.Describe() + ": output padding XNNPACK cannot express"));
    }
  }
  std::vector<int64_t> key = {
      g.pad_begin[0], g.pad_end[1], g.pad_end[0],   g.pad_begin[1], kh,     kw,
      g.strides[0],   g.strides[1], g.dilations[0], g.dilations[1], groups, Stride(x),
      Stride(y)};
  LWAI_ASSIGN_OR_RETURN(
      XnnOperator op,
      CachedOperator(n, node, std::move(key), "deconvolution", [&](xnn_operator_t* created) {
        // ONNX [I][O/g][kh][kw] to XNNPACK [g][O/g][kh][kw][I/g].
        std::vector<float> packed(static_cast<size_t>(w.NumElements()));
        const float* src = w.Data<float>();
        for (int64_t grp = 0; grp < groups; ++grp) {
          for (int64_t o = 0; o < out_per_group; ++o) {
            for (int64_t i = 0; i < in_per_group; ++i) {
              for (int64_t k = 0; k < kh * kw; ++k) {
                packed[((grp * out_per_group + o) * kh * kw + k) * in_per_group + i] =
                    src[((grp * in_per_group + i) * out_per_group + o) * kh * kw + k];
              }
            }
          }
        }
        const xnn_status status = xnn_create_deconvolution2d_nhwc_f32(
            g.pad_begin[0], g.pad_end[1], g.pad_end[0], g.pad_begin[1], kh, kw, g.strides[0],
            g.strides[1], g.dilations[0], g.dilations[1], groups, in_per_group, out_per_group,
            Stride(x), Stride(y), packed.data(), bias, -kInf, kInf, 0, created);
        ReleaseConstantPages(graph_.tensors[node.inputs[1]].constant);
        return status;
      }));
  const uint32_t adjust_h = static_cast<uint32_t>(adjustment[0]);
  const uint32_t adjust_w = static_cast<uint32_t>(adjustment[1]);
  AddXnnStep(n, op, [this, op = op.get(), x, y, adjust_h, adjust_w] {
    const Shape& s = ShapeOf(x);
    return xnn_setup_deconvolution2d_nhwc_f32(op, s[0], s[2], s[3], adjust_h, adjust_w, Address(x),
                                              Address(y), threadpool());
  });
  return Status::Ok();
}

Status XnnpackPartition::AddPool(int n, const Node& node) {
  const int x = node.inputs[0];
  const int y = output_of_node_[n];
  KernelContext ctx(node, const_cast<TensorView*>(views_->data()), pool_);
  const std::vector<int64_t> kernel = node.GetInts("kernel_shape");
  WindowGeometry g;
  LWAI_RETURN_IF_ERROR(ComputeWindowGeometry(ctx, ShapeOf(x), kernel.data(), true, &g));
  // ceil_mode: extend the end padding so that the floor formula yields the same output size.
  int64_t pad_end[2];
  for (int i = 0; i < 2; ++i) {
    const int64_t needed = (g.output[i] - 1) * g.strides[i] + (kernel[i] - 1) * g.dilations[i] + 1 -
                           g.input[i] - g.pad_begin[i];
    pad_end[i] = std::max(g.pad_end[i], needed);
  }
  xnn_operator_t op = nullptr;
  const size_t channels = ShapeOf(x)[1];
  xnn_status status;
  if (node.op == OpType::MaxPool) {
    status = xnn_create_max_pooling2d_nhwc_f32(g.pad_begin[0], pad_end[1], pad_end[0],
                                               g.pad_begin[1], kernel[0], kernel[1], g.strides[0],
                                               g.strides[1], g.dilations[0], g.dilations[1],
                                               channels, Stride(x), Stride(y), -kInf, kInf, 0, &op);
  } else if (node.GetInt("count_include_pad", 0) != 0) {
    // Padding counts toward the divisor: a depthwise convolution with weights 1 / window.
    const size_t taps = static_cast<size_t>(kernel[0] * kernel[1]);
    std::vector<float> weights(channels * taps, 1.0f / static_cast<float>(taps));
    status = xnn_create_convolution2d_nhwc_f32(
        g.pad_begin[0], pad_end[1], pad_end[0], g.pad_begin[1], kernel[0], kernel[1], g.strides[0],
        g.strides[1], 1, 1, channels, 1, 1, Stride(x), Stride(y), weights.data(), nullptr, -kInf,
        kInf, 0, &op);
    if (status != xnn_status_success) return XnnError(node, "pooling", status);
    AddXnnStep(n, op, [this, op, x, y] {
      const Shape& s = ShapeOf(x);
      return xnn_setup_convolution2d_nhwc_f32(op, s[0], s[2], s[3], Address(x), Address(y),
                                              threadpool());
    });
    SetKernelName(n, "depthwise (padding counted)");
    return Status::Ok();
  } else {
    status = xnn_create_average_pooling2d_nhwc_f32(
        g.pad_begin[0], pad_end[1], pad_end[0], g.pad_begin[1], kernel[0], kernel[1], g.strides[0],
        g.strides[1], channels, Stride(x), Stride(y), -kInf, kInf, 0, &op);
  }
  if (status != xnn_status_success) return XnnError(node, "pooling", status);
  const bool max_pool = node.op == OpType::MaxPool;
  AddXnnStep(n, op, [this, op, x, y, max_pool] {
    const Shape& s = ShapeOf(x);
    return max_pool ? xnn_setup_max_pooling2d_nhwc_f32(op, s[0], s[2], s[3], Address(x), Address(y),
                                                       threadpool())
                    : xnn_setup_average_pooling2d_nhwc_f32(op, s[0], s[2], s[3], Address(x),
                                                           Address(y), threadpool());
  });
  return Status::Ok();
}

Status XnnpackPartition::AddBatchNormalization(int n, const Node& node, FusedActivation act) {
  const int x = node.inputs[0];
  const int y = output_of_node_[n];
  const int64_t channels = ShapeOf(x)[1];
  const float epsilon = node.GetFloat("epsilon", 1e-5f);
  for (int i = 1; i < 5; ++i) {
    if ((*views_)[node.inputs[i]].NumElements() != channels) {
      return ShapeMismatch(LWAI_MSG(node.Describe() + ": parameter " + std::to_string(i) + " has " +
                                    std::to_string((*views_)[node.inputs[i]].NumElements()) +
                                    " values, expected " + std::to_string(channels)));
    }
  }
  const float* gamma = (*views_)[node.inputs[1]].Data<float>();
  const float* beta = (*views_)[node.inputs[2]].Data<float>();
  const float* mean = (*views_)[node.inputs[3]].Data<float>();
  const float* var = (*views_)[node.inputs[4]].Data<float>();
  auto affine = std::make_shared<std::vector<float>>(2 * channels);
  for (int64_t c = 0; c < channels; ++c) {
    const float scale = gamma[c] / std::sqrt(var[c] + epsilon);
    (*affine)[c] = scale;
    (*affine)[channels + c] = beta[c] - mean[c] * scale;
  }
  AddOwnStep(n, [this, affine, x, y, channels, act] {
    const Shape& s = ShapeOf(x);
    const float* in = Address(x);
    float* out = Address(y);
    const int64_t in_stride = Stride(x), out_stride = Stride(y);
    const float* scale = affine->data();
    const float* shift = scale + channels;
    const float lo = act.min, hi = act.max;
    pool_->ParallelFor(s[0] * s[2] * s[3], 64, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        const float* src = in + p * in_stride;
        float* dst = out + p * out_stride;
        for (int64_t c = 0; c < channels; ++c) {
          dst[c] = std::min(hi, std::max(lo, src[c] * scale[c] + shift[c]));
        }
      }
    });
  });
  SetKernelName(n, "lwai channel affine");
  return Status::Ok();
}

Status XnnpackPartition::AddGemm(int n, const Node& node, FusedActivation act) {
  const int a = node.inputs[0];
  const int y = output_of_node_[n];
  const TensorView& b = (*views_)[node.inputs[1]];
  const bool trans_b = node.GetInt("transB", 0) != 0;
  const size_t k = trans_b ? b.shape[1] : b.shape[0];
  const size_t out = trans_b ? b.shape[0] : b.shape[1];
  if (ShapeOf(a)[1] != static_cast<int64_t>(k)) {
    return ShapeMismatch(LWAI_MSG(node.Describe() + ": A " + ShapeOf(a).ToString() + " and B " +
                                  b.shape.ToString() + " do not multiply"));
  }
  const float* bias = node.inputs.size() > 2 && node.inputs[2] >= 0
                          ? (*views_)[node.inputs[2]].Data<float>()
                          : nullptr;
  LWAI_ASSIGN_OR_RETURN(
      bool added, TryAddPointwise(n, node, a, y, ShapeOf(a)[0], 0, b.Data<float>(), !trans_b, bias,
                                  static_cast<int>(k), static_cast<int>(out), act));
  if (added) {
    ReleaseConstantPages(graph_.tensors[node.inputs[1]].constant);
    return Status::Ok();
  }
  std::vector<int64_t> key = {static_cast<int64_t>(k), static_cast<int64_t>(out), trans_b,
                              FloatBits(act.min), FloatBits(act.max)};
  LWAI_ASSIGN_OR_RETURN(
      XnnOperator op,
      CachedOperator(n, node, std::move(key), "fully connected", [&](xnn_operator_t* created) {
        const xnn_status status = xnn_create_fully_connected_nc_f32(
            k, out, k, out, b.Data<float>(), bias, act.min, act.max,
            trans_b ? 0 : XNN_FLAG_TRANSPOSE_WEIGHTS, created);
        ReleaseConstantPages(graph_.tensors[node.inputs[1]].constant);
        return status;
      }));
  AddXnnStep(n, op, [this, op = op.get(), a, y] {
    return xnn_setup_fully_connected_nc_f32(op, ShapeOf(a)[0], Address(a), Address(y),
                                            threadpool());
  });
  return Status::Ok();
}

Status XnnpackPartition::AddConcat(int n, const Node& node) {
  const int y = output_of_node_[n];
  // Inputs not written in place are copied pixel by pixel, all of them per output pixel, so
  // each output pixel is written once, front to back.
  struct Copy {
    int tensor;
    int64_t offset, channels;
  };
  std::vector<Copy> copies;
  int64_t offset = 0;
  for (int t : node.inputs) {
    const int64_t channels = ShapeOf(t)[1];
    if (placement_[t].root != placement_[y].root) copies.push_back({t, offset, channels});
    offset += channels;
  }
  if (!copies.empty()) {
    AddOwnStep(n, [this, copies, y] {
      const Shape& s = ShapeOf(y);
      const int64_t pixels = s[0] * s[2] * s[3];
      const int64_t y_stride = Stride(y);
      float* out = Address(y);
      int64_t pixel_bytes = 0;
      for (const Copy& c : copies) pixel_bytes += c.channels * 4;
      const int64_t min_pixels = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, pixel_bytes));
      pool_->ParallelFor(pixels, min_pixels, [&](int64_t begin, int64_t end) {
        for (const Copy& c : copies) {
          const float* in = Address(c.tensor);
          const int64_t in_stride = Stride(c.tensor);
          for (int64_t p = begin; p < end; ++p) {
            std::memcpy(out + p * y_stride + c.offset, in + p * in_stride, c.channels * 4);
          }
        }
      });
    });
  }
  SetKernelName(n, copies.empty() ? "in place" : std::to_string(copies.size()) + " strided copies");
  return Status::Ok();
}

Status XnnpackPartition::Run(const std::vector<TensorView>& views, int64_t* node_time_ns) {
  views_ = &views;
  // Operators are set up again only when a buffer they were given moved (a caller-placed
  // output lives at a new address each run); all of them after a new plan.
  const bool all = !bound_;
  bool any_moved = all;
  bound_addresses_.resize(bound_tensors_.size());
  moved_.assign(views.size(), 0);
  for (size_t i = 0; i < bound_tensors_.size(); ++i) {
    void* address = views[bound_tensors_[i]].data;
    if (bound_addresses_[i] != address) moved_[bound_tensors_[i]] = 1, any_moved = true;
    bound_addresses_[i] = address;
  }
  if (any_moved) {
    bound_ = false;
    for (Step& step : steps_) {
      if (!step.op) continue;
      bool setup = all;
      for (int t : step.bound_views) setup = setup || moved_[t];
      if (!setup) continue;
      step.bound_views.clear();
      recording_ = &step.bound_views;
      const xnn_status status = step.setup();
      recording_ = nullptr;
      if (status != xnn_status_success) {
        return XnnError(graph_.nodes[step.node], "setup", status);
      }
    }
    bound_ = true;
  }
  if (node_time_ns != nullptr) {
    for (int n : nodes_) node_time_ns[n] = 0;
  }
  for (Step& step : steps_) {
    const auto start =
        node_time_ns ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    if (step.op) {
      const xnn_status status = xnn_run_operator(step.op.get(), threadpool());
      if (status != xnn_status_success) return XnnError(graph_.nodes[step.node], "run", status);
    } else {
      step.run();
    }
    if (node_time_ns != nullptr) {
      node_time_ns[step.node] += std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count();
    }
  }
  return Status::Ok();
}

class XnnpackBackend : public Backend {
 public:
  const char* name() const override { return "xnnpack"; }
  bool ClaimForPartition(const Graph& graph, const Node& node) const override {
    return xnnpack::Claims(graph, node);
  }
  Result<std::unique_ptr<CompiledPartition>> CompilePartition(const Graph& graph,
                                                              const std::vector<int>& nodes,
                                                              ThreadPool* pool) const override {
    return std::unique_ptr<CompiledPartition>(new XnnpackPartition(graph, nodes, pool));
  }
};

}  // namespace

Result<std::unique_ptr<Backend>> CreateXnnpackBackend() {
  static xnn_status init_status = xnn_initialize(nullptr);
  if (init_status != xnn_status_success) {
    return Unsupported(LWAI_MSG("XNNPACK cannot run on this CPU (xnn_initialize returned " +
                                std::to_string(static_cast<int>(init_status)) + ")"));
  }
  return std::unique_ptr<Backend>(new XnnpackBackend());
}

}  // namespace lwai
