#include "ir/no_throw.h"
#include "passes/passes.h"
#include "runtime/executor.h"

namespace lwai {
namespace {

// Prepares the graph with every dynamic input dim set to `value` (input `vary_input`'s dim
// `vary_dim` to `varied_value` instead, when vary_input >= 0); returns every tensor's shape and
// dtype.
Status PrepareWithDynamicDims(const Graph& graph, int64_t value, std::vector<Shape>* shapes,
                              std::vector<DataType>* dtypes, int vary_input = -1, int vary_dim = -1,
                              int64_t varied_value = 0) {
  // The reference kernels give the shapes; other backends would only pack weights here.
  SessionOptions options;
  options.backends = {"reference"};
  LWAI_ASSIGN_OR_RETURN(std::unique_ptr<Executor> executor, Executor::Create(graph, options));
  executor->own_limits() = ConversionLimits();
  std::vector<Shape> input_shapes;
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    Shape shape;
    for (const Dim& d : graph.tensors[graph.inputs[i]].shape) {
      const bool varied = static_cast<int>(i) == vary_input && shape.rank == vary_dim;
      shape.dims[shape.rank++] = d.value >= 0 ? d.value : (varied ? varied_value : value);
    }
    input_shapes.push_back(shape);
  }
  LWAI_RETURN_IF_ERROR(executor->Prepare(input_shapes));
  shapes->clear();
  dtypes->clear();
  for (size_t t = 0; t < graph.tensors.size(); ++t) {
    shapes->push_back(executor->tensor(static_cast<int>(t)).shape);
    dtypes->push_back(executor->tensor(static_cast<int>(t)).dtype);
  }
  return Status::Ok();
}

}  // namespace

static Status InferShapesUnguarded(Graph& graph);
static Status OptimizeUnguarded(Graph& graph);

// When no single value of all dynamic dims works twice (a recognizer that needs height 48, a
// detector that needs multiples of 32), each dynamic input dim is varied alone around a value
// that works: tensor dims that move are dynamic. If some input dim cannot move at all, which
// tensor dims depend on it is unknown: then only ranks and dtypes are recorded (every dim
// dynamic), which is still what backends need to claim nodes.
static Status InferShapesDimByDim(Graph& graph) {
  const int64_t kValues[] = {1, 2, 8, 16, 32, 48, 64, 96, 128, 224, 256, 320, 640};
  std::vector<Shape> base, varied;
  std::vector<DataType> dtypes, unused;
  int64_t base_value = 0;
  for (int64_t v : kValues) {
    if (PrepareWithDynamicDims(graph, v, &base, &dtypes).ok()) {
      base_value = v;
      break;
    }
  }
  if (base_value == 0) return Status::Ok();
  std::vector<std::vector<char>> moved(graph.tensors.size());
  std::vector<char> rank_moved(graph.tensors.size(), 0);
  for (size_t t = 0; t < graph.tensors.size(); ++t) moved[t].assign(base[t].rank, 0);
  bool every_dim_moved = true;
  for (size_t i = 0; i < graph.inputs.size() && every_dim_moved; ++i) {
    const std::vector<Dim>& dims = graph.tensors[graph.inputs[i]].shape;
    for (size_t d = 0; d < dims.size() && every_dim_moved; ++d) {
      if (dims[d].value >= 0) continue;
      bool moved_once = false;
      for (int64_t v : kValues) {
        if (v == base_value || !PrepareWithDynamicDims(graph, base_value, &varied, &unused,
                                                       static_cast<int>(i), static_cast<int>(d), v)
                                    .ok()) {
          continue;
        }
        moved_once = true;
        for (size_t t = 0; t < graph.tensors.size(); ++t) {
          if (varied[t].rank != base[t].rank) {
            rank_moved[t] = 1;
            continue;
          }
          for (int k = 0; k < base[t].rank; ++k) moved[t][k] |= varied[t][k] != base[t][k];
        }
        break;
      }
      every_dim_moved = moved_once;
    }
  }
  std::vector<char> is_input(graph.tensors.size(), 0);
  for (int t : graph.inputs) is_input[t] = 1;
  for (size_t t = 0; t < graph.tensors.size(); ++t) {
    TensorDesc& desc = graph.tensors[t];
    if (desc.is_constant() || is_input[t] || dtypes[t] == DataType::kUndefined) continue;
    desc.dtype = dtypes[t];
    desc.shape_known = !rank_moved[t];
    desc.shape.clear();
    if (!desc.shape_known) continue;
    for (int k = 0; k < base[t].rank; ++k) {
      const bool fixed = every_dim_moved && !moved[t][k];
      desc.shape.push_back(Dim{fixed ? base[t][k] : -1, ""});
    }
  }
  return Status::Ok();
}

