// Tile (ONNX 13): repeats (input 1, known at prepare) copies along each axis. Any dtype,
// moved as elements of its byte size.
#include <memory>
#include <string>
#include <vector>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const TensorView& x = ctx.input(0);
  LWAI_RETURN_IF_ERROR(ExpectSizedDtype(ctx, x.dtype));
  std::vector<int64_t> repeats;
  LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 1, &repeats));
  if (static_cast<int>(repeats.size()) != x.shape.rank) {
    return ctx.ShapeMismatch(LWAI_MSG("repeats " + IntsToString(repeats) +
                                      " must have one value per axis of " + x.shape.ToString()));
  }
  Shape out = x.shape;
  for (int d = 0; d < out.rank; ++d) {
    if (repeats[d] < 0) {
      return ctx.InvalidModel(
          LWAI_MSG("repeats " + IntsToString(repeats) + " has a negative value"));
    }
    out[d] *= repeats[d];
  }
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = out;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const TensorView& x = ctx.input(0);
  TensorView& y = ctx.output(0);
  int64_t strides[kMaxRank];
  ComputeStrides(x.shape, strides);
  DispatchByElementSize(DataTypeSize(x.dtype), [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.Data<const T>();
    T* dst = y.Data<T>();
    ForEachIndex(y.shape, [&](const int64_t* index) {
      int64_t offset = 0;
      for (int d = 0; d < x.shape.rank; ++d) offset += index[d] % x.shape[d] * strides[d];
      *dst++ = src[offset];
    });
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kTileKernel = {OpType::Tile, Prepare, Eval};

}  // namespace lwai
