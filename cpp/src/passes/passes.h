// Graph rewrites applied at conversion time. Each pass keeps the graph valid and returns an
// error only for graphs it cannot process (never for "nothing to do").
#ifndef LWAI_PASSES_PASSES_H_
#define LWAI_PASSES_PASSES_H_

#include <functional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/kernel_api.h"

namespace lwai {

// What evaluation at conversion time (folding, shape inference) may spend: a model that would
// pass these is left unfolded (or its shapes unknown) rather than converted forever.
ExecutionLimits ConversionLimits();

// Evaluates nodes whose inputs are all constants (and Shape of statically shaped tensors) with
// the reference kernels and replaces their outputs by constants. Nodes whose evaluation passes
// ConversionLimits() stay as they are. With `keep_quantized_weights`, a DequantizeLinear whose
// output a node that does not fold reads stays too, so that the quantized fusions below see
// weights in their quantized form (one that only feeds folding, as in a weight norm computed
// from quantized parameters, folds).
Status FoldConstants(Graph& graph, bool keep_quantized_weights = false);
// Rewrites DequantizeLinear(x) -> Conv(., DequantizeLinear(w) [, bias]) [-> Relu | Clip] ->
// QuantizeLinear (per-tensor activations, weights per tensor or per output channel) into
// QLinearConv with an int32 bias and the activation fused (lwai's `activation` attribute).
Status FuseQuantizedConv(Graph& graph);
// Rewrites DequantizeLinear(x) -> BatchNormalization (constant parameters, 4-D x) [-> Relu |
// Clip] -> QuantizeLinear into a depthwise 1x1 QLinearConv: each channel's factor is an int8
// weight of +-127 with scale |factor| / 127 (exact), its offset an int32 bias.
Status FuseQuantizedBatchNorm(Graph& graph);
// Rewrites DequantizeLinear(a) + or * DequantizeLinear(b) -> QuantizeLinear (per-tensor, one
// 8-bit type) into QLinearAdd or QLinearMul.
Status FuseQuantizedBinary(Graph& graph);
// Rewrites DequantizeLinear(x) -> Gemm(., DequantizeLinear(w) [, bias]) (transA 0, beta 1)
// [-> Relu | Clip] -> QuantizeLinear into QGemm with an int32 bias and the activation fused; and
// the same around MatMul(x [..., K], DequantizeLinear(w [K, N]) [, bias]) (x of known rank >= 2)
// into QGemm (lwai's QGemm multiplies A of any rank >= 2, as MatMul does).
Status FuseQuantizedGemm(Graph& graph);
// Rewrites Concat of DequantizeLinear outputs -> QuantizeLinear (per tensor, one 8-bit type) into
// QLinearConcat (each input requantized by a lookup table, copied when its parameters are the
// output's).
Status FuseQuantizedConcat(Graph& graph);
// Rewrites DequantizeLinear -> MaxPool, Reshape, Flatten, Squeeze, Unsqueeze, Transpose or Pad
// -> QuantizeLinear with the same scale and zero point into the operator on the quantized
// values (a constant Pad pads with its value's quantized byte).
Status FuseQuantizedPassThrough(Graph& graph);
// Rewrites DequantizeLinear -> GlobalAveragePool -> QuantizeLinear (per-tensor parameters, the
// same 8-bit type) into QLinearGlobalAveragePool, and DequantizeLinear -> AveragePool (2-D,
// every divisor the window's size: no padding or padding counted, no ceil mode, no dilation) ->
// QuantizeLinear into a depthwise QLinearConv with weights of one and scale 1 / window size (the
// padding is x's zero point, which dequantizes to the zero that AveragePool counts), run by the
// int8 depthwise kernels.
Status FuseQuantizedAveragePools(Graph& graph);
// Rewrites DequantizeLinear -> elementwise float operator (Sigmoid, HardSwish, Tanh, ...) ->
// QuantizeLinear, with per-tensor parameters, into QuantizedLookup: the three nodes' results
// for each of the 256 input bytes.
Status FuseQuantizedLookup(Graph& graph);
// Bypasses Identity and inference Dropout, then removes nodes whose outputs nobody reads.
Status EliminateDeadNodes(Graph& graph);
// Folds BatchNormalization into a preceding Conv or Gemm with constant weights.
Status FoldBatchNormalization(Graph& graph);
// Folds Mul/Add by per-channel (or scalar) constants after a Conv into its weights and bias,
// and Mul/Add by scalars before a Conv without padding into its weights and bias (exporters
// spell learnable affine layers and rescalings that way).
Status FoldAffineIntoConv(Graph& graph);
// Folds a zero constant Pad of the spatial axes into the Conv that is its only reader (exporters
// of TensorFlow's SAME padding and Hugging Face's tf_padding write one before each Conv), and a
// Pad by x's zero point into a QLinearConv the same way.
Status FoldPadIntoConv(Graph& graph);
// Fuses Relu and constant-bound Clip into the preceding Conv, Gemm or float32 MatMul.
Status FuseActivations(Graph& graph);
// Rewrites a subgraph in place (OptimizeGraph's steps for subgraphs).
using SubgraphOptimizer = std::function<Status(Graph&)>;
// Control flow: outer constants a subgraph captures become constants of the subgraph (sharing
// their bytes), so its backends see constant weights (packing, fusions, folding); the node and
// the subgraph lose those captured inputs. Each subgraph (rewritten as a copy) then goes
// through `optimize`.
Status InlineCapturedConstants(Graph& graph, const SubgraphOptimizer& optimize);
// Rewrites x * Clip(x + 3, 0, 6) / 6 (or * 1/6) into HardSwish(x).
Status FuseHardSwish(Graph& graph);
// Rewrites 0.5 * x * (1 + Erf(x / sqrt(2))) into Gelu(x), and the tanh form
// 0.5 * x * (1 + Tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))) into Gelu(x, approximate = "tanh").
Status FuseGelu(Graph& graph);
// Rewrites x * Sigmoid(x) into Swish(x) (SiLU).
Status FuseSwish(Graph& graph);
// Rewrites layer normalization spelled out over the last axis (ReduceMean, Sub, Pow or Mul,
// ReduceMean, Add epsilon, Sqrt, Div, optional constant Mul and Add) into LayerNormalization.
Status FuseLayerNorm(Graph& graph);
// Rewrites GroupNorm as PyTorch exports it (Reshape to [N, G, -1], InstanceNormalization,
// Reshape back, optional per-channel Mul and Add) into GroupNormalization (ONNX 21).
Status FuseGroupNorm(Graph& graph);
// Rewrites x * Tanh(Softplus(x)) (Softplus also as Log(Exp(x) + 1)) into Mish(x).
Status FuseMish(Graph& graph);
// Rewrites attention spelled out of nodes, MatMul(Q, K^T) [* or / scalar] [+ mask] -> Softmax
// over the last axis -> MatMul(., V) on 4-D [batch, heads, sequence, head size] tensors, into one
// Attention node (ONNX 23) with that scale, so the scores never leave the cache.
Status FuseAttention(Graph& graph);
// Rewrites MatMul(A, W) + b (W a constant [K, N], b a constant of N values) into MatMul(A, W, b),
// lwai's MatMul with a bias input.
Status FuseMatMulBias(Graph& graph);
// Rewrites Pow(x, 2) into Mul(x, x), and Mul or Div by a scalar constant 1 into Identity(x)
// (float32, when the scalar does not broadcast x; exporters leave a scale of 1 in attention),
// and a Cast to its input's own type into Identity.
Status SimplifyArithmetic(Graph& graph);
// Stores each float32 constant of at least 256 values whose every value is exact in float16
// (the weights of a float16 model, which the converter widened for lwai's float32 kernels) as
// float16 behind a Cast to float32, so the model keeps half-size weights. Sessions expand them
// once at creation (as lwai.quantize's weight-only float16), so backends still see float32
// constants. Lossless: a value float16 cannot hold exactly keeps its tensor float32.
Status StoreHalfWeights(Graph& graph);
// True when the graph has a float16 constant (a float16 model, before optimization).
bool HasHalfConstants(const Graph& graph);
// Helper for passes: adds a constant tensor holding a copy of `bytes`; returns its index.
int AddConstantTensor(Graph& graph, const std::string& name, DataType dtype,
                      const std::vector<int64_t>& dims, const void* bytes, size_t size);
// Helper for passes: rebuilds graph.nodes without those whose `removed` flag is set.
void DropRemoved(Graph& graph, const std::vector<char>& removed);
// Helper for passes: the values of a constant float32 operand that broadcasts over an
// [N, C, ...] tensor of rank `rank` as one value per channel or one value for all (every dim 1
// except the one that lines up with axis 1, which may be `channels`), one per channel in
// `values`; false for anything else.
bool PerChannelConstant(const Graph& graph, int t, int64_t channels, int rank,
                        std::vector<float>* values);
// Drops tensors nothing refers to and renumbers the rest.
void CompactTensors(Graph& graph);
// Fills in the shapes of intermediate tensors (dims that depend on dynamic input dims stay
// dynamic). Leaves shapes alone when some input has unknown rank, or when evaluating the graph
// passes ConversionLimits().
Status InferShapes(Graph& graph);

// All of the above, in order. Never throws: allocation failures become kOutOfMemory.
Status OptimizeGraph(Graph& graph);

}  // namespace lwai

#endif  // LWAI_PASSES_PASSES_H_
