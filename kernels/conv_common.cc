#include "kernels/conv_common.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/common.h"
#include "kernels/gemm.h"
#include "kernels/int8_elementwise.h"

namespace lwai {
namespace {

// Calls fn(channel, kernel_offset, row, inside, input_offset, kernel_last) for every row of the
// im2col matrix split by the last output axis: `row` indexes the output rows (all axes but
// the last), `inside` says whether the row lies in the image on every axis but the last, and
// `input_offset` is then the element offset (within the channel) of that image row.
template <typename Fn>
void ForEachColRow(const WindowGeometry& g, int64_t channels, const Fn& fn) {
  const int r = g.spatial_rank;
  const int64_t kernel_size = ProductOf(g.kernel, r);
  const int64_t rows = ProductOf(g.output, r - 1);
  if (ProductOf(g.output, r) == 0) return;
  int64_t kpos[kMaxSpatialRank] = {};
  int64_t opos[kMaxSpatialRank] = {};
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t k = 0; k < kernel_size; ++k) {
      for (int64_t rest = k, d = r - 1; d >= 0; --d) {
        kpos[d] = rest % g.kernel[d];
        rest /= g.kernel[d];
      }
      for (int64_t row = 0; row < rows; ++row) {
        for (int64_t rest = row, d = r - 2; d >= 0; --d) {
          opos[d] = rest % g.output[d];
          rest /= g.output[d];
        }
        int64_t offset = 0;
        bool inside = true;
        for (int d = 0; d + 1 < r; ++d) {
          const int64_t coord = opos[d] * g.strides[d] - g.pad_begin[d] + kpos[d] * g.dilations[d];
          inside &= coord >= 0 && coord < g.input[d];
          offset = offset * g.input[d] + coord;
        }
        fn(c, k, row, inside, offset * g.input[r - 1], kpos[r - 1]);
      }
    }
  }
}

void IntsToInt32(const void* src, DataType type, int64_t count, int32_t zero_point, int32_t* dst) {
  if (type == DataType::kUInt8) {
    const uint8_t* s = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<int32_t>(s[i]) - zero_point;
  } else {
    const int8_t* s = static_cast<const int8_t*>(src);
    for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<int32_t>(s[i]) - zero_point;
  }
}

size_t Align64(size_t bytes) { return (bytes + 63) / 64 * 64; }

}  // namespace

Status PrepareConvShape(KernelContext& ctx, int x_index, int w_index, ConvShape* s) {
  const Shape& x = ctx.input(x_index).shape;
  const Shape& w = ctx.input(w_index).shape;
  if (x.rank < 3) {
    return ctx.ShapeMismatch(LWAI_MSG("input must be N x C x spatial..., got " + x.ToString()));
  }
  if (w.rank != x.rank) {
    return ctx.ShapeMismatch(LWAI_MSG("weight " + w.ToString() + " must have the input's rank " +
                                      std::to_string(x.rank)));
  }
  s->groups = ctx.node().GetInt("group", 1);
  s->batch = x[0];
  s->in_channels = x[1];
  s->out_channels = w[0];
  if (s->groups < 1 || s->in_channels % s->groups != 0 || s->out_channels % s->groups != 0 ||
      w[1] * s->groups != s->in_channels) {
    return ctx.ShapeMismatch(LWAI_MSG("input channels " + std::to_string(s->in_channels) +
                                      ", weight " + w.ToString() + " and group " +
                                      std::to_string(s->groups) + " do not fit together"));
  }
  const std::vector<int64_t> kernel_attr = ctx.node().GetInts("kernel_shape");
  if (!kernel_attr.empty()) {
    bool match = static_cast<int>(kernel_attr.size()) == w.rank - 2;
    for (int i = 0; match && i + 2 < w.rank; ++i) match = kernel_attr[i] == w[i + 2];
    if (!match) {
      return ctx.ShapeMismatch(LWAI_MSG("kernel_shape " + IntsToString(kernel_attr) +
                                        " does not match weight " + w.ToString()));
    }
  }
  LWAI_RETURN_IF_ERROR(ComputeWindowGeometry(ctx, x, &w.dims[2], false, &s->geometry));
  const WindowGeometry& g = s->geometry;
  s->in_size = ProductOf(g.input, g.spatial_rank);
  s->out_size = ProductOf(g.output, g.spatial_rank);
  s->kernel_size = ProductOf(g.kernel, g.spatial_rank);
  TensorView& y = ctx.output(0);
  y.shape = x;
  y.shape[1] = s->out_channels;
  for (int i = 0; i < g.spatial_rank; ++i) y.shape[i + 2] = g.output[i];
  return Status::Ok();
}

