#include "backends/int8/int8_backend.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/common.h"
#include "kernels/conv_common.h"
#include "kernels/int8_elementwise.h"
#include "kernels/int8_gemm.h"
#include "kernels/shared_packing.h"
#include "kernels/spatial_common.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

// A kernel state that either runs the fast path or keeps the reference prepare's state (which
// may be null) to run the reference kernel.
struct WrappedState : OpState {
  bool fast = false;
  const char* fast_variant = "";  // names the fast path where a kernel has several
  std::unique_ptr<OpState> reference;
  const char* variant() const override { return fast ? fast_variant : "reference fallback"; }
};

Status EvalReference(KernelContext& ctx, const WrappedState& s) {
  return EvalReference(ctx, s.reference.get());
}

// A known scalar (one element) float32 scale that is positive and finite.
bool ScalarScale(const TensorView& t, float* value) {
  if (t.dtype != DataType::kFloat32 || t.data == nullptr || t.NumElements() != 1) return false;
  *value = t.Data<const float>()[0];
  return std::isfinite(*value) && *value > 0.0f;
}

// A known scalar zero point of `type` (absent: 0).
bool ScalarZeroPoint(const KernelContext& ctx, int index, DataType type, int32_t* value) {
  *value = 0;
  if (!ctx.has_input(index)) return true;
  const TensorView& t = ctx.input(index);
  if (t.dtype != type || t.data == nullptr || t.NumElements() != 1) return false;
  *value = type == DataType::kInt8 ? t.Data<const int8_t>()[0] : t.Data<const uint8_t>()[0];
  return true;
}

// The weights' zero points at `index` (absent: 0), one per row or one for all, in `type`; false
// when they are not known constants of that type and count.
bool WeightZeroPoints(const KernelContext& ctx, int index, DataType type, int64_t rows,
                      std::vector<int32_t>* values) {
  values->assign(1, 0);
  if (!ctx.has_input(index)) return true;
  const TensorView& t = ctx.input(index);
  const int64_t count = t.NumElements();
  if (t.dtype != type || t.data == nullptr || (count != 1 && count != rows)) return false;
  values->resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    (*values)[i] = type == DataType::kInt8 ? t.Data<const int8_t>()[i] : t.Data<const uint8_t>()[i];
  }
  return true;
}

// Packs the constant 8-bit weights at input `index` (rows x depth, or depth x rows when
// `by_columns`) with their zero points at `zero_point_index` (one, or one per row), shared
// across sessions. With `total_rows`, the tensor has that many rows and the packing takes
// `rows` of them from `first_row` (a group of a grouped convolution). Null when the zero points
// are not known constants of the weights' type.
Result<std::shared_ptr<const Int8GemmWeights>> PackWeights(KernelContext& ctx, int index,
                                                           int zero_point_index, int64_t rows,
                                                           int64_t depth, bool by_columns,
                                                           int64_t first_row = 0,
                                                           int64_t total_rows = 0) {
  const TensorView& w = ctx.input(index);
  if (total_rows == 0) total_rows = rows;
  std::vector<int32_t> zero_points;
  if (!IsByteType(w.dtype) || w.data == nullptr || (by_columns && total_rows != rows) ||
      !WeightZeroPoints(ctx, zero_point_index, w.dtype, total_rows, &zero_points)) {
    return std::shared_ptr<const Int8GemmWeights>();
  }
  if (zero_points.size() > 1) {
    zero_points = std::vector<int32_t>(zero_points.begin() + first_row,
                                       zero_points.begin() + first_row + rows);
  }
  const bool is_signed = w.dtype == DataType::kInt8;
  const bool plain = is_signed && std::all_of(zero_points.begin(), zero_points.end(),
                                              [](int32_t z) { return z == 0; });
  PackingKey key("int8gemm");
  key.Constant(w.data, ctx.IsModelConstant(index)).Param(rows).Param(depth).Param(by_columns);
  key.Param(first_row);
  // The same bytes may come with other zero points.
  key.Param(is_signed);
  for (int32_t z : zero_points) key.Param(z);
  return SharedPacking<Int8GemmWeights>(key, [&]() -> Result<std::unique_ptr<Int8GemmWeights>> {
    const uint8_t* bytes = w.Data<const uint8_t>() + first_row * depth;
    std::vector<uint8_t> row_major;
    if (by_columns) {
      row_major.resize(static_cast<size_t>(rows * depth));
      for (int64_t k = 0; k < depth; ++k) {
        for (int64_t m = 0; m < rows; ++m) row_major[m * depth + k] = bytes[k * rows + m];
      }
      bytes = row_major.data();
    }
    if (plain) {
      return Int8GemmWeights::Create(reinterpret_cast<const int8_t*>(bytes), rows, depth);
    }
    return Int8GemmWeights::CreateWithZeroPoints(bytes, is_signed, zero_points.data(),
                                                 static_cast<int64_t>(zero_points.size()), rows,
                                                 depth);
  });
}

// ---------------------------------------------------------------------------------------------
// QLinearConv

int64_t RoundUp16(int64_t n) { return (n + 15) / 16 * 16; }

enum ConvInput { kX, kXScale, kXZeroPoint, kW, kWScale, kWZeroPoint, kYScale, kYZeroPoint, kBias };

struct QConvState : WrappedState {
  ConvShape shape;
  bool x_signed = false;
  bool depthwise = false;
  bool pointwise = false;    // 1x1, stride 1, no padding: the input planes are B as they are
  uint8_t x_pad = 0;         // x's zero point as a byte of x: the padding value
  int32_t x_zero_point = 0;  // in x's own type
  // Not depthwise: the weights of each group (its output channels' rows).
  std::vector<std::shared_ptr<const Int8GemmWeights>> group_weights;
  std::vector<float> depthwise_taps;  // [C][kernel_size], weights less their zero points, as floats
  std::vector<int64_t> tap_offset;    // depthwise: each tap's first input in the padded plane
  std::vector<int32_t> row_offset;
  std::vector<float> row_scale;
  Int8Requantization rq;
  size_t col_bytes = 0;     // im2col rows of one image (0 when pointwise)
  size_t padded_bytes = 0;  // the padded image (0 when pointwise)
  int64_t padded_height = 0, padded_width = 0;
  int64_t depthwise_row = 0;  // 4-byte scratch values per thread
  int64_t plane_width = 0;    // depthwise: row stride of the padded float plane
  int64_t depthwise_plane_floats = 0, depthwise_sums = 0;  // per-thread scratch parts
  bool depthwise_flat = false;  // stride 1: each plane's sums are one run
  // Depthwise on bytes (Int8DepthwiseRow): the weights, the offsets with the zero point's
  // correction, and the padded uint8 plane's bytes per thread.
  bool depthwise_bytes = false;
  std::vector<int8_t> depthwise_weights;
  std::vector<int32_t> depthwise_offset;
  int64_t depthwise_plane_bytes = 0;
  bool read_in_place = false;  // uint8 image whose windows never leave it: no padded copy
  // Stride 1 without im2col: B's row for tap (c, ky, kx) is the padded image's run from that
  // tap's first input, flat_columns = oh x padded_width long (columns past ow wrap into the next
  // row and are computed, then dropped when the output rows are compacted).
  bool flat = false;
  std::vector<int64_t> flat_row_offsets;  // per B row (all groups)
  int64_t flat_columns = 0;
  size_t flat_out_bytes = 0;  // the uncompacted output of one image
};

// Makes a 1-D window geometry 2-D with a leading spatial axis of size 1.
void AddUnitRow(WindowGeometry* g) {
  for (int64_t* axis :
       {g->kernel, g->strides, g->dilations, g->pad_begin, g->pad_end, g->input, g->output}) {
    axis[1] = axis[0];
    axis[0] = 1;
  }
  g->pad_begin[0] = g->pad_end[0] = 0;
  g->spatial_rank = 2;
}

