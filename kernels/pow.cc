// Pow (opset 15): elementwise base ^ exponent with numpy broadcasting; the exponent may have
// another numeric dtype than the base, and the output has the base's dtype.
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernels/binary_common.h"

namespace lwai {
namespace {

bool IsPowBaseType(DataType dtype) {
  return dtype == DataType::kFloat32 || dtype == DataType::kFloat64 || dtype == DataType::kInt32 ||
         dtype == DataType::kInt64;
}

// Integer base and exponent: exact (wrapping) integer power; the exponent is read as int64.
// Otherwise the power is computed in double.
bool UsesIntegerMath(const KernelContext& ctx) {
  return IsIntegerType(ctx.input(0).dtype) && IsIntegerType(ctx.input(1).dtype);
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const TensorView& base = ctx.input(0);
  const TensorView& exponent = ctx.input(1);
  if (!IsPowBaseType(base.dtype)) {
    return ctx.Unsupported(LWAI_MSG(std::string("base dtype ") + DataTypeName(base.dtype) +
                                    " (supported: float32, float64, int32, int64)"));
  }
  if (!IsNumericType(exponent.dtype)) {
    return ctx.Unsupported(LWAI_MSG(std::string("exponent dtype ") + DataTypeName(exponent.dtype) +
                                    " (supported: float32, float64, int8..int64, uint8..uint64)"));
  }
  Shape shape;
  Status status = BroadcastShapes(base.shape, exponent.shape, &shape);
  if (!status.ok()) return ctx.ShapeMismatch(LWAI_MSG(status.message()));
  ctx.output(0).shape = shape;
  ctx.output(0).dtype = base.dtype;
  // The exponent, converted to int64 or double (both 8 bytes).
  if (!ctx.shape_only()) ctx.RequestScratch(static_cast<size_t>(exponent.NumElements()) * 8);
  return Status::Ok();
}

template <typename T>
T IntegerPow(T base, int64_t exponent) {
  if (exponent < 0) {  // Only |base| == 1 has an integer result; numpy rejects the rest.
    if (base == 1) return 1;
    if constexpr (std::is_signed_v<T>) {
      if (base == -1) return (exponent & 1) ? T(-1) : T(1);
    }
    return 0;
  }
  WrapType<T> result = 1;
  WrapType<T> factor = static_cast<WrapType<T>>(base);
  for (uint64_t e = static_cast<uint64_t>(exponent); e != 0; e >>= 1) {
    if (e & 1) result *= factor;
    factor *= factor;
  }
  return static_cast<T>(result);
}

// float -> integer conversion like numpy's astype (truncation), saturating instead of
// undefined behavior for out-of-range values; NaN gives 0.
template <typename T>
T FloatToInteger(double v) {
  if (std::isnan(v)) return 0;
  if (v <= static_cast<double>(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
  if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

template <typename T>
void PowTyped(KernelContext& ctx, const TensorView& exponent) {
  const TensorView& base = ctx.input(0);
  TensorView& out = ctx.output(0);
  if constexpr (std::is_integral_v<T>) {
    if (exponent.dtype != DataType::kFloat32 && exponent.dtype != DataType::kFloat64) {
      BroadcastLoop<T, int64_t, T>(base, exponent, out, IntegerPow<T>);
      return;
    }
    BroadcastLoop<T, double, T>(base, exponent, out, [](T b, double e) {
      return FloatToInteger<T>(std::pow(static_cast<double>(b), e));
    });
  } else {
    BroadcastLoop<T, double, T>(base, exponent, out, [](T b, double e) {
      return static_cast<T>(std::pow(static_cast<double>(b), e));
    });
  }
}

// float32 base, one float exponent: the common cases without a double pow per element
// (x^2 of magnitudes and variances, x^0.5, x^3, 1/x), the rest with a float pow.
bool EvalFloatByScalar(KernelContext& ctx) {
  const TensorView& base = ctx.input(0);
  const TensorView& exponent = ctx.input(1);
  if (base.dtype != DataType::kFloat32 || exponent.NumElements() != 1 ||
      exponent.shape.rank > base.shape.rank) {
    return false;
  }
  float e = 0.0f;
  if (exponent.dtype == DataType::kFloat32) {
    e = *exponent.Data<const float>();
  } else if (exponent.dtype == DataType::kFloat64) {
    const double d = *exponent.Data<const double>();
    e = static_cast<float>(d);
    if (static_cast<double>(e) != d) return false;
  } else {
    return false;
  }
  const float* x = base.Data<const float>();
  float* y = ctx.output(0).Data<float>();
  const int64_t n = base.NumElements();
  if (e == 2.0f) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * x[i];
  } else if (e == 3.0f) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * x[i] * x[i];
  } else if (e == 1.0f) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i];
  } else if (e == -1.0f) {
    for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / x[i];
  } else if (e == 0.5f) {
    // pow(-inf, 0.5) is +inf and pow(-0, 0.5) is +0, where sqrt gives NaN and -0.
    constexpr float kInf = std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] == -kInf ? kInf : std::sqrt(x[i]) + 0.0f;
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = std::pow(x[i], e);
  }
  return true;
}

Status Eval(KernelContext& ctx) {
  if (EvalFloatByScalar(ctx)) return Status::Ok();
  const TensorView& exponent = ctx.input(1);
  // Convert the exponent into scratch: int64 for integer math, else double.
  TensorView converted = exponent;
  converted.data = ctx.scratch();
  const bool integer_math = UsesIntegerMath(ctx);
  const int64_t n = exponent.NumElements();
  DispatchNumeric(exponent.dtype, [&](auto t) {
    using E = decltype(t);
    const E* src = exponent.Data<const E>();
    if (integer_math) {
      int64_t* dst = static_cast<int64_t*>(ctx.scratch());
      for (int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_same_v<E, uint64_t>) {
          dst[i] = src[i] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                       ? std::numeric_limits<int64_t>::max()
                       : static_cast<int64_t>(src[i]);
        } else {
          dst[i] = static_cast<int64_t>(src[i]);
        }
      }
    } else {
      double* dst = static_cast<double*>(ctx.scratch());
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<double>(src[i]);
    }
  });
  converted.dtype = integer_math ? DataType::kInt64 : DataType::kFloat64;
  const DataType dtype = ctx.output(0).dtype;
  switch (dtype) {
    case DataType::kFloat32:
      PowTyped<float>(ctx, converted);
      break;
    case DataType::kFloat64:
      PowTyped<double>(ctx, converted);
      break;
    case DataType::kInt32:
      PowTyped<int32_t>(ctx, converted);
      break;
    case DataType::kInt64:
      PowTyped<int64_t>(ctx, converted);
      break;
    default:
      return UnsupportedDtype(ctx, dtype);
  }
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kPowKernel = {OpType::Pow, Prepare, Eval};

}  // namespace lwai
