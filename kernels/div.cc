#include <type_traits>

#include "kernels/binary_common.h"

namespace lwai {
namespace {

struct DivOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      // Integer division truncates toward zero. Dividing by zero is undefined in ONNX; it
      // gives 0 here instead of trapping, and MIN / -1 wraps instead of overflowing.
      if (b == 0) return 0;
      if (b == -1)
        return static_cast<T>(std::make_unsigned_t<T>(0) - static_cast<std::make_unsigned_t<T>>(a));
      return a / b;
    } else {
      return a / b;
    }
  }
};

Status Eval(KernelContext& ctx) { return EvalBinary<DivOp>(ctx); }

}  // namespace

extern const KernelRegistration kDivKernel = {OpType::Div, PrepareBinary, Eval};

}  // namespace lwai
