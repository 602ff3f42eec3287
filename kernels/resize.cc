// Resize (ONNX 19): nearest / linear / cubic N-D resampling with every
// coordinate_transformation_mode, nearest_mode, cubic_coeff_a, exclude_outside,
// extrapolation_value, antialias, axes and keep_aspect_ratio_policy. Separable: one pass per
// resized axis, each output row a weighted sum of input rows ("taps") computed in prepare.
#include "kernels/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "kernels/dispatch.h"
#include "kernels/pool_group_common.h"
#include "kernels/resize.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

enum class Mode { kNearest, kLinear, kCubic };

struct AxisTaps {
  int64_t in = 0, out = 0;
  int taps = 1;                  // per output index
  std::vector<int64_t> index;    // out * taps input indices, clamped into [0, in)
  std::vector<double> weight;    // out * taps
  std::vector<uint8_t> outside;  // out: tf_crop_and_resize sample outside the input
};

struct ResizeState : OpState {
  Shape in_shape;
  std::vector<AxisTaps> axes;  // one per input axis
  std::vector<int> passes;     // axes that change, innermost first
  double extrapolation_value = 0;
  int64_t buffer_elements = 0;
};

struct Options {
  Mode mode = Mode::kNearest;
  std::string transform, nearest_mode;
  double cubic_a = -0.75;
  bool exclude_outside = false, antialias = false;
};

// The input coordinate of output index x, or false when tf_crop_and_resize samples outside.
bool SourceCoordinate(const Options& o, int64_t x, int64_t in, int64_t out, double scale,
                      double roi_start, double roi_end, double* result) {
  const double out_length = scale * static_cast<double>(in);
  const double xf = static_cast<double>(x);
  const std::string& t = o.transform;
  if (t == "align_corners") {
    *result = out_length == 1 ? 0.0 : xf * static_cast<double>(in - 1) / (out_length - 1);
  } else if (t == "asymmetric") {
    *result = xf / scale;
  } else if (t == "tf_crop_and_resize") {
    const double span = (roi_end - roi_start) * static_cast<double>(in - 1);
    *result = out_length == 1 ? span / 2 : xf * span / (out_length - 1);
    *result += roi_start * static_cast<double>(in - 1);
    return *result >= 0 && *result <= static_cast<double>(in - 1);
  } else if (t == "pytorch_half_pixel") {
    *result = out_length == 1 ? -0.5 : (xf + 0.5) / scale - 0.5;
  } else if (t == "half_pixel_symmetric") {
    const double adjustment = static_cast<double>(out) / out_length;
    const double offset = static_cast<double>(in) / 2 * (1 - adjustment);
    *result = offset + (xf + 0.5) / scale - 0.5;
  } else {  // half_pixel
    *result = (xf + 0.5) / scale - 0.5;
  }
  return true;
}