Status ComputeTransposeGeometry(const KernelContext& ctx, const Shape& x, const int64_t* kernel,
                                WindowGeometry* g) {
  if (x.rank < 3) {
    return ctx.ShapeMismatch(LWAI_MSG("input must be N x C x spatial..., got " + x.ToString()));
  }
  const int rank = x.rank - 2;
  g->spatial_rank = rank;
  const Node& node = ctx.node();
  std::vector<int64_t> strides = node.GetInts("strides");
  std::vector<int64_t> dilations = node.GetInts("dilations");
  std::vector<int64_t> output_padding = node.GetInts("output_padding");
  std::vector<int64_t> pads = node.GetInts("pads");
  std::vector<int64_t> output_shape = node.GetInts("output_shape");
  const std::string auto_pad = node.GetString("auto_pad", "NOTSET");
  if (strides.empty()) strides.assign(rank, 1);
  if (dilations.empty()) dilations.assign(rank, 1);
  if (output_padding.empty()) output_padding.assign(rank, 0);
  if (pads.empty()) pads.assign(2 * rank, 0);
  // A full N x C x spatial output_shape is accepted too.
  if (static_cast<int>(output_shape.size()) == rank + 2) {
    output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
  }
  const std::pair<const char*, const std::vector<int64_t>*> checks[] = {
      {"strides", &strides}, {"dilations", &dilations}, {"output_padding", &output_padding}};
  for (const auto& check : checks) {
    if (static_cast<int>(check.second->size()) != rank) {
      return ctx.InvalidModel(LWAI_MSG(std::string("attribute '") + check.first + "' has " +
                                       std::to_string(check.second->size()) + " values, expected " +
                                       std::to_string(rank)));
    }
  }
  if (static_cast<int>(pads.size()) != 2 * rank) {
    return ctx.InvalidModel(LWAI_MSG("attribute 'pads' has " + std::to_string(pads.size()) +
                                     " values, expected " + std::to_string(2 * rank)));
  }
  if (!output_shape.empty() && static_cast<int>(output_shape.size()) != rank) {
    return ctx.InvalidModel(LWAI_MSG("attribute 'output_shape' has " +
                                     std::to_string(output_shape.size()) + " values, expected " +
                                     std::to_string(rank)));
  }
  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  if (!same && auto_pad != "VALID" && auto_pad != "NOTSET" && !auto_pad.empty()) {
    return ctx.InvalidModel(LWAI_MSG("unknown auto_pad '" + auto_pad + "'"));
  }
  for (int i = 0; i < rank; ++i) {
    const int64_t in = x.dims[i + 2], k = kernel[i], s = strides[i], d = dilations[i];
    if (k < 1 || s < 1 || d < 1 || output_padding[i] < 0) {
      return ctx.InvalidModel(
          LWAI_MSG("kernel size, strides and dilations must be >= 1 and "
                   "output_padding >= 0 (axis " +
                   std::to_string(i) + ": kernel " + std::to_string(k) + ", stride " +
                   std::to_string(s) + ", dilation " + std::to_string(d) + ", output_padding " +
                   std::to_string(output_padding[i]) + ")"));
    }
    // Bounded so that the arithmetic below cannot overflow (dims are at most 2^40).
    constexpr int64_t kLimit = int64_t{1} << 31;
    const bool shape_ok =
        output_shape.empty() || (output_shape[i] >= 0 && output_shape[i] <= (int64_t{1} << 40));
    if (k >= kLimit || s >= kLimit || d >= kLimit || output_padding[i] >= kLimit || in < 0 ||
        in > (int64_t{1} << 40) || !shape_ok ||
        (!pads.empty() && !(pads[i] > -kLimit && pads[i] < kLimit && pads[i + rank] > -kLimit &&
                            pads[i + rank] < kLimit))) {
      return ctx.Unsupported(
          LWAI_MSG("kernel, strides, dilations, pads and output_padding must be below "
                   "2^31 and the input and output_shape at most 2^40 (axis " +
                   std::to_string(i) + ")"));
    }
    int64_t full = 0;
    if (!CheckedMul(s, in - 1, &full) ||
        !CheckedAdd(full, output_padding[i] + (k - 1) * d + 1, &full)) {
      return ctx.ShapeMismatch(LWAI_MSG("output size overflows on axis " + std::to_string(i)));
    }
    int64_t out = 0;
    if (!output_shape.empty() || same) {
      out = output_shape.empty() ? 0 : output_shape[i];
      if (output_shape.empty() && !CheckedMul(in, s, &out)) {
        return ctx.ShapeMismatch(LWAI_MSG("output size overflows on axis " + std::to_string(i)));
      }
      const int64_t total = full - out;
      // Floor division, so that negative totals (an output_shape larger than the full
      // result) put the extra cells at the end.
      const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      g->pad_begin[i] = auto_pad == "SAME_UPPER" ? half : total - half;
    } else {
      const int64_t begin = auto_pad == "VALID" ? 0 : pads[i];
      const int64_t end = auto_pad == "VALID" ? 0 : pads[i + rank];
      g->pad_begin[i] = begin;
      out = full - begin - end;
    }
    if (out < 0) {
      return ctx.ShapeMismatch(LWAI_MSG("output size on spatial axis " + std::to_string(i) +
                                        " would be negative (" + std::to_string(out) + ")"));
    }
    g->pad_end[i] = full - out - g->pad_begin[i];
    g->input[i] = out;
    g->output[i] = in;
    g->kernel[i] = k;
    g->strides[i] = s;
    g->dilations[i] = d;
  }
  return Status::Ok();
}

