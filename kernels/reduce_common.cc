#include "kernels/reduce_common.h"

#include <memory>
#include <string>
#include <vector>

namespace lwai {

Status SplitAtAxis(const KernelContext& ctx, const Shape& shape, int64_t axis, AxisSplit* split,
                   int* normalized) {
  int a = 0;
  if (!NormalizeAxis(axis, shape.rank, &a)) {
    return ctx.InvalidModel(LWAI_MSG("axis " + std::to_string(axis) +
                                     " is out of range for input " + shape.ToString()));
  }
  *split = AxisSplit();
  for (int d = 0; d < a; ++d) split->outer *= shape[d];
  split->size = shape[a];
  for (int d = a + 1; d < shape.rank; ++d) split->inner *= shape[d];
  if (normalized) *normalized = a;
  return Status::Ok();
}

Status PrepareAlongAxis(KernelContext& ctx, int64_t default_axis) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const TensorView& x = ctx.input(0);
  LWAI_RETURN_IF_ERROR(ExpectFloatInput(ctx, 0));
  if (x.shape.rank == 0)
    return ctx.ShapeMismatch(LWAI_MSG("input must have rank >= 1, got a scalar"));
  auto state = std::make_unique<AlongAxisState>();
  LWAI_RETURN_IF_ERROR(
      SplitAtAxis(ctx, x.shape, ctx.node().GetInt("axis", default_axis), &state->split));
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = x.shape;
  return Status::Ok();
}

void MakeReducePlan(const Shape& input, uint32_t mask, bool keepdims, ReducePlan* plan,
                    Shape* out_shape) {
  plan->input = input;
  plan->out_count = 1;
  plan->group = 1;
  out_shape->rank = 0;
  for (int d = 0; d < input.rank; ++d) {
    if (mask & (1u << d)) {
      plan->group *= input[d];
      if (keepdims) out_shape->dims[out_shape->rank++] = 1;
    } else {
      plan->out_count *= input[d];
      out_shape->dims[out_shape->rank++] = input[d];
    }
  }
  int64_t stride = 1;
  for (int d = input.rank - 1; d >= 0; --d) {
    if (mask & (1u << d)) {
      plan->out_strides[d] = 0;
    } else {
      plan->out_strides[d] = stride;
      stride *= input[d];
    }
  }
}

Status PrepareReduce(KernelContext& ctx, ReduceKind kind) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 2));
  const TensorView& in = ctx.input(0);
  const DataType dtype = in.dtype;
  const bool float_only =
      kind == ReduceKind::kL2 || kind == ReduceKind::kLogSum || kind == ReduceKind::kLogSumExp;
  const bool bool_ok = kind == ReduceKind::kMax || kind == ReduceKind::kMin;
  const bool supported = float_only ? DispatchFloat(dtype, [](auto) {})
                                    : (bool_ok ? DispatchNumericOrBool(dtype, [](auto) {})
                                               : DispatchNumeric(dtype, [](auto) {}));
  if (!supported) {
    return ctx.Unsupported(LWAI_MSG(std::string("input dtype ") + DataTypeName(dtype) +
                                    " is not supported (expected " +
                                    (float_only ? "float32 or float64" : "a numeric type") + ")"));
  }
  std::vector<int64_t> axes;
  if (ctx.has_input(1)) LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 1, &axes));
  auto state = std::make_unique<ReduceState>();
  const bool keepdims = ctx.node().GetInt("keepdims", 1) != 0;
  uint32_t mask = 0;
  if (axes.empty()) {
    if (ctx.node().GetInt("noop_with_empty_axes", 0) != 0) {
      state->noop = true;
    } else {
      mask = in.shape.rank >= 32 ? ~0u : (1u << in.shape.rank) - 1;
    }
  } else {
    LWAI_RETURN_IF_ERROR(AxesToMask(ctx, axes, in.shape.rank, &mask));
  }
  Shape out_shape;
  if (state->noop) {
    out_shape = in.shape;
  } else {
    MakeReducePlan(in.shape, mask, keepdims, &state->plan, &out_shape);
    if (kind == ReduceKind::kLogSumExp && !ctx.shape_only()) {
      ctx.RequestScratch(static_cast<size_t>(state->plan.out_count) * DataTypeSize(dtype));
    }
  }
  ctx.output(0).dtype = dtype;
  ctx.output(0).shape = out_shape;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status PrepareArgReduce(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const TensorView& in = ctx.input(0);
  if (!DispatchNumeric(in.dtype, [](auto) {})) {
    return ctx.Unsupported(LWAI_MSG(std::string("input dtype ") + DataTypeName(in.dtype) +
                                    " is not supported (expected a numeric type)"));
  }
  if (in.shape.rank == 0)
    return ctx.ShapeMismatch(LWAI_MSG("input must have rank >= 1, got a scalar"));
  auto state = std::make_unique<ArgReduceState>();
  int axis = 0;
  LWAI_RETURN_IF_ERROR(
      SplitAtAxis(ctx, in.shape, ctx.node().GetInt("axis", 0), &state->split, &axis));
  if (state->split.size == 0 && state->split.lines() > 0) {
    return ctx.ShapeMismatch(
        LWAI_MSG("cannot take the arg of an empty axis in " + in.shape.ToString()));
  }
  state->select_last = ctx.node().GetInt("select_last_index", 0) != 0;
  Shape out;
  const bool keepdims = ctx.node().GetInt("keepdims", 1) != 0;
  for (int d = 0; d < in.shape.rank; ++d) {
    if (d != axis) {
      out.dims[out.rank++] = in.shape[d];
    } else if (keepdims) {
      out.dims[out.rank++] = 1;
    }
  }
  ctx.output(0).dtype = DataType::kInt64;
  ctx.output(0).shape = out;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

namespace {

// Strides to read `param` broadcast unidirectionally to `target`; false when it cannot.
bool UnidirectionalStrides(const Shape& param, const Shape& target, int64_t* strides) {
  if (param.rank > target.rank) return false;
  for (int i = 0; i < param.rank; ++i) {
    const int64_t d = param[i], t = target[target.rank - param.rank + i];
    if (d != 1 && d != t) return false;
  }
  BroadcastStrides(param, target, strides);
  return true;
}

}  // namespace

Status PrepareRowNorm(KernelContext& ctx, int max_inputs, RowNormState* state, int* axis) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, max_inputs));
  const TensorView& x = ctx.input(0);
  LWAI_RETURN_IF_ERROR(ExpectFloatInput(ctx, 0));
  const int64_t stash = ctx.node().GetInt("stash_type", 1);
  if (stash != 1 && stash != 11) {
    return ctx.Unsupported(
        LWAI_MSG("stash_type must be 1 (float) or 11 (double), got " + std::to_string(stash)));
  }
  if (x.shape.rank == 0)
    return ctx.ShapeMismatch(LWAI_MSG("input must have rank >= 1, got a scalar"));
  const int64_t axis_attr = ctx.node().GetInt("axis", -1);
  if (!NormalizeAxis(axis_attr, x.shape.rank, axis)) {
    return ctx.InvalidModel(LWAI_MSG("axis " + std::to_string(axis_attr) +
                                     " is out of range for input " + x.shape.ToString()));
  }
  state->epsilon = ctx.node().GetFloat("epsilon", 1e-5f);
  state->rows = 1;
  for (int d = 0; d < *axis; ++d) state->rows *= x.shape[d];
  state->row_shape.rank = 0;
  for (int d = *axis; d < x.shape.rank; ++d) {
    state->row_shape.dims[state->row_shape.rank++] = x.shape[d];
  }
  for (int i = 1; i < 3; ++i) {
    int64_t* strides = i == 1 ? state->scale_strides : state->bias_strides;
    if (!ctx.has_input(i)) {
      for (int d = 0; d < kMaxRank; ++d) strides[d] = 0;
      continue;
    }
    const TensorView& p = ctx.input(i);
    if (p.dtype != x.dtype) {
      return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(i) + " dtype " +
                                       DataTypeName(p.dtype) + " must match input dtype " +
                                       DataTypeName(x.dtype)));
    }
    if (!UnidirectionalStrides(p.shape, state->row_shape, strides)) {
      return ctx.ShapeMismatch(LWAI_MSG("input " + std::to_string(i) + " " + p.shape.ToString() +
                                        " does not broadcast to the normalized shape " +
                                        state->row_shape.ToString()));
    }
  }
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = x.shape;
  return Status::Ok();
}

