// LessOrEqual (opset 16): elementwise a <= b with numpy broadcasting; bool output.
#include "kernels/binary_common.h"

namespace lwai {
namespace {

struct LessOrEqualOp {
  template <typename T>
  bool operator()(T a, T b) const {
    return a <= b;
  }
};

Status Prepare(KernelContext& ctx) {
  return PrepareBroadcastBinary(ctx, IsNumericType, "float32, float64, int8..int64, uint8..uint64",
                                DataType::kBool);
}

Status Eval(KernelContext& ctx) { return EvalCompare<LessOrEqualOp>(ctx); }

}  // namespace

extern const KernelRegistration kLessOrEqualKernel = {OpType::LessOrEqual, Prepare, Eval};

}  // namespace lwai
