// Sub (opset 14): elementwise a - b with numpy broadcasting; integers wrap around.
#include "kernels/binary_common.h"

namespace lwai {
namespace {

struct SubOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      return WrapSub(a, b);
    } else {
      return a - b;
    }
  }
};

Status Eval(KernelContext& ctx) { return EvalBinary<SubOp>(ctx); }

}  // namespace

extern const KernelRegistration kSubKernel = {OpType::Sub, PrepareBinary, Eval};

}  // namespace lwai
