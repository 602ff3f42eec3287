#include "kernels/binary_common.h"

namespace lwai {
namespace {

struct MulOp {
  template <typename T>
  T operator()(T a, T b) const {
    return a * b;
  }
};

Status Eval(KernelContext& ctx) { return EvalBinary<MulOp>(ctx); }

}  // namespace

extern const KernelRegistration kMulKernel = {OpType::Mul, PrepareBinary, Eval};

}  // namespace lwai
