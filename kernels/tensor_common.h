// Helpers shared by the tensor group's kernels (data movement and tensor construction).
#ifndef LWAI_KERNELS_TENSOR_COMMON_H_
#define LWAI_KERNELS_TENSOR_COMMON_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/common.h"
#include "kernels/dispatch.h"

namespace lwai {

// An element-index view of a tensor: element (i0, ..., in) of a tensor of `dims` lies at
// offset + sum(ik * strides[k]) of the underlying buffer (strides may be negative or zero).
struct StridedView {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[kMaxRank] = {};
  int64_t offset = 0;
};

// The view that reads a dense tensor of shape `dims` transposed by `perm` (output axis i is
// input axis perm[i]).
StridedView PermutedView(const Shape& dims, const int* perm);

// Copies the elements of `view` over `src` into the dense row-major `dst`.
void StridedCopy(const StridedView& view, const void* src, void* dst, size_t element_size);

// Element i of an int32 or int64 tensor.
inline int64_t IndexAt(const TensorView& t, int64_t i) {
  return t.dtype == DataType::kInt64 ? t.Data<const int64_t>()[i] : t.Data<const int32_t>()[i];
}

// Checks that input i is an int32 or int64 tensor.
Status ExpectIndexDtype(const KernelContext& ctx, int i, const char* what);

// Checks that `dtype` has a fixed element size (anything but undefined and string).
Status ExpectSizedDtype(const KernelContext& ctx, DataType dtype);

// Reads element 0 of a numeric input known at prepare time, converted to double/int64.
Status ReadScalarAsDouble(const KernelContext& ctx, int input, double* value);

// "index 5 is out of range for axis 1 of size 3 (valid: -3 to 2)": for eval-time errors.
Status IndexOutOfRange(const KernelContext& ctx, int64_t index, int axis, int64_t bound);

// Calls fn(index) for every multi-index of `shape` in row-major order (index has rank
// entries); nothing when the shape has no elements. For the simple reference loops.
template <typename Fn>
void ForEachIndex(const Shape& shape, const Fn& fn) {
  if (shape.NumElements() == 0) return;
  int64_t index[kMaxRank] = {};
  const int64_t total = shape.NumElements();
  for (int64_t n = 0; n < total; ++n) {
    fn(static_cast<const int64_t*>(index));
    for (int d = shape.rank - 1; d >= 0; --d) {
      if (++index[d] < shape.dims[d]) break;
      index[d] = 0;
    }
  }
}

enum class ScatterReduction { kNone, kAdd, kMul, kMax, kMin };

// Parses the `reduction` attribute of ScatterElements / ScatterND; for reductions other than
// none, checks that `dtype` is numeric or bool.
Status ParseScatterReduction(const KernelContext& ctx, DataType dtype, ScatterReduction* reduction);

// For u in [0, count): combines updates[u * slice + j] into out[offset_of(u) + j] for
// j in [0, slice), in order, with `reduction` (kNone: assigns).
template <typename OffsetFn>
void ScatterSlices(ScatterReduction reduction, DataType dtype, void* out, const void* updates,
                   int64_t count, int64_t slice, const OffsetFn& offset_of) {
  auto run = [&](auto tag, const auto& combine) {
    using T = decltype(tag);
    T* dst = static_cast<T*>(out);
    const T* src = static_cast<const T*>(updates);
    for (int64_t u = 0; u < count; ++u) {
      T* d = dst + offset_of(u);
      const T* s = src + u * slice;
      for (int64_t j = 0; j < slice; ++j) d[j] = combine(d[j], s[j]);
    }
  };
  if (reduction == ScatterReduction::kNone) {
    DispatchByElementSize(DataTypeSize(dtype), [&](auto tag) {
      using T = decltype(tag);
      run(tag, [](T, T b) { return b; });
    });
    return;
  }
  DispatchNumericOrBool(dtype, [&](auto tag) {
    using T = decltype(tag);
    switch (reduction) {
      case ScatterReduction::kAdd:
        run(tag, [](T a, T b) { return static_cast<T>(a + b); });
        break;
      case ScatterReduction::kMul:
        run(tag, [](T a, T b) { return static_cast<T>(a * b); });
        break;
      case ScatterReduction::kMax:
        run(tag, [](T a, T b) { return a < b ? b : a; });
        break;
      case ScatterReduction::kMin:
        run(tag, [](T a, T b) { return b < a ? b : a; });
        break;
      case ScatterReduction::kNone:
        break;
    }
  });
}

}  // namespace lwai

#endif  // LWAI_KERNELS_TENSOR_COMMON_H_