template <typename T>
void Im2ColNd(const WindowGeometry& g, const T* image, int64_t channels, T* col) {
  const int r = g.spatial_rank;
  const int64_t in_size = ProductOf(g.input, r);
  const int64_t out_size = ProductOf(g.output, r);
  const int64_t kernel_size = ProductOf(g.kernel, r);
  const int64_t width = g.output[r - 1], in_width = g.input[r - 1];
  const int64_t stride = g.strides[r - 1], dilation = g.dilations[r - 1];
  const int64_t pad = g.pad_begin[r - 1];
  ForEachColRow(g, channels,
                [&](int64_t c, int64_t k, int64_t row, bool inside, int64_t offset, int64_t kx) {
                  T* dst = col + (c * kernel_size + k) * out_size + row * width;
                  if (!inside) {
                    for (int64_t ox = 0; ox < width; ++ox) dst[ox] = T(0);
                    return;
                  }
                  const T* src = image + c * in_size + offset;
                  for (int64_t ox = 0; ox < width; ++ox) {
                    const int64_t ix = ox * stride - pad + kx * dilation;
                    dst[ox] = (ix >= 0 && ix < in_width) ? src[ix] : T(0);
                  }
                });
}

template <typename T>
void Col2ImNd(const WindowGeometry& g, const T* col, int64_t channels, T* image) {
  const int r = g.spatial_rank;
  const int64_t in_size = ProductOf(g.input, r);
  const int64_t out_size = ProductOf(g.output, r);
  const int64_t kernel_size = ProductOf(g.kernel, r);
  const int64_t width = g.output[r - 1], in_width = g.input[r - 1];
  const int64_t stride = g.strides[r - 1], dilation = g.dilations[r - 1];
  const int64_t pad = g.pad_begin[r - 1];
  ForEachColRow(g, channels,
                [&](int64_t c, int64_t k, int64_t row, bool inside, int64_t offset, int64_t kx) {
                  if (!inside) return;
                  const T* src = col + (c * kernel_size + k) * out_size + row * width;
                  T* dst = image + c * in_size + offset;
                  for (int64_t ox = 0; ox < width; ++ox) {
                    const int64_t ix = ox * stride - pad + kx * dilation;
                    if (ix >= 0 && ix < in_width) dst[ix] += src[ox];
                  }
                });
}

