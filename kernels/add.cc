#include "kernels/binary_common.h"

namespace lwai {
namespace {

struct AddOp {
  template <typename T>
  T operator()(T a, T b) const {
    return a + b;
  }
};

Status Eval(KernelContext& ctx) { return EvalBinary<AddOp>(ctx); }

}  // namespace

extern const KernelRegistration kAddKernel = {OpType::Add, PrepareBinary, Eval};

}  // namespace lwai
