// Cast (ONNX 19) between float32, float64, float16, int8, uint8, int16, int32, int64 and bool.
// Float to integer truncates toward zero and saturates at the target's range (NaN gives 0);
// anything to bool is x != 0; integer to integer wraps.
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>

#include "kernels/cast_common.h"
#include "kernels/common.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

struct Half {};  // tags for the element types whose storage is not their value type
struct Bool {};

template <typename T>
struct Type {
  using Tag = T;
  using Storage = T;
};
template <>
struct Type<Half> {
  using Tag = Half;
  using Storage = uint16_t;
};
template <>
struct Type<Bool> {
  using Tag = Bool;
  using Storage = uint8_t;
};

template <typename Fn>
bool VisitType(DataType dtype, const Fn& fn) {
  switch (dtype) {
    case DataType::kFloat32:
      fn(Type<float>());
      return true;
    case DataType::kFloat64:
      fn(Type<double>());
      return true;
    case DataType::kFloat16:
      fn(Type<Half>());
      return true;
    case DataType::kInt8:
      fn(Type<int8_t>());
      return true;
    case DataType::kUInt8:
      fn(Type<uint8_t>());
      return true;
    case DataType::kInt16:
      fn(Type<int16_t>());
      return true;
    case DataType::kInt32:
      fn(Type<int32_t>());
      return true;
    case DataType::kInt64:
      fn(Type<int64_t>());
      return true;
    case DataType::kBool:
      fn(Type<Bool>());
      return true;
    default:
      return false;
  }
}

// The value a stored element stands for: float for half, 0/1 for bool.
template <typename T>
auto Load(typename Type<T>::Storage v) {
  if constexpr (std::is_same_v<T, Half>) {
    return HalfToFloat(v);
  } else if constexpr (std::is_same_v<T, Bool>) {
    return static_cast<uint8_t>(v != 0);
  } else {
    return v;
  }
}

template <typename I>
I SaturatingTruncate(double v) {
  if (std::isnan(v)) return 0;
  const double t = std::trunc(v);
  if (t <= static_cast<double>(std::numeric_limits<I>::lowest())) {
    return std::numeric_limits<I>::lowest();
  }
  if (t >= static_cast<double>(std::numeric_limits<I>::max()) + 1.0) {
    return std::numeric_limits<I>::max();
  }
  return static_cast<I>(t);
}

template <typename To, typename V>
typename Type<To>::Storage Store(V v) {
  if constexpr (std::is_same_v<To, Bool>) {
    return v != 0 ? 1 : 0;
  } else if constexpr (std::is_same_v<To, Half>) {
    return DoubleToHalf(static_cast<double>(v));
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<V>) {
    return SaturatingTruncate<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const DataType from = ctx.input(0).dtype;
  if (ctx.node().FindAttribute("to") == nullptr) {
    return ctx.InvalidModel("attribute 'to' is required");
  }
  const int64_t to_attr = ctx.node().GetInt("to", 0);
  const DataType to = static_cast<DataType>(to_attr);
  const bool known_to = to_attr >= 0 && to_attr <= 16 && DataTypeSize(to) > 0;
  if (!VisitType(from, [](auto) {}) || !known_to || !VisitType(to, [](auto) {})) {
    return ctx.Unsupported(std::string("cast from ") + DataTypeName(from) + " to " +
                           (known_to ? DataTypeName(to) : std::to_string(to_attr)) +
                           " (supported: float32, float64, float16, int8, uint8, int16, int32, "
                           "int64, bool)");
  }
  ctx.output(0).dtype = to;
  ctx.output(0).shape = ctx.input(0).shape;
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const TensorView& x = ctx.input(0);
  TensorView& y = ctx.output(0);
  if (x.dtype == y.dtype) {
    CopyInputToOutput(ctx);
    return Status::Ok();
  }
  VisitType(x.dtype, [&](auto from) {
    VisitType(y.dtype, [&](auto to) {
      using FromTag = typename decltype(from)::Tag;
      using ToTag = typename decltype(to)::Tag;
      using From = typename decltype(from)::Storage;
      using To = typename decltype(to)::Storage;
      const From* in = x.Data<const From>();
      To* out = y.Data<To>();
      ctx.thread_pool()->ParallelFor(y.NumElements(), 16384, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) out[i] = Store<ToTag>(Load<FromTag>(in[i]));
      });
    });
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kCastKernel = {OpType::Cast, Prepare, Eval};

}  // namespace lwai
