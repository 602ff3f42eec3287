// The int8 backend: lwai's own kernels for quantized models (a node backend, NCHW).
//
// QLinearConv runs on the int8 GEMM (kernels/int8_gemm.h: AVX-512 VNNI where the CPU has it,
// portable code elsewhere) with the weights packed once and shared between sessions, and the
// requantization fused into the product's store; depthwise QLinearConv runs a direct per-channel
// loop. QuantizeLinear and DequantizeLinear with one scale and zero point run as vectorized
// loops. Each kernel wraps the reference kernel of its operator: the reference prepare
// validates the node and sets the output, and the reference eval runs whatever falls outside
// the fast paths (weights or scales not known at prepare, weight zero points, grouped
// convolutions other than depthwise). Results match the reference kernels exactly except where
// the reference rounds in double: int8 outputs may then differ by one step.
#ifndef LWAI_BACKENDS_INT8_INT8_BACKEND_H_
#define LWAI_BACKENDS_INT8_INT8_BACKEND_H_

#include <memory>

#include "runtime/backend.h"

namespace lwai {

Result<std::unique_ptr<Backend>> CreateInt8Backend();

}  // namespace lwai

#endif  // LWAI_BACKENDS_INT8_INT8_BACKEND_H_
