#include "kernels/numeric_unary_common.h"

namespace lwai {
namespace {

struct NegOp {
  template <typename T>
  T operator()(T x) const {
    return WrappingNegate(x);
  }
};

Status Eval(KernelContext& ctx) { return EvalUnaryNumeric<NegOp>(ctx); }

}  // namespace

extern const KernelRegistration kNegKernel = {OpType::Neg, PrepareUnaryNumeric, Eval};

}  // namespace lwai
