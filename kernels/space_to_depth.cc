// SpaceToDepth (ONNX 13): [N, C, H, W] -> [N, C * b^2, H / b, W / b], the inverse of
// DepthToSpace in DCR mode. Any dtype, moved as elements of its byte size.
#include <memory>
#include <string>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

struct SpaceToDepthState : OpState {
  StridedView view;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const TensorView& x = ctx.input(0);
  LWAI_RETURN_IF_ERROR(ExpectSizedDtype(ctx, x.dtype));
  const int64_t b = ctx.node().GetInt("blocksize", 0);
  if (b < 1 || b > (int64_t{1} << 20)) {
    return ctx.InvalidModel(LWAI_MSG("blocksize must be in [1, 2^20], got " + std::to_string(b)));
  }
  if (x.shape.rank != 4 || x.shape[2] % b != 0 || x.shape[3] % b != 0) {
    return ctx.ShapeMismatch(
        LWAI_MSG("input must be [N, C, H, W] with H and W divisible by blocksize " +
                 std::to_string(b) + ", got " + x.shape.ToString()));
  }
  const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2] / b, w = x.shape[3] / b;
  auto state = std::make_unique<SpaceToDepthState>();
  const int perm[6] = {0, 3, 5, 1, 2, 4};
  state->view = PermutedView(Shape({n, c, h, b, w, b}), perm);
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = Shape({n, c * b * b, h, w});
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const TensorView& x = ctx.input(0);
  StridedCopy(ctx.state<SpaceToDepthState>()->view, x.data, ctx.output(0).data,
              DataTypeSize(x.dtype));
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kSpaceToDepthKernel = {OpType::SpaceToDepth, Prepare, Eval};

}  // namespace lwai
