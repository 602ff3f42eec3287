// Conv (ONNX opset 22): N-d, float32/float64, groups, strides, dilations, pads/auto_pad, bias,
// and the fused Relu/Clip activation set by the fusion pass. 1-D and 2-D float32: grouped
// convolutions with one input channel per group (depthwise) run a direct loop; the rest run
// im2col + Gemm, skipping im2col for 1x1 stride-1 unpadded kernels. Other ranks and float64
// run an N-d im2col + matrix multiply.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

#include "kernels/common.h"
#include "kernels/conv_common.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"
#include "kernels/spatial_common.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

// Geometry seen as 2-D: 1-D convolutions are 2-D ones with height 1.
struct ConvState : OpState {
  int64_t batch = 0, in_channels = 0, out_channels = 0, groups = 1;
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  bool depthwise = false;
  bool pointwise = false;  // 1x1, stride 1, no pad: the input is already the im2col matrix
  size_t col_bytes = 0;
  FusedActivation activation;
  // N-d or float64: the generic path.
  bool generic = false;
  DataType dtype = DataType::kFloat32;
  ConvShape shape;
};

// The generic path's prepare: float32 of rank 5 and more, or float64 of any rank.
Status PrepareGeneric(KernelContext& ctx, std::unique_ptr<ConvState> state) {
  ConvState& s = *state;
  s.generic = true;
  LWAI_RETURN_IF_ERROR(PrepareConvShape(ctx, 0, 1, &s.shape));
  LWAI_RETURN_IF_ERROR(ParseFusedActivation(ctx, &s.activation));
  const ConvShape& c = s.shape;
  if (ctx.has_input(2) && ctx.input(2).NumElements() != c.out_channels) {
    return ctx.ShapeMismatch(LWAI_MSG("bias " + ctx.input(2).shape.ToString() + " must have " +
                                      std::to_string(c.out_channels) + " elements"));
  }
  ctx.output(0).dtype = s.dtype;
  const size_t elem = DataTypeSize(s.dtype);
  s.col_bytes = (static_cast<size_t>(c.ColRows() * c.out_size) * elem + 63) / 64 * 64;
  size_t gemm_bytes = 0;
  if (s.dtype == DataType::kFloat32) {
    gemm_bytes = GemmScratchBytes(ctx.thread_pool()->num_threads(), c.OutPerGroup(), c.ColRows(),
                                  c.out_size);
  }
  if (!ctx.shape_only()) ctx.RequestScratch(s.col_bytes + gemm_bytes);
  ctx.SetState(std::move(state));
  return Status::Ok();
}

