// The XNNPACK backend: a partition backend that runs float32 CNN layers in NHWC through
// XNNPACK's operator API, with lwai's own kernels where they are faster (Winograd for 3x3
// stride-1 convolutions) or where XNNPACK has no operator (inference BatchNormalization).
//
// Each partition converts its 4-D inputs from NCHW to NHWC once on entry and its 4-D outputs
// back on exit; inside, Concat along channels costs nothing when its inputs' producers can
// write straight into channel slices of the result (XNNPACK's output pixel strides) and a
// strided copy otherwise. Weights are packed when the session prepares. All XNNPACK operators
// run on the session's pthreadpool.
#ifndef LWAI_BACKENDS_XNNPACK_XNNPACK_BACKEND_H_
#define LWAI_BACKENDS_XNNPACK_XNNPACK_BACKEND_H_

#include <memory>

#include "runtime/backend.h"

namespace lwai {

// Fails with kUnsupported when XNNPACK cannot initialize on this CPU.
Result<std::unique_ptr<Backend>> CreateXnnpackBackend();

}  // namespace lwai

#endif  // LWAI_BACKENDS_XNNPACK_XNNPACK_BACKEND_H_
