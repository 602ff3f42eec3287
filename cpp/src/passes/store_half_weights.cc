// StoreHalfWeights: keeps the weights of a float16 model at half size after optimization.
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cast_common.h"
#include "passes/passes.h"

namespace lwai {
namespace {

// Weights smaller than this stay float32: a Cast per bias vector costs more than it saves.
constexpr int64_t kMinElements = 256;

// True when every value of the float32 constant survives a round trip through float16 bit for
// bit; `half` receives the float16 values.
bool ExactInHalf(const TensorDesc& desc, std::vector<uint16_t>* half) {
  const size_t count = desc.constant.size / sizeof(float);
  half->resize(count);
  for (size_t i = 0; i < count; ++i) {
    float value;
    std::memcpy(&value, desc.constant.data + i * sizeof(float), sizeof(float));
    const uint16_t h = FloatToHalf(value);
    const float back = HalfToFloat(h);
    if (std::memcmp(&back, &value, sizeof(float)) != 0) return false;
    (*half)[i] = h;
  }
  return true;
}

}  // namespace

bool HasHalfConstants(const Graph& graph) {
  for (const TensorDesc& desc : graph.tensors) {
    if (desc.is_constant() && desc.dtype == DataType::kFloat16) return true;
  }
  return false;
}

Status StoreHalfWeights(Graph& graph) {
  std::vector<char> is_output(graph.tensors.size(), 0);
  for (int t : graph.outputs) is_output[t] = 1;
  std::vector<Node> casts;
  std::vector<uint16_t> half;
  const size_t original_tensors = graph.tensors.size();
  for (size_t t = 0; t < original_tensors; ++t) {
    const TensorDesc& desc = graph.tensors[t];
    if (!desc.is_constant() || desc.dtype != DataType::kFloat32 || is_output[t] ||
        !desc.HasStaticShape() || desc.StaticShape().NumElements() < kMinElements ||
        desc.constant.size != static_cast<size_t>(desc.StaticShape().NumElements()) * 4 ||
        !ExactInHalf(desc, &half)) {
      continue;
    }
    std::vector<int64_t> dims;
    for (const Dim& d : desc.shape) dims.push_back(d.value);
    const int stored = AddConstantTensor(graph, desc.name + "/float16", DataType::kFloat16, dims,
                                         half.data(), half.size() * sizeof(uint16_t));
    graph.tensors[t].constant = ConstantData();  // now the Cast's output (`desc` may dangle)
    Node cast;
    cast.name = graph.tensors[t].name + "/expand";
    cast.op = OpType::Cast;
    cast.inputs = {stored};
    cast.outputs = {static_cast<int>(t)};
    cast.SetInt("to", static_cast<int64_t>(DataType::kFloat32));
    casts.push_back(std::move(cast));
  }
  if (casts.empty()) return Status::Ok();
  for (Node& node : graph.nodes) casts.push_back(std::move(node));
  graph.nodes = std::move(casts);
  return Status::Ok();
}

}  // namespace lwai
