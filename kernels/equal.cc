// Equal (opset 19): elementwise a == b with numpy broadcasting; bool output.
#include "kernels/binary_common.h"

namespace lwai {
namespace {

struct EqualOp {
  template <typename T>
  bool operator()(T a, T b) const {
    return a == b;
  }
};

Status Prepare(KernelContext& ctx) {
  return PrepareBroadcastBinary(
      ctx, [](DataType t) { return IsNumericType(t) || IsBoolType(t); },
      "bool, float32, float64, int8..int64, uint8..uint64", DataType::kBool);
}

Status Eval(KernelContext& ctx) { return EvalCompare<EqualOp>(ctx); }

}  // namespace

extern const KernelRegistration kEqualKernel = {OpType::Equal, Prepare, Eval};

}  // namespace lwai
