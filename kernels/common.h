// Helpers shared by several reference kernels: broadcasting, axis handling, iteration.
#ifndef LWAI_KERNELS_COMMON_H_
#define LWAI_KERNELS_COMMON_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "kernels/kernel_api.h"

namespace lwai {

// Numpy-style multidirectional broadcasting of a and b into *out.
Status BroadcastShapes(const Shape& a, const Shape& b, Shape* out);

// Maps a possibly negative axis into [0, rank); returns false when out of range.
bool NormalizeAxis(int64_t axis, int rank, int* normalized);

// Row-major strides of `shape` (elements).
void ComputeStrides(const Shape& shape, int64_t* strides);

// Strides to read `in` as if broadcast to `out`: 0 along broadcast dims. `in` has rank
// <= out.rank and is aligned to the right.
void BroadcastStrides(const Shape& in, const Shape& out, int64_t* strides);

// Calls fn(out_index, a_index, b_index) for every element of `out` in row-major order, with
// a and b read through broadcast strides. Used by the reference binary operators.
template <typename Fn>
void ForEachBroadcast(const Shape& out, const int64_t* a_strides, const int64_t* b_strides,
                      const Fn& fn) {
  const int64_t total = out.NumElements();
  if (total == 0) return;
  const int rank = out.rank;
  if (rank == 0) {
    fn(0, 0, 0);
    return;
  }
  // Iterate the innermost dimension in a tight loop, the outer ones with a counter.
  int64_t index[kMaxRank] = {};
  const int64_t inner = out.dims[rank - 1];
  const int64_t a_inner = a_strides[rank - 1];
  const int64_t b_inner = b_strides[rank - 1];
  int64_t a_offset = 0, b_offset = 0;
  for (int64_t out_offset = 0; out_offset < total; out_offset += inner) {
    for (int64_t i = 0; i < inner; ++i)
      fn(out_offset + i, a_offset + i * a_inner, b_offset + i * b_inner);
    for (int d = rank - 2; d >= 0; --d) {
      ++index[d];
      a_offset += a_strides[d];
      b_offset += b_strides[d];
      if (index[d] < out.dims[d]) break;
      a_offset -= a_strides[d] * out.dims[d];
      b_offset -= b_strides[d] * out.dims[d];
      index[d] = 0;
    }
  }
}

// Unsupported (naming the dtype) unless input `input` is float32 or float64.
Status ExpectFloatInput(const KernelContext& ctx, int input);

// Reads an integer tensor known at prepare time (int32 or int64) into `values`.
Status ReadIntTensor(const KernelContext& ctx, int input, std::vector<int64_t>* values);
// Reads a float32 scalar known at prepare time.
Status ReadFloatScalar(const KernelContext& ctx, int input, float* value);

// Fused activations that Conv/Gemm apply to their output (set by the fusion pass as
// attributes "activation" = "Relu" | "Clip", with "activation_min"/"activation_max").
// Converts a double to an integer type without undefined behaviour: NaN gives `nan_value`,
// values beyond the type's range saturate (a plain static_cast of those is UB).
template <typename I>
I SaturatingCast(double v, I nan_value = I(0)) {
  static_assert(std::numeric_limits<I>::is_integer, "integer types only");
  if (v != v) return nan_value;
  // 2^63 and friends are exact doubles; max() of 64-bit types is not, so compare with >=.
  if (v >= static_cast<double>(std::numeric_limits<I>::max())) return std::numeric_limits<I>::max();
  if (v <= static_cast<double>(std::numeric_limits<I>::lowest())) {
    return std::numeric_limits<I>::lowest();
  }
  return static_cast<I>(v);
}

// int8 or uint8: the types of quantized tensors.
inline bool IsByteType(DataType t) { return t == DataType::kInt8 || t == DataType::kUInt8; }

struct FusedActivation {
  // Unbounded ends are infinite: a fused activation clamps finite values, never infinities.
  float min = -std::numeric_limits<float>::infinity();
  float max = std::numeric_limits<float>::infinity();
  bool enabled = false;
};
Status ParseFusedActivation(const KernelContext& ctx, FusedActivation* activation);
inline float ApplyActivation(const FusedActivation& act, float v) {
  return v < act.min ? act.min : (v > act.max ? act.max : v);
}

// Copies input 0's bytes to output 0 (same byte size), unless they share a buffer. For the
// operators that only change the shape (Identity, Reshape, Flatten, Squeeze, ...).
void CopyInputToOutput(KernelContext& ctx);

// Calls fn(T()) with the unsigned integer type of `size` bytes (1, 2, 4 or 8), for kernels
// that move elements without interpreting them. Returns false for other sizes.
template <typename Fn>
bool DispatchByElementSize(size_t size, const Fn& fn) {
  switch (size) {
    case 1:
      fn(uint8_t());
      return true;
    case 2:
      fn(uint16_t());
      return true;
    case 4:
      fn(uint32_t());
      return true;
    case 8:
      fn(uint64_t());
      return true;
    default:
      return false;
  }
}

// Normalizes possibly negative `axes` against `rank` into a bit mask (bit i: axis i). Errors
// (InvalidModel, naming the node) on out-of-range or repeated axes.
Status AxesToMask(const KernelContext& ctx, const std::vector<int64_t>& axes, int rank,
                  uint32_t* mask);

// "[1, 2, 3]" for error messages.
std::string IntsToString(const std::vector<int64_t>& values);

}  // namespace lwai

#endif  // LWAI_KERNELS_COMMON_H_
