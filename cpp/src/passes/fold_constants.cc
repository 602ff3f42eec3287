#include <algorithm>
#include <memory>

#include "lwai/session.h"
#include "passes/passes.h"
#include "runtime/evaluate.h"
#include "runtime/thread_pool.h"

namespace lwai {

ExecutionLimits ConversionLimits() {
  ExecutionLimits limits;
  // Folded values are stored in the model: larger ones are better computed at run time.
  limits.max_memory_bytes = std::min<uint64_t>(DefaultMaxMemoryBytes(), uint64_t{1} << 30);
  limits.loop_iterations_left = 100000;
  limits.deadline = ExecutionLimits::Clock::now() + std::chrono::seconds(60);
  return limits;
}

namespace {
bool IsLimitError(const Status& status) {
  return status.code() == StatusCode::kDeadlineExceeded ||
         status.code() == StatusCode::kOutOfMemory;
}
}  // namespace

Status FoldConstants(Graph& graph, bool keep_quantized_weights) {
  const ExecutionLimits limits = ConversionLimits();
  ThreadPool pool(1);
  std::vector<TensorView> views(graph.tensors.size());
  for (size_t t = 0; t < graph.tensors.size(); ++t) {
    const TensorDesc& desc = graph.tensors[t];
    views[t].dtype = desc.dtype;
    if (desc.HasStaticShape()) views[t].shape = desc.StaticShape();
    if (desc.is_constant()) views[t].data = const_cast<uint8_t*>(desc.constant.data);
  }
  // Which tensors folding could compute (DequantizeLinear included), and so which
  // DequantizeLinear outputs only feed computations that fold anyway (a weight norm over
  // quantized parameters): those fold too; the rest, a quantized operator's weights, stay.
  std::vector<char> computable(graph.tensors.size(), 0);
  std::vector<char> feeds_runtime(graph.tensors.size(), 0);
  if (keep_quantized_weights) {
    for (size_t t = 0; t < graph.tensors.size(); ++t) {
      computable[t] = graph.tensors[t].is_constant();
    }
    for (const Node& node : graph.nodes) {
      bool known = FindReferenceKernel(node.op) != nullptr;
      for (int t : node.inputs) {
        if (t < 0) continue;
        known = known &&
                (node.op == OpType::Shape ? graph.tensors[t].HasStaticShape() : computable[t] != 0);
      }
      for (int t : node.outputs) {
        if (t >= 0) computable[t] = known;
      }
      if (!known) {
        for (int t : node.inputs) {
          if (t >= 0) feeds_runtime[t] = 1;
        }
      }
    }
    for (int t : graph.outputs) feeds_runtime[t] = 1;
  }
  std::vector<Node> kept;
  for (Node& node : graph.nodes) {
    const bool quantized_weight = keep_quantized_weights && node.op == OpType::DequantizeLinear &&
                                  !node.outputs.empty() && node.outputs[0] >= 0 &&
                                  feeds_runtime[node.outputs[0]];
    bool foldable = FindReferenceKernel(node.op) != nullptr && !quantized_weight;
    for (int t : node.inputs) {
      if (t < 0) continue;
      const bool known = node.op == OpType::Shape ? graph.tensors[t].HasStaticShape()
                                                  : graph.tensors[t].is_constant();
      foldable = foldable && known;
    }
    if (!foldable || node.inputs.empty()) {
      kept.push_back(std::move(node));
      continue;
    }
    KernelContext ctx(node, views.data(), &pool);
    ctx.limits_ = &limits;
    std::vector<std::shared_ptr<void>> storage;
    const Status folded = PrepareAndEvaluate(*FindReferenceKernel(node.op), ctx, &storage);
    if (IsLimitError(folded)) {
      // Too big or too slow to fold: the session computes it when it runs.
      for (int t : node.outputs) {
        if (t < 0) continue;
        const TensorDesc& desc = graph.tensors[t];
        views[t] =
            TensorView{desc.dtype, desc.HasStaticShape() ? desc.StaticShape() : Shape{}, nullptr};
      }
      kept.push_back(std::move(node));
      continue;
    }
    LWAI_RETURN_IF_ERROR(folded);
    for (int o = 0; o < ctx.num_outputs(); ++o) {
      if (!ctx.has_output(o)) continue;
      const TensorView& out = ctx.output(o);
      TensorDesc& desc = graph.tensors[node.outputs[o]];
      desc.dtype = out.dtype;
      desc.shape_known = true;
      desc.shape.clear();
      for (int d = 0; d < out.shape.rank; ++d) desc.shape.push_back(Dim{out.shape[d], ""});
      desc.constant = ConstantData::Copy(out.data, out.ByteSize());
      views[node.outputs[o]].data = const_cast<uint8_t*>(desc.constant.data);
    }
  }
  graph.nodes = std::move(kept);
  return Status::Ok();
}

}  // namespace lwai
