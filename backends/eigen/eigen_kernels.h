// Kernels of the Eigen backend (internal to backends/eigen): wrapping kernels (runtime/backend.h's
// WrappingKernel, ReferenceOf and EvalReference): prepare runs the reference prepare first
// (dtypes, shapes, attributes), then replaces its state and scratch with the Eigen kernel's.
#ifndef LWAI_BACKENDS_EIGEN_EIGEN_KERNELS_H_
#define LWAI_BACKENDS_EIGEN_EIGEN_KERNELS_H_

#include "ir/graph.h"
#include "kernels/kernel_api.h"
#include "runtime/backend.h"

namespace lwai {
namespace eigen {

Status PrepareGemm(KernelContext& ctx);
Status EvalGemm(KernelContext& ctx);
Status PrepareMatMul(KernelContext& ctx);
Status EvalMatMul(KernelContext& ctx);

// Conv on float32 with constant weights, any spatial rank (eigen_conv.cc).
Status PrepareConv(KernelContext& ctx);
Status EvalConv(KernelContext& ctx);
// LSTM and GRU on float32 (eigen_recurrent.cc).
Status PrepareLstm(KernelContext& ctx);
Status PrepareGru(KernelContext& ctx);
Status EvalRecurrent(KernelContext& ctx);

// Attention on 4-D float32 tensors, block by block (eigen_attention.cc).
Status PrepareAttention(KernelContext& ctx);
Status EvalAttention(KernelContext& ctx);
// Softmax over the last axis, LayerNormalization (eigen_normalization.cc).
Status PrepareSoftmax(KernelContext& ctx);
Status EvalSoftmax(KernelContext& ctx);
Status PrepareLayerNormalization(KernelContext& ctx);
Status EvalLayerNormalization(KernelContext& ctx);
Status PrepareInstanceNormalization(KernelContext& ctx);
Status EvalInstanceNormalization(KernelContext& ctx);
Status PrepareGroupNormalization(KernelContext& ctx);
Status EvalGroupNormalization(KernelContext& ctx);

// Resize of float32 images along their last two axes (nearest, linear), threaded by plane;
// the reference kernel otherwise.
Status PrepareResize(KernelContext& ctx);
Status EvalResize(KernelContext& ctx);

// MaxPool (without Indices) and AveragePool on float32, any spatial rank, as separable passes
// (eigen_pool.cc). ClaimsPool: whether the node is one of those.
bool ClaimsPool(const Graph& graph, const Node& node);
Status PreparePool(KernelContext& ctx);
Status EvalPool(KernelContext& ctx);

// Relu, Clip, Sigmoid, Tanh, Exp, Sqrt, Neg, Abs, LeakyRelu, Erf, Gelu, Swish, HardSigmoid,
// Softplus, Mish.
Status PrepareUnary(KernelContext& ctx);
Status EvalUnary(KernelContext& ctx);
// Add, Sub, Mul, Div on float32. Broadcasts other than "one operand varies along a contiguous
// run of the other's dims" (same shape, scalar, trailing, per-channel) run the reference eval.
Status PrepareBinary(KernelContext& ctx);
Status EvalBinary(KernelContext& ctx);

}  // namespace eigen
}  // namespace lwai

#endif  // LWAI_BACKENDS_EIGEN_EIGEN_KERNELS_H_
