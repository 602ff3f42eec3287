// MelWeightMatrix (ONNX 17): [dft_length / 2 + 1, num_mel_bins] triangular filters on the mel
// scale, with the bin edges computed as onnx's reference implementation does (num_mel_bins + 2
// points, floor((dft_length + 1) * hz / sample_rate)).
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cast_common.h"
#include "kernels/common.h"
#include "kernels/signal_common.h"

namespace lwai {
namespace {

struct MelState : OpState {
  std::vector<int64_t> edges;  // num_mel_bins + 2 spectrogram bin indices
};

Status ReadFloatInput(const KernelContext& ctx, int i, const char* name, double* value) {
  const TensorView& t = ctx.input(i);
  if (t.data == nullptr) return ctx.ValueNeeded(i);
  if (t.NumElements() != 1 || (t.dtype != DataType::kFloat32 && t.dtype != DataType::kFloat64)) {
    return ctx.InvalidModel(LWAI_MSG(std::string("input '") + name +
                                     "' must be a float32 or float64 scalar, got " +
                                     DataTypeName(t.dtype) + " " + t.shape.ToString()));
  }
  *value = t.dtype == DataType::kFloat32 ? static_cast<double>(t.Data<const float>()[0])
                                         : t.Data<const double>()[0];
  return Status::Ok();
}

double HertzToMel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double MelToHertz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(5, 5));
  int64_t mel_bins = 0, dft_length = 0, sample_rate = 0;
  double lower = 0.0, upper = 0.0;
  LWAI_RETURN_IF_ERROR(ReadIntScalar(ctx, 0, "num_mel_bins", &mel_bins));
  LWAI_RETURN_IF_ERROR(ReadIntScalar(ctx, 1, "dft_length", &dft_length));
  LWAI_RETURN_IF_ERROR(ReadIntScalar(ctx, 2, "sample_rate", &sample_rate));
  LWAI_RETURN_IF_ERROR(ReadFloatInput(ctx, 3, "lower_edge_hertz", &lower));
  LWAI_RETURN_IF_ERROR(ReadFloatInput(ctx, 4, "upper_edge_hertz", &upper));
  if (mel_bins < 1 || dft_length < 1 || sample_rate < 1) {
    return ctx.InvalidModel(LWAI_MSG("num_mel_bins, dft_length and sample_rate must be >= 1, got " +
                                     std::to_string(mel_bins) + ", " + std::to_string(dft_length) +
                                     ", " + std::to_string(sample_rate)));
  }
  if (!(lower >= 0.0 && lower <= upper)) {
    return ctx.InvalidModel(LWAI_MSG("expected 0 <= lower_edge_hertz <= upper_edge_hertz, got " +
                                     std::to_string(lower) + " and " + std::to_string(upper)));
  }
  const int64_t dtype_attr = ctx.node().GetInt("output_datatype", 1);
  const DataType dtype = static_cast<DataType>(dtype_attr);
  if (dtype_attr < 0 || dtype_attr > 16 || dtype == DataType::kBool || !IsCastType(dtype)) {
    return ctx.Unsupported(LWAI_MSG("output_datatype " + std::to_string(dtype_attr) +
                                    " (supported: float, integer and unsigned types)"));
  }
  const int64_t spectrogram_bins = dft_length / 2 + 1;
  auto state = std::make_unique<MelState>();
  const int64_t points = mel_bins + 2;
  const double low_mel = HertzToMel(lower);
  const double mel_step = (HertzToMel(upper) - low_mel) / static_cast<double>(points);
  for (int64_t i = 0; i < points; ++i) {
    const double hz = MelToHertz(static_cast<double>(i) * mel_step + low_mel);
    const int64_t edge = static_cast<int64_t>(
        std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(sample_rate)));
    // The last edge is only an exclusive bound.
    const int64_t limit = i + 1 < points ? spectrogram_bins - 1 : spectrogram_bins;
    if (edge < 0 || edge > limit) {
      return ctx.InvalidModel(LWAI_MSG("mel bin edge " + std::to_string(i) +
                                       " falls on spectrogram bin " + std::to_string(edge) +
                                       ", outside [0, " + std::to_string(limit) + "]"));
    }
    state->edges.push_back(edge);
  }
  ctx.output(0).dtype = dtype;
  ctx.output(0).shape = Shape{spectrogram_bins, mel_bins};
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const std::vector<int64_t>& edges = ctx.state<MelState>()->edges;
  TensorView& y = ctx.output(0);
  const int64_t rows = y.shape[0], mel_bins = y.shape[1];
  VisitCastType(y.dtype, [&](auto type) {
    using Tag = typename decltype(type)::Tag;
    using Storage = typename decltype(type)::Storage;
    Storage* out = y.Data<Storage>();
    const Storage zero = StoreElement<Tag>(0.0);
    for (int64_t i = 0; i < rows * mel_bins; ++i) out[i] = zero;
    for (int64_t m = 0; m < mel_bins; ++m) {
      const int64_t left = edges[m], center = edges[m + 1], right = edges[m + 2];
      if (center == left) {
        out[center * mel_bins + m] = StoreElement<Tag>(1.0);
      } else {
        for (int64_t j = left; j <= center; ++j) {
          out[j * mel_bins + m] =
              StoreElement<Tag>(static_cast<double>(j - left) / static_cast<double>(center - left));
        }
      }
      for (int64_t j = center; j < right; ++j) {
        out[j * mel_bins + m] =
            StoreElement<Tag>(static_cast<double>(right - j) / static_cast<double>(right - center));
      }
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kMelWeightMatrixKernel = {OpType::MelWeightMatrix, Prepare, Eval};

}  // namespace lwai