// sum_k (W[m][k] - z[m]) of output channel m (not depthwise).
int32_t RowSum(const QConvState& s, int64_t m) {
  const int64_t rows = s.shape.OutPerGroup();
  return s.group_weights[m / rows]->row_sums()[m % rows];
}

Status PrepareQLinearConv(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  if (ctx.shape_only()) return Status::Ok();
  auto state = std::make_unique<QConvState>();
  QConvState& s = *state;
  s.reference = std::move(ctx.state_owner_);
  auto fall_back = [&] {
    ctx.SetState(std::move(state));
    return Status::Ok();
  };
  const TensorView& x = ctx.input(kX);
  const TensorView& w = ctx.input(kW);
  const TensorView& w_scale = ctx.input(kWScale);
  float x_scale = 0, y_scale = 0;
  int32_t y_zero_point = 0;
  const DataType y_type = ctx.output(0).dtype;
  if (!IsByteType(x.dtype) || !IsByteType(w.dtype) || w.data == nullptr ||
      (x.shape.rank != 4 && x.shape.rank != 3) || !ScalarScale(ctx.input(kXScale), &x_scale) ||
      !ScalarScale(ctx.input(kYScale), &y_scale) ||
      !ScalarZeroPoint(ctx, kXZeroPoint, x.dtype, &s.x_zero_point) ||
      !ScalarZeroPoint(ctx, kYZeroPoint, y_type, &y_zero_point) ||
      w_scale.dtype != DataType::kFloat32 || w_scale.data == nullptr ||
      (ctx.has_input(kBias) && ctx.input(kBias).data == nullptr)) {
    return fall_back();
  }
  LWAI_RETURN_IF_ERROR(PrepareConvShape(ctx, kX, kW, &s.shape));
  // A 1-D convolution (N x C x L) runs as a 2-D one over N x C x 1 x L: the same bytes.
  if (s.shape.geometry.spatial_rank == 1) AddUnitRow(&s.shape.geometry);
  const ConvShape& c = s.shape;
  // Weights with zero points (uint8 weights, as ONNX Runtime's quantizers write them, or int8
  // ones with nonzero zero points): W - z spans up to 511 values.
  std::vector<int32_t> w_zero_points;
  if (!WeightZeroPoints(ctx, kWZeroPoint, w.dtype, c.out_channels, &w_zero_points)) {
    return fall_back();
  }
  const bool w_plain =
      w.dtype == DataType::kInt8 &&
      std::all_of(w_zero_points.begin(), w_zero_points.end(), [](int32_t z) { return z == 0; });
  const int64_t depth = c.ColRows();
  s.depthwise = c.groups > 1 && c.groups == c.in_channels && c.groups == c.out_channels;
  // Depthwise sums are exact in float up to 512 taps of int8 weights (256 of W - z).
  if (depth > 65536 || depth < 1 || c.out_channels < 1 || c.out_size <= 0 ||
      (s.depthwise && c.kernel_size > (w_plain ? 512 : 256))) {
    return fall_back();
  }
  FusedActivation activation;
  LWAI_RETURN_IF_ERROR(ParseFusedActivation(ctx, &activation));

  s.x_signed = x.dtype == DataType::kInt8;
  s.x_pad = static_cast<uint8_t>(s.x_zero_point & 0xFF);
  const float* w_scales = w_scale.Data<const float>();
  const int64_t num_w_scales = w_scale.NumElements();
  const int32_t* bias = ctx.has_input(kBias) ? ctx.input(kBias).Data<const int32_t>() : nullptr;
  s.row_offset.resize(static_cast<size_t>(c.out_channels));
  s.row_scale.resize(static_cast<size_t>(c.out_channels));
  if (s.depthwise) {
    const uint8_t* wd = w.Data<const uint8_t>();
    s.depthwise_taps.resize(static_cast<size_t>(c.out_channels * c.kernel_size));
    for (int64_t i = 0; i < c.out_channels * c.kernel_size; ++i) {
      const int32_t value =
          w.dtype == DataType::kInt8 ? static_cast<int32_t>(static_cast<int8_t>(wd[i])) : wd[i];
      s.depthwise_taps[i] = static_cast<float>(
          value - w_zero_points[w_zero_points.size() == 1 ? 0 : i / c.kernel_size]);
    }
  } else {
    const int64_t rows = c.OutPerGroup();
    for (int64_t g = 0; g < c.groups; ++g) {
      LWAI_ASSIGN_OR_RETURN(std::shared_ptr<const Int8GemmWeights> weights,
                            PackWeights(ctx, kW, kWZeroPoint, rows, depth, /*by_columns=*/false,
                                        g * rows, c.out_channels));
      s.group_weights.push_back(std::move(weights));
    }
  }
  // The GEMM sees uint8 inputs: an int8 x is shifted by 128, and so is its zero point.
  const int32_t x_zero_unsigned = s.x_signed ? s.x_zero_point + 128 : s.x_zero_point;
  for (int64_t m = 0; m < c.out_channels; ++m) {
    const float ws = w_scales[num_w_scales == 1 ? 0 : m];
    s.row_scale[m] = x_scale * ws / y_scale;
    const int32_t b = bias ? bias[m] : 0;
    // Depthwise sums subtract the zero point from each input value themselves.
    s.row_offset[m] = s.depthwise ? b
                                  : static_cast<int32_t>(static_cast<uint32_t>(b) -
                                                         static_cast<uint32_t>(x_zero_unsigned) *
                                                             static_cast<uint32_t>(RowSum(s, m)));
  }
  s.rq.row_offset = s.row_offset.data();
  s.rq.row_scale = s.row_scale.data();
  s.rq.y_zero_point = y_zero_point;
  s.rq.y_signed = y_type == DataType::kInt8;
  s.rq.y_min = s.rq.y_signed ? -128 : 0;
  s.rq.y_max = s.rq.y_signed ? 127 : 255;
  NarrowByFusedActivation(activation, y_scale, y_zero_point, &s.rq.y_min, &s.rq.y_max);

  const WindowGeometry& g = c.geometry;
  s.pointwise = c.kernel_size == 1 && g.strides[0] == 1 && g.strides[1] == 1 &&
                g.pad_begin[0] == 0 && g.pad_begin[1] == 0 && g.pad_end[0] == 0 &&
                g.pad_end[1] == 0;
  // Rows and columns of the padded image that the windows reach (at least the image).
  s.padded_height =
      std::max(g.pad_begin[0] + g.input[0],
               (g.output[0] - 1) * g.strides[0] + (g.kernel[0] - 1) * g.dilations[0] + 1);
  s.padded_width =
      std::max(g.pad_begin[1] + g.input[1],
               (g.output[1] - 1) * g.strides[1] + (g.kernel[1] - 1) * g.dilations[1] + 1);
  size_t scratch = 0;
  if (s.depthwise) {
    // Per thread: the padded float plane (one per column phase), a row of float sums and their
    // int32 copies; nothing for 1x1 planes (Int8ScaledRow works in registers).
    int64_t per_thread = 0;
    if (!s.pointwise) {
      s.plane_width = s.padded_width;
      s.depthwise_flat = g.strides[0] == 1 && g.strides[1] == 1;
      int64_t plane = 0, flat = 0;
      if (!CheckedMul(s.padded_height + 1, s.plane_width, &plane) ||
          !CheckedMul(g.output[0], s.plane_width, &flat) || plane > (int64_t{1} << 32)) {
        return ctx.ShapeMismatch(LWAI_MSG("quantized depthwise convolution too large"));
      }
      // The plane with a row and 32 floats of slack (the flat run reads past its last row), the
      // sums, the tap row pointers.
      s.depthwise_plane_floats = RoundUp16(plane + 32);
      s.depthwise_sums = RoundUp16((s.depthwise_flat ? flat : g.output[1]) + 16);
      per_thread = s.depthwise_plane_floats + s.depthwise_sums + 2 * c.kernel_size;
      s.tap_offset.clear();
      for (int64_t ky = 0; ky < g.kernel[0]; ++ky) {
        for (int64_t kx = 0; kx < g.kernel[1]; ++kx) {
          s.tap_offset.push_back(ky * g.dilations[0] * s.plane_width + kx * g.dilations[1]);
        }
      }
    }
    // Bytes need W - z as int8.
    const bool taps_fit_int8 =
        std::all_of(s.depthwise_taps.begin(), s.depthwise_taps.end(),
                    [](float tap) { return tap >= -128.0f && tap <= 127.0f; });
    s.depthwise_bytes = !s.pointwise && taps_fit_int8 && g.dilations[0] == 1 &&
                        g.dilations[1] == 1 && g.kernel[0] <= 8 &&
                        Int8DepthwiseRowSupported(g.kernel[1], g.strides[1]);
    if (s.depthwise_bytes) {
      // The padded plane as bytes and 128 bytes of slack (the rows' 64-byte loads run past it).
      s.depthwise_plane_bytes = (s.padded_height * s.padded_width + 128 + 63) / 64 * 64;
      // Then the tap row pointers and, for equal strides, the flat run's outputs.
      per_thread = s.depthwise_plane_bytes / 4 + RoundUp16(g.kernel[0]) * 2 +
                   (g.output[0] * s.padded_width + 64) / 4;
      s.depthwise_weights.assign(s.depthwise_taps.begin(), s.depthwise_taps.end());
      const int8_t* wd = s.depthwise_weights.data();
      const int32_t zero_byte = s.x_signed ? s.x_zero_point + 128 : s.x_zero_point;
      s.depthwise_offset.resize(static_cast<size_t>(c.out_channels));
      for (int64_t m = 0; m < c.out_channels; ++m) {
        int32_t taps = 0;
        for (int64_t t = 0; t < c.kernel_size; ++t) taps += wd[m * c.kernel_size + t];
        s.depthwise_offset[m] = s.row_offset[m] - zero_byte * taps;
      }
    }
    s.depthwise_row = (per_thread + 15) / 16 * 16;
    scratch = sizeof(int32_t) * static_cast<size_t>(s.depthwise_row) *
              static_cast<size_t>(ctx.thread_pool()->num_threads());
  } else {
    if (!s.pointwise) {
      int64_t padded = 0, col = 0;
      const int64_t dims[] = {c.in_channels, s.padded_height, s.padded_width};
      const int64_t col_dims[] = {depth, c.groups, c.out_size};
      if (!CheckedProduct(dims, 3, &padded) || !CheckedProduct(col_dims, 3, &col) ||
          padded > (int64_t{1} << 40) || col > (int64_t{1} << 40)) {
        return ctx.ShapeMismatch(LWAI_MSG("quantized convolution too large"));
      }
      // 64 bytes of slack after each: row copies run up to 31 bytes past their ends.
      s.padded_bytes = static_cast<size_t>(padded + 64 + 63) / 64 * 64;
      s.read_in_place = !s.x_signed && g.pad_begin[0] == 0 && g.pad_begin[1] == 0 &&
                        s.padded_height == g.input[0] && s.padded_width == g.input[1];
      s.col_bytes = static_cast<size_t>(col + 64 + 63) / 64 * 64;
      // Flat when its wrapped columns cost at most 10% more panels than the im2col's columns
      // (the copy it saves costs about that much): always where the output is 7x7 or 14x14.
      int64_t flat_columns = 0, flat_out = 0;
      const bool flat_fits = CheckedMul(g.output[0], s.padded_width, &flat_columns) &&
                             CheckedMul(c.out_channels, flat_columns, &flat_out) &&
                             flat_out < (int64_t{1} << 40);
      const int64_t flat_panels = (flat_columns + 31) / 32, panels = (c.out_size + 31) / 32;
      if (flat_fits && g.strides[0] == 1 && g.strides[1] == 1 && 10 * flat_panels <= 11 * panels) {
        s.flat = true;
        s.flat_columns = flat_columns;
        s.read_in_place = false;  // the runs read past the image: the padded copy has slack
        // The last tap's run ends (kw - 1) * dilation bytes past the padded image.
        s.padded_bytes += static_cast<size_t>((g.kernel[1] - 1) * g.dilations[1] + 63) / 64 * 64;
        s.col_bytes = 0;
        s.flat_out_bytes = static_cast<size_t>(flat_out + 63) / 64 * 64;
        const int64_t kh = g.kernel[0], kw = g.kernel[1];
        s.flat_row_offsets.resize(static_cast<size_t>(c.in_channels * kh * kw));
        for (int64_t row = 0; row < c.in_channels * kh * kw; ++row) {
          const int64_t channel = row / (kh * kw), ky = row / kw % kh, kx = row % kw;
          s.flat_row_offsets[row] = channel * s.padded_height * s.padded_width +
                                    ky * g.dilations[0] * s.padded_width + kx * g.dilations[1];
        }
      }
    }
    scratch = s.padded_bytes + s.col_bytes + s.flat_out_bytes +
              Int8GemmScratchBytes(depth, s.flat ? s.flat_columns : c.out_size,
                                   ctx.thread_pool()->num_threads());
  }
  ctx.RequestScratch(scratch);
  ctx.ReleaseConstantInput(kW);
  s.reference.reset();
  s.fast = true;
  if (s.depthwise) {
    s.fast_variant = s.depthwise_bytes ? "depthwise bytes" : "depthwise float sums";
  } else {
    const bool constants = std::any_of(s.group_weights.begin(), s.group_weights.end(),
                                       [](const auto& w) { return w->row_constants() != nullptr; });
    static const char* const kVariants[2][2][2] = {
        {{"gemm", "gemm, padded runs"},
         {"gemm, weight zero points", "gemm, weight zero points, padded runs"}},
        {{"grouped gemm", "grouped gemm, padded runs"},
         {"grouped gemm, weight zero points", "grouped gemm, weight zero points, padded runs"}}};
    s.fast_variant = kVariants[c.groups > 1][constants][s.flat];
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

// Copies one image into a buffer padded with x's zero point on every side the windows reach
// (padded_height x padded_width per channel), XORing each byte with `flip`.
void PadImage(const QConvState& s, const uint8_t* image, uint8_t flip, uint8_t* padded,
              ThreadPool* pool) {
  const ConvShape& c = s.shape;
  const WindowGeometry& g = c.geometry;
  const int64_t ih = g.input[0], iw = g.input[1], ph = s.padded_height, pw = s.padded_width;
  const int64_t top = g.pad_begin[0], left = g.pad_begin[1];
  const uint8_t pad = s.x_pad ^ flip;
  pool->ParallelFor(c.in_channels, 4, [&](int64_t begin, int64_t end) {
    for (int64_t ch = begin; ch < end; ++ch) {
      uint8_t* out = padded + ch * ph * pw;
      const uint8_t* in = image + ch * ih * iw;
      std::memset(out, pad, static_cast<size_t>(ph * pw));
      CopyByteRows(in, iw, out + top * pw + left, pw, ih, iw, flip);
    }
  });
}

// im2col of a padded image into depth x out_size bytes: each im2col row is one tap's window
// positions, copied by one call for all output rows.
void Im2ColPadded(const QConvState& s, const uint8_t* padded, uint8_t* col, ThreadPool* pool) {
  const ConvShape& c = s.shape;
  const WindowGeometry& g = c.geometry;
  const int64_t oh = g.output[0], ow = g.output[1], pw = s.padded_width;
  const int64_t kh = g.kernel[0], kw = g.kernel[1];
  const int64_t sy = g.strides[0], sx = g.strides[1];
  // The rows of every group, one after another.
  pool->ParallelFor(c.in_channels * c.kernel_size, 4, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t channel = row / (kh * kw), ky = row / kw % kh, kx = row % kw;
      const uint8_t* src =
          padded + channel * s.padded_height * pw + ky * g.dilations[0] * pw + kx * g.dilations[1];
      CopyByteRowsStrided(src, sy * pw, sx, col + row * oh * ow, ow, oh, ow);
    }
  });
}

