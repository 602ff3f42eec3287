// Log (ONNX 13): elementwise natural logarithm.
#include <cmath>

#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kFloat); }

Status Eval(KernelContext& ctx) {
  return EvalUnaryFloatTypes(ctx, [](auto x) { return std::log(x); });
}

}  // namespace

extern const KernelRegistration kLogKernel = {OpType::Log, Prepare, Eval};

}  // namespace lwai
