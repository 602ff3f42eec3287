// RoiAlign (ONNX 16): average or max of bilinear samples over each bin of each region of
// interest; coordinate_transformation_mode half_pixel or output_half_pixel.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <string>

#include "kernels/common.h"
#include "kernels/dispatch.h"
#include "kernels/pool_group_common.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace {

struct RoiAlignState : OpState {
  bool max_mode = false, half_pixel = true;
  int64_t out_h = 1, out_w = 1, sampling_ratio = 0;
  double spatial_scale = 1;
  int64_t batch = 0, channels = 0, height = 0, width = 0, rois = 0;
};

// One bilinear sample: four input offsets within a plane and their weights (all zero when the
// sample lies outside the input).
struct Sample {
  int64_t pos[4] = {};
  double w[4] = {};
};

Sample BilinearSample(double y, double x, int64_t height, int64_t width) {
  Sample s;
  // Written to be false for NaN coordinates too.
  if (!(y >= -1.0 && y <= static_cast<double>(height) && x >= -1.0 &&
        x <= static_cast<double>(width))) {
    return s;
  }
  y = std::max(y, 0.0);
  x = std::max(x, 0.0);
  int64_t y_low = static_cast<int64_t>(y), x_low = static_cast<int64_t>(x);
  int64_t y_high, x_high;
  if (y_low >= height - 1) {
    y_high = y_low = height - 1;
    y = static_cast<double>(y_low);
  } else {
    y_high = y_low + 1;
  }
  if (x_low >= width - 1) {
    x_high = x_low = width - 1;
    x = static_cast<double>(x_low);
  } else {
    x_high = x_low + 1;
  }
  const double ly = y - static_cast<double>(y_low), lx = x - static_cast<double>(x_low);
  const double hy = 1 - ly, hx = 1 - lx;
  s.pos[0] = y_low * width + x_low;
  s.pos[1] = y_low * width + x_high;
  s.pos[2] = y_high * width + x_low;
  s.pos[3] = y_high * width + x_high;
  s.w[0] = hy * hx;
  s.w[1] = hy * lx;
  s.w[2] = ly * hx;
  s.w[3] = ly * lx;
  return s;
}