// False when the run's limits stopped it (checked per image: a batch can be huge).
template <typename T>
bool EvalGeneric(KernelContext& ctx, const ConvState& s) {
  const ConvShape& c = s.shape;
  const T* x = ctx.input(0).Data<const T>();
  const T* w = ctx.input(1).Data<const T>();
  const T* bias = ctx.has_input(2) ? ctx.input(2).Data<const T>() : nullptr;
  T* y = ctx.output(0).Data<T>();
  T* col = static_cast<T*>(ctx.scratch());
  void* gemm_scratch = static_cast<char*>(ctx.scratch()) + s.col_bytes;
  const int64_t k = c.ColRows();
  const int64_t out_per_group = c.OutPerGroup();
  for (int64_t n = 0; n < c.batch; ++n) {
    if (ctx.limits().Expired()) return false;
    for (int64_t grp = 0; grp < c.groups; ++grp) {
      const T* image = x + (n * c.groups + grp) * c.InPerGroup() * c.in_size;
      T* out = y + (n * c.groups + grp) * out_per_group * c.out_size;
      Im2ColNd(c.geometry, image, c.InPerGroup(), col);
      const T* filter = w + grp * out_per_group * k;
      ConvGemm(out_per_group, c.out_size, k, filter, k, false, col, c.out_size, out, c.out_size,
               gemm_scratch, ctx.thread_pool());
    }
    const T lo = s.activation.min, hi = s.activation.max;
    for (int64_t oc = 0; oc < c.out_channels; ++oc) {
      T* plane = y + (n * c.out_channels + oc) * c.out_size;
      const T b = bias ? bias[oc] : T(0);
      if (s.activation.enabled) {
        for (int64_t i = 0; i < c.out_size; ++i)
          plane[i] = std::min(std::max(plane[i] + b, lo), hi);
      } else if (bias) {
        for (int64_t i = 0; i < c.out_size; ++i) plane[i] += b;
      }
    }
  }
  return true;
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
  const DataType dtype = ctx.input(0).dtype;
  if (dtype != DataType::kFloat32 && dtype != DataType::kFloat64) {
    return ctx.Unsupported(
        LWAI_MSG(std::string("input must be float32 or float64, got ") + DataTypeName(dtype)));
  }
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(1, dtype));
  if (ctx.has_input(2)) LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(2, dtype));
  const Shape& x = ctx.input(0).shape;
  const Shape& w = ctx.input(1).shape;
  if (dtype != DataType::kFloat32 || (x.rank != 3 && x.rank != 4)) {
    auto generic = std::make_unique<ConvState>();
    generic->dtype = dtype;
    return PrepareGeneric(ctx, std::move(generic));
  }
  if (w.rank != x.rank) {
    return ctx.ShapeMismatch(LWAI_MSG("weight " + w.ToString() + " must have the input's rank " +
                                      std::to_string(x.rank)));
  }
  auto state = std::make_unique<ConvState>();
  ConvState& s = *state;
  s.groups = ctx.node().GetInt("group", 1);
  s.batch = x[0];
  s.in_channels = x[1];
  s.out_channels = w[0];
  if (s.groups < 1 || s.in_channels % s.groups != 0 || s.out_channels % s.groups != 0 ||
      w[1] * s.groups != s.in_channels) {
    return ctx.ShapeMismatch(LWAI_MSG("input channels " + std::to_string(s.in_channels) +
                                      ", weight " + w.ToString() + " and group " +
                                      std::to_string(s.groups) + " do not fit together"));
  }
  const std::vector<int64_t> kernel_attr = ctx.node().GetInts("kernel_shape");
  if (!kernel_attr.empty()) {
    for (int i = 0; i + 2 < w.rank; ++i) {
      if (static_cast<int>(kernel_attr.size()) != w.rank - 2 || kernel_attr[i] != w[i + 2]) {
        return ctx.ShapeMismatch(
            LWAI_MSG("kernel_shape attribute does not match weight " + w.ToString()));
      }
    }
  }
  if (ctx.has_input(2)) {
    LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(2, DataType::kFloat32));
    if (ctx.input(2).NumElements() != s.out_channels) {
      return ctx.ShapeMismatch(LWAI_MSG("bias " + ctx.input(2).shape.ToString() + " must have " +
                                        std::to_string(s.out_channels) + " elements"));
    }
  }
  WindowGeometry g;
  LWAI_RETURN_IF_ERROR(ComputeWindowGeometry(ctx, x, &w.dims[2], false, &g));
  const bool one_d = g.spatial_rank == 1;
  s.in_h = one_d ? 1 : g.input[0];
  s.in_w = g.input[one_d ? 0 : 1];
  s.out_h = one_d ? 1 : g.output[0];
  s.out_w = g.output[one_d ? 0 : 1];
  s.kernel_h = one_d ? 1 : g.kernel[0];
  s.kernel_w = g.kernel[one_d ? 0 : 1];
  s.stride_h = one_d ? 1 : g.strides[0];
  s.stride_w = g.strides[one_d ? 0 : 1];
  s.dilation_h = one_d ? 1 : g.dilations[0];
  s.dilation_w = g.dilations[one_d ? 0 : 1];
  s.pad_top = one_d ? 0 : g.pad_begin[0];
  s.pad_left = g.pad_begin[one_d ? 0 : 1];
  LWAI_RETURN_IF_ERROR(ParseFusedActivation(ctx, &s.activation));

  const int64_t in_per_group = s.in_channels / s.groups;
  s.depthwise = in_per_group == 1 && s.groups > 1;
  bool unpadded = true;
  for (int i = 0; i < g.spatial_rank; ++i) unpadded &= g.pad_begin[i] == 0 && g.pad_end[i] == 0;
  s.pointwise =
      s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && unpadded;
  TensorView& y = ctx.output(0);
  y.dtype = DataType::kFloat32;
  y.shape = x;
  y.shape[1] = s.out_channels;
  for (int i = 0; i < g.spatial_rank; ++i) y.shape[i + 2] = g.output[i];
  if (!s.depthwise) {
    int64_t col_rows = 0, col_elements = 0;
    const int64_t col_dims[3] = {in_per_group, s.kernel_h, s.kernel_w};
    const int64_t out_dims[2] = {s.out_h, s.out_w};
    int64_t out_pixels = 0;
    if (!CheckedProduct(col_dims, 3, &col_rows) || !CheckedProduct(out_dims, 2, &out_pixels) ||
        !CheckedMul(col_rows, out_pixels, &col_elements) || col_elements > (int64_t{1} << 40)) {
      return ctx.ShapeMismatch(LWAI_MSG("the im2col buffer for kernel " +
                                        ctx.input(1).shape.ToString() + " and output " +
                                        y.shape.ToString() + " is too large"));
    }
    if (s.pointwise) col_elements = 0;
    s.col_bytes = (col_elements * sizeof(float) + 63) / 64 * 64;
    ctx.RequestScratch(s.col_bytes +
                       GemmScratchBytes(ctx.thread_pool()->num_threads(), s.out_channels / s.groups,
                                        in_per_group * s.kernel_h * s.kernel_w, s.out_h * s.out_w));
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

// col[(c * kh + ky) * kw + kx][oy * out_w + ox] = padded input value.
void Im2Col(const ConvState& s, const float* image, int64_t channels, float* col) {
  const int64_t out_size = s.out_h * s.out_w;
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t ky = 0; ky < s.kernel_h; ++ky) {
      for (int64_t kx = 0; kx < s.kernel_w; ++kx) {
        float* row = col + ((c * s.kernel_h + ky) * s.kernel_w + kx) * out_size;
        for (int64_t oy = 0; oy < s.out_h; ++oy) {
          const int64_t iy = oy * s.stride_h - s.pad_top + ky * s.dilation_h;
          float* dst = row + oy * s.out_w;
          if (iy < 0 || iy >= s.in_h) {
            std::memset(dst, 0, s.out_w * sizeof(float));
            continue;
          }
          const float* src = image + (c * s.in_h + iy) * s.in_w;
          for (int64_t ox = 0; ox < s.out_w; ++ox) {
            const int64_t ix = ox * s.stride_w - s.pad_left + kx * s.dilation_w;
            dst[ox] = (ix >= 0 && ix < s.in_w) ? src[ix] : 0.0f;
          }
        }
      }
    }
  }
}