// Depthwise windows on bytes: each plane copied (as uint8) into a plane padded with the zero
// point's byte, then Int8DepthwiseRow per output row.
template <typename X>
void DepthwiseBytePlanes(const QConvState& s, const X* x, uint8_t* y, int32_t* scratch,
                         ThreadPool* pool) {
  const ConvShape& c = s.shape;
  const WindowGeometry& g = c.geometry;
  const int64_t ih = g.input[0], iw = g.input[1], oh = g.output[0], ow = g.output[1];
  const int64_t kh = g.kernel[0], kw = g.kernel[1];
  const int64_t pw = s.padded_width, top = g.pad_begin[0], left = g.pad_begin[1];
  const uint8_t flip = s.x_signed ? 0x80 : 0;
  const uint8_t zero_byte = static_cast<uint8_t>((s.x_zero_point & 0xFF) ^ flip);
  const int threads = pool->num_threads();
  const int64_t planes = c.batch * c.out_channels;
  pool->ParallelFor(threads, 1, [&](int64_t task_begin, int64_t task_end) {
    for (int64_t task = task_begin; task < task_end; ++task) {
      uint8_t* padded = reinterpret_cast<uint8_t*>(scratch + task * s.depthwise_row);
      const uint8_t** rows = reinterpret_cast<const uint8_t**>(padded + s.depthwise_plane_bytes);
      uint8_t* flat =
          g.strides[0] == g.strides[1] ? reinterpret_cast<uint8_t*>(rows + RoundUp16(kh)) : nullptr;
      std::memset(padded, zero_byte, static_cast<size_t>(s.depthwise_plane_bytes));
      const int64_t begin = planes * task / threads, end = planes * (task + 1) / threads;
      for (int64_t plane = begin; plane < end; ++plane) {
        const int64_t channel = plane % c.out_channels;
        const uint8_t* in = reinterpret_cast<const uint8_t*>(x + plane * ih * iw);
        CopyByteRows(in, iw, padded + top * pw + left, pw, ih, iw, flip);
        const int8_t* w = s.depthwise_weights.data() + channel * kh * kw;
        uint8_t* out = y + plane * oh * ow;
        if (flat != nullptr) {
          // Equal strides: the plane is one run. Output (oy, ox) is flat output oy * pw + ox,
          // whose window starts `stride` times as far into the padded plane; the outputs past
          // each row's end are computed and dropped.
          for (int64_t ky = 0; ky < kh; ++ky) rows[ky] = padded + ky * pw;
          Int8DepthwiseRow(rows, kh, kw, g.strides[1], w, (oh - 1) * pw + ow,
                           s.depthwise_offset[channel], s.row_scale[channel], s.rq, flat);
          CopyByteRows(flat, pw, out, ow, oh, ow, 0);
          continue;
        }
        for (int64_t oy = 0; oy < oh; ++oy) {
          for (int64_t ky = 0; ky < kh; ++ky) rows[ky] = padded + (oy * g.strides[0] + ky) * pw;
          Int8DepthwiseRow(rows, kh, kw, g.strides[1], w, ow, s.depthwise_offset[channel],
                           s.row_scale[channel], s.rq, out + oy * ow);
        }
      }
    }
  });
}

