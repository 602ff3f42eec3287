// Float32 convolution of any spatial rank (1-D audio and sequence convolutions, 3-D, and the
// 2-D ones no partition backend took) on lwai's pointwise GEMM: per group, the im2col rows of
// every output position times the weights packed once at prepare, bias and fused clamp in the
// store. Weights that are not known at prepare run the reference kernel.
#include <algorithm>
#include <memory>
#include <vector>

#include "backends/eigen/eigen_kernels.h"
#include "kernels/common.h"
#include "kernels/conv_common.h"
#include "kernels/pointwise_conv.h"
#include "kernels/shared_packing.h"
#include "kernels/transpose_2d.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace eigen {
namespace {

struct ConvState : OpState {
  std::unique_ptr<OpState> reference;  // set when the reference kernel runs
  ConvShape shape;
  FusedActivation activation;
  std::vector<std::shared_ptr<const PointwiseConv>> groups;
  // Scratch layout, in floats: im2col of one group, its transpose (one row per output
  // position), all groups' outputs per position; then the pointwise kernel's scratch.
  int64_t col_floats = 0;
  int64_t rows_floats = 0;
  int64_t output_floats = 0;
};

}  // namespace

Status PrepareConv(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  if (ctx.shape_only()) return Status::Ok();
  auto state = std::make_unique<ConvState>();
  state->reference = std::move(ctx.state_owner_);
  const TensorView& w = ctx.input(1);
  if (ctx.input(0).dtype != DataType::kFloat32 || w.data == nullptr ||
      (ctx.has_input(2) && ctx.input(2).data == nullptr)) {
    ctx.SetState(std::move(state));
    return Status::Ok();
  }
  ConvShape& shape = state->shape;
  LWAI_RETURN_IF_ERROR(PrepareConvShape(ctx, 0, 1, &shape));
  LWAI_RETURN_IF_ERROR(ParseFusedActivation(ctx, &state->activation));
  const int64_t col_rows = shape.ColRows();
  const int64_t out_per_group = shape.OutPerGroup();
  if (col_rows > (1 << 20) || out_per_group > (1 << 20) || shape.out_size <= 0) {
    ctx.SetState(std::move(state));
    return Status::Ok();
  }
  const float* weights = w.Data<const float>();
  const float* bias = ctx.has_input(2) ? ctx.input(2).Data<const float>() : nullptr;
  for (int64_t g = 0; g < shape.groups; ++g) {
    const float* group_weights = weights + g * out_per_group * col_rows;
    const float* group_bias = bias ? bias + g * out_per_group : nullptr;
    PackingKey key("pointwise");
    key.Constant(group_weights, ctx.IsModelConstant(1))
        .Constant(group_bias, ctx.IsModelConstant(2))
        .Param(0)
        .Param(col_rows)
        .Param(out_per_group);
    LWAI_ASSIGN_OR_RETURN(
        std::shared_ptr<const PointwiseConv> kernel, SharedPacking<PointwiseConv>(key, [&] {
          return PointwiseConv::Create(group_weights, false, group_bias, static_cast<int>(col_rows),
                                       static_cast<int>(out_per_group));
        }));
    state->groups.push_back(std::move(kernel));
  }
  ctx.ReleaseConstantInput(1);
  int64_t col_floats = 0, output_floats = 0, scratch_floats = 0;
  if (!CheckedMul(col_rows, shape.out_size, &col_floats) ||
      !CheckedMul(shape.out_channels, shape.out_size, &output_floats) ||
      !CheckedAdd(2 * col_floats, output_floats + 16, &scratch_floats) ||
      scratch_floats > (int64_t{1} << 40)) {
    return ctx.ShapeMismatch(LWAI_MSG("convolution too large"));
  }
  state->col_floats = col_floats;
  state->rows_floats = col_floats;
  state->output_floats = output_floats;
  const size_t pointwise_scratch =
      state->groups[0]->ScratchBytes(shape.out_size, ctx.thread_pool()->num_threads());
  ctx.RequestScratch(static_cast<size_t>(scratch_floats) * sizeof(float) + pointwise_scratch);
  state->reference.reset();
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalConv(KernelContext& ctx) {
  const auto& s = *ctx.state<ConvState>();
  if (s.reference != nullptr) return EvalReference(ctx, s.reference.get());
  const ConvShape& shape = s.shape;
  const float* x = ctx.input(0).Data<const float>();
  float* y = ctx.output(0).Data<float>();
  float* col = static_cast<float*>(ctx.scratch());
  float* rows = col + s.col_floats;
  float* per_position = rows + s.rows_floats;
  // 64-byte aligned start for the pointwise kernel's scratch.
  auto address = reinterpret_cast<uintptr_t>(per_position + s.output_floats);
  void* pointwise_scratch = reinterpret_cast<void*>((address + 63) & ~uintptr_t{63});
  const int64_t in_per_group = shape.InPerGroup(), out_per_group = shape.OutPerGroup();
  const int64_t col_rows = shape.ColRows();
  for (int64_t n = 0; n < shape.batch; ++n) {
    for (int64_t g = 0; g < shape.groups; ++g) {
      const float* image = x + (n * shape.in_channels + g * in_per_group) * shape.in_size;
      Im2ColNd(shape.geometry, image, in_per_group, col);
      Transpose2DBatch(col, 1, col_rows, shape.out_size, shape.out_size, 0, rows, col_rows, 0,
                       ctx.thread_pool());
      s.groups[g]->Run(rows, shape.out_size, static_cast<int>(col_rows),
                       per_position + g * out_per_group, static_cast<int>(shape.out_channels),
                       s.activation.min, s.activation.max, pointwise_scratch, ctx.thread_pool());
    }
    Transpose2DBatch(per_position, 1, shape.out_size, shape.out_channels, shape.out_channels, 0,
                     y + n * shape.out_channels * shape.out_size, shape.out_size, 0,
                     ctx.thread_pool());
  }
  return Status::Ok();
}

}  // namespace eigen
}  // namespace lwai