void BiasAndActivation(const ConvState& s, const float* bias, float* out, int64_t channel_begin,
                       int64_t channel_end) {
  const int64_t out_size = s.out_h * s.out_w;
  for (int64_t oc = channel_begin; oc < channel_end; ++oc) {
    float* plane = out + oc * out_size;
    const float b = bias ? bias[oc] : 0.0f;
    if (s.activation.enabled) {
      for (int64_t i = 0; i < out_size; ++i) plane[i] = ApplyActivation(s.activation, plane[i] + b);
    } else if (bias) {
      for (int64_t i = 0; i < out_size; ++i) plane[i] += b;
    }
  }
}

void DepthwiseChannels(const ConvState& s, const float* x, const float* w, const float* bias,
                       float* y, int64_t begin, int64_t end) {
  const int64_t multiplier = s.out_channels / s.groups;
  for (int64_t oc = begin; oc < end; ++oc) {
    const float* image = x + (oc / multiplier) * s.in_h * s.in_w;
    const float* filter = w + oc * s.kernel_h * s.kernel_w;
    float* plane = y + oc * s.out_h * s.out_w;
    const float b = bias ? bias[oc] : 0.0f;
    for (int64_t oy = 0; oy < s.out_h; ++oy) {
      for (int64_t ox = 0; ox < s.out_w; ++ox) {
        float sum = b;
        for (int64_t ky = 0; ky < s.kernel_h; ++ky) {
          const int64_t iy = oy * s.stride_h - s.pad_top + ky * s.dilation_h;
          if (iy < 0 || iy >= s.in_h) continue;
          for (int64_t kx = 0; kx < s.kernel_w; ++kx) {
            const int64_t ix = ox * s.stride_w - s.pad_left + kx * s.dilation_w;
            if (ix >= 0 && ix < s.in_w)
              sum += image[iy * s.in_w + ix] * filter[ky * s.kernel_w + kx];
          }
        }
        plane[oy * s.out_w + ox] = s.activation.enabled ? ApplyActivation(s.activation, sum) : sum;
      }
    }
  }
}

