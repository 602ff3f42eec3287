// Reshape (ONNX 14): the target shape (input 1) must be known at prepare. 0 copies the input
// dimension unless allowzero=1; one -1 is inferred.
#include <string>
#include <vector>

#include "kernels/common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const Shape& in = ctx.input(0).shape;
  std::vector<int64_t> target;
  LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 1, &target));
  if (ctx.input(1).shape.rank != 1) {
    return ctx.InvalidModel(
        LWAI_MSG("shape input must be 1-D, got " + ctx.input(1).shape.ToString()));
  }
  if (target.size() > static_cast<size_t>(kMaxRank)) {
    return ctx.Unsupported(LWAI_MSG("target shape " + IntsToString(target) + " has rank above " +
                                    std::to_string(kMaxRank)));
  }
  const bool allow_zero = ctx.node().GetInt("allowzero", 0) != 0;
  Shape out;
  out.rank = static_cast<int>(target.size());
  int inferred = -1;
  int64_t known = 1;
  for (int i = 0; i < out.rank; ++i) {
    int64_t d = target[i];
    if (d == 0 && !allow_zero) {
      if (i >= in.rank) {
        return ctx.ShapeMismatch(LWAI_MSG("target shape " + IntsToString(target) +
                                          " copies dimension " + std::to_string(i) +
                                          " that input " + in.ToString() + " lacks"));
      }
      d = in[i];
    } else if (d == -1) {
      if (inferred >= 0) {
        return ctx.InvalidModel(
            LWAI_MSG("target shape " + IntsToString(target) + " has more than one -1"));
      }
      inferred = i;
      continue;
    } else if (d < 0) {
      return ctx.InvalidModel(LWAI_MSG("target shape " + IntsToString(target) +
                                       " has invalid value " + std::to_string(d)));
    }
    out[i] = d;
    if (!CheckedMul(known, d, &known)) {
      return ctx.ShapeMismatch(LWAI_MSG("target shape " + IntsToString(target) + " is too large"));
    }
  }
  const int64_t total = in.NumElements();
  if (inferred >= 0) {
    if (known == 0 || total % known != 0) {
      return ctx.ShapeMismatch(
          LWAI_MSG("cannot reshape input " + in.ToString() + " to " + IntsToString(target)));
    }
    out[inferred] = total / known;
  }
  if (out.NumElements() != total) {
    return ctx.ShapeMismatch(LWAI_MSG("cannot reshape input " + in.ToString() + " (" +
                                      std::to_string(total) + " elements) to " +
                                      IntsToString(target) + " = " + out.ToString()));
  }
  ctx.output(0).dtype = ctx.input(0).dtype;
  ctx.output(0).shape = out;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  CopyInputToOutput(ctx);
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kReshapeKernel = {OpType::Reshape, Prepare, Eval};

}  // namespace lwai
