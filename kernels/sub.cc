#include "kernels/binary_common.h"

namespace lwai {
namespace {

struct SubOp {
  template <typename T>
  T operator()(T a, T b) const {
    return a - b;
  }
};

Status Eval(KernelContext& ctx) { return EvalBinary<SubOp>(ctx); }

}  // namespace

extern const KernelRegistration kSubKernel = {OpType::Sub, PrepareBinary, Eval};

}  // namespace lwai
