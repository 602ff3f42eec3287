// Greater (opset 13): elementwise a > b with numpy broadcasting; bool output.
#include "kernels/binary_common.h"

namespace lwai {
namespace {

struct GreaterOp {
  template <typename T>
  bool operator()(T a, T b) const {
    return a > b;
  }
};

Status Prepare(KernelContext& ctx) {
  return PrepareBroadcastBinary(ctx, IsNumericType, "float32, float64, int8..int64, uint8..uint64",
                                DataType::kBool);
}

Status Eval(KernelContext& ctx) { return EvalCompare<GreaterOp>(ctx); }

}  // namespace

extern const KernelRegistration kGreaterKernel = {OpType::Greater, Prepare, Eval};

}  // namespace lwai