double KeysCubic(double x, double a) {
  x = std::abs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

// Fills the taps of one axis.
Status ComputeTaps(const KernelContext& ctx, const Options& o, double scale, double roi_start,
                   double roi_end, AxisTaps* axis) {
  const int64_t in = axis->in;
  // Taps per output index; with antialias the filter widens by 1/scale when downsampling.
  const double aa_scale = std::min(scale, 1.0);
  if (o.antialias && o.mode != Mode::kNearest && aa_scale < 1.0 / 1024) {
    return ctx.Unsupported(LWAI_MSG("an antialiased downscale by " + std::to_string(scale) +
                                    " would need too many filter taps"));
  }
  int64_t first = 0;
  int taps = 1;
  if (o.mode == Mode::kLinear) {
    first = o.antialias ? static_cast<int64_t>(std::floor(-1 / aa_scale)) + 1 : 0;
    taps = static_cast<int>(2 - 2 * first);
  } else if (o.mode == Mode::kCubic) {
    first = o.antialias ? static_cast<int64_t>(std::floor(-2 / aa_scale)) + 1 : -1;
    taps = static_cast<int>(2 - 2 * first);
  }
  axis->taps = taps;
  int64_t entries = 0;
  if (!CheckedMul(axis->out, taps, &entries))
    return ctx.ShapeMismatch(LWAI_MSG("output too large"));
  LWAI_RETURN_IF_ERROR(
      ctx.limits().CheckBytes(static_cast<uint64_t>(entries) * (sizeof(int64_t) + sizeof(double)),
                              {ctx.node(), "the interpolation taps"}));
  axis->index.assign(axis->out * taps, 0);
  axis->weight.assign(axis->out * taps, 0.0);
  axis->outside.assign(axis->out, 0);
  for (int64_t x = 0; x < axis->out; ++x) {
    int64_t* index = &axis->index[x * taps];
    double* weight = &axis->weight[x * taps];
    double src;
    if (!SourceCoordinate(o, x, in, axis->out, scale, roi_start, roi_end, &src)) {
      axis->outside[x] = 1;
      continue;
    }
    // A NaN or astronomically far source (from a hostile roi) reads nothing.
    if (!(std::abs(src) < 1e15)) {
      axis->outside[x] = 1;
      continue;
    }
    // Taps start left of src: base = ceil(src) - 1, ratio = src - base in (0, 1].
    const int64_t base = static_cast<int64_t>(std::ceil(src)) - 1;
    const double ratio = src - static_cast<double>(base);
    if (o.mode == Mode::kNearest) {
      bool up;  // round to base + 1 rather than base
      if (ratio == 1) {
        up = true;
      } else if (o.nearest_mode == "round_prefer_ceil") {
        up = ratio >= 0.5;
      } else if (o.nearest_mode == "floor") {
        up = false;
      } else if (o.nearest_mode == "ceil") {
        up = true;
      } else {
        up = ratio > 0.5;
      }
      index[0] = base + (up ? 1 : 0);
      weight[0] = 1;
    } else {
      double sum = 0;
      for (int t = 0; t < taps; ++t) {
        const int64_t i = first + t;
        index[t] = base + i;
        const double distance = static_cast<double>(i) - ratio;
        double w;
        if (o.mode == Mode::kLinear) {
          w = o.antialias ? std::max(0.0, 1 - std::abs(distance * aa_scale))
                          : 1 - std::abs(distance);
        } else {
          w = KeysCubic(o.antialias ? distance * aa_scale : distance, o.cubic_a);
        }
        if (o.exclude_outside && (index[t] < 0 || index[t] >= in)) w = 0;
        weight[t] = w;
        sum += w;
      }
      if ((o.antialias || o.exclude_outside) && sum != 0) {
        for (int t = 0; t < taps; ++t) weight[t] /= sum;
      }
    }
    for (int t = 0; t < taps; ++t) index[t] = std::min(std::max<int64_t>(index[t], 0), in - 1);
  }
  return Status::Ok();
}

bool IsIdentity(const AxisTaps& axis) {
  if (axis.in != axis.out) return false;
  for (int64_t x = 0; x < axis.out; ++x) {
    if (axis.outside[x]) return false;
    for (int t = 0; t < axis.taps; ++t) {
      const double w = axis.weight[x * axis.taps + t];
      if (w != 0 && (w != 1 || axis.index[x * axis.taps + t] != x)) return false;
    }
  }
  return true;
}

Status ParseOptions(const KernelContext& ctx, Options* o) {
  const Node& node = ctx.node();
  const std::string mode = node.GetString("mode", "nearest");
  if (mode == "nearest") {
    o->mode = Mode::kNearest;
  } else if (mode == "linear") {
    o->mode = Mode::kLinear;
  } else if (mode == "cubic") {
    o->mode = Mode::kCubic;
  } else {
    return ctx.InvalidModel(
        LWAI_MSG("attribute 'mode' must be nearest, linear or cubic, got '" + mode + "'"));
  }
  o->transform = node.GetString("coordinate_transformation_mode", "half_pixel");
  static const char* const kTransforms[] = {"half_pixel",         "half_pixel_symmetric",
                                            "pytorch_half_pixel", "align_corners",
                                            "asymmetric",         "tf_crop_and_resize"};
  if (std::find_if(std::begin(kTransforms), std::end(kTransforms),
                   [&](const char* t) { return o->transform == t; }) == std::end(kTransforms)) {
    return ctx.InvalidModel(
        LWAI_MSG("unknown coordinate_transformation_mode '" + o->transform + "'"));
  }
  o->nearest_mode = node.GetString("nearest_mode", "round_prefer_floor");
  if (o->nearest_mode != "round_prefer_floor" && o->nearest_mode != "round_prefer_ceil" &&
      o->nearest_mode != "floor" && o->nearest_mode != "ceil") {
    return ctx.InvalidModel(LWAI_MSG("unknown nearest_mode '" + o->nearest_mode + "'"));
  }
  o->cubic_a = node.GetFloat("cubic_coeff_a", -0.75f);
  o->exclude_outside = node.GetInt("exclude_outside", 0) != 0;
  o->antialias = node.GetInt("antialias", 0) != 0 && o->mode != Mode::kNearest;
  return Status::Ok();
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(1, 4));
  const TensorView& x = ctx.input(0);
  if (!DispatchNumeric(x.dtype, [](auto) {})) {
    return ctx.Unsupported(LWAI_MSG(std::string("input dtype ") + DataTypeName(x.dtype) +
                                    " is not supported (expected a float or integer type)"));
  }
  Options o;
  LWAI_RETURN_IF_ERROR(ParseOptions(ctx, &o));
  const int rank = x.shape.rank;
  if (rank < 1) return ctx.ShapeMismatch(LWAI_MSG("input must have rank >= 1, got a scalar"));
  std::vector<int64_t> axes = ctx.node().GetInts("axes");
  if (axes.empty()) {
    for (int d = 0; d < rank; ++d) axes.push_back(d);
  }
  uint32_t mask;
  LWAI_RETURN_IF_ERROR(AxesToMask(ctx, axes, rank, &mask));
  for (int64_t& a : axes) a = a < 0 ? a + rank : a;
  const size_t naxes = axes.size();

  std::vector<double> roi(2 * rank, 0.0);
  for (int d = 0; d < rank; ++d) roi[rank + d] = 1.0;
  if (o.transform == "tf_crop_and_resize" && ctx.has_input(1) && ctx.input(1).NumElements() > 0) {
    std::vector<double> values;
    LWAI_RETURN_IF_ERROR(ReadFloatTensor(ctx, 1, &values));
    if (values.size() != 2 * naxes) {
      return ctx.ShapeMismatch(LWAI_MSG("roi has " + std::to_string(values.size()) +
                                        " values, expected " + std::to_string(2 * naxes)));
    }
    for (size_t i = 0; i < naxes; ++i) {
      roi[axes[i]] = values[i];
      roi[rank + axes[i]] = values[naxes + i];
    }
  }
  const bool has_scales = ctx.has_input(2) && ctx.input(2).NumElements() > 0;
  const bool has_sizes = ctx.has_input(3) && ctx.input(3).NumElements() > 0;
  if (has_scales == has_sizes) {
    return ctx.InvalidModel(LWAI_MSG("exactly one of 'scales' and 'sizes' must be given"));
  }
  std::vector<double> scale(rank, 1.0);
  std::vector<int64_t> out(x.shape.dims, x.shape.dims + rank);
  if (has_scales) {
    std::vector<double> values;
    LWAI_RETURN_IF_ERROR(ReadFloatTensor(ctx, 2, &values));
    if (values.size() != naxes) {
      return ctx.ShapeMismatch(LWAI_MSG("scales has " + std::to_string(values.size()) +
                                        " values, expected " + std::to_string(naxes)));
    }
    for (size_t i = 0; i < naxes; ++i) {
      if (!(values[i] > 0) || !std::isfinite(values[i])) {
        return ctx.InvalidModel(
            LWAI_MSG("scales must be positive, got " + std::to_string(values[i])));
      }
      scale[axes[i]] = values[i];
      const double size = std::floor(values[i] * static_cast<double>(x.shape[axes[i]]));
      if (size >= 9.0e18) {
        return ctx.ShapeMismatch(LWAI_MSG("scales[" + std::to_string(i) +
                                          "] = " + std::to_string(values[i]) +
                                          " makes the output too large"));
      }
      out[axes[i]] = static_cast<int64_t>(size);
    }
  } else {
    std::vector<int64_t> sizes;
    LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 3, &sizes));
    if (sizes.size() != naxes) {
      return ctx.ShapeMismatch(LWAI_MSG("sizes has " + std::to_string(sizes.size()) +
                                        " values, expected " + std::to_string(naxes)));
    }
    const std::string policy = ctx.node().GetString("keep_aspect_ratio_policy", "stretch");
    if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller") {
      return ctx.InvalidModel(LWAI_MSG("unknown keep_aspect_ratio_policy '" + policy + "'"));
    }
    for (size_t i = 0; i < naxes; ++i) {
      if (sizes[i] < 0 || x.shape[axes[i]] == 0) {
        return ctx.InvalidModel(
            LWAI_MSG("sizes " + IntsToString(sizes) + " invalid for input " + x.shape.ToString()));
      }
      scale[axes[i]] = static_cast<double>(sizes[i]) / static_cast<double>(x.shape[axes[i]]);
      out[axes[i]] = sizes[i];
    }
    if (policy != "stretch") {
      double s = scale[axes[0]];
      for (size_t i = 1; i < naxes; ++i) {
        s = policy == "not_larger" ? std::min(s, scale[axes[i]]) : std::max(s, scale[axes[i]]);
      }
      for (size_t i = 0; i < naxes; ++i) {
        scale[axes[i]] = s;
        out[axes[i]] = static_cast<int64_t>(s * static_cast<double>(x.shape[axes[i]]) + 0.5);
      }
    }
  }

  auto state = std::make_unique<ResizeState>();
  ResizeState& s = *state;
  s.in_shape = x.shape;
  s.extrapolation_value = ctx.node().GetFloat("extrapolation_value", 0.0f);
  s.axes.resize(rank);
  Shape y_shape = x.shape;
  for (int d = 0; d < rank; ++d) {
    if (out[d] < 0 || out[d] > (int64_t{1} << 40)) {
      return ctx.InvalidModel(LWAI_MSG("output size " + std::to_string(out[d]) + " of axis " +
                                       std::to_string(d) + " is out of range"));
    }
    AxisTaps& axis = s.axes[d];
    axis.in = x.shape[d];
    axis.out = out[d];
    y_shape[d] = out[d];
    if (axis.in == 0 && axis.out > 0) {
      return ctx.ShapeMismatch(LWAI_MSG("cannot resize an empty axis " + std::to_string(d)));
    }
    LWAI_RETURN_IF_ERROR(ComputeTaps(ctx, o, scale[d], roi[d], roi[rank + d], &axis));
  }
  // Passes from the innermost axis out; the buffers hold the largest intermediate.
  Shape current = x.shape;
  s.buffer_elements = current.NumElements();
  for (int d = rank - 1; d >= 0; --d) {
    if (IsIdentity(s.axes[d])) continue;
    s.passes.push_back(d);
    current[d] = s.axes[d].out;
    s.buffer_elements = std::max(s.buffer_elements, current.NumElements());
  }
  ctx.output(0).dtype = x.dtype;
  ctx.output(0).shape = y_shape;
  if (!ctx.shape_only()) ctx.RequestScratch(2 * s.buffer_elements * sizeof(double));
  ctx.SetState(std::move(state));
  return Status::Ok();
}

