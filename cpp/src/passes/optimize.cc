#include "ir/no_throw.h"
#include "passes/passes.h"
#include "runtime/executor.h"

namespace lwai {
namespace {

// Prepares the graph with every dynamic input dim set to `value`; returns output shapes of
// every tensor.
Status PrepareWithDynamicDims(const Graph& graph, int64_t value, std::vector<Shape>* shapes,
                              std::vector<DataType>* dtypes) {
  LWAI_ASSIGN_OR_RETURN(std::unique_ptr<Executor> executor, Executor::Create(graph, {}));
  executor->own_limits() = ConversionLimits();
  std::vector<Shape> input_shapes;
  for (int t : graph.inputs) {
    Shape shape;
    for (const Dim& d : graph.tensors[t].shape)
      shape.dims[shape.rank++] = d.value < 0 ? value : d.value;
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
  if (small_value == 0) return Status::Ok();
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
  return CatchAllocationFailure("optimizing the graph", [&] { return OptimizeUnguarded(graph); });
}

static Status OptimizeUnguarded(Graph& graph) {
  LWAI_RETURN_IF_ERROR(FoldConstants(graph));
  LWAI_RETURN_IF_ERROR(InlineCapturedConstants(graph, OptimizeUnguarded));
  LWAI_RETURN_IF_ERROR(EliminateDeadNodes(graph));
  LWAI_RETURN_IF_ERROR(FoldBatchNormalization(graph));
  LWAI_RETURN_IF_ERROR(FuseActivations(graph));
  LWAI_RETURN_IF_ERROR(EliminateDeadNodes(graph));
  CompactTensors(graph);
  LWAI_RETURN_IF_ERROR(InferShapes(graph));
  return graph.Validate();
}

}  // namespace lwai
