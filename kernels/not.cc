// Not (ONNX 1): elementwise logical negation of a bool tensor.
#include "kernels/unary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) { return PrepareUnary(ctx, UnaryDtypes::kBool); }

Status Eval(KernelContext& ctx) {
  RunUnary<bool>(ctx, [](bool x) { return !x; });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kNotKernel = {OpType::Not, Prepare, Eval};

}  // namespace lwai