// One pass along `axis` of a tensor of `shape`: dst = taps applied to src.
void ResamplePass(const AxisTaps& axis, const Shape& shape, int d, double extrapolation,
                  const double* src, double* dst) {
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; ++i) outer *= shape[i];
  for (int i = d + 1; i < shape.rank; ++i) inner *= shape[i];
  for (int64_t ou = 0; ou < outer; ++ou) {
    const double* in = src + ou * axis.in * inner;
    double* out = dst + ou * axis.out * inner;
    for (int64_t x = 0; x < axis.out; ++x) {
      double* row = out + x * inner;
      if (axis.outside[x]) {
        std::fill(row, row + inner, extrapolation);
        continue;
      }
      std::fill(row, row + inner, 0.0);
      for (int t = 0; t < axis.taps; ++t) {
        const double w = axis.weight[x * axis.taps + t];
        if (w == 0) continue;
        const double* in_row = in + axis.index[x * axis.taps + t] * inner;
        for (int64_t k = 0; k < inner; ++k) row[k] += w * in_row[k];
      }
    }
  }
}

Status Eval(KernelContext& ctx) {
  const ResizeState& s = *ctx.state<ResizeState>();
  const TensorView& x = ctx.input(0);
  TensorView& y = ctx.output(0);
  if (y.NumElements() == 0) return Status::Ok();
  double* buffers[2] = {static_cast<double*>(ctx.scratch()),
                        static_cast<double*>(ctx.scratch()) + s.buffer_elements};
  DispatchNumeric(x.dtype, [&](auto type) {
    using T = decltype(type);
    const T* in = x.Data<const T>();
    const int64_t n = x.NumElements();
    for (int64_t i = 0; i < n; ++i) buffers[0][i] = static_cast<double>(in[i]);
  });
  Shape shape = s.in_shape;
  int current = 0;
  for (int d : s.passes) {
    ResamplePass(s.axes[d], shape, d, s.extrapolation_value, buffers[current],
                 buffers[1 - current]);
    shape[d] = s.axes[d].out;
    current = 1 - current;
  }
  DispatchNumeric(y.dtype, [&](auto type) {
    using T = decltype(type);
    T* out = y.Data<T>();
    const double* result = buffers[current];
    const int64_t n = y.NumElements();
    for (int64_t i = 0; i < n; ++i) {
      const double v = result[i];
      if (!std::numeric_limits<T>::is_integer) {
        out[i] = static_cast<T>(v);
        continue;
      }
      // Round half to even and saturate, as ONNX's saturate_cast.
      const double r = std::nearbyint(v);
      if (std::isnan(r)) {
        out[i] = T(0);
      } else if (r <= static_cast<double>(std::numeric_limits<T>::lowest())) {
        out[i] = std::numeric_limits<T>::lowest();
      } else if (r >= static_cast<double>(std::numeric_limits<T>::max())) {
        out[i] = std::numeric_limits<T>::max();
      } else {
        out[i] = static_cast<T>(r);
      }
    }
  });
  return Status::Ok();
}

