// TopK (ONNX 24): k input, axis, largest, sorted; values and int64 indices, ties broken by the
// smaller index.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "kernels/reduce_common.h"

namespace lwai {
namespace {

struct TopKState : OpState {
  AxisSplit split;
  int64_t k = 0;
  bool largest = true;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const TensorView& x = ctx.input(0);
  if (!DispatchNumeric(x.dtype, [](auto) {})) {
    return ctx.Unsupported(LWAI_MSG(std::string("input dtype ") + DataTypeName(x.dtype) +
                                    " is not supported (expected a numeric type)"));
  }
  if (x.shape.rank == 0)
    return ctx.ShapeMismatch(LWAI_MSG("input must have rank >= 1, got a scalar"));
  std::vector<int64_t> k;
  LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 1, &k));
  if (k.size() != 1)
    return ctx.InvalidModel(LWAI_MSG("k must have one element, got " + IntsToString(k)));
  auto state = std::make_unique<TopKState>();
  int axis = 0;
  LWAI_RETURN_IF_ERROR(
      SplitAtAxis(ctx, x.shape, ctx.node().GetInt("axis", -1), &state->split, &axis));
  if (k[0] < 0 || k[0] > state->split.size) {
    return ctx.InvalidModel(LWAI_MSG("k must be in [0, " + std::to_string(state->split.size) +
                                     "] for input " + x.shape.ToString() + ", got " +
                                     std::to_string(k[0])));
  }
  state->k = k[0];
  state->largest = ctx.node().GetInt("largest", 1) != 0;
  Shape out = x.shape;
  out[axis] = k[0];
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = out;
  if (ctx.has_output(1)) {
    ctx.output(1).dtype = DataType::kInt64;
    ctx.output(1).shape = out;
  }
  if (!ctx.shape_only()) ctx.RequestScratch(state->split.size * sizeof(int64_t));
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const TopKState& s = *ctx.state<TopKState>();
  const AxisSplit& sp = s.split;
  const TensorView& x = ctx.input(0);
  int64_t* order = static_cast<int64_t*>(ctx.scratch());
  int64_t* indices = ctx.has_output(1) ? ctx.output(1).Data<int64_t>() : nullptr;
  DispatchNumeric(x.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* in = x.Data<const T>();
    T* values = ctx.output(0).Data<T>();
    for (int64_t line = 0; line < sp.lines(); ++line) {
      const T* p = in + sp.LineOffset(line);
      const int64_t out_offset = (line / sp.inner) * s.k * sp.inner + line % sp.inner;
      for (int64_t i = 0; i < sp.size; ++i) order[i] = i;
      auto before = [&](int64_t a, int64_t b) {
        const T va = p[a * sp.inner], vb = p[b * sp.inner];
        const bool na = reduce_internal::IsNan(va), nb = reduce_internal::IsNan(vb);
        if (na || nb) return na && nb ? a < b : (s.largest ? na : nb);  // NaN counts as largest
        if (va != vb) return s.largest ? va > vb : va < vb;
        return a < b;
      };
      std::partial_sort(order, order + s.k, order + sp.size, before);
      for (int64_t i = 0; i < s.k; ++i) {
        values[out_offset + i * sp.inner] = p[order[i] * sp.inner];
        if (indices) indices[out_offset + i * sp.inner] = order[i];
      }
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kTopKKernel = {OpType::TopK, Prepare, Eval};

}  // namespace lwai
