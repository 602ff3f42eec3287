// CenterCropPad (ONNX 18): crops or zero-pads each listed axis (attribute axes, default all) to
// the size in input 1 (known at prepare), centered; odd differences put the extra element at
// the end. Any dtype.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

struct CenterCropPadState : OpState {
  Shape copy;                        // the region copied from input to output
  int64_t in_begin[kMaxRank] = {};   // where it starts in the input
  int64_t out_begin[kMaxRank] = {};  // and in the output
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const TensorView& x = ctx.input(0);
  LWAI_RETURN_IF_ERROR(ExpectSizedDtype(ctx, x.dtype));
  const int rank = x.shape.rank;
  std::vector<int64_t> sizes;
  LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 1, &sizes));
  std::vector<int64_t> axes = ctx.node().GetInts("axes");
  if (ctx.node().FindAttribute("axes") == nullptr) {
    for (int d = 0; d < rank; ++d) axes.push_back(d);
  }
  uint32_t mask = 0;
  LWAI_RETURN_IF_ERROR(AxesToMask(ctx, axes, rank, &mask));
  if (sizes.size() != axes.size()) {
    return ctx.ShapeMismatch(LWAI_MSG("shape " + IntsToString(sizes) +
                                      " must have one value per axis of " + IntsToString(axes)));
  }
  auto state = std::make_unique<CenterCropPadState>();
  CenterCropPadState& s = *state;
  Shape out = x.shape;
  s.copy = x.shape;
  for (size_t i = 0; i < axes.size(); ++i) {
    const int d = static_cast<int>(axes[i] < 0 ? axes[i] + rank : axes[i]);
    const int64_t target = sizes[i], n = x.shape[d];
    if (target < 0)
      return ctx.InvalidModel(LWAI_MSG("shape " + IntsToString(sizes) + " is negative"));
    out[d] = target;
    if (target < n) {
      s.in_begin[d] = (n - target) / 2;
      s.copy[d] = target;
    } else {
      s.out_begin[d] = (target - n) / 2;
    }
  }
  ctx.SetState(std::move(state));
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = out;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const CenterCropPadState& s = *ctx.state<CenterCropPadState>();
  const TensorView& x = ctx.input(0);
  TensorView& y = ctx.output(0);
  if (y.ByteSize() > 0) std::memset(y.data, 0, y.ByteSize());
  int64_t in_strides[kMaxRank], out_strides[kMaxRank];
  ComputeStrides(x.shape, in_strides);
  ComputeStrides(y.shape, out_strides);
  DispatchByElementSize(DataTypeSize(x.dtype), [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.Data<const T>();
    T* dst = y.Data<T>();
    ForEachIndex(s.copy, [&](const int64_t* index) {
      int64_t in = 0, out = 0;
      for (int d = 0; d < s.copy.rank; ++d) {
        in += (index[d] + s.in_begin[d]) * in_strides[d];
        out += (index[d] + s.out_begin[d]) * out_strides[d];
      }
      dst[out] = src[in];
    });
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kCenterCropPadKernel = {OpType::CenterCropPad, Prepare, Eval};

}  // namespace lwai