// Whether some output samples outside the input (tf_crop_and_resize's extrapolation).
bool SamplesOutside(const ResizeState& s) {
  for (const AxisTaps& axis : s.axes) {
    for (uint8_t outside : axis.outside) {
      if (outside) return true;
    }
  }
  return false;
}

// Whether only the last two axes change, with at most two taps per axis (the fast paths).
bool ResizesLastTwoAxes(const ResizeState& s) {
  const int rank = s.in_shape.rank;
  for (int d = 0; d < rank; ++d) {
    if ((d < rank - 2 && !IsIdentity(s.axes[d])) || s.axes[d].taps > 2) return false;
  }
  return true;
}

// Whether every output index of `axis` reads one input index with weight 1 (nearest).
bool SingleUnitTaps(const AxisTaps& axis) {
  if (axis.taps != 1) return false;
  for (double w : axis.weight) {
    if (w != 1.0) return false;
  }
  return true;
}

// dst = 0 + wa * a + wb * b over n values, a null source skipped (its weight was 0: a NaN or
// infinity under it must not reach the output), in the reference's order of operations.
void Blend(const float* a, float wa, const float* b, float wb, int64_t n, float* dst) {
  if (a != nullptr && b != nullptr) {
    for (int64_t i = 0; i < n; ++i) {
      float v = 0.0f;
      v += wa * a[i];
      v += wb * b[i];
      dst[i] = v;
    }
  } else if (a != nullptr || b != nullptr) {
    const float w = a != nullptr ? wa : wb;
    const float* src = a != nullptr ? a : b;
    for (int64_t i = 0; i < n; ++i) {
      float v = 0.0f;
      v += w * src[i];
      dst[i] = v;
    }
  } else {
    std::fill(dst, dst + n, 0.0f);
  }
}