template <typename X>
void DepthwisePlanes(const QConvState& s, const X* x, uint8_t* y, int32_t* acc_rows,
                     ThreadPool* pool) {
  const ConvShape& c = s.shape;
  const WindowGeometry& g = c.geometry;
  const int64_t ih = g.input[0], iw = g.input[1], oh = g.output[0], ow = g.output[1];
  const int64_t kh = g.kernel[0], kw = g.kernel[1];
  const int64_t sy = g.strides[0], sx = g.strides[1];
  const int32_t zx = s.x_zero_point;
  const int threads = pool->num_threads();
  const int64_t planes = c.batch * c.out_channels;
  if (s.pointwise) {  // a per-channel affine map (a BatchNormalization): runs of the plane
    pool->ParallelFor(threads, 1, [&](int64_t task_begin, int64_t task_end) {
      for (int64_t task = task_begin; task < task_end; ++task) {
        const int64_t begin = planes * task / threads, end = planes * (task + 1) / threads;
        for (int64_t plane = begin; plane < end; ++plane) {
          const int64_t channel = plane % c.out_channels;
          Int8ScaledRow(reinterpret_cast<const uint8_t*>(x + plane * c.in_size),
                        std::is_signed<X>::value, zx,
                        static_cast<int32_t>(s.depthwise_taps[channel]), c.in_size,
                        s.row_offset[channel], s.row_scale[channel], s.rq, y + plane * c.out_size);
        }
      }
    });
    return;
  }
  if (s.depthwise_bytes) {
    DepthwiseBytePlanes(s, x, y, acc_rows, pool);
    return;
  }
  // Windows: each plane is copied as floats x - zero point into a zero-padded plane (rows
  // plane_width apart), and every output sums its taps' inputs; the products and their sums are
  // exact in float (at most 512 taps of 255 * 128), so the int32 sums are too. With stride 1 the
  // whole plane is one run: output (oy, ox) is flat output oy * plane_width + ox, whose inputs
  // lie as far past each tap's offset; the outputs past each row's end are computed and dropped,
  // and no call is made per row.
  const int64_t pw = s.plane_width;
  const int64_t top = g.pad_begin[0], left = g.pad_begin[1];
  pool->ParallelFor(threads, 1, [&](int64_t task_begin, int64_t task_end) {
    for (int64_t task = task_begin; task < task_end; ++task) {
      float* padded = reinterpret_cast<float*>(acc_rows + task * s.depthwise_row);
      int32_t* sums = reinterpret_cast<int32_t*>(padded + s.depthwise_plane_floats);
      const float** rows = reinterpret_cast<const float**>(sums + s.depthwise_sums);
      const int64_t begin = planes * task / threads, end = planes * (task + 1) / threads;
      // The padding is zero for every plane: only the image part is written per plane.
      std::fill(padded, padded + s.depthwise_plane_floats, 0.0f);
      for (int64_t plane = begin; plane < end; ++plane) {
        const int64_t channel = plane % c.out_channels;
        CenteredFloats(reinterpret_cast<const uint8_t*>(x + plane * ih * iw), s.x_signed,
                       s.x_zero_point, ih, iw, padded + top * pw + left, pw);
        const float* taps = s.depthwise_taps.data() + channel * kh * kw;
        uint8_t* out = y + plane * oh * ow;
        if (s.depthwise_flat) {
          for (int64_t t = 0; t < kh * kw; ++t) rows[t] = padded + s.tap_offset[t];
          DepthwiseSumsRow(rows, taps, static_cast<int>(kh * kw), 1, oh * pw, sums);
          for (int64_t oy = 1; oy < oh; ++oy) {
            std::memmove(sums + oy * ow, sums + oy * pw, sizeof(int32_t) * ow);
          }
          Int8RequantizeRow(sums, oh * ow, s.row_offset[channel], s.row_scale[channel], s.rq, out);
          continue;
        }
        for (int64_t oy = 0; oy < oh; ++oy) {
          for (int64_t t = 0; t < kh * kw; ++t) {
            rows[t] = padded + s.tap_offset[t] + oy * sy * pw;
          }
          DepthwiseSumsRow(rows, taps, static_cast<int>(kh * kw), sx, ow, sums);
          Int8RequantizeRow(sums, ow, s.row_offset[channel], s.row_scale[channel], s.rq,
                            out + oy * ow);
        }
      }
    }
  });
}

