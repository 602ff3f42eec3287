// Included before Eigen in every file of the backend. Eigen's GEMM packs its operands into
// buffers it takes from the stack up to this limit and from the heap beyond; eval must not
// allocate, and the GEMM tiles of eigen_gemm.cc keep the packing buffers well below 1 MiB.
#ifndef LWAI_BACKENDS_EIGEN_EIGEN_CONFIG_H_
#define LWAI_BACKENDS_EIGEN_EIGEN_CONFIG_H_

#define EIGEN_STACK_ALLOCATION_LIMIT (1 << 20)
#define EIGEN_DONT_PARALLELIZE 1

// GCC 12 reports false positives inside its own AVX-512 intrinsics when Eigen's packet code is
// inlined into these files.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <Eigen/Core>

#endif  // LWAI_BACKENDS_EIGEN_EIGEN_CONFIG_H_