// One input row resampled along W: cols.out pixels of `channels` floats, written densely to
// `out`. As the reference's passes, each value is 0 plus the products of its taps in order,
// taps of weight 0 skipped (a NaN or infinity under a zero weight does not reach the output).
void ResampleColumns(const AxisTaps& cols, const float* in_row, int64_t x_stride, int64_t channels,
                     float* out) {
  for (int64_t ox = 0; ox < cols.out; ++ox) {
    const int64_t* ix = &cols.index[ox * cols.taps];
    const double* wx = &cols.weight[ox * cols.taps];
    const bool use0 = wx[0] != 0.0, use1 = cols.taps > 1 && wx[1] != 0.0;
    const float* a = in_row + ix[0] * x_stride;
    const float* b = in_row + (cols.taps > 1 ? ix[1] : ix[0]) * x_stride;
    Blend(use0 ? a : nullptr, static_cast<float>(wx[0]), use1 ? b : nullptr,
          cols.taps > 1 ? static_cast<float>(wx[1]) : 0.0f, channels, out + ox * channels);
  }
}

// Output rows [row_begin, row_end) of one image resized along H and W with at most two taps
// per axis. The image is rows.in x cols.in pixels of `channels` floats, `x_stride` floats
// apart; output pixels are `y_stride` floats apart. Each input row is resampled along W once
// into `buffer` (2 * cols.out * channels floats) and output rows blend two of them.
void ResampleImageRows(const AxisTaps& rows, const AxisTaps& cols, const float* x, int64_t x_stride,
                       int64_t channels, int64_t row_begin, int64_t row_end, float* y,
                       int64_t y_stride, float* buffer) {
  const int64_t row_floats = cols.out * channels;
  if (SingleUnitTaps(rows) && SingleUnitTaps(cols)) {
    // Nearest: a gather of pixels, NaN included.
    for (int64_t oy = row_begin; oy < row_end; ++oy) {
      const float* in_row = x + rows.index[oy] * cols.in * x_stride;
      float* out_row = y + oy * cols.out * y_stride;
      for (int64_t ox = 0; ox < cols.out; ++ox) {
        std::memcpy(out_row + ox * y_stride, in_row + cols.index[ox] * x_stride,
                    channels * sizeof(float));
      }
    }
    return;
  }
  float* slot[2] = {buffer, buffer + row_floats};
  int64_t held[2] = {-1, -1};  // the input row each slot holds
  int older = 0;               // the slot to refill next, unless it holds the row being kept
  // Columns that map one to one are read in place.
  const bool columns_in_place = x_stride == channels && IsIdentity(cols);
  auto resampled = [&](int64_t iy, const float* keep) -> const float* {
    if (columns_in_place) return x + iy * cols.in * x_stride;
    for (int i = 0; i < 2; ++i) {
      if (held[i] == iy) return slot[i];
    }
    const int i = slot[older] == keep ? older ^ 1 : older;
    held[i] = iy;
    older = i ^ 1;
    ResampleColumns(cols, x + iy * cols.in * x_stride, x_stride, channels, slot[i]);
    return slot[i];
  };
  for (int64_t oy = row_begin; oy < row_end; ++oy) {
    const int64_t* iy = &rows.index[oy * rows.taps];
    const double* wy = &rows.weight[oy * rows.taps];
    const float w0 = static_cast<float>(wy[0]);
    const float w1 = rows.taps > 1 ? static_cast<float>(wy[1]) : 0.0f;
    const float* a = wy[0] != 0.0 ? resampled(iy[0], nullptr) : nullptr;
    const float* b = rows.taps > 1 && wy[1] != 0.0 ? resampled(iy[1], a) : nullptr;
    float* out_row = y + oy * cols.out * y_stride;
    // Dense rows blend as one run of floats; channel slices of a wider tensor pixel by pixel.
    const bool dense = y_stride == channels;
    const int64_t pixels = dense ? 1 : cols.out;
    const int64_t run = dense ? row_floats : channels;
    for (int64_t px = 0; px < pixels; ++px) {
      const int64_t o = px * channels;
      Blend(a != nullptr ? a + o : nullptr, w0, b != nullptr ? b + o : nullptr, w1, run,
            out_row + px * y_stride);
    }
  }
}

}  // namespace