Status InferShapes(Graph& graph) {
  return CatchAllocationFailure("inferring shapes", [&] { return InferShapesUnguarded(graph); });
}

static Status InferShapesUnguarded(Graph& graph) {
  for (int t : graph.inputs) {
    if (!graph.tensors[t].shape_known) return Status::Ok();
  }
  // Two probes: dims that differ between two values of the dynamic dims are dynamic themselves.
  // 1 and 2 suit batch dims; spatial dims of networks that downsample need larger probes.
  // With dynamic dims inference is a best effort: when no probe pair prepares, shapes stay as
  // declared and errors wait for real shapes. Static graphs report their errors here.
  std::vector<Shape> small, large;
  std::vector<DataType> dtypes, unused;
  bool has_dynamic_dims = false;
  for (int t : graph.inputs) {
    for (const Dim& d : graph.tensors[t].shape) has_dynamic_dims = has_dynamic_dims || d.value < 0;
  }
  if (!has_dynamic_dims) {
    const Status status = PrepareWithDynamicDims(graph, 1, &small, &dtypes);
    // Too big or too slow to evaluate now: the session finds out when it runs.
    if (status.code() == StatusCode::kDeadlineExceeded ||
        status.code() == StatusCode::kOutOfMemory) {
      return Status::Ok();
    }
    LWAI_RETURN_IF_ERROR(status);
  }
  const int64_t kProbes[][2] = {{1, 2}, {64, 96}};
  int64_t small_value = 0, large_value = 0;
  for (const auto& probe : kProbes) {
    if (PrepareWithDynamicDims(graph, probe[0], &small, &dtypes).ok() &&
        PrepareWithDynamicDims(graph, probe[1], &large, &unused).ok()) {
      small_value = probe[0];
      large_value = probe[1];
      break;
    }
  }
  if (small_value == 0) return InferShapesDimByDim(graph);
  std::vector<char> is_input(graph.tensors.size(), 0);
  // With a single named dynamic input dim (typically "batch"), dims that follow it 1:1 in
  // both probes take its name.
  std::string dynamic_name;
  int named_dynamic_dims = 0;
  for (int t : graph.inputs) {
    is_input[t] = 1;
    for (const Dim& d : graph.tensors[t].shape) {
      if (d.value >= 0) continue;
      if (named_dynamic_dims == 0 || d.name != dynamic_name) ++named_dynamic_dims;
      dynamic_name = d.name;
    }
  }
  if (named_dynamic_dims != 1) dynamic_name.clear();
  for (size_t t = 0; t < graph.tensors.size(); ++t) {
    TensorDesc& desc = graph.tensors[t];
    if (desc.is_constant() || is_input[t]) continue;
    // Outputs of nodes that need run-time values keep what the converter declared.
    if (dtypes[t] == DataType::kUndefined) continue;
    desc.dtype = dtypes[t];
    desc.shape_known = small[t].rank == large[t].rank;
    desc.shape.clear();
    if (!desc.shape_known) continue;
    for (int d = 0; d < small[t].rank; ++d) {
      if (small[t][d] == large[t][d]) {
        desc.shape.push_back(Dim{small[t][d], ""});
      } else {
        const bool follows = small[t][d] == small_value && large[t][d] == large_value;
        desc.shape.push_back(Dim{-1, follows ? dynamic_name : ""});
      }
    }
  }
  return Status::Ok();
}

