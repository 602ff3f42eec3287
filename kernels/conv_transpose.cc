// ConvTranspose (ONNX opset 22): N-d, float32/float64, groups, strides, dilations, pads,
// auto_pad, output_padding and output_shape. Runs as Gemm (W^T * X) + col2im per group.
#include <memory>
#include <string>
#include <type_traits>

#include "kernels/common.h"
#include "kernels/conv_common.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

struct ConvTransposeState : OpState {
  DataType dtype = DataType::kFloat32;
  int64_t batch = 0, in_channels = 0, out_channels = 0, groups = 1;
  int64_t in_size = 0, out_size = 0, kernel_size = 0;
  WindowGeometry geometry;  // the adjoint forward convolution's
  size_t col_bytes = 0;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
  const DataType dtype = ctx.input(0).dtype;
  if (dtype != DataType::kFloat32 && dtype != DataType::kFloat64) {
    return ctx.Unsupported(
        LWAI_MSG(std::string("input must be float32 or float64, got ") + DataTypeName(dtype)));
  }
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(1, dtype));
  const Shape& x = ctx.input(0).shape;
  const Shape& w = ctx.input(1).shape;
  if (x.rank < 3 || w.rank != x.rank) {
    return ctx.ShapeMismatch(
        LWAI_MSG("input must be N x C x spatial... and weight of the same rank, got " +
                 x.ToString() + " and " + w.ToString()));
  }
  auto state = std::make_unique<ConvTransposeState>();
  ConvTransposeState& s = *state;
  s.dtype = dtype;
  s.groups = ctx.node().GetInt("group", 1);
  s.batch = x[0];
  s.in_channels = x[1];
  if (s.groups < 1 || w[0] != s.in_channels || s.in_channels % s.groups != 0) {
    return ctx.ShapeMismatch(
        LWAI_MSG("input channels " + std::to_string(s.in_channels) + ", weight " + w.ToString() +
                 " and group " + std::to_string(s.groups) +
                 " do not fit together (weight must be C x M/group x kernel...)"));
  }
  s.out_channels = w[1] * s.groups;
  const std::vector<int64_t> kernel_attr = ctx.node().GetInts("kernel_shape");
  if (!kernel_attr.empty()) {
    bool match = static_cast<int>(kernel_attr.size()) == w.rank - 2;
    for (int i = 0; match && i + 2 < w.rank; ++i) match = kernel_attr[i] == w[i + 2];
    if (!match) {
      return ctx.ShapeMismatch(LWAI_MSG("kernel_shape " + IntsToString(kernel_attr) +
                                        " does not match weight " + w.ToString()));
    }
  }
  if (ctx.has_input(2)) {
    LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(2, dtype));
    if (ctx.input(2).NumElements() != s.out_channels) {
      return ctx.ShapeMismatch(LWAI_MSG("bias " + ctx.input(2).shape.ToString() + " must have " +
                                        std::to_string(s.out_channels) + " elements"));
    }
  }
  WindowGeometry& g = s.geometry;
  LWAI_RETURN_IF_ERROR(ComputeTransposeGeometry(ctx, x, &w.dims[2], &g));
  s.in_size = ProductOf(g.output, g.spatial_rank);
  s.out_size = ProductOf(g.input, g.spatial_rank);
  s.kernel_size = ProductOf(g.kernel, g.spatial_rank);
  TensorView& y = ctx.output(0);
  y.dtype = dtype;
  y.shape = x;
  y.shape[1] = s.out_channels;
  for (int i = 0; i < g.spatial_rank; ++i) y.shape[i + 2] = g.input[i];
  const int64_t col_rows = s.out_channels / s.groups * s.kernel_size;
  s.col_bytes = (static_cast<size_t>(col_rows * s.in_size) * DataTypeSize(dtype) + 63) / 64 * 64;
  size_t gemm_bytes = 0;
  if (dtype == DataType::kFloat32) {
    gemm_bytes = GemmScratchBytes(ctx.thread_pool()->num_threads(), col_rows,
                                  s.in_channels / s.groups, s.in_size);
  }
  if (!ctx.shape_only()) ctx.RequestScratch(s.col_bytes + gemm_bytes);
  ctx.SetState(std::move(state));
  return Status::Ok();
}

// False when the run's limits stopped it (checked per image: a batch can be huge).
template <typename T>
bool Run(KernelContext& ctx, const ConvTransposeState& s) {
  const T* x = ctx.input(0).Data<const T>();
  const T* w = ctx.input(1).Data<const T>();
  const T* bias = ctx.has_input(2) ? ctx.input(2).Data<const T>() : nullptr;
  T* y = ctx.output(0).Data<T>();
  T* col = static_cast<T*>(ctx.scratch());
  void* gemm_scratch = static_cast<char*>(ctx.scratch()) + s.col_bytes;
  const int64_t in_per_group = s.in_channels / s.groups;
  const int64_t out_per_group = s.out_channels / s.groups;
  const int64_t col_rows = out_per_group * s.kernel_size;
  for (int64_t n = 0; n < s.batch; ++n) {
    if (ctx.limits().Expired()) return false;
    for (int64_t oc = 0; oc < s.out_channels; ++oc) {
      T* plane = y + (n * s.out_channels + oc) * s.out_size;
      const T b = bias ? bias[oc] : T(0);
      for (int64_t i = 0; i < s.out_size; ++i) plane[i] = b;
    }
    for (int64_t grp = 0; grp < s.groups; ++grp) {
      // col (col_rows x in_size) = W_group^T * X_group; W_group is in_per_group x col_rows.
      const T* filter = w + grp * in_per_group * col_rows;
      const T* image = x + (n * s.in_channels + grp * in_per_group) * s.in_size;
      ConvGemm(col_rows, s.in_size, in_per_group, filter, col_rows, true, image, s.in_size, col,
               s.in_size, gemm_scratch, ctx.thread_pool());
      Col2ImNd(s.geometry, col, out_per_group,
               y + (n * s.out_channels + grp * out_per_group) * s.out_size);
    }
  }
  return true;
}

Status Eval(KernelContext& ctx) {
  const ConvTransposeState& s = *ctx.state<ConvTransposeState>();
  bool done = true;
  DispatchFloat(s.dtype, [&](auto t) { done = Run<decltype(t)>(ctx, s); });
  return done ? Status::Ok() : ctx.limits().Check(ctx.node());
}

}  // namespace

extern const KernelRegistration kConvTransposeKernel = {OpType::ConvTranspose, Prepare, Eval};

}  // namespace lwai
