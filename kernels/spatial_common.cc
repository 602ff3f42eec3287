#include "kernels/spatial_common.h"

#include <cstdlib>
#include <string>
#include <vector>

namespace lwai {
namespace {

Status ReadPerAxis(const KernelContext& ctx, const char* name, int rank, int64_t default_value,
                   int64_t* values) {
  const std::vector<int64_t> attr = ctx.node().GetInts(name);
  if (attr.empty()) {
    for (int i = 0; i < rank; ++i) values[i] = default_value;
    return Status::Ok();
  }
  if (static_cast<int>(attr.size()) != rank) {
    return ctx.InvalidModel(LWAI_MSG(std::string("attribute '") + name + "' has " +
                                     std::to_string(attr.size()) + " values, expected " +
                                     std::to_string(rank)));
  }
  for (int i = 0; i < rank; ++i) values[i] = attr[i];
  return Status::Ok();
}

}  // namespace

Status ComputeWindowGeometry(const KernelContext& ctx, const Shape& input,
                             const int64_t* kernel_shape, bool allow_ceil_mode, WindowGeometry* g) {
  if (input.rank < 3) {
    return ctx.ShapeMismatch(LWAI_MSG("input must be N x C x spatial..., got " + input.ToString()));
  }
  const int rank = input.rank - 2;
  g->spatial_rank = rank;
  LWAI_RETURN_IF_ERROR(ReadPerAxis(ctx, "strides", rank, 1, g->strides));
  LWAI_RETURN_IF_ERROR(ReadPerAxis(ctx, "dilations", rank, 1, g->dilations));
  const std::vector<int64_t> pads = ctx.node().GetInts("pads");
  if (!pads.empty() && static_cast<int>(pads.size()) != 2 * rank) {
    return ctx.InvalidModel(LWAI_MSG("attribute 'pads' has " + std::to_string(pads.size()) +
                                     " values, expected " + std::to_string(2 * rank)));
  }
  const std::string auto_pad = ctx.node().GetString("auto_pad", "NOTSET");
  const bool ceil_mode = allow_ceil_mode && ctx.node().GetInt("ceil_mode", 0) != 0;
  for (int i = 0; i < rank; ++i) {
    const int64_t in = input.dims[i + 2];
    const int64_t k = kernel_shape[i];
    const int64_t s = g->strides[i];
    const int64_t d = g->dilations[i];
    if (k < 1 || s < 1 || d < 1) {
      return ctx.InvalidModel(LWAI_MSG("kernel size, strides and dilations must be >= 1 (axis " +
                                       std::to_string(i) + ": kernel " + std::to_string(k) +
                                       ", stride " + std::to_string(s) + ", dilation " +
                                       std::to_string(d) + ")"));
    }
    // Bounded so that no window arithmetic below can overflow (dims are at most 2^40).
    constexpr int64_t kLimit = int64_t{1} << 31;
    auto in_range = [&](int64_t v) { return v > -kLimit && v < kLimit; };
    const bool pads_ok = pads.empty() || (in_range(pads[i]) && in_range(pads[i + rank]));
    if (k >= kLimit || s >= kLimit || d >= kLimit || !pads_ok || in < 0) {
      return ctx.Unsupported(
          LWAI_MSG("kernel size, strides, dilations and pads must be below 2^31 (axis " +
                   std::to_string(i) + ")"));
    }
    const int64_t extent = (k - 1) * d + 1;
    g->input[i] = in;
    g->kernel[i] = k;
    int64_t out = 0;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out = (in + s - 1) / s;
      const int64_t total = (out - 1) * s + extent - in > 0 ? (out - 1) * s + extent - in : 0;
      const int64_t small = total / 2;
      g->pad_begin[i] = auto_pad == "SAME_UPPER" ? small : total - small;
      g->pad_end[i] = total - g->pad_begin[i];
    } else if (auto_pad == "VALID") {
      g->pad_begin[i] = g->pad_end[i] = 0;
      out = in >= extent ? (in - extent) / s + 1 : 0;
    } else if (auto_pad == "NOTSET" || auto_pad.empty()) {
      g->pad_begin[i] = pads.empty() ? 0 : pads[i];
      g->pad_end[i] = pads.empty() ? 0 : pads[i + rank];
      if (g->pad_begin[i] < 0 || g->pad_end[i] < 0) {
        return ctx.InvalidModel(LWAI_MSG("negative pads are not supported"));
      }
      const int64_t span = in + g->pad_begin[i] + g->pad_end[i] - extent;
      // In ceil mode a window larger than the padded input still gives one output when it
      // starts inside it (ONNX's ceil((span) / s + 1); PyTorch's AvgPool2d(k) with k > input
      // and ceil_mode, as EfficientNet poolers use): its part past the end is clipped.
      if (ceil_mode && span < 0 && span + s > 0) {
        g->output[i] = 1;
        continue;
      }
      if (span < 0) {
        return ctx.ShapeMismatch(LWAI_MSG("window of extent " + std::to_string(extent) +
                                          " does not fit padded input size " +
                                          std::to_string(in + g->pad_begin[i] + g->pad_end[i]) +
                                          " on spatial axis " + std::to_string(i)));
      }
      out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
      // A last window that would start inside the end padding is dropped (as in ONNX
      // Runtime and PyTorch).
      if (ceil_mode && (out - 1) * s >= in + g->pad_begin[i]) --out;
    } else {
      return ctx.InvalidModel(LWAI_MSG("unknown auto_pad '" + auto_pad + "'"));
    }
    g->output[i] = out;
  }
  return Status::Ok();
}

}  // namespace lwai