// False when the run's limits stopped it before the region was done.
template <typename T>
bool AlignRoi(const RoiAlignState& s, const T* x, const T* rois, const int64_t* batch_indices, T* y,
              int64_t n, WorkMeter& meter) {
  const T* roi = rois + n * 4;
  const double offset = s.half_pixel ? 0.5 : 0.0;
  const double start_w = static_cast<double>(roi[0]) * s.spatial_scale - offset;
  const double start_h = static_cast<double>(roi[1]) * s.spatial_scale - offset;
  double roi_w = static_cast<double>(roi[2]) * s.spatial_scale - offset - start_w;
  double roi_h = static_cast<double>(roi[3]) * s.spatial_scale - offset - start_h;
  if (!s.half_pixel) {
    roi_w = std::max(roi_w, 1.0);
    roi_h = std::max(roi_h, 1.0);
  }
  const double bin_h = roi_h / static_cast<double>(s.out_h);
  const double bin_w = roi_w / static_cast<double>(s.out_w);
  // Adaptive sampling takes ceil(bin size) points per bin axis, capped so that absurd
  // regions cannot stall the kernel.
  constexpr double kMaxSamples = 1024;
  const auto samples = [&](double bin) {
    if (s.sampling_ratio > 0) return s.sampling_ratio;
    const double n = std::ceil(bin);
    return static_cast<int64_t>(n > kMaxSamples ? kMaxSamples : (n > 0 ? n : 0));
  };
  const int64_t grid_h = samples(bin_h), grid_w = samples(bin_w);
  const double count = static_cast<double>(std::max<int64_t>(grid_h * grid_w, 1));
  const int64_t b = batch_indices[n];
  for (int64_t c = 0; c < s.channels; ++c) {
    const T* plane = x + (b * s.channels + c) * s.height * s.width;
    T* out = y + (n * s.channels + c) * s.out_h * s.out_w;
    for (int64_t ph = 0; ph < s.out_h; ++ph) {
      for (int64_t pw = 0; pw < s.out_w; ++pw) {
        if (meter.Add(grid_h * grid_w + 1)) return false;
        double acc = 0;
        bool first = true;
        for (int64_t iy = 0; iy < grid_h; ++iy) {
          const double yy = start_h + static_cast<double>(ph) * bin_h +
                            (static_cast<double>(iy) + 0.5) * bin_h / static_cast<double>(grid_h);
          for (int64_t ix = 0; ix < grid_w; ++ix) {
            const double xx = start_w + static_cast<double>(pw) * bin_w +
                              (static_cast<double>(ix) + 0.5) * bin_w / static_cast<double>(grid_w);
            const Sample smp = BilinearSample(yy, xx, s.height, s.width);
            if (s.max_mode) {
              // As the reference: the largest weighted corner, maximized over samples.
              double v = smp.w[0] * static_cast<double>(plane[smp.pos[0]]);
              for (int k = 1; k < 4; ++k) {
                v = std::max(v, smp.w[k] * static_cast<double>(plane[smp.pos[k]]));
              }
              acc = first ? v : std::max(acc, v);
              first = false;
            } else {
              for (int k = 0; k < 4; ++k) acc += smp.w[k] * static_cast<double>(plane[smp.pos[k]]);
            }
          }
        }
        out[ph * s.out_w + pw] = static_cast<T>(s.max_mode ? acc : acc / count);
      }
    }
  }
  return true;
}

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  LWAI_RETURN_IF_ERROR(ExpectFloatInput(ctx, 0));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(1, ctx.input(0).dtype));
  LWAI_RETURN_IF_ERROR(ctx.ExpectDtype(2, DataType::kInt64));
  const Shape& x = ctx.input(0).shape;
  const Shape& rois = ctx.input(1).shape;
  const Shape& indices = ctx.input(2).shape;
  if (x.rank != 4)
    return ctx.ShapeMismatch(LWAI_MSG("input must be N x C x H x W, got " + x.ToString()));
  if (rois.rank != 2 || rois[1] != 4 || indices.rank != 1 || indices[0] != rois[0]) {
    return ctx.ShapeMismatch(LWAI_MSG("rois " + rois.ToString() + " and batch_indices " +
                                      indices.ToString() + " must be [R, 4] and [R]"));
  }
  auto state = std::make_unique<RoiAlignState>();
  RoiAlignState& s = *state;
  const Node& node = ctx.node();
  const std::string mode = node.GetString("mode", "avg");
  if (mode != "avg" && mode != "max") {
    return ctx.InvalidModel(LWAI_MSG("attribute 'mode' must be avg or max, got '" + mode + "'"));
  }
  s.max_mode = mode == "max";
  const std::string transform = node.GetString("coordinate_transformation_mode", "half_pixel");
  if (transform != "half_pixel" && transform != "output_half_pixel") {
    return ctx.InvalidModel(LWAI_MSG(
        "attribute 'coordinate_transformation_mode' must be half_pixel or output_half_pixel, "
        "got '" +
        transform + "'"));
  }
  s.half_pixel = transform == "half_pixel";
  s.out_h = node.GetInt("output_height", 1);
  s.out_w = node.GetInt("output_width", 1);
  s.sampling_ratio = node.GetInt("sampling_ratio", 0);
  s.spatial_scale = node.GetFloat("spatial_scale", 1.0f);
  if (s.out_h < 1 || s.out_w < 1 || s.sampling_ratio < 0) {
    return ctx.InvalidModel(
        LWAI_MSG("output_height/output_width must be >= 1 and sampling_ratio >= 0, "
                 "got " +
                 std::to_string(s.out_h) + ", " + std::to_string(s.out_w) + ", " +
                 std::to_string(s.sampling_ratio)));
  }
  if (s.sampling_ratio > 1024) {
    return ctx.Unsupported(LWAI_MSG("sampling_ratio above 1024 is not supported, got " +
                                    std::to_string(s.sampling_ratio)));
  }
  s.batch = x[0];
  s.channels = x[1];
  s.height = x[2];
  s.width = x[3];
  s.rois = rois[0];
  if ((s.height == 0 || s.width == 0) && s.rois > 0) {
    return ctx.ShapeMismatch(LWAI_MSG("cannot align regions on an empty input " + x.ToString()));
  }
  ctx.output(0).dtype = ctx.input(0).dtype;
  ctx.output(0).shape = Shape{s.rois, s.channels, s.out_h, s.out_w};
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const RoiAlignState& s = *ctx.state<RoiAlignState>();
  const int64_t* batch_indices = ctx.input(2).Data<const int64_t>();
  for (int64_t n = 0; n < s.rois; ++n) {
    if (batch_indices[n] < 0 || batch_indices[n] >= s.batch) {
      return ctx.InvalidModel(LWAI_MSG("batch index " + std::to_string(batch_indices[n]) +
                                       " out of range [0, " + std::to_string(s.batch) + ")"));
    }
  }
  std::atomic<bool> stopped{false};
  DispatchFloat(ctx.input(0).dtype, [&](auto type) {
    using T = decltype(type);
    const T* x = ctx.input(0).Data<const T>();
    const T* rois = ctx.input(1).Data<const T>();
    T* y = ctx.output(0).Data<T>();
    ctx.thread_pool()->ParallelFor(s.rois, 1, [&](int64_t begin, int64_t end) {
      WorkMeter meter(ctx.limits());
      for (int64_t n = begin; n < end && !stopped; ++n) {
        if (!AlignRoi<T>(s, x, rois, batch_indices, y, n, meter)) stopped = true;
      }
    });
  });
  if (stopped) return ctx.limits().Check(ctx.node());
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kRoiAlignKernel = {OpType::RoiAlign, Prepare, Eval};

}  // namespace lwai
