// AffineGrid (ONNX 20): the N x <spatial> x r sampling grid of 2-D (theta N x 2 x 3) or 3-D
// (theta N x 3 x 4) affine transforms of the normalized [-1, 1] coordinates, align_corners.
#include <memory>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "kernels/dispatch.h"
#include "kernels/pool_group_common.h"

namespace lwai {
namespace {

struct AffineGridState : OpState {
  int rank = 2;  // spatial rank r
  bool align_corners = false;
  int64_t batch = 0;
  int64_t size[3] = {1, 1, 1};  // spatial sizes (D,) H, W
};

// The normalized coordinate of index i along an axis of `length` points.
double BaseCoordinate(int64_t i, int64_t length, bool align_corners) {
  if (align_corners) return length > 1 ? -1.0 + 2.0 * static_cast<double>(i) / (length - 1) : -1.0;
  return -1.0 + (2.0 * static_cast<double>(i) + 1.0) / static_cast<double>(length);
}

template <typename T>
void MakeGrid(const AffineGridState& s, const T* theta, T* grid) {
  const int r = s.rank;
  const int64_t depth = r == 3 ? s.size[0] : 1;
  const int64_t height = s.size[r == 3 ? 1 : 0], width = s.size[r == 3 ? 2 : 1];
  for (int64_t n = 0; n < s.batch; ++n) {
    const T* t = theta + n * r * (r + 1);
    for (int64_t d = 0; d < depth; ++d) {
      const double z = r == 3 ? BaseCoordinate(d, depth, s.align_corners) : 0.0;
      for (int64_t h = 0; h < height; ++h) {
        const double y = BaseCoordinate(h, height, s.align_corners);
        for (int64_t w = 0; w < width; ++w) {
          // Homogeneous point (x, y[, z], 1).
          double point[4] = {BaseCoordinate(w, width, s.align_corners), y, z, 1.0};
          if (r == 2) point[2] = 1.0;
          for (int k = 0; k < r; ++k) {
            double acc = 0;
            for (int j = 0; j <= r; ++j) acc += static_cast<double>(t[k * (r + 1) + j]) * point[j];
            *grid++ = static_cast<T>(acc);
          }
        }
      }
    }
  }
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  LWAI_RETURN_IF_ERROR(ExpectFloatInput(ctx, 0));
  const Shape& theta = ctx.input(0).shape;
  std::vector<int64_t> size;
  LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 1, &size));
  if (size.size() != 4 && size.size() != 5) {
    return ctx.ShapeMismatch(
        LWAI_MSG("size must be [N, C, H, W] or [N, C, D, H, W], got " + IntsToString(size)));
  }
  auto state = std::make_unique<AffineGridState>();
  AffineGridState& s = *state;
  s.rank = static_cast<int>(size.size()) - 2;
  s.align_corners = ctx.node().GetInt("align_corners", 0) != 0;
  s.batch = size[0];
  if (theta.rank != 3 || theta[0] != size[0] || theta[1] != s.rank || theta[2] != s.rank + 1) {
    return ctx.ShapeMismatch(LWAI_MSG("theta " + theta.ToString() + " must be [" +
                                      std::to_string(size[0]) + ", " + std::to_string(s.rank) +
                                      ", " + std::to_string(s.rank + 1) + "] for size " +
                                      IntsToString(size)));
  }
  Shape y;
  y.rank = s.rank + 2;
  y[0] = size[0];
  for (int d = 0; d < s.rank; ++d) {
    if (size[d + 2] < 0) return ctx.InvalidModel(LWAI_MSG("negative size " + IntsToString(size)));
    s.size[d] = size[d + 2];
    y[d + 1] = size[d + 2];
  }
  y[s.rank + 1] = s.rank;
  ctx.output(0).dtype = ctx.input(0).dtype;
  ctx.output(0).shape = y;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const AffineGridState& s = *ctx.state<AffineGridState>();
  DispatchFloat(ctx.input(0).dtype, [&](auto type) {
    using T = decltype(type);
    MakeGrid<T>(s, ctx.input(0).Data<const T>(), ctx.output(0).Data<T>());
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kAffineGridKernel = {OpType::AffineGrid, Prepare, Eval};

}  // namespace lwai