Status ParseLossReduction(const KernelContext& ctx, LossReduction* reduction) {
  const std::string r = ctx.node().GetString("reduction", "mean");
  if (r == "none") {
    *reduction = LossReduction::kNone;
  } else if (r == "sum") {
    *reduction = LossReduction::kSum;
  } else if (r == "mean") {
    *reduction = LossReduction::kMean;
  } else {
    return ctx.InvalidModel(LWAI_MSG("reduction must be 'none', 'sum' or 'mean', got '" + r + "'"));
  }
  return Status::Ok();
}

Status PrepareLoss(KernelContext& ctx, LossReduction reduction, int64_t* n, int64_t* c,
                   int64_t* d) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
  const TensorView& x = ctx.input(0);
  const TensorView& target = ctx.input(1);
  LWAI_RETURN_IF_ERROR(ExpectFloatInput(ctx, 0));
  if (target.dtype != DataType::kInt32 && target.dtype != DataType::kInt64) {
    return ctx.InvalidModel(
        LWAI_MSG(std::string("target must be int32 or int64, got ") + DataTypeName(target.dtype)));
  }
  if (x.shape.rank < 2)
    return ctx.ShapeMismatch(LWAI_MSG("input must have rank >= 2, got " + x.shape.ToString()));
  bool match = target.shape.rank == x.shape.rank - 1 && target.shape[0] == x.shape[0];
  for (int i = 2; match && i < x.shape.rank; ++i) match = target.shape[i - 1] == x.shape[i];
  if (!match) {
    return ctx.ShapeMismatch(LWAI_MSG("target " + target.shape.ToString() +
                                      " does not match input " + x.shape.ToString() +
                                      " (expected [N, d1, ...])"));
  }
  if (x.shape[1] < 1)
    return ctx.ShapeMismatch(LWAI_MSG("input needs at least one class, got " + x.shape.ToString()));
  *n = x.shape[0];
  *c = x.shape[1];
  *d = 1;
  for (int i = 2; i < x.shape.rank; ++i) *d *= x.shape[i];
  if (ctx.has_input(2)) {
    const TensorView& w = ctx.input(2);
    if (w.dtype != x.dtype) {
      return ctx.InvalidModel(LWAI_MSG(std::string("weight dtype ") + DataTypeName(w.dtype) +
                                       " must match input dtype " + DataTypeName(x.dtype)));
    }
    if (w.shape.rank != 1 || w.shape[0] != *c) {
      return ctx.ShapeMismatch(
          LWAI_MSG("weight " + w.shape.ToString() + " must be [" + std::to_string(*c) + "]"));
    }
  }
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = reduction == LossReduction::kNone ? target.shape : Shape();
  return Status::Ok();
}

}  // namespace lwai