template <typename T>
void SimpleGemm(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, bool trans_a, const T* b,
                int64_t ldb, T* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    T* c_row = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) c_row[j] = T(0);
    for (int64_t p = 0; p < k; ++p) {
      const T av = trans_a ? a[p * lda + i] : a[i * lda + p];
      const T* b_row = b + p * ldb;
      for (int64_t j = 0; j < n; ++j) c_row[j] += av * b_row[j];
    }
  }
}

template <typename T>
void ConvGemm(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, bool trans_a, const T* b,
              int64_t ldb, T* c, int64_t ldc, void* gemm_scratch, ThreadPool* pool) {
  if constexpr (std::is_same<T, float>::value) {
    GemmArgs args;
    args.m = m;
    args.n = n;
    args.k = k;
    args.a = a;
    args.lda = lda;
    args.trans_a = trans_a;
    args.b = b;
    args.ldb = ldb;
    args.c = c;
    args.ldc = ldc;
    Gemm(args, gemm_scratch, pool);
  } else {
    SimpleGemm(m, n, k, a, lda, trans_a, b, ldb, c, ldc);
  }
}

template void ConvGemm<float>(int64_t, int64_t, int64_t, const float*, int64_t, bool, const float*,
                              int64_t, float*, int64_t, void*, ThreadPool*);
template void ConvGemm<double>(int64_t, int64_t, int64_t, const double*, int64_t, bool,
                               const double*, int64_t, double*, int64_t, void*, ThreadPool*);
template void Im2ColNd<float>(const WindowGeometry&, const float*, int64_t, float*);
template void Im2ColNd<double>(const WindowGeometry&, const double*, int64_t, double*);
template void Im2ColNd<int32_t>(const WindowGeometry&, const int32_t*, int64_t, int32_t*);
template void Col2ImNd<float>(const WindowGeometry&, const float*, int64_t, float*);
template void Col2ImNd<double>(const WindowGeometry&, const double*, int64_t, double*);
template void SimpleGemm<float>(int64_t, int64_t, int64_t, const float*, int64_t, bool,
                                const float*, int64_t, float*, int64_t);
template void SimpleGemm<double>(int64_t, int64_t, int64_t, const double*, int64_t, bool,
                                 const double*, int64_t, double*, int64_t);
template void SimpleGemm<int32_t>(int64_t, int64_t, int64_t, const int32_t*, int64_t, bool,
                                  const int32_t*, int64_t, int32_t*, int64_t);

void NarrowByFusedActivation(const FusedActivation& act, float y_scale, int32_t y_zero_point,
                             int32_t* lo, int32_t* hi) {
  NarrowToActivationBounds(act.min, act.max, y_scale, y_zero_point, lo, hi);
}

Status ExpectQuantizationParameter(const KernelContext& ctx, int index, DataType dtype,
                                   int64_t count, const char* what) {
  const TensorView& t = ctx.input(index);
  const int64_t n = t.NumElements();
  if (t.dtype == dtype && (n == 1 || (count > 1 && t.shape.rank == 1 && n == count))) {
    return Status::Ok();
  }
  return ctx.InvalidModel(
      LWAI_MSG(std::string(what) + " must be a " + DataTypeName(dtype) + " scalar" +
               (count > 1 ? " or have " + std::to_string(count) + " values" : "") + ", got " +
               DataTypeName(t.dtype) + " " + t.shape.ToString()));
}

int32_t ZeroPointAt(const KernelContext& ctx, int index, int64_t i) {
  if (index < 0 || !ctx.has_input(index)) return 0;
  const TensorView& t = ctx.input(index);
  if (t.NumElements() == 1) i = 0;
  switch (t.dtype) {
    case DataType::kUInt8:
      return t.Data<const uint8_t>()[i];
    case DataType::kInt8:
      return t.Data<const int8_t>()[i];
    case DataType::kInt32:
      return t.Data<const int32_t>()[i];
    default:
      return 0;
  }
}

