#include "backends/eigen/eigen_backend.h"

#include <string>

#include "backends/eigen/eigen_config.h"
#include "backends/eigen/eigen_kernels.h"

namespace lwai {
namespace {

constexpr WrappingKernel kEigenKernels[] = {
    {OpType::Gemm, eigen::PrepareGemm, eigen::EvalGemm},
    {OpType::MatMul, eigen::PrepareMatMul, eigen::EvalMatMul},
    {OpType::Conv, eigen::PrepareConv, eigen::EvalConv},
    {OpType::LSTM, eigen::PrepareLstm, eigen::EvalRecurrent},
    {OpType::GRU, eigen::PrepareGru, eigen::EvalRecurrent},
    {OpType::Relu, eigen::PrepareUnary, eigen::EvalUnary},
    {OpType::Clip, eigen::PrepareUnary, eigen::EvalUnary},
    {OpType::Sigmoid, eigen::PrepareUnary, eigen::EvalUnary},
    {OpType::Tanh, eigen::PrepareUnary, eigen::EvalUnary},
    {OpType::Exp, eigen::PrepareUnary, eigen::EvalUnary},
    {OpType::Sqrt, eigen::PrepareUnary, eigen::EvalUnary},
    {OpType::Neg, eigen::PrepareUnary, eigen::EvalUnary},
    {OpType::Abs, eigen::PrepareUnary, eigen::EvalUnary},
    {OpType::LeakyRelu, eigen::PrepareUnary, eigen::EvalUnary},
    {OpType::Erf, eigen::PrepareUnary, eigen::EvalUnary},
    {OpType::Swish, eigen::PrepareUnary, eigen::EvalUnary},
    {OpType::Gelu, eigen::PrepareUnary, eigen::EvalUnary},
    {OpType::HardSigmoid, eigen::PrepareUnary, eigen::EvalUnary},
    {OpType::Softplus, eigen::PrepareUnary, eigen::EvalUnary},
    {OpType::Mish, eigen::PrepareUnary, eigen::EvalUnary},
    {OpType::Softmax, eigen::PrepareSoftmax, eigen::EvalSoftmax},
    {OpType::Attention, eigen::PrepareAttention, eigen::EvalAttention},
    {OpType::MaxPool, eigen::PreparePool, eigen::EvalPool},
    {OpType::AveragePool, eigen::PreparePool, eigen::EvalPool},
    {OpType::Resize, eigen::PrepareResize, eigen::EvalResize},
    {OpType::LayerNormalization, eigen::PrepareLayerNormalization, eigen::EvalLayerNormalization},
    {OpType::InstanceNormalization, eigen::PrepareInstanceNormalization,
     eigen::EvalInstanceNormalization},
    {OpType::GroupNormalization, eigen::PrepareGroupNormalization, eigen::EvalGroupNormalization},
    {OpType::Add, eigen::PrepareBinary, eigen::EvalBinary},
    {OpType::Sub, eigen::PrepareBinary, eigen::EvalBinary},
    {OpType::Mul, eigen::PrepareBinary, eigen::EvalBinary},
    {OpType::Div, eigen::PrepareBinary, eigen::EvalBinary},
};
const WrappingKernels& GetRegistrations() {
  static const WrappingKernels* registrations =
      new WrappingKernels(kEigenKernels, sizeof(kEigenKernels) / sizeof(kEigenKernels[0]));
  return *registrations;
}

bool IsFloat(const Graph& graph, int tensor) {
  return tensor >= 0 && tensor < static_cast<int>(graph.tensors.size()) &&
         graph.tensors[tensor].dtype == DataType::kFloat32;
}

// Every present input in [first, last] is float32 (inputs[first] must be present).
bool FloatInputs(const Graph& graph, const Node& node, size_t first, size_t last) {
  if (node.inputs.size() <= first || node.inputs[first] < 0) return false;
  for (size_t i = first; i <= last && i < node.inputs.size(); ++i) {
    if (node.inputs[i] >= 0 && !IsFloat(graph, node.inputs[i])) return false;
  }
  return true;
}

class EigenBackend : public Backend {
 public:
  const char* name() const override { return "eigen"; }

