// Div (opset 14): elementwise a / b with numpy broadcasting; integer division truncates
// toward zero like C.
#include <type_traits>

#include "kernels/binary_common.h"

namespace lwai {
namespace {

struct DivOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      // Dividing by zero is undefined in ONNX; it gives 0 here instead of trapping, and
      // MIN / -1 wraps instead of overflowing.
      if (b == 0) return 0;
      if constexpr (std::is_signed_v<T>) {
        if (b == -1) return WrapSub(T(0), a);
      }
      return static_cast<T>(a / b);
    } else {
      return a / b;
    }
  }
};

Status Eval(KernelContext& ctx) { return EvalBinary<DivOp>(ctx); }

}  // namespace

extern const KernelRegistration kDivKernel = {OpType::Div, PrepareBinary, Eval};

}  // namespace lwai
