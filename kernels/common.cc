#include "kernels/common.h"

#include <cstring>
#include <string>

namespace lwai {

Status BroadcastShapes(const Shape& a, const Shape& b, Shape* out) {
  const int rank = a.rank > b.rank ? a.rank : b.rank;
  out->rank = rank;
  for (int i = 0; i < rank; ++i) {
    const int ai = a.rank - rank + i;
    const int bi = b.rank - rank + i;
    const int64_t da = ai >= 0 ? a.dims[ai] : 1;
    const int64_t db = bi >= 0 ? b.dims[bi] : 1;
    if (da != db && da != 1 && db != 1) {
      return ShapeMismatch(LWAI_MSG("shapes " + a.ToString() + " and " + b.ToString() +
                                    " cannot be broadcast together"));
    }
    out->dims[i] = da == 1 ? db : da;
  }
  return Status::Ok();
}

bool NormalizeAxis(int64_t axis, int rank, int* normalized) {
  if (axis < -rank || axis >= rank) return false;
  *normalized = static_cast<int>(axis < 0 ? axis + rank : axis);
  return true;
}

void ComputeStrides(const Shape& shape, int64_t* strides) {
  int64_t stride = 1;
  for (int i = shape.rank - 1; i >= 0; --i) {
    strides[i] = stride;
    // Saturates for hostile shapes (whose element counts the caller rejects) instead of
    // overflowing.
    if (!CheckedMul(stride, shape.dims[i], &stride)) stride = INT64_MAX;
  }
}

void BroadcastStrides(const Shape& in, const Shape& out, int64_t* strides) {
  int64_t in_strides[kMaxRank];
  ComputeStrides(in, in_strides);
  for (int i = 0; i < out.rank; ++i) {
    const int ii = in.rank - out.rank + i;
    strides[i] = (ii < 0 || in.dims[ii] == 1) ? 0 : in_strides[ii];
  }
}

Status ReadIntTensor(const KernelContext& ctx, int input, std::vector<int64_t>* values) {
  if (!ctx.has_input(input))
    return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(input) + " is missing"));
  const TensorView& t = ctx.input(input);
  if (t.data == nullptr) return ctx.ValueNeeded(input);
  const int64_t n = t.NumElements();
  values->resize(n);
  if (t.dtype == DataType::kInt64) {
    for (int64_t i = 0; i < n; ++i) (*values)[i] = t.Data<const int64_t>()[i];
  } else if (t.dtype == DataType::kInt32) {
    for (int64_t i = 0; i < n; ++i) (*values)[i] = t.Data<const int32_t>()[i];
  } else {
    return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(input) +
                                     " must be int32 or int64, got " + DataTypeName(t.dtype)));
  }
  return Status::Ok();
}

Status ExpectFloatInput(const KernelContext& ctx, int input) {
  const DataType dtype = ctx.input(input).dtype;
  if (dtype == DataType::kFloat32 || dtype == DataType::kFloat64) return Status::Ok();
  return ctx.Unsupported(LWAI_MSG("input " + std::to_string(input) + " has dtype " +
                                  DataTypeName(dtype) + ", expected float32 or float64"));
}

Status ReadFloatScalar(const KernelContext& ctx, int input, float* value) {
  const TensorView& t = ctx.input(input);
  if (t.data == nullptr) return ctx.ValueNeeded(input);
  if (t.dtype != DataType::kFloat32 || t.NumElements() != 1) {
    return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(input) +
                                     " must be a float32 scalar, got " + DataTypeName(t.dtype) +
                                     " " + t.shape.ToString()));
  }
  *value = t.Data<const float>()[0];
  return Status::Ok();
}

Status ParseFusedActivation(const KernelContext& ctx, FusedActivation* activation) {
  const std::string name = ctx.node().GetString("activation", "");
  if (name.empty()) return Status::Ok();
  activation->enabled = true;
  if (name == "Relu") {
    activation->min = 0.0f;
  } else if (name == "Clip") {
    activation->min = ctx.node().GetFloat("activation_min", activation->min);
    activation->max = ctx.node().GetFloat("activation_max", activation->max);
  } else {
    return ctx.Unsupported(LWAI_MSG("unknown fused activation '" + name + "'"));
  }
  return Status::Ok();
}

void CopyInputToOutput(KernelContext& ctx) {
  const TensorView& in = ctx.input(0);
  TensorView& out = ctx.output(0);
  const size_t bytes = out.ByteSize();
  if (bytes > 0 && in.data != out.data) std::memcpy(out.data, in.data, bytes);
}

Status AxesToMask(const KernelContext& ctx, const std::vector<int64_t>& axes, int rank,
                  uint32_t* mask) {
  *mask = 0;
  for (int64_t axis : axes) {
    int a = 0;
    if (!NormalizeAxis(axis, rank, &a)) {
      return ctx.InvalidModel(LWAI_MSG("axis " + std::to_string(axis) + " of " +
                                       IntsToString(axes) + " is out of range for rank " +
                                       std::to_string(rank)));
    }
    if (*mask & (1u << a)) {
      return ctx.InvalidModel(LWAI_MSG("axes " + IntsToString(axes) + " repeat an axis"));
    }
    *mask |= 1u << a;
  }
  return Status::Ok();
}

std::string IntsToString(const std::vector<int64_t>& values) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(values[i]);
  }
  return s + "]";
}

}  // namespace lwai
