#include <cmath>
#include <type_traits>

#include "kernels/numeric_unary_common.h"

namespace lwai {
namespace {

struct AbsOp {
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_integral_v<T>) {
      return x < 0 ? WrappingNegate(x) : x;  // the most negative value stays as it is
    } else {
      return std::fabs(x);
    }
  }
};

Status Eval(KernelContext& ctx) { return EvalUnaryNumeric<AbsOp>(ctx); }

}  // namespace

extern const KernelRegistration kAbsKernel = {OpType::Abs, PrepareUnaryNumeric, Eval};

}  // namespace lwai
