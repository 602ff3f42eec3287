// Where (opset 16): out = condition ? x : y elementwise, with numpy broadcasting of all
// three inputs; any fixed-size dtype for x and y (copied by element size).
#include "kernels/binary_common.h"

namespace lwai {
namespace {

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(0, DataType::kBool));
  const TensorView& x = ctx.input(1);
  const TensorView& y = ctx.input(2);
  if (x.dtype != y.dtype) {
    return ctx.InvalidModel(LWAI_MSG(std::string("x and y dtypes differ: ") +
                                     DataTypeName(x.dtype) + " vs " + DataTypeName(y.dtype)));
  }
  if (DataTypeSize(x.dtype) == 0) {
    return ctx.Unsupported(LWAI_MSG(std::string("dtype ") + DataTypeName(x.dtype)));
  }
  Shape xy, shape;
  Status status = BroadcastShapes(x.shape, y.shape, &xy);
  if (status.ok()) status = BroadcastShapes(ctx.input(0).shape, xy, &shape);
  if (!status.ok()) return ctx.ShapeMismatch(LWAI_MSG(status.message()));
  ctx.output(0).shape = shape;
  ctx.output(0).dtype = x.dtype;
  return Status::Ok();
}

template <typename T>
void Select(const TensorView& cond, const TensorView& x, const TensorView& y, TensorView& out) {
  const bool* pc = cond.Data<const bool>();
  const T* px = x.Data<const T>();
  const T* py = y.Data<const T>();
  T* po = out.Data<T>();
  const int64_t total = out.NumElements();
  if (total == 0) return;
  if (cond.shape == out.shape && x.shape == out.shape && y.shape == out.shape) {
    for (int64_t i = 0; i < total; ++i) po[i] = pc[i] ? px[i] : py[i];
    return;
  }
  const int rank = out.shape.rank;
  int64_t cs[kMaxRank], xs[kMaxRank], ys[kMaxRank], index[kMaxRank] = {};
  BroadcastStrides(cond.shape, out.shape, cs);
  BroadcastStrides(x.shape, out.shape, xs);
  BroadcastStrides(y.shape, out.shape, ys);
  if (rank == 0) {
    po[0] = pc[0] ? px[0] : py[0];
    return;
  }
  const int64_t inner = out.shape.dims[rank - 1];
  const int64_t ci = cs[rank - 1], xi = xs[rank - 1], yi = ys[rank - 1];
  int64_t c_off = 0, x_off = 0, y_off = 0;
  for (int64_t o = 0; o < total; o += inner) {
    for (int64_t i = 0; i < inner; ++i)
      po[o + i] = pc[c_off + i * ci] ? px[x_off + i * xi] : py[y_off + i * yi];
    for (int d = rank - 2; d >= 0; --d) {
      c_off += cs[d];
      x_off += xs[d];
      y_off += ys[d];
      if (++index[d] < out.shape.dims[d]) break;
      c_off -= cs[d] * out.shape.dims[d];
      x_off -= xs[d] * out.shape.dims[d];
      y_off -= ys[d] * out.shape.dims[d];
      index[d] = 0;
    }
  }
}

Status Eval(KernelContext& ctx) {
  TensorView& out = ctx.output(0);
  if (!DispatchByElementSize(DataTypeSize(out.dtype), [&](auto t) {
        Select<decltype(t)>(ctx.input(0), ctx.input(1), ctx.input(2), out);
      }))
    return UnsupportedDtype(ctx, out.dtype);
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kWhereKernel = {OpType::Where, Prepare, Eval};

}  // namespace lwai