Status EvalQLinearConv(KernelContext& ctx) {
  const QConvState& s = *ctx.state<QConvState>();
  if (!s.fast) return EvalReference(ctx, s);
  const ConvShape& c = s.shape;
  const uint8_t* x = static_cast<const uint8_t*>(ctx.input(kX).data);
  uint8_t* y = static_cast<uint8_t*>(ctx.output(0).data);
  ThreadPool* pool = ctx.thread_pool();
  if (s.depthwise) {
    int32_t* acc = static_cast<int32_t*>(ctx.scratch());
    if (s.x_signed) {
      DepthwisePlanes(s, reinterpret_cast<const int8_t*>(x), y, acc, pool);
    } else {
      DepthwisePlanes(s, x, y, acc, pool);
    }
    return Status::Ok();
  }
  uint8_t* padded = static_cast<uint8_t*>(ctx.scratch());
  uint8_t* col = padded + s.padded_bytes;
  uint8_t* flat_out = col + s.col_bytes;
  void* gemm_scratch = flat_out + s.flat_out_bytes;
  const uint8_t flip = s.x_signed ? 0x80 : 0;
  if (s.flat) {
    const WindowGeometry& g = c.geometry;
    const int64_t oh = g.output[0], ow = g.output[1], pw = s.padded_width;
    const int64_t b_rows = c.ColRows();
    for (int64_t n = 0; n < c.batch; ++n) {
      PadImage(s, x + n * c.in_channels * c.in_size, flip, padded, pool);
      for (int64_t group = 0; group < c.groups; ++group) {
        const int64_t first = group * c.OutPerGroup();
        Int8Requantization rq = s.rq;
        rq.row_offset += first;
        rq.row_scale += first;
        Int8Gemm(*s.group_weights[group], padded, 0, 0, s.flat_columns, rq,
                 flat_out + first * s.flat_columns, s.flat_columns, gemm_scratch, pool,
                 /*b_column_major=*/false, s.flat_row_offsets.data() + group * b_rows);
      }
      uint8_t* image_out = y + n * c.out_channels * c.out_size;
      pool->ParallelFor(c.out_channels, 16, [&](int64_t begin, int64_t end) {
        for (int64_t m = begin; m < end; ++m) {
          CopyByteRows(flat_out + m * s.flat_columns, pw, image_out + m * oh * ow, ow, oh, ow, 0);
        }
      });
    }
    return Status::Ok();
  }
  for (int64_t n = 0; n < c.batch; ++n) {
    const uint8_t* image = x + n * c.in_channels * c.in_size;
    const uint8_t* b = image;
    uint8_t b_flip = flip;
    if (!s.pointwise) {
      if (!s.read_in_place) PadImage(s, image, flip, padded, pool);
      Im2ColPadded(s, s.read_in_place ? image : padded, col, pool);
      b = col;
      b_flip = 0;
    }
    // Group g: its rows of B (input channels, or im2col rows) and its output channels.
    const int64_t b_rows = s.pointwise ? c.InPerGroup() : c.ColRows();
    for (int64_t g = 0; g < c.groups; ++g) {
      const int64_t first = g * c.OutPerGroup();
      Int8Requantization rq = s.rq;
      rq.row_offset += first;
      rq.row_scale += first;
      Int8Gemm(*s.group_weights[g], b + g * b_rows * c.out_size, c.out_size, b_flip, c.out_size, rq,
               y + (n * c.out_channels + first) * c.out_size, c.out_size, gemm_scratch, pool);
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// QuantizeLinear and DequantizeLinear with one float32 scale and zero point.

struct QuantizeState : WrappedState {
  float scale = 1;
  int32_t zero_point = 0;
  bool is_signed = false;
};

// Per-tensor parameters of QuantizeLinear (y = Q(x)) or DequantizeLinear (x = Q^-1(y)), with the
// 8-bit side's dtype `byte_type`.
bool PerTensorParameters(const KernelContext& ctx, DataType byte_type, QuantizeState* s) {
  if (!IsByteType(byte_type) || ctx.node().GetInt("block_size", 0) != 0) return false;
  const TensorView& scale = ctx.input(1);
  if (scale.dtype != DataType::kFloat32 || scale.data == nullptr || scale.NumElements() != 1) {
    return false;
  }
  s->scale = scale.Data<const float>()[0];
  s->is_signed = byte_type == DataType::kInt8;
  return ScalarZeroPoint(ctx, 2, byte_type, &s->zero_point);
}

// QuantizeLinear (float -> 8-bit) and DequantizeLinear (8-bit -> float) alike.
Status PrepareQuantizeOrDequantize(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  if (ctx.shape_only()) return Status::Ok();
  auto state = std::make_unique<QuantizeState>();
  state->reference = std::move(ctx.state_owner_);
  const bool quantize = ctx.node().op == OpType::QuantizeLinear;
  const DataType float_type = quantize ? ctx.input(0).dtype : ctx.output(0).dtype;
  const DataType byte_type = quantize ? ctx.output(0).dtype : ctx.input(0).dtype;
  state->fast =
      float_type == DataType::kFloat32 && PerTensorParameters(ctx, byte_type, state.get());
  if (state->fast) state->reference.reset();
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalQuantize(KernelContext& ctx) {
  const QuantizeState& s = *ctx.state<QuantizeState>();
  if (!s.fast) return EvalReference(ctx, s);
  const float* x = ctx.input(0).Data<const float>();
  void* y = ctx.output(0).data;
  ctx.thread_pool()->ParallelFor(ctx.input(0).NumElements(), 16384, [&](int64_t b, int64_t e) {
    if (s.is_signed) {
      QuantizeRange(x + b, static_cast<int8_t*>(y) + b, e - b, s.scale, s.zero_point);
    } else {
      QuantizeRange(x + b, static_cast<uint8_t*>(y) + b, e - b, s.scale, s.zero_point);
    }
  });
  return Status::Ok();
}

Status EvalDequantize(KernelContext& ctx) {
  const QuantizeState& s = *ctx.state<QuantizeState>();
  if (!s.fast) return EvalReference(ctx, s);
  const void* x = ctx.input(0).data;
  float* y = ctx.output(0).Data<float>();
  ctx.thread_pool()->ParallelFor(ctx.input(0).NumElements(), 16384, [&](int64_t b, int64_t e) {
    if (s.is_signed) {
      DequantizeRange(static_cast<const int8_t*>(x) + b, y + b, e - b, s.scale, s.zero_point);
    } else {
      DequantizeRange(static_cast<const uint8_t*>(x) + b, y + b, e - b, s.scale, s.zero_point);
    }
  });
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// QLinearAdd and QLinearMul with known scales and zero points, where B (or A) is the same shape
// as the output, one value, one value per plane of the output's trailing dims
// (squeeze-and-excitation gates), or one row repeated over the output's leading dims (biases).

struct QBinaryState : WrappedState {
  QLinearBinaryParams params;
  bool is_signed = false;
  bool swapped = false;                // A is the broadcast operand: run as B op A
  int64_t planes = 1, plane_size = 0;  // the broadcast operand has one value per plane
  bool full = false;                   // both operands have the output's shape
  bool rows = false;  // the broadcast operand is one plane, repeated `planes` times
};

// The output is `rows` repetitions of `small` (its trailing dims, after leading 1s).
bool RowBroadcast(const Shape& small, const Shape& out, int64_t* rows, int64_t* row_size) {
  int first = 0;
  while (first < small.rank && small[first] == 1) ++first;
  const int kept = small.rank - first;
  if (kept > out.rank) return false;
  for (int d = 0; d < kept; ++d) {
    if (small[first + d] != out[out.rank - kept + d]) return false;
  }
  *rows = 1;
  *row_size = 1;
  for (int d = 0; d < out.rank - kept; ++d) *rows *= out[d];
  for (int d = out.rank - kept; d < out.rank; ++d) *row_size *= out[d];
  return true;
}

// `small` with leading 1s up to `rank` (numpy broadcasting), or false when it has more dims.
bool PaddedToRank(const Shape& small, int rank, Shape* padded) {
  if (small.rank > rank) return false;
  const int lead = rank - small.rank;
  padded->rank = rank;
  for (int d = 0; d < rank; ++d) padded->dims[d] = d < lead ? 1 : small[d - lead];
  return true;
}

// The output is `planes` runs of `plane_size` values, and `small_shape` has one value per run.
bool PlaneBroadcast(const Shape& small_shape, const Shape& out, int64_t* planes,
                    int64_t* plane_size) {
  Shape small;
  if (!PaddedToRank(small_shape, out.rank, &small)) return false;
  int split = out.rank;
  while (split > 0 && small[split - 1] == 1) --split;
  for (int d = 0; d < split; ++d) {
    if (small[d] != out[d]) return false;
  }
  *planes = 1;
  *plane_size = 1;
  for (int d = 0; d < split; ++d) *planes *= out[d];
  for (int d = split; d < out.rank; ++d) *plane_size *= out[d];
  return true;
}

Status PrepareQBinary(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  if (ctx.shape_only()) return Status::Ok();
  auto state = std::make_unique<QBinaryState>();
  QBinaryState& s = *state;
  s.reference = std::move(ctx.state_owner_);
  bool known = true;
  for (int i = 1; i < 8; ++i) known = known && (i == 3 || !ctx.has_input(i) || ctx.input(i).data);
  const Shape& out = ctx.output(0).shape;
  const Shape& a = ctx.input(0).shape;
  const Shape& b = ctx.input(3).shape;
  if (known) {
    // Operands with the output's element count have its shape (up to leading 1s).
    if (a.NumElements() == out.NumElements() && b.NumElements() == out.NumElements()) {
      s.full = true;
    } else if (a == out && PlaneBroadcast(b, out, &s.planes, &s.plane_size)) {
    } else if (b == out && PlaneBroadcast(a, out, &s.planes, &s.plane_size)) {
      s.swapped = true;
    } else if (a == out && RowBroadcast(b, out, &s.planes, &s.plane_size)) {
      s.rows = true;
    } else if (b == out && RowBroadcast(a, out, &s.planes, &s.plane_size)) {
      s.rows = s.swapped = true;
    } else {
      known = false;
    }
  }
  if (known) {
    s.params = ReadQLinearBinaryParams(ctx);
    if (s.swapped) {
      std::swap(s.params.a_ratio, s.params.b_ratio);
      std::swap(s.params.a_zero_point, s.params.b_zero_point);
      if (s.params.multiply) s.params.a_ratio = s.params.b_ratio;
    }
    s.is_signed = ctx.output(0).dtype == DataType::kInt8;
    s.reference.reset();
    s.fast = true;
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalQBinary(KernelContext& ctx) {
  const QBinaryState& s = *ctx.state<QBinaryState>();
  if (!s.fast) return EvalReference(ctx, s);
  const uint8_t* a = static_cast<const uint8_t*>(ctx.input(s.swapped ? 3 : 0).data);
  const uint8_t* b = static_cast<const uint8_t*>(ctx.input(s.swapped ? 0 : 3).data);
  uint8_t* c = static_cast<uint8_t*>(ctx.output(0).data);
  ThreadPool* pool = ctx.thread_pool();
  if (s.full) {
    pool->ParallelFor(ctx.output(0).NumElements(), 16384, [&](int64_t begin, int64_t end) {
      QLinearBinaryRow(s.params, s.is_signed, a + begin, b + begin, 1, end - begin, c + begin);
    });
    return Status::Ok();
  }
  const int64_t min_planes = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, s.plane_size));
  pool->ParallelFor(s.planes, min_planes, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      QLinearBinaryRow(s.params, s.is_signed, a + p * s.plane_size, s.rows ? b : b + p,
                       s.rows ? 1 : 0, s.plane_size, c + p * s.plane_size);
    }
  });
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// QGemm with int8 constant weights (zero points 0), alpha 1 and a quantized output: the same int8
// GEMM with the weights as its rows, A^T as its columns and Y^T as its output.

enum QGemmInput {
  kGA,
  kGAScale,
  kGAZeroPoint,
  kGB,
  kGBScale,
  kGBZeroPoint,
  kGC,
  kGYScale,
  kGYZeroPoint
};

struct QGemmFastState : WrappedState {
  std::shared_ptr<const Int8GemmWeights> weights;
  std::vector<int32_t> row_offset;
  std::vector<float> row_scale;
  Int8Requantization rq;
  int64_t m = 0, n = 0, k = 0;
  bool a_signed = false;
};

Status PrepareQGemm(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  if (ctx.shape_only()) return Status::Ok();
  auto state = std::make_unique<QGemmFastState>();
  QGemmFastState& s = *state;
  s.reference = std::move(ctx.state_owner_);
  auto fall_back = [&] {
    ctx.SetState(std::move(state));
    return Status::Ok();
  };
  const TensorView& a = ctx.input(kGA);
  const TensorView& b = ctx.input(kGB);
  const TensorView& b_scale = ctx.input(kGBScale);
  float a_scale = 0, y_scale = 0;
  int32_t a_zp = 0, y_zp = 0;
  const DataType y_type = ctx.output(0).dtype;
  const bool trans_b = ctx.node().GetInt("transB", 0) != 0;
  if (!IsByteType(a.dtype) || !IsByteType(b.dtype) || b.data == nullptr || !IsByteType(y_type) ||
      ctx.node().GetInt("transA", 0) != 0 || ctx.node().GetFloat("alpha", 1.0f) != 1.0f ||
      !ScalarScale(ctx.input(kGAScale), &a_scale) || !ScalarScale(ctx.input(kGYScale), &y_scale) ||
      !ScalarZeroPoint(ctx, kGAZeroPoint, a.dtype, &a_zp) ||
      !ScalarZeroPoint(ctx, kGYZeroPoint, y_type, &y_zp) || b_scale.data == nullptr ||
      (ctx.has_input(kGC) && (ctx.input(kGC).data == nullptr || ctx.input(kGC).shape.rank != 1))) {
    return fall_back();
  }
  // A [..., K] (the reference checked the shapes): its leading dims are the rows.
  s.k = a.shape[a.shape.rank - 1];
  s.m = s.k > 0 ? a.NumElements() / s.k : 0;
  s.n = ctx.output(0).shape[ctx.output(0).shape.rank - 1];
  if (s.k > 65536 || s.k < 1 || s.m < 1 || s.n < 1) return fall_back();
  LWAI_ASSIGN_OR_RETURN(s.weights, PackWeights(ctx, kGB, kGBZeroPoint, s.n, s.k, !trans_b));
  if (s.weights == nullptr) return fall_back();
  s.a_signed = a.dtype == DataType::kInt8;
  const int32_t a_zero_unsigned = s.a_signed ? a_zp + 128 : a_zp;
  const int32_t* bias = ctx.has_input(kGC) ? ctx.input(kGC).Data<const int32_t>() : nullptr;
  const int64_t bias_count = bias ? ctx.input(kGC).NumElements() : 0;
  s.row_offset.resize(static_cast<size_t>(s.n));
  s.row_scale.resize(static_cast<size_t>(s.n));
  for (int64_t j = 0; j < s.n; ++j) {
    const float bs = b_scale.Data<const float>()[b_scale.NumElements() == 1 ? 0 : j];
    s.row_scale[j] = a_scale * bs / y_scale;
    const int32_t c = bias ? bias[bias_count == 1 ? 0 : j] : 0;
    s.row_offset[j] = static_cast<int32_t>(static_cast<uint32_t>(c) -
                                           static_cast<uint32_t>(a_zero_unsigned) *
                                               static_cast<uint32_t>(s.weights->row_sums()[j]));
  }
  s.rq.row_offset = s.row_offset.data();
  s.rq.row_scale = s.row_scale.data();
  s.rq.y_zero_point = y_zp;
  s.rq.y_signed = y_type == DataType::kInt8;
  s.rq.y_min = s.rq.y_signed ? -128 : 0;
  s.rq.y_max = s.rq.y_signed ? 127 : 255;
  FusedActivation activation;
  LWAI_RETURN_IF_ERROR(ParseFusedActivation(ctx, &activation));
  NarrowByFusedActivation(activation, y_scale, y_zp, &s.rq.y_min, &s.rq.y_max);
  // W [N, K] times A^T: A's rows are the GEMM's columns, Y^T its output, written transposed.
  s.rq.y_transposed = true;
  ctx.RequestScratch(Int8GemmScratchBytes(s.k, s.m, ctx.thread_pool()->num_threads()));
  ctx.ReleaseConstantInput(kGB);
  s.reference.reset();
  s.fast = true;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalQGemm(KernelContext& ctx) {
  const QGemmFastState& s = *ctx.state<QGemmFastState>();
  if (!s.fast) return EvalReference(ctx, s);
  const uint8_t* a = static_cast<const uint8_t*>(ctx.input(kGA).data);
  uint8_t* y = static_cast<uint8_t*>(ctx.output(0).data);
  const uint8_t flip = s.a_signed ? 0x80 : 0;
  Int8Gemm(*s.weights, a, s.k, flip, s.m, s.rq, y, s.n, ctx.scratch(), ctx.thread_pool(),
           /*b_column_major=*/true);
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// DynamicQuantizeMatMul with int8 constant weights (zero points 0): A quantized to uint8 per run
// straight into the GEMM's column layout (A^T), the int8 GEMM with float output (scale and bias
// applied in registers), Y^T transposed back when A has more than one row.

enum DynamicMatMulInput { kDA, kDB, kDBScale, kDBZeroPoint, kDBias };

struct DynamicMatMulState : WrappedState {
  std::shared_ptr<const Int8GemmWeights> weights;
  FusedActivation activation;
  std::vector<float> b_scale;  // per column of B
  const float* bias = nullptr;
  int64_t m = 0, n = 0, k = 0;
  size_t columns_bytes = 0;  // A quantized
};

Status PrepareDynamicMatMul(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  if (ctx.shape_only()) return Status::Ok();
  auto state = std::make_unique<DynamicMatMulState>();
  DynamicMatMulState& s = *state;
  s.reference = std::move(ctx.state_owner_);
  const TensorView& b = ctx.input(kDB);
  const TensorView& b_scale = ctx.input(kDBScale);
  s.k = b.shape[0];
  s.n = b.shape[1];
  s.m = s.k > 0 ? ctx.input(kDA).NumElements() / s.k : 0;
  if (!IsByteType(b.dtype) || b.data == nullptr || b_scale.data == nullptr ||
      (ctx.has_input(kDBias) && ctx.input(kDBias).data == nullptr) || s.k > 65536 || s.m == 0 ||
      s.n == 0) {
    ctx.SetState(std::move(state));
    return Status::Ok();
  }
  LWAI_ASSIGN_OR_RETURN(s.weights, PackWeights(ctx, kDB, kDBZeroPoint, s.n, s.k, true));
  if (s.weights == nullptr) {
    ctx.SetState(std::move(state));
    return Status::Ok();
  }
  s.b_scale.resize(static_cast<size_t>(s.n));
  for (int64_t j = 0; j < s.n; ++j) {
    s.b_scale[j] = b_scale.Data<const float>()[b_scale.NumElements() == 1 ? 0 : j];
  }
  s.bias = ctx.has_input(kDBias) ? ctx.input(kDBias).Data<const float>() : nullptr;
  LWAI_RETURN_IF_ERROR(ParseFusedActivation(ctx, &s.activation));
  // Scratch: A quantized [M][K], row offsets and scales, then the GEMM's panels.
  s.columns_bytes = static_cast<size_t>((s.k * s.m + 63) / 64 * 64);
  ctx.RequestScratch(s.columns_bytes + static_cast<size_t>(s.n) * 8 + 64 +
                     Int8GemmScratchBytes(s.k, s.m, ctx.thread_pool()->num_threads()));
  ctx.ReleaseConstantInput(kDB);
  s.reference.reset();
  s.fast = true;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status EvalDynamicMatMul(KernelContext& ctx) {
  const DynamicMatMulState& s = *ctx.state<DynamicMatMulState>();
  if (!s.fast) return EvalReference(ctx, s);
  const float* a = ctx.input(kDA).Data<const float>();
  float* y = ctx.output(0).Data<float>();
  uint8_t* scratch = static_cast<uint8_t*>(ctx.scratch());
  uint8_t* a_q = scratch;
  int32_t* row_offset = reinterpret_cast<int32_t*>(scratch + s.columns_bytes);
  float* row_scale = reinterpret_cast<float*>(row_offset + s.n);
  uint8_t* panels = scratch + s.columns_bytes + (static_cast<size_t>(s.n) * 8 + 63) / 64 * 64;
  const DynamicUint8Parameters p = DynamicUint8ParametersOf(a, s.m * s.k);
  QuantizeUint8Row(a, s.m * s.k, p, a_q);
  for (int64_t j = 0; j < s.n; ++j) {
    row_offset[j] = static_cast<int32_t>(static_cast<uint32_t>(0) -
                                         static_cast<uint32_t>(p.zero_point) *
                                             static_cast<uint32_t>(s.weights->row_sums()[j]));
    row_scale[j] = p.scale * s.b_scale[j];
  }
  // W [N, K] times A^T: A's rows are the GEMM's columns, Y^T its output written transposed.
  Int8Requantization rq;
  rq.row_offset = row_offset;
  rq.row_scale = row_scale;
  rq.row_bias = s.bias;
  rq.float_output = true;
  rq.y_transposed = true;
  Int8Gemm(*s.weights, a_q, s.k, 0, s.m, rq, y, s.n, panels, ctx.thread_pool(),
           /*b_column_major=*/true);
  if (s.activation.enabled) {
    for (int64_t e = 0; e < s.m * s.n; ++e) y[e] = ApplyActivation(s.activation, y[e]);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// MaxPool of uint8/int8 NCHW images (2-D windows, no indices output): each plane is copied into
// a buffer padded with the type's minimum and split by column phase modulo the stride, so every
// window tap is a contiguous run of bytes and each output row a few vector maxima.

struct QMaxPoolState : WrappedState {
  WindowGeometry g;
  int64_t planes = 0;
  int64_t padded_height = 0, phase_width = 0;
  int64_t per_thread = 0;    // scratch bytes
  int64_t planes_bytes = 0;  // the phase planes and their slack
  bool is_signed = false;
};

Status PrepareQMaxPool(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ReferenceOf(ctx).prepare(ctx));
  if (ctx.shape_only()) return Status::Ok();
  auto state = std::make_unique<QMaxPoolState>();
  QMaxPoolState& s = *state;
  s.reference = std::move(ctx.state_owner_);
  const TensorView& x = ctx.input(0);
  const std::vector<int64_t> kernel = ctx.node().GetInts("kernel_shape");
  if (IsByteType(x.dtype) && x.shape.rank == 4 && kernel.size() == 2 &&
      (ctx.num_outputs() < 2 || !ctx.has_output(1)) && ctx.node().GetInt("storage_order", 0) == 0) {
    LWAI_RETURN_IF_ERROR(ComputeWindowGeometry(ctx, x.shape, kernel.data(), true, &s.g));
    const WindowGeometry& g = s.g;
    const int64_t stride = g.strides[1];
    s.padded_height =
        std::max(g.pad_begin[0] + g.input[0],
                 (g.output[0] - 1) * g.strides[0] + (g.kernel[0] - 1) * g.dilations[0] + 1);
    const int64_t width =
        std::max(g.pad_begin[1] + g.input[1],
                 (g.output[1] - 1) * stride + (g.kernel[1] - 1) * g.dilations[1] + 1);
    s.phase_width = (width + stride - 1) / stride;
    int64_t plane = 0;
    const int64_t dims[] = {stride, s.padded_height, s.phase_width};
    if (CheckedProduct(dims, 3, &plane) && plane < (int64_t{1} << 30) && stride <= 16) {
      s.planes = x.shape[0] * x.shape[1];
      s.is_signed = x.dtype == DataType::kInt8;
      // The phase planes, then slack for the runs' reads past them, then the output run.
      s.planes_bytes = plane + g.strides[0] * s.phase_width + 64;
      s.per_thread =
          (s.planes_bytes + g.output[0] * g.strides[0] * s.phase_width + 64 + 63) / 64 * 64;
      ctx.RequestScratch(static_cast<size_t>(s.per_thread * ctx.thread_pool()->num_threads()));
      s.reference.reset();
      s.fast = true;
    }
  }
  ctx.SetState(std::move(state));
  return Status::Ok();
}

template <typename T>
void MaxPoolPlanes(const QMaxPoolState& s, const T* x, T* y, uint8_t* scratch, ThreadPool* pool) {
  const WindowGeometry& g = s.g;
  const int64_t ih = g.input[0], iw = g.input[1], oh = g.output[0], ow = g.output[1];
  const int64_t stride = g.strides[1], phase_width = s.phase_width, ph = s.padded_height;
  const int64_t run_width = g.strides[0] * phase_width;
  const T lowest = std::numeric_limits<T>::lowest();
  // Column c of a padded row lies in phase c % stride at index c / stride: per phase, the first
  // image column that lands there, its index, and how many do.
  struct PhaseRun {
    int64_t first = 0, offset = 0, count = 0;
  };
  PhaseRun runs[16];
  for (int64_t phase = 0; phase < stride; ++phase) {
    const int64_t first = ((phase - g.pad_begin[1]) % stride + stride) % stride;
    if (first >= iw) continue;
    runs[phase] = {first, (g.pad_begin[1] + first) / stride, (iw - first + stride - 1) / stride};
  }
  const int threads = pool->num_threads();
  pool->ParallelFor(threads, 1, [&](int64_t task_begin, int64_t task_end) {
    for (int64_t task = task_begin; task < task_end; ++task) {
      T* padded = reinterpret_cast<T*>(scratch + task * s.per_thread);
      T* row_max = padded + s.planes_bytes;
      std::fill(padded, padded + s.planes_bytes, lowest);
      const int64_t begin = s.planes * task / threads, end = s.planes * (task + 1) / threads;
      for (int64_t plane = begin; plane < end; ++plane) {
        const uint8_t* in = reinterpret_cast<const uint8_t*>(x + plane * ih * iw);
        for (int64_t phase = 0; phase < stride; ++phase) {
          const PhaseRun& run = runs[phase];
          if (run.count == 0) continue;
          uint8_t* to = reinterpret_cast<uint8_t*>(
              padded + (phase * ph + g.pad_begin[0]) * phase_width + run.offset);
          CopyByteRowsStrided(in + run.first, iw, stride, to, phase_width, ih, run.count);
        }
        // All output rows in one run per tap: output (oy, ox) is run position oy * run_width +
        // ox, whose tap inputs lie as far past the tap's first input (the positions past ow in
        // each row are computed from whatever lies there and dropped).
        std::fill(row_max, row_max + oh * run_width, lowest);
        for (int64_t ky = 0; ky < g.kernel[0]; ++ky) {
          for (int64_t kx = 0; kx < g.kernel[1]; ++kx) {
            const int64_t column = kx * g.dilations[1];
            const T* r = padded + ((column % stride) * ph + ky * g.dilations[0]) * phase_width +
                         column / stride;
            Int8MaxInto(reinterpret_cast<uint8_t*>(row_max), reinterpret_cast<const uint8_t*>(r),
                        oh * run_width, std::is_signed<T>::value);
          }
        }
        CopyByteRows(reinterpret_cast<const uint8_t*>(row_max), run_width,
                     reinterpret_cast<uint8_t*>(y + plane * oh * ow), ow, oh, ow, 0);
      }
    }
  });
}

Status EvalQMaxPool(KernelContext& ctx) {
  const QMaxPoolState& s = *ctx.state<QMaxPoolState>();
  if (!s.fast) return EvalReference(ctx, s);
  uint8_t* scratch = static_cast<uint8_t*>(ctx.scratch());
  if (s.is_signed) {
    MaxPoolPlanes(s, ctx.input(0).Data<const int8_t>(), ctx.output(0).Data<int8_t>(), scratch,
                  ctx.thread_pool());
  } else {
    MaxPoolPlanes(s, ctx.input(0).Data<const uint8_t>(), ctx.output(0).Data<uint8_t>(), scratch,
                  ctx.thread_pool());
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------

constexpr WrappingKernel kInt8Kernels[] = {
    {OpType::QLinearConv, PrepareQLinearConv, EvalQLinearConv},
    {OpType::QuantizeLinear, PrepareQuantizeOrDequantize, EvalQuantize},
    {OpType::DequantizeLinear, PrepareQuantizeOrDequantize, EvalDequantize},
    {OpType::QLinearAdd, PrepareQBinary, EvalQBinary},
    {OpType::QLinearMul, PrepareQBinary, EvalQBinary},
    {OpType::QGemm, PrepareQGemm, EvalQGemm},
    {OpType::MaxPool, PrepareQMaxPool, EvalQMaxPool},
    {OpType::DynamicQuantizeMatMul, PrepareDynamicMatMul, EvalDynamicMatMul},
};

const WrappingKernels& GetRegistrations() {
  static const WrappingKernels* registrations =
      new WrappingKernels(kInt8Kernels, sizeof(kInt8Kernels) / sizeof(kInt8Kernels[0]));
  return *registrations;
}

DataType DtypeOf(const Graph& graph, const Node& node, int i) {
  if (i >= static_cast<int>(node.inputs.size()) || node.inputs[i] < 0) {
    return DataType::kUndefined;
  }
  return graph.tensors[node.inputs[i]].dtype;
}

class Int8Backend : public Backend {
 public:
  const char* name() const override { return "int8"; }

  const KernelRegistration* Claim(const Graph& graph, const Node& node) const override {
    const KernelRegistration* kernel = GetRegistrations().Find(node.op);
    if (kernel == nullptr || node.outputs.empty()) return nullptr;
    switch (node.op) {
      case OpType::QLinearConv:
        // Weights packed at prepare: 8-bit constants.
        if (node.inputs.size() < 8 || node.inputs[kW] < 0 ||
            !graph.tensors[node.inputs[kW]].is_constant() ||
            !IsByteType(DtypeOf(graph, node, kW)) || !IsByteType(DtypeOf(graph, node, kX))) {
          return nullptr;
        }
        return kernel;
      case OpType::QuantizeLinear:
        return DtypeOf(graph, node, 0) == DataType::kFloat32 ? kernel : nullptr;
      case OpType::DequantizeLinear:
        return IsByteType(DtypeOf(graph, node, 0)) ? kernel : nullptr;
      case OpType::QLinearAdd:
      case OpType::QLinearMul:
        return IsByteType(DtypeOf(graph, node, 0)) ? kernel : nullptr;
      case OpType::MaxPool:
        return IsByteType(DtypeOf(graph, node, 0)) ? kernel : nullptr;
      case OpType::QGemm:
        return IsByteType(DtypeOf(graph, node, kGA)) && IsByteType(DtypeOf(graph, node, kGB))
                   ? kernel
                   : nullptr;
      case OpType::DynamicQuantizeMatMul:
        return IsByteType(DtypeOf(graph, node, kDB)) ? kernel : nullptr;
      default:
        return nullptr;
    }
  }
};

}  // namespace

Result<std::unique_ptr<Backend>> CreateInt8Backend() {
  GetRegistrations();
  return std::unique_ptr<Backend>(new Int8Backend());
}

}  // namespace lwai