extern const KernelRegistration kResizeKernel = {OpType::Resize, Prepare, Eval};

bool IsSpatialResize(const KernelContext& ctx) {
  const auto* s = ctx.state<ResizeState>();
  return s != nullptr && s->in_shape.rank >= 3 && ctx.input(0).dtype == DataType::kFloat32 &&
         !SamplesOutside(*s) && ResizesLastTwoAxes(*s);
}

Status EvalSpatialResize(KernelContext& ctx) {
  const ResizeState& s = *ctx.state<ResizeState>();
  const int rank = s.in_shape.rank;
  const AxisTaps& rows = s.axes[rank - 2];
  const AxisTaps& cols = s.axes[rank - 1];
  const int64_t planes = s.in_shape.NumElements() / std::max<int64_t>(1, rows.in * cols.in);
  const float* x = ctx.input(0).Data<const float>();
  float* y = ctx.output(0).Data<float>();
  if (ctx.output(0).NumElements() == 0) return Status::Ok();
  // Two resampled rows per plane fit the prepare's scratch (2 * buffer_elements doubles, at
  // least twice the output); a chunk of planes uses the buffer of its first plane.
  float* buffers = static_cast<float*>(ctx.scratch());
  const int64_t plane_work = rows.out * cols.out * rows.taps * cols.taps;
  const int64_t min_chunk = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, plane_work));
  ctx.thread_pool()->ParallelFor(planes, min_chunk, [&](int64_t begin, int64_t end) {
    float* buffer = buffers + begin * 2 * cols.out;
    for (int64_t p = begin; p < end; ++p) {
      ResampleImageRows(rows, cols, x + p * rows.in * cols.in, 1, 1, 0, rows.out,
                        y + p * rows.out * cols.out, 1, buffer);
    }
  });
  return Status::Ok();
}

