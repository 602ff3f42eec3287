// Mul (opset 14): elementwise a * b with numpy broadcasting; integers wrap around.
#include "kernels/binary_common.h"

namespace lwai {
namespace {

struct MulOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      return WrapMul(a, b);
    } else {
      return a * b;
    }
  }
};

Status Eval(KernelContext& ctx) { return EvalBinary<MulOp>(ctx); }

}  // namespace

extern const KernelRegistration kMulKernel = {OpType::Mul, PrepareBinary, Eval};

}  // namespace lwai