Status Eval(KernelContext& ctx) {
  const ConvState& s = *ctx.state<ConvState>();
  if (s.generic) {
    bool done = true;
    DispatchFloat(s.dtype, [&](auto t) { done = EvalGeneric<decltype(t)>(ctx, s); });
    return done ? Status::Ok() : ctx.limits().Check(ctx.node());
  }
  const float* x = ctx.input(0).Data<const float>();
  const float* w = ctx.input(1).Data<const float>();
  const float* bias = ctx.has_input(2) ? ctx.input(2).Data<const float>() : nullptr;
  float* y = ctx.output(0).Data<float>();
  ThreadPool* pool = ctx.thread_pool();
  const int64_t in_image = s.in_channels * s.in_h * s.in_w;
  const int64_t out_image = s.out_channels * s.out_h * s.out_w;

  if (s.depthwise) {
    for (int64_t n = 0; n < s.batch; ++n) {
      if (ctx.limits().Expired()) return ctx.limits().Check(ctx.node());
      pool->ParallelFor(s.out_channels, 1, [&](int64_t begin, int64_t end) {
        DepthwiseChannels(s, x + n * in_image, w, bias, y + n * out_image, begin, end);
      });
    }
    return Status::Ok();
  }
  float* col = static_cast<float*>(ctx.scratch());
  void* gemm_scratch = static_cast<char*>(ctx.scratch()) + s.col_bytes;
  const int64_t in_per_group = s.in_channels / s.groups;
  const int64_t out_per_group = s.out_channels / s.groups;
  const int64_t k = in_per_group * s.kernel_h * s.kernel_w;
  const int64_t out_size = s.out_h * s.out_w;
  for (int64_t n = 0; n < s.batch; ++n) {
    if (ctx.limits().Expired()) return ctx.limits().Check(ctx.node());
    for (int64_t grp = 0; grp < s.groups; ++grp) {
      const float* image = x + n * in_image + grp * in_per_group * s.in_h * s.in_w;
      if (!s.pointwise) Im2Col(s, image, in_per_group, col);
      GemmArgs args;
      args.limits = &ctx.limits();
      args.m = out_per_group;
      args.n = out_size;
      args.k = k;
      args.a = w + grp * out_per_group * k;
      args.lda = k;
      args.b = s.pointwise ? image : col;
      args.ldb = out_size;
      args.c = y + n * out_image + grp * out_per_group * out_size;
      args.ldc = out_size;
      Gemm(args, gemm_scratch, pool);
    }
    float* out = y + n * out_image;
    pool->ParallelFor(s.out_channels, 1, [&](int64_t begin, int64_t end) {
      BiasAndActivation(s, bias, out, begin, end);
    });
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kConvKernel = {OpType::Conv, Prepare, Eval};

}  // namespace lwai