  const KernelRegistration* Claim(const Graph& graph, const Node& node) const override {
    const KernelRegistration* kernel = GetRegistrations().Find(node.op);
    if (kernel == nullptr || node.outputs.empty()) return nullptr;
    switch (node.op) {
      case OpType::Gemm: {
        if (node.inputs.size() < 2 || node.inputs.size() > 3) return nullptr;
        if (!FloatInputs(graph, node, 0, 2) || !IsFloat(graph, node.inputs[1])) return nullptr;
        const std::string activation = node.GetString("activation", "");
        if (!activation.empty() && activation != "Relu" && activation != "Clip") return nullptr;
        return kernel;
      }
      case OpType::MatMul: {
        // With lwai's fused bias (input 2) and Relu/Clip.
        if (node.inputs.size() < 2 || node.inputs.size() > 3 || !FloatInputs(graph, node, 0, 2) ||
            !IsFloat(graph, node.inputs[1])) {
          return nullptr;
        }
        const std::string activation = node.GetString("activation", "");
        if (!activation.empty() && activation != "Relu" && activation != "Clip") return nullptr;
        return kernel;
      }
      case OpType::Add:
      case OpType::Sub:
      case OpType::Mul:
      case OpType::Div:
        if (node.inputs.size() != 2 || !FloatInputs(graph, node, 0, 1) ||
            !IsFloat(graph, node.inputs[1])) {
          return nullptr;
        }
        return kernel;
      case OpType::Clip:
        if (node.inputs.size() > 3 || !FloatInputs(graph, node, 0, 2)) return nullptr;
        return kernel;
      case OpType::Conv:
        // Packed at prepare: the weights (and bias) must be constants.
        if (node.inputs.size() < 2 || node.inputs.size() > 3 || !FloatInputs(graph, node, 0, 2) ||
            !graph.tensors[node.inputs[1]].is_constant() ||
            (node.inputs.size() == 3 && node.inputs[2] >= 0 &&
             !graph.tensors[node.inputs[2]].is_constant())) {
          return nullptr;
        }
        return kernel;
      case OpType::Resize:
        // X float32; roi, scales, sizes of any type (the reference checks them).
        if (!FloatInputs(graph, node, 0, 0)) return nullptr;
        return kernel;
      case OpType::MaxPool:
      case OpType::AveragePool:
        return eigen::ClaimsPool(graph, node) ? kernel : nullptr;
      case OpType::InstanceNormalization:
      case OpType::GroupNormalization:
        if (node.inputs.size() != 3 || !FloatInputs(graph, node, 0, 2)) return nullptr;
        return kernel;
      case OpType::LayerNormalization:
        if (node.inputs.size() < 2 || node.inputs.size() > 3 || !FloatInputs(graph, node, 0, 2)) {
          return nullptr;
        }
        return kernel;
      case OpType::Attention:
        // Q, K, V float32; the mask, cache and lengths are checked by the prepare.
        if (node.inputs.size() < 3 || !FloatInputs(graph, node, 0, 2)) return nullptr;
        return kernel;
      case OpType::LSTM:
      case OpType::GRU:
        // X, W, R, B, (sequence_lens), initial_h, initial_c, P.
        if (node.inputs.size() < 3 || !FloatInputs(graph, node, 0, 3)) return nullptr;
        for (size_t i = 5; i < node.inputs.size(); ++i) {
          if (node.inputs[i] >= 0 && !IsFloat(graph, node.inputs[i])) return nullptr;
        }
        return kernel;
      default:
        if (node.inputs.size() != 1 || !FloatInputs(graph, node, 0, 0)) return nullptr;
        return kernel;
    }
  }
};

}  // namespace

Result<std::unique_ptr<Backend>> CreateEigenBackend() {
  // Query the cache sizes Eigen's GEMM blocking uses once, before any worker thread runs.
  Eigen::l1CacheSize();
  GetRegistrations();
  return std::unique_ptr<Backend>(new EigenBackend());
}

}  // namespace lwai