Status OptimizeGraph(Graph& graph) {
  return CatchAllocationFailure("optimizing the graph", [&] {
    const bool half_model = HasHalfConstants(graph);
    LWAI_RETURN_IF_ERROR(OptimizeUnguarded(graph));
    if (!half_model) return Status::Ok();
    // Last, and in the main graph only (the executor expands its constants once per session):
    // the folds and fusions need the weights' values as float32 constants.
    LWAI_RETURN_IF_ERROR(StoreHalfWeights(graph));
    return graph.Validate();
  });
}

static Status OptimizeUnguarded(Graph& graph) {
  LWAI_RETURN_IF_ERROR(FoldConstants(graph, /*keep_quantized_weights=*/true));
  LWAI_RETURN_IF_ERROR(FuseQuantizedConv(graph));
  LWAI_RETURN_IF_ERROR(FuseQuantizedBinary(graph));
  // A quantized MatMul becomes a QGemm only when its input's rank is known.
  LWAI_RETURN_IF_ERROR(InferShapes(graph));
  LWAI_RETURN_IF_ERROR(FuseQuantizedGemm(graph));
  LWAI_RETURN_IF_ERROR(FuseQuantizedConcat(graph));
  LWAI_RETURN_IF_ERROR(FuseQuantizedPassThrough(graph));
  LWAI_RETURN_IF_ERROR(FuseQuantizedAveragePools(graph));
  // Quantized weights no fusion took (a float BatchNormalization's parameters) become float
  // constants, which the float backends need to claim their readers.
  LWAI_RETURN_IF_ERROR(FoldConstants(graph));
  LWAI_RETURN_IF_ERROR(InlineCapturedConstants(graph, OptimizeUnguarded));
  LWAI_RETURN_IF_ERROR(EliminateDeadNodes(graph));
  LWAI_RETURN_IF_ERROR(FoldBatchNormalization(graph));
  // Fusions check operand shapes (a LayerNorm's channel count): infer them first.
  LWAI_RETURN_IF_ERROR(InferShapes(graph));
  LWAI_RETURN_IF_ERROR(FuseQuantizedBatchNorm(graph));
  LWAI_RETURN_IF_ERROR(FuseLayerNorm(graph));
  LWAI_RETURN_IF_ERROR(FuseGroupNorm(graph));
  LWAI_RETURN_IF_ERROR(FuseHardSwish(graph));
  LWAI_RETURN_IF_ERROR(FuseGelu(graph));
  LWAI_RETURN_IF_ERROR(FuseSwish(graph));
  LWAI_RETURN_IF_ERROR(FuseMish(graph));
  // After the activation fusions (a HardSwish written as x * Clip(x + 3, 0, 6) / 6 is one
  // function then), with shapes known.
  LWAI_RETURN_IF_ERROR(FuseQuantizedLookup(graph));
  // After the activation fusions: a GELU's final scale by 0.5 must not fold into the next Conv.
  LWAI_RETURN_IF_ERROR(FoldAffineIntoConv(graph));
  LWAI_RETURN_IF_ERROR(FoldPadIntoConv(graph));
  LWAI_RETURN_IF_ERROR(SimplifyArithmetic(graph));
  LWAI_RETURN_IF_ERROR(EliminateDeadNodes(graph));  // bypasses the Identity nodes made above
  LWAI_RETURN_IF_ERROR(FuseAttention(graph));
  LWAI_RETURN_IF_ERROR(FuseMatMulBias(graph));
  LWAI_RETURN_IF_ERROR(FuseActivations(graph));
  LWAI_RETURN_IF_ERROR(EliminateDeadNodes(graph));
  CompactTensors(graph);
  LWAI_RETURN_IF_ERROR(InferShapes(graph));
  return graph.Validate();
}

}  // namespace lwai