Status PrepareIntegerConv(KernelContext& ctx, int x_index, int w_index, int x_zp_index,
                          int w_zp_index, IntegerConvPlan* plan) {
  for (int i : {x_index, w_index}) {
    const DataType t = ctx.input(i).dtype;
    if (t != DataType::kUInt8 && t != DataType::kInt8) {
      return ctx.Unsupported(LWAI_MSG("input " + std::to_string(i) +
                                      " must be uint8 or int8, got " + DataTypeName(t)));
    }
  }
  plan->x_type = ctx.input(x_index).dtype;
  plan->w_type = ctx.input(w_index).dtype;
  LWAI_RETURN_IF_ERROR(PrepareConvShape(ctx, x_index, w_index, &plan->shape));
  const ConvShape& s = plan->shape;
  if (x_zp_index >= 0 && ctx.has_input(x_zp_index)) {
    const TensorView& zp = ctx.input(x_zp_index);
    if (zp.dtype != plan->x_type || zp.NumElements() != 1) {
      return ctx.InvalidModel(LWAI_MSG("input " + std::to_string(x_zp_index) +
                                       " (x zero point) must be a " + DataTypeName(plan->x_type) +
                                       " scalar, got " + DataTypeName(zp.dtype) + " " +
                                       zp.shape.ToString()));
    }
  }
  if (w_zp_index >= 0 && ctx.has_input(w_zp_index)) {
    const TensorView& zp = ctx.input(w_zp_index);
    const int64_t n = zp.NumElements();
    if (zp.dtype != plan->w_type || zp.shape.rank > 1 || (n != 1 && n != s.out_channels)) {
      return ctx.InvalidModel(LWAI_MSG(
          "input " + std::to_string(w_zp_index) + " (w zero point) must be a " +
          DataTypeName(plan->w_type) + " scalar or have " + std::to_string(s.out_channels) +
          " elements, got " + DataTypeName(zp.dtype) + " " + zp.shape.ToString()));
    }
  }
  plan->w_offset = 0;
  plan->x_offset = Align64(sizeof(int32_t) * s.out_channels * s.ColRows());
  plan->col_offset = plan->x_offset + Align64(sizeof(int32_t) * s.InPerGroup() * s.in_size);
  plan->scratch_bytes = plan->col_offset + Align64(sizeof(int32_t) * s.ColRows() * s.out_size);
  return Status::Ok();
}

void RunIntegerConv(const KernelContext& ctx, const IntegerConvPlan& plan, int x_index, int w_index,
                    int x_zp_index, int w_zp_index, void* scratch, int32_t* out) {
  const ConvShape& s = plan.shape;
  char* base = static_cast<char*>(scratch);
  int32_t* w = reinterpret_cast<int32_t*>(base + plan.w_offset);
  int32_t* image = reinterpret_cast<int32_t*>(base + plan.x_offset);
  int32_t* col = reinterpret_cast<int32_t*>(base + plan.col_offset);
  const int64_t rows = s.ColRows();
  const size_t w_elem = DataTypeSize(plan.w_type);
  for (int64_t oc = 0; oc < s.out_channels; ++oc) {
    IntsToInt32(ctx.input(w_index).Data<const char>() + oc * rows * w_elem, plan.w_type, rows,
                ZeroPointAt(ctx, w_zp_index, oc), w + oc * rows);
  }
  const int32_t x_zp = ZeroPointAt(ctx, x_zp_index, 0);
  const char* x = ctx.input(x_index).Data<const char>();
  const size_t x_elem = DataTypeSize(plan.x_type);
  const int64_t group_in = s.InPerGroup() * s.in_size;
  const int64_t group_out = s.OutPerGroup() * s.out_size;
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t grp = 0; grp < s.groups; ++grp) {
      IntsToInt32(x + ((n * s.groups + grp) * group_in) * x_elem, plan.x_type, group_in, x_zp,
                  image);
      Im2ColNd(s.geometry, image, s.InPerGroup(), col);
      SimpleGemm<int32_t>(s.OutPerGroup(), s.out_size, rows, w + grp * s.OutPerGroup() * rows, rows,
                          false, col, s.out_size, out + (n * s.groups + grp) * group_out,
                          s.out_size);
    }
  }
}

}  // namespace lwai