Result<std::unique_ptr<NhwcResize>> NhwcResize::Prepare(KernelContext& ctx) {
  const TensorView& x = ctx.input(0);
  if (x.dtype != DataType::kFloat32 || x.shape.rank != 4) return std::unique_ptr<NhwcResize>();
  ctx.shape_only_ = true;
  LWAI_RETURN_IF_ERROR(kResizeKernel.prepare(ctx));
  const auto& s = static_cast<const ResizeState&>(*ctx.state_owner_);
  if (SamplesOutside(s)) return std::unique_ptr<NhwcResize>();
  const bool spatial = ResizesLastTwoAxes(s);
  auto resize = std::unique_ptr<NhwcResize>(new NhwcResize(std::move(ctx.state_owner_)));
  resize->spatial_ = spatial;
  return resize;
}

NhwcResize::~NhwcResize() = default;

// Resizes that also resample N or C, or take more than two taps per axis (never produced by
// the upsampling layers this class exists for, but valid ONNX): per output value, the
// reference's separable passes (W, then H, C and N, in double, zero weights skipped) evaluated
// as nested sums.
void NhwcResize::RunGeneric(const float* x, int64_t x_stride, float* y, int64_t y_stride,
                            ThreadPool* pool) const {
  const ResizeState& s = static_cast<const ResizeState&>(*state_);
  const AxisTaps& nb = s.axes[0];
  const AxisTaps& ch = s.axes[1];
  const AxisTaps& rows = s.axes[2];
  const AxisTaps& cols = s.axes[3];
  const int64_t out_pixels = nb.out * rows.out * cols.out;
  const int64_t work = std::max<int64_t>(1, ch.out * nb.taps * ch.taps * rows.taps * cols.taps);
  pool->ParallelFor(
      out_pixels, std::max<int64_t>(1, 16384 / work), [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) {
          const int64_t on = p / (rows.out * cols.out);
          const int64_t oy = p / cols.out % rows.out;
          const int64_t ox = p % cols.out;
          float* out = y + p * y_stride;
          for (int64_t oc = 0; oc < ch.out; ++oc) {
            double by_n = 0.0;
            for (int tn = 0; tn < nb.taps; ++tn) {
              const double wn = nb.weight[on * nb.taps + tn];
              if (wn == 0.0) continue;
              double by_c = 0.0;
              for (int tc = 0; tc < ch.taps; ++tc) {
                const double wc = ch.weight[oc * ch.taps + tc];
                if (wc == 0.0) continue;
                const int64_t c = ch.index[oc * ch.taps + tc];
                double by_y = 0.0;
                for (int ty = 0; ty < rows.taps; ++ty) {
                  const double wy = rows.weight[oy * rows.taps + ty];
                  if (wy == 0.0) continue;
                  const float* in_row = x + (nb.index[on * nb.taps + tn] * rows.in +
                                             rows.index[oy * rows.taps + ty]) *
                                                cols.in * x_stride;
                  double by_x = 0.0;
                  for (int tx = 0; tx < cols.taps; ++tx) {
                    const double wx = cols.weight[ox * cols.taps + tx];
                    if (wx != 0.0)
                      by_x += wx * in_row[cols.index[ox * cols.taps + tx] * x_stride + c];
                  }
                  by_y += wy * by_x;
                }
                by_c += wc * by_y;
              }
              by_n += wn * by_c;
            }
            out[oc] = static_cast<float>(by_n);
          }
        }
      });
}

