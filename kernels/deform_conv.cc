// DeformConv (ONNX opset 22): 2-D, float32/float64, groups, offset_group, optional mask and
// bias, strides, dilations, pads. Samples the input bilinearly (zero outside) at the offset
// kernel positions into an im2col matrix, then multiplies by the weights.
#include <cmath>
#include <memory>
#include <string>

#include "kernels/common.h"
#include "kernels/conv_common.h"
#include "kernels/dispatch.h"

namespace lwai {
namespace {

enum Input { kX, kW, kOffset, kBias, kMask };

struct DeformConvState : OpState {
  DataType dtype = DataType::kFloat32;
  ConvShape shape;
  int64_t offset_groups = 1;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(3, 5));
  const DataType dtype = ctx.input(kX).dtype;
  if (dtype != DataType::kFloat32 && dtype != DataType::kFloat64) {
    return ctx.Unsupported(
        LWAI_MSG(std::string("input must be float32 or float64, got ") + DataTypeName(dtype)));
  }
  for (int i : {kW, kOffset, kBias, kMask}) {
    if (ctx.has_input(i)) LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(i, dtype));
  }
  if (ctx.input(kX).shape.rank != 4) {
    return ctx.Unsupported(LWAI_MSG("only 2-D deformable convolutions are supported, input is " +
                                    ctx.input(kX).shape.ToString()));
  }
  auto state = std::make_unique<DeformConvState>();
  DeformConvState& s = *state;
  s.dtype = dtype;
  LWAI_RETURN_IF_ERROR(PrepareConvShape(ctx, kX, kW, &s.shape));
  const ConvShape& c = s.shape;
  s.offset_groups = ctx.node().GetInt("offset_group", 1);
  if (s.offset_groups < 1 || c.in_channels % s.offset_groups != 0) {
    return ctx.InvalidModel(LWAI_MSG("offset_group " + std::to_string(s.offset_groups) +
                                     " must be >= 1 and divide the input channels " +
                                     std::to_string(c.in_channels)));
  }
  const Shape& y = ctx.output(0).shape;
  auto check = [&](int index, int64_t channels, const char* name) -> Status {
    const Shape& t = ctx.input(index).shape;
    Shape expected = y;
    expected[1] = channels;
    if (t != expected) {
      return ctx.ShapeMismatch(LWAI_MSG(std::string(name) + " must be " + expected.ToString() +
                                        ", got " + t.ToString()));
    }
    return Status::Ok();
  };
  LWAI_RETURN_IF_ERROR(check(kOffset, s.offset_groups * c.kernel_size * 2, "offset"));
  if (ctx.has_input(kMask)) {
    LWAI_RETURN_IF_ERROR(check(kMask, s.offset_groups * c.kernel_size, "mask"));
  }
  if (ctx.has_input(kBias) && ctx.input(kBias).NumElements() != c.out_channels) {
    return ctx.ShapeMismatch(LWAI_MSG("bias " + ctx.input(kBias).shape.ToString() + " must have " +
                                      std::to_string(c.out_channels) + " elements"));
  }
  ctx.output(0).dtype = dtype;
  if (!ctx.shape_only()) {
    ctx.RequestScratch(static_cast<size_t>(c.ColRows() * c.out_size) * DataTypeSize(dtype));
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

// The input plane sampled at (y, x) with bilinear interpolation; 0 outside.
template <typename T>
T Bilinear(const T* plane, int64_t height, int64_t width, T y, T x) {
  if (!(y > T(-1) && y < T(height) && x > T(-1) && x < T(width))) return T(0);
  const T fy = std::floor(y), fx = std::floor(x);
  const int64_t y0 = static_cast<int64_t>(fy), x0 = static_cast<int64_t>(fx);
  const T ly = y - fy, lx = x - fx;
  T sum = T(0);
  for (int dy = 0; dy < 2; ++dy) {
    const int64_t yy = y0 + dy;
    if (yy < 0 || yy >= height) continue;
    const T wy = dy ? ly : T(1) - ly;
    for (int dx = 0; dx < 2; ++dx) {
      const int64_t xx = x0 + dx;
      if (xx < 0 || xx >= width) continue;
      sum += wy * (dx ? lx : T(1) - lx) * plane[yy * width + xx];
    }
  }
  return sum;
}

template <typename T>
void Run(KernelContext& ctx, const DeformConvState& s) {
  const ConvShape& c = s.shape;
  const WindowGeometry& g = c.geometry;
  const T* x = ctx.input(kX).Data<const T>();
  const T* w = ctx.input(kW).Data<const T>();
  const T* offsets = ctx.input(kOffset).Data<const T>();
  const T* bias = ctx.has_input(kBias) ? ctx.input(kBias).Data<const T>() : nullptr;
  const T* mask = ctx.has_input(kMask) ? ctx.input(kMask).Data<const T>() : nullptr;
  T* y = ctx.output(0).Data<T>();
  T* col = static_cast<T*>(ctx.scratch());
  const int64_t in_h = g.input[0], in_w = g.input[1];
  const int64_t out_h = g.output[0], out_w = g.output[1];
  const int64_t kernel_w = g.kernel[1];
  const int64_t in_per_group = c.InPerGroup(), out_per_group = c.OutPerGroup();
  const int64_t in_per_offset_group = c.in_channels / s.offset_groups;
  for (int64_t n = 0; n < c.batch; ++n) {
    for (int64_t grp = 0; grp < c.groups; ++grp) {
      for (int64_t ci = 0; ci < in_per_group; ++ci) {
        const int64_t channel = grp * in_per_group + ci;
        const int64_t og = channel / in_per_offset_group;
        const T* plane = x + (n * c.in_channels + channel) * c.in_size;
        for (int64_t k = 0; k < c.kernel_size; ++k) {
          const int64_t ky = k / kernel_w, kx = k % kernel_w;
          // offset channels: (og, ky, kx, {y, x}); mask channels: (og, ky, kx).
          const T* off_y =
              offsets + ((n * s.offset_groups + og) * c.kernel_size + k) * 2 * c.out_size;
          const T* off_x = off_y + c.out_size;
          const T* m =
              mask ? mask + ((n * s.offset_groups + og) * c.kernel_size + k) * c.out_size : nullptr;
          T* row = col + (ci * c.kernel_size + k) * c.out_size;
          for (int64_t oy = 0; oy < out_h; ++oy) {
            for (int64_t ox = 0; ox < out_w; ++ox) {
              const int64_t o = oy * out_w + ox;
              const T py = T(oy * g.strides[0] - g.pad_begin[0] + ky * g.dilations[0]) + off_y[o];
              const T px = T(ox * g.strides[1] - g.pad_begin[1] + kx * g.dilations[1]) + off_x[o];
              const T v = Bilinear(plane, in_h, in_w, py, px);
              row[o] = m ? v * m[o] : v;
            }
          }
        }
      }
      T* out = y + (n * c.out_channels + grp * out_per_group) * c.out_size;
      SimpleGemm(out_per_group, c.out_size, c.ColRows(), w + grp * out_per_group * c.ColRows(),
                 c.ColRows(), false, col, c.out_size, out, c.out_size);
    }
    if (bias) {
      for (int64_t oc = 0; oc < c.out_channels; ++oc) {
        T* plane = y + (n * c.out_channels + oc) * c.out_size;
        for (int64_t i = 0; i < c.out_size; ++i) plane[i] += bias[oc];
      }
    }
  }
}

Status Eval(KernelContext& ctx) {
  const DeformConvState& s = *ctx.state<DeformConvState>();
  DispatchFloat(s.dtype, [&](auto t) { Run<decltype(t)>(ctx, s); });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kDeformConvKernel = {OpType::DeformConv, Prepare, Eval};

}  // namespace lwai
