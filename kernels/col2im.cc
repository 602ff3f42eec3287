// Col2Im (ONNX opset 18): N-d, float32/float64; rebuilds images from blocks, adding overlaps.
#include <memory>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "kernels/conv_common.h"
#include "kernels/dispatch.h"

namespace lwai {
namespace {

struct Col2ImState : OpState {
  DataType dtype = DataType::kFloat32;
  int64_t batch = 0, channels = 0, image_size = 0, col_size = 0;
  WindowGeometry geometry;
};

Status Prepare(KernelContext& ctx) {
  LWAI_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const TensorView& input = ctx.input(0);
  if (input.dtype != DataType::kFloat32 && input.dtype != DataType::kFloat64) {
    return ctx.Unsupported(LWAI_MSG(std::string("input must be float32 or float64, got ") +
                                    DataTypeName(input.dtype)));
  }
  if (input.shape.rank != 3) {
    return ctx.ShapeMismatch(
        LWAI_MSG("input must be N x (C * block size) x L, got " + input.shape.ToString()));
  }
  std::vector<int64_t> image_shape, block_shape;
  LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 1, &image_shape));
  LWAI_RETURN_IF_ERROR(ReadIntTensor(ctx, 2, &block_shape));
  const int rank = static_cast<int>(image_shape.size());
  if (rank < 1 || rank > kMaxSpatialRank || block_shape.size() != image_shape.size()) {
    return ctx.ShapeMismatch(LWAI_MSG("image_shape " + IntsToString(image_shape) +
                                      " and block_shape " + IntsToString(block_shape) +
                                      " must have the same length, 1 to " +
                                      std::to_string(kMaxSpatialRank)));
  }
  int64_t block_size = 1;
  for (int i = 0; i < rank; ++i) {
    if (image_shape[i] < 0 || block_shape[i] < 1) {
      return ctx.InvalidModel(LWAI_MSG("image_shape " + IntsToString(image_shape) +
                                       " must be >= 0 and " + "block_shape " +
                                       IntsToString(block_shape) + " >= 1"));
    }
    block_size *= block_shape[i];
  }
  if (input.shape[1] % block_size != 0) {
    return ctx.ShapeMismatch(LWAI_MSG("input dimension 1 (" + std::to_string(input.shape[1]) +
                                      ") must be a multiple of the block size " +
                                      std::to_string(block_size)));
  }
  auto state = std::make_unique<Col2ImState>();
  Col2ImState& s = *state;
  s.dtype = input.dtype;
  s.batch = input.shape[0];
  s.channels = input.shape[1] / block_size;
  Shape image;
  image.rank = rank + 2;
  image[0] = s.batch;
  image[1] = s.channels;
  for (int i = 0; i < rank; ++i) image[i + 2] = image_shape[i];
  LWAI_RETURN_IF_ERROR(ComputeWindowGeometry(ctx, image, block_shape.data(), false, &s.geometry));
  s.image_size = ProductOf(s.geometry.input, rank);
  s.col_size = ProductOf(s.geometry.output, rank);
  if (input.shape[2] != s.col_size) {
    return ctx.ShapeMismatch(LWAI_MSG("input has " + std::to_string(input.shape[2]) +
                                      " blocks, the image and block shapes give " +
                                      std::to_string(s.col_size)));
  }
  TensorView& y = ctx.output(0);
  y.dtype = s.dtype;
  y.shape = image;
  ctx.SetState(std::move(state));
  return Status::Ok();
}

Status Eval(KernelContext& ctx) {
  const Col2ImState& s = *ctx.state<Col2ImState>();
  DispatchFloat(s.dtype, [&](auto t) {
    using T = decltype(t);
    const T* col = ctx.input(0).Data<const T>();
    T* y = ctx.output(0).Data<T>();
    const int64_t image_elements = s.channels * s.image_size;
    const int64_t col_elements = ctx.input(0).shape[1] * s.col_size;
    for (int64_t n = 0; n < s.batch; ++n) {
      T* image = y + n * image_elements;
      for (int64_t i = 0; i < image_elements; ++i) image[i] = T(0);
      Col2ImNd(s.geometry, col + n * col_elements, s.channels, image);
    }
  });
  return Status::Ok();
}

}  // namespace

extern const KernelRegistration kCol2ImKernel = {OpType::Col2Im, Prepare, Eval};

}  // namespace lwai