size_t NhwcResize::ScratchBytes(int threads) const {
  const ResizeState& s = static_cast<const ResizeState&>(*state_);
  return static_cast<size_t>(std::max(1, threads)) * 2 * s.axes[3].out * s.in_shape[1] *
         sizeof(float);
}

void NhwcResize::Run(const float* x, int64_t x_stride, float* y, int64_t y_stride, void* scratch,
                     ThreadPool* pool) const {
  const ResizeState& s = static_cast<const ResizeState&>(*state_);
  const AxisTaps& rows = s.axes[2];
  const AxisTaps& cols = s.axes[3];
  const int64_t batch = s.in_shape[0], channels = s.in_shape[1];
  const int64_t total_rows = batch * rows.out;
  if (total_rows * cols.out * channels == 0) return;
  if (!spatial_) {
    RunGeneric(x, x_stride, y, y_stride, pool);
    return;
  }
  const int chunks =
      static_cast<int>(std::min<int64_t>(pool != nullptr ? pool->num_threads() : 1, total_rows));
  const int64_t per_chunk = (total_rows + chunks - 1) / chunks;
  auto run_chunk = [&](int64_t chunk) {
    float* buffer = static_cast<float*>(scratch) + chunk * 2 * cols.out * channels;
    for (int64_t r = chunk * per_chunk; r < std::min(total_rows, (chunk + 1) * per_chunk);) {
      // Rows of one image at a time.
      const int64_t n = r / rows.out;
      const int64_t end = std::min({total_rows, (chunk + 1) * per_chunk, (n + 1) * rows.out});
      ResampleImageRows(rows, cols, x + n * rows.in * cols.in * x_stride, x_stride, channels,
                        r - n * rows.out, end - n * rows.out,
                        y + n * rows.out * cols.out * y_stride, y_stride, buffer);
      r = end;
    }
  };
  if (pool == nullptr || chunks == 1) {
    run_chunk(0);
    return;
  }
  pool->ParallelFor(chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) run_chunk(c);
  });
}

}  // namespace lwai
