// MaxUnpool (ONNX 22): scatters X into zeros at the flat positions of MaxPool's Indices, over
// the shape implied by kernel_shape / strides / pads, placed at the origin of output_shape when
// that input is given. Element type agnostic.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "kernels/spatial_common.h"

namespace lwai {
namespace {

struct MaxUnpoolState : OpState {
  Shape inferred;  // the shape the indices refer to
  bool same_shape = true;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(1, DataType::kInt64));
  const TensorView& x = ctx.input(0);
  if (DataTypeSize(x.dtype) == 0) {
    return ctx.Unsupported(
        LWAI_MSG(std::string("input dtype ") + DataTypeName(x.dtype) + " is not supported"));
  }
  const int rank = x.shape.rank - 2;
  if (rank < 1) {
    return ctx.ShapeMismatch(
        LWAI_MSG("input must be N x C x spatial..., got " + x.shape.ToString()));
  }
  if (ctx.input(1).shape != x.shape) {
    return ctx.ShapeMismatch(LWAI_MSG("indices " + ctx.input(1).shape.ToString() +
                                      " must have the shape of X " + x.shape.ToString()));
  }
  const Node& node = ctx.node();
  const std::vector<int64_t> kernel = node.GetInts("kernel_shape");
  std::vector<int64_t> strides = node.GetInts("strides");
  std::vector<int64_t> pads = node.GetInts("pads");
  if (strides.empty()) strides.assign(rank, 1);
  if (pads.empty()) pads.assign(2 * rank, 0);
  if (static_cast<int>(kernel.size()) != rank || static_cast<int>(strides.size()) != rank ||
      static_cast<int>(pads.size()) != 2 * rank) {
    return ctx.InvalidModel(LWAI_MSG("kernel_shape " + IntsToString(kernel) + ", strides " +
                                     IntsToString(strides) + " and pads " + IntsToString(pads) +
                                     " do not match spatial rank " + std::to_string(rank)));
  }
  auto state = std::make_unique<MaxUnpoolState>();
  MaxUnpoolState& s = *state;
  s.inferred = x.shape;
  for (int d = 0; d < rank; ++d) {
    s.inferred[d + 2] = (x.shape[d + 2] - 1) * strides[d] - pads[d] - pads[rank + d] + kernel[d];
    if (s.inferred[d + 2] < 0 || kernel[d] < 1 || strides[d] < 1) {
      return ctx.InvalidModel(LWAI_MSG("invalid kernel_shape " + IntsToString(kernel) +
                                       ", strides " + IntsToString(strides) + " or pads " +
                                       IntsToString(pads)));
    }
  }
  Shape y = s.inferred;
  if (ctx.has_input(2)) {
    std::vector<int64_t> output_shape;
    LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 2, &output_shape));
    if (static_cast<int>(output_shape.size()) != x.shape.rank) {
      return ctx.ShapeMismatch(LWAI_MSG("output_shape " + IntsToString(output_shape) +
                                        " must have rank " + std::to_string(x.shape.rank)));
    }
    for (int d = 0; d < x.shape.rank; ++d) {
      if (output_shape[d] < s.inferred[d]) {
        return ctx.ShapeMismatch(LWAI_MSG("output_shape " + IntsToString(output_shape) +
                                          " is smaller than the unpooled shape " +
                                          s.inferred.ToString()));
      }
      y[d] = output_shape[d];
    }
  }
  s.same_shape = y == s.inferred;
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = y;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const MaxUnpoolState& s = *ctx.state<MaxUnpoolState>();
  const TensorView& x = ctx.input(0);
  TensorView& y = ctx.output(0);
  std::memset(y.data, 0, y.ByteSize());
  const int64_t* indices = ctx.input(1).Data<const int64_t>();
  const int64_t n = x.NumElements();
  const int64_t limit = s.inferred.NumElements();
  int64_t out_strides[kMaxRank];
  ComputeStrides(y.shape, out_strides);
  DispatchByElementSize(DataTypeSize(x.dtype), [&](auto type) {
    using T = decltype(type);
    const T* in = x.Data<const T>();
    T* out = y.Data<T>();
    for (int64_t i = 0; i < n; ++i) {
      int64_t index = indices[i];
      if (index < 0 || index >= limit) continue;  // out of range: ignored
      if (!s.same_shape) {
        int64_t offset = 0;
        for (int d = s.inferred.rank - 1; d >= 0; --d) {
          offset += (index % s.inferred[d]) * out_strides[d];
          index /= s.inferred[d];
        }
        index = offset;
      }
      out[index] = in[i];
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kMaxUnpoolKernel = {OpType::MaxUnpool, Prepare, Eval};

}  // namespace lwai
