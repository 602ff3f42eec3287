// Static post-training quantization of a float graph (the graph side of lwai.quantize).
//
// QuantizationTargets names the float activations whose ranges calibration must measure: the
// activation inputs and outputs of the nodes that have int8 kernels (Conv, Gemm with constant
// weights, Add, Mul, BatchNormalization). InsertQuantization then wraps those nodes in
// QuantizeLinear / DequantizeLinear pairs with per-tensor parameters from the ranges (uint8 or
// int8, the range widened to hold 0) and replaces Conv and Gemm weights by int8 ones (symmetric,
// per output channel or per tensor) behind a DequantizeLinear; OptimizeGraph afterwards folds each
// wrapped node into its int8 operator (passes.h's quantized fusions). Not thread-safe; errors name
// the tensor.
#ifndef LWAI_PASSES_QUANTIZE_H_
#define LWAI_PASSES_QUANTIZE_H_

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace lwai {

struct QuantizationOptions {
  bool activations_signed = false;  // int8 activations (else uint8)
  bool per_channel = true;          // Conv weight scales per output channel (else per tensor)
  std::vector<std::string> exclude_nodes;  // nodes kept in float, by name
  std::vector<OpType> exclude_ops;         // operators kept in float
};

// A calibrated range of graph tensor `tensor`, and optionally its mean per channel (axis 1) for
// bias correction: a Conv or Gemm whose input has means gets its bias shifted by what rounding
// its weights to int8 adds to its output on average, sum_k (W_int8 - W)[c][k] * mean[k] (as
// MindSpore Lite and NNCF correct it).
struct TensorRange {
  int tensor = -1;
  float min = 0, max = 0;
  std::vector<float> channel_means;
};

// The tensors (indices, in index order) whose ranges InsertQuantization needs.
std::vector<int> QuantizationTargets(const Graph& graph, const QuantizationOptions& options);

// The nodes (indices, in graph order) that InsertQuantization would make int8.
std::vector<int> QuantizableNodes(const Graph& graph, const QuantizationOptions& options);

// Rewrites `graph` as described above. Every target needs a finite range (InvalidArgument
// naming the tensor otherwise).
Status InsertQuantization(Graph& graph, const std::vector<TensorRange>& ranges,
                          const QuantizationOptions& options);

// Cross-layer equalization (Nagel et al., "Data-Free Quantization Through Weight Equalization
// and Bias Correction", 2019), before calibration: for each Conv A whose only reader is a Conv B
// (any group count, depthwise included) and whose fused activation is none or Relu (positively
// homogeneous: f(x / s) = f(x) / s for s > 0), output channel i of A is divided by s_i and B's
// weights for input channel i multiplied by it, so the float model computes the same function.
// s_i = sqrt(r1_i / r2_i) makes r1_i / s_i = r2_i * s_i, where r2_i is the largest |weight| of
// B's input channel i and r1_i is
//  - with `activation_ranges` (per pair tensor, A's output: the largest |value| of each channel
//    over calibration data): that activation range. What one wide channel spoils is the
//    per-tensor activation range and B's per-output-channel weight ranges; A's per-channel
//    weights do not care. Measured on PP-OCR with per-tensor weights, this kept the character
//    error rate at 1.28% where balancing weights (below) took it to 4.71% (no equalization:
//    1.07%): balanced weights left its activations unbalanced.
//  - otherwise (data-free): the largest |weight| of A's output channel i (Nagel's criterion).
// Chains are swept until the scales settle (at most 32 sweeps). Clip (ReLU6) pairs are left
// alone: the clip bound would have to become per channel. *pairs counts the equalized pairs;
// options.exclude_* keep nodes out.
Status EqualizeCrossLayer(Graph& graph, const QuantizationOptions& options,
                          const std::map<int, std::vector<float>>& activation_ranges, int* pairs);

// The tensors between the pairs EqualizeCrossLayer would equalize (A's outputs), in graph order.
std::vector<int> EqualizationTensors(const Graph& graph, const QuantizationOptions& options);

// Dynamic quantization (no calibration): every MatMul and Gemm with constant float weights
// [K, N] (Gemm: transA 0, a bias of N values or none) becomes a DynamicQuantizeMatMul with int8
// weights (symmetric, per output column when options.per_channel) whose float input is
// quantized to uint8 at run time. Fused activations stay fused. Subgraphs (If, Loop and Scan
// bodies) are rewritten too. *quantized counts the nodes rewritten; options.exclude_* keep
// nodes in float.
//
// `rounded` (by node name) replaces the nearest rounding of a node's weights with the caller's:
// int8 values [K, N] and their scales (N, or one when !options.per_channel) before `alpha`,
// e.g. rounded to minimize the output error on calibration data (GPTQ). InvalidArgument naming
// the node when they do not fit its weights.
struct RoundedWeights {
  std::vector<int8_t> values;  // [K, N], row-major
  std::vector<float> scales;   // finite, > 0
};
Status InsertDynamicQuantization(Graph& graph, const QuantizationOptions& options, int* quantized,
                                 const std::map<std::string, RoundedWeights>& rounded = {});

// A MatMul or Gemm that InsertDynamicQuantization would rewrite, with its float weights as
// the int8 weights will hold them: [K, N], before Gemm's alpha.
struct DynamicTarget {
  std::string node;   // the node's name (unique in the model; unnamed nodes are not listed)
  std::string input;  // its float input A, whose rows are multiplied by the weights
  int64_t k = 0, n = 0;
  std::vector<float> weights;  // [K, N], row-major
  // A is observable by ObservableTensors: the node is in the main graph or only in If branches.
  bool observable = false;
};
std::vector<DynamicTarget> DynamicQuantizationTargets(const Graph& graph,
                                                      const QuantizationOptions& options);

// A copy of `graph` whose outputs also include the named tensors. A tensor inside an If branch
// (at any depth of If nesting) is passed out through its If nodes as a new output; the other
// branch gives an empty float tensor [0] there. NotFound names a tensor that is in no graph, or
// only in Loop and Scan bodies (whose values are per iteration).
Status ObservableTensors(const Graph& graph, const std::vector<std::string>& names,
                         Graph* observed);

// Weight-only compression: the float constant weights (at least kMinCompressedWeights values) of
// Conv, ConvTranspose, MatMul, Gemm, LSTM, GRU, RNN and Gather (an embedding table) are stored
// as int8 (symmetric, per output channel when options.per_channel) behind a DequantizeLinear,
// or as float16 behind a Cast (weights beyond float16's range stay float32). kInt4 stores the
// 2-D weights of MatMul and Gemm as int4 (symmetric, -7..7) with a scale per block of
// kInt4BlockSize values along the reduction axis and per output column (DequantizeLinear's
// blocked form), the others as int8. Sessions expand them to float32 once, when they are
// created. Subgraphs too; *compressed counts the weights.
enum class WeightStorage { kInt8, kInt4, kFloat16 };
constexpr int64_t kMinCompressedWeights = 1024;
constexpr int64_t kInt4BlockSize = 32;
Status CompressWeights(Graph& graph, WeightStorage storage, const QuantizationOptions& options,
                       int* compressed);

}  // namespace lwai

#endif  // LWAI_PASSES_QUANTIZE_H_
