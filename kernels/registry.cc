// The one table of reference kernels. Adding an operator: write kernels/<op>.cc defining
// `extern const KernelRegistration k<Op>Kernel`, add it to the schema's OpType enum, and list
// it here or in the operator group's list (kernels/ops_<group>.inc, one X(Op) per line).
#include "kernels/kernel_api.h"

#define LWAI_REFERENCE_KERNELS(X) \
  X(Conv)                         \
  X(Gemm)                         \
  X(MatMul)                       \
  X(BatchNormalization)           \
  X(Relu)                         \
  X(Clip)                         \
  X(Sigmoid)                      \
  X(Tanh)                         \
  X(LeakyRelu)                    \
  X(Exp)                          \
  X(Sqrt)                         \
  X(Neg)                          \
  X(Abs)                          \
  X(Add)                          \
  X(Sub)                          \
  X(Mul)                          \
  X(Div)                          \
  X(MaxPool)                      \
  X(AveragePool)                  \
  X(GlobalAveragePool)            \
  X(GlobalMaxPool)                \
  X(Concat)                       \
  X(Softmax)                      \
  X(Reshape)                      \
  X(Flatten)                      \
  X(Transpose)                    \
  X(Squeeze)                      \
  X(Unsqueeze)                    \
  X(Pad)                          \
  X(Identity)                     \
  X(Dropout)                      \
  X(Shape)                        \
  X(Gather)                       \
  X(Cast)

namespace lwai {

// A selective build (CMake's LWAI_SELECTED_OPS) lists its operators in selected_ops.inc.
#define LWAI_DECLARE_KERNEL(op) extern const KernelRegistration k##op##Kernel;
#define X LWAI_DECLARE_KERNEL
#ifdef LWAI_SELECTED_OPS
#include "selected_ops.inc"
#else
LWAI_REFERENCE_KERNELS(LWAI_DECLARE_KERNEL)
#include "kernels/ops_groups.inc"
#endif
#undef X
#undef LWAI_DECLARE_KERNEL

namespace {

#define LWAI_KERNEL_ENTRY(op) &k##op##Kernel,
#define X LWAI_KERNEL_ENTRY
const KernelRegistration* const kReferenceKernels[] = {
#ifdef LWAI_SELECTED_OPS
#include "selected_ops.inc"
#else
    LWAI_REFERENCE_KERNELS(LWAI_KERNEL_ENTRY)
#include "kernels/ops_groups.inc"
#endif
    nullptr,  // the end (a selective build may have no kernel: the framework alone)
};
#undef X
#undef LWAI_KERNEL_ENTRY

}  // namespace

const KernelRegistration* FindReferenceKernel(OpType op) {
  for (const KernelRegistration* const* kernel = kReferenceKernels; *kernel; ++kernel) {
    if ((*kernel)->op == op) return *kernel;
  }
  return nullptr;
}

std::vector<OpType> ReferenceOps() {
  std::vector<OpType> ops;
  for (const KernelRegistration* const* kernel = kReferenceKernels; *kernel; ++kernel) {
    ops.push_back((*kernel)->op);
  }
  return ops;
}

}  // namespace lwai
