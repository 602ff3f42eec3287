// Dropout (ONNX 22): without training_mode (input 2) or with ratio 0, the output is the input
// and the optional mask all true. In training mode each element is kept when a uniform [0, 1)
// draw is >= ratio and scaled by 1 / (1 - ratio); the draws reproduce numpy's
// RandomState(seed).uniform (MT19937, 53-bit doubles, row-major order), as ONNX's reference does.
#include <cstring>
#include <random>
#include <string>

#include "kernels/tensor_common.h"

namespace lwai {
namespace {

bool TrainingMode(const KernelContext& ctx) {
  if (!ctx.has_input(2)) return false;
  const TensorView& t = ctx.input(2);
  return t.data != nullptr && t.Data<const uint8_t>()[0] != 0;
}

double Ratio(const KernelContext& ctx) {
  if (!ctx.has_input(1) || ctx.input(1).data == nullptr) return 0.5;
  const TensorView& t = ctx.input(1);
  return t.dtype == DataType::kFloat64 ? t.Data<const double>()[0] : t.Data<const float>()[0];
}

bool IsFloat(DataType dtype) { return dtype == DataType::kFloat32 || dtype == DataType::kFloat64; }

// Training mode scales the values: only float inputs can do that.
Status TrainingDtypeError(const KernelContext& ctx) {
  return ctx.Unsupported(LWAI_MSG(std::string("training_mode with dtype ") +
                                  DataTypeName(ctx.input(0).dtype) +
                                  " (expected float32 or float64)"));
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 3));
  const TensorView& x = ctx.input(0);
  LWAI_RETURN_IF_ERROR(ExpectSizedDtype(ctx, x.dtype));
  if (ctx.has_input(1)) {
    const TensorView& ratio = ctx.input(1);
    if (ratio.NumElements() != 1 ||
        (ratio.dtype != DataType::kFloat32 && ratio.dtype != DataType::kFloat64)) {
      return ctx.InvalidModel(LWAI_MSG("ratio must be a float32 or float64 scalar, got " +
                                       std::string(DataTypeName(ratio.dtype)) + " " +
                                       ratio.shape.ToString()));
    }
  }
  if (ctx.has_input(2)) {
    LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(2, DataType::kBool));
    if (ctx.input(2).NumElements() != 1) {
      return ctx.ShapeMismatch(
          LWAI_MSG("training_mode must be a scalar, got " + ctx.input(2).shape.ToString()));
    }
    if (TrainingMode(ctx) && !IsFloat(x.dtype)) return TrainingDtypeError(ctx);
  }
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = x.shape;
  if (ctx.has_output(1)) {
    ctx.output(1).dtype = DataType::kBool;
    ctx.output(1).shape = x.shape;
  }
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const double ratio = Ratio(ctx);
  if (!TrainingMode(ctx) || ratio == 0) {
    CopyInputToOutput(ctx);
    if (ctx.has_output(1)) {
      TensorView& mask = ctx.output(1);
      if (mask.ByteSize() > 0) std::memset(mask.data, 1, mask.ByteSize());
    }
    return Status::Ok();
  }
  if (!(ratio > 0 && ratio < 1)) {
    return ctx.Error(
        StatusCode::kInvalidArgument,
        LWAI_MSG("ratio must be in [0, 1) in training mode, got " + std::to_string(ratio)));
  }
  const TensorView& x = ctx.input(0);
  if (!IsFloat(x.dtype)) return TrainingDtypeError(ctx);
  uint8_t* mask = ctx.has_output(1) ? ctx.output(1).Data<uint8_t>() : nullptr;
  std::mt19937 engine(static_cast<uint32_t>(ctx.node().GetInt("seed", 0)));
  DispatchFloat(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T scale = static_cast<T>(1) / (static_cast<T>(1) - static_cast<T>(ratio));
    const T* in = x.Data<const T>();
    T* out = ctx.output(0).Data<T>();
    const int64_t n = x.NumElements();
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t a = engine() >> 5, b = engine() >> 6;
      const double u = (a * 67108864.0 + b) / 9007199254740992.0;
      const bool keep = u >= ratio;
      out[i] = keep ? in[i] * scale : T(0);
      if (mask != nullptr) mask[i] = keep ? 1 : 0;
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kDropoutKernel = {OpType::Dropout, Prepare, Eval};

}  // namespace lwai
