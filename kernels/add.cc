// Add (opset 14): elementwise a + b with numpy broadcasting; integers wrap around.
#include "kernels/binary_common.h"

namespace lwai {
namespace {

struct AddOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      return WrapAdd(a, b);
    } else {
      return a + b;
    }
  }
};

Status Eval(KernelContext& ctx) { return EvalBinary<AddOp>(ctx); }

}  // namespace

extern const KernelRegistration kAddKernel = {OpType::Add, PrepareBinary, Eval};

}  // namespace lwai
