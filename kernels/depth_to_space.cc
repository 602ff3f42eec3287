// DepthToSpace (ONNX 13): [N, C, H, W] -> [N, C / b^2, H * b, W * b], modes DCR (default) and
// CRD. Any dtype, moved as elements of its byte size.
#include <memory>
#include <string>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

struct DepthToSpaceState : OpState {
  StridedView view;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const TensorView& x = ctx.input(0);
  LWAI_RETURN_IF_ERROR(ExpectSizedDtype(ctx, x.dtype));
  const int64_t b = ctx.node().GetInt("blocksize", 0);
  const std::string mode = ctx.node().GetString("mode", "DCR");
  if (mode != "DCR" && mode != "CRD") {
    return ctx.InvalidModel(LWAI_MSG("mode must be DCR or CRD, got '" + mode + "'"));
  }
  if (b < 1 || b > (int64_t{1} << 20)) {
    return ctx.InvalidModel(LWAI_MSG("blocksize must be in [1, 2^20], got " + std::to_string(b)));
  }
  if (x.shape.rank != 4 || x.shape[1] % (b * b) != 0) {
    return ctx.ShapeMismatch(LWAI_MSG(
        "input must be [N, C, H, W] with C divisible by blocksize^2 = " + std::to_string(b * b) +
        ", got " + x.shape.ToString()));
  }
  const int64_t n = x.shape[0], c = x.shape[1] / (b * b), h = x.shape[2], w = x.shape[3];
  auto state = std::make_unique<DepthToSpaceState>();
  if (mode == "DCR") {
    const int perm[6] = {0, 3, 4, 1, 5, 2};
    state->view = PermutedView(Shape({n, b, b, c, h, w}), perm);
  } else {
    const int perm[6] = {0, 1, 4, 2, 5, 3};
    state->view = PermutedView(Shape({n, c, b, b, h, w}), perm);
  }
  int64_t out_h = 0, out_w = 0;
  if (!CheckedMul(h, b, &out_h) || !CheckedMul(w, b, &out_w)) {
    return ctx.ShapeMismatch(LWAI_MSG("output of " + x.shape.ToString() + " with blocksize " +
                                      std::to_string(b) + " is too large"));
  }
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = Shape({n, c, out_h, out_w});
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const TensorView& x = ctx.input(0);
  StridedCopy(ctx.state<DepthToSpaceState>()->view, x.data, ctx.output(0).data,
              DataTypeSize(x.dtype));
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kDepthToSpaceKernel = {OpType::DepthToSpace, Prepare, Eval};

}  // namespace lwai
