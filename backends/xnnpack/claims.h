// The nodes the XNNPACK backend can run, judged from the graph alone.
#ifndef LWAI_BACKENDS_XNNPACK_CLAIMS_H_
#define LWAI_BACKENDS_XNNPACK_CLAIMS_H_

#include "ir/graph.h"

namespace lwai {
namespace xnnpack {

// True for float32 Conv (2-D, constant weights), MaxPool/AveragePool (2-D), GlobalAveragePool,
// inference BatchNormalization, Gemm with constant B, Relu/Clip/Sigmoid, same-shape Add,
// channel Concat, Flatten/Reshape of [N, C, 1, 1] and Softmax over the last axis of a matrix.
bool Claims(const Graph& graph, const Node& node);

}  // namespace xnnpack
}  // namespace lwai

#endif  // LWAI_BACKENDS_XNNPACK_CLAIMS_H_
