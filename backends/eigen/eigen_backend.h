// The Eigen backend: a node backend with Eigen-vectorized MatMul, Gemm and float32
// elementwise kernels, the portable fast path where XNNPACK is not available. Shapes and
// attributes are validated by the reference prepare of each operator; work is split across
// the session's thread pool in blocks fixed by the shapes alone, so results do not depend on
// the thread count.
#ifndef LWAI_BACKENDS_EIGEN_EIGEN_BACKEND_H_
#define LWAI_BACKENDS_EIGEN_EIGEN_BACKEND_H_

#include <memory>

#include "runtime/backend.h"

namespace lwai {

Result<std::unique_ptr<Backend>> CreateEigenBackend();

}  // namespace lwai

#endif  // LWAI_BACKENDS_EIGEN_EIGEN_BACKEND_H_
