// Internal interface between winograd.cc (planning, threading, portable code) and the
// ISA-specific implementations (winograd_avx512.cc). Not a public API.
#ifndef LWAI_KERNELS_WINOGRAD_INTERNAL_H_
#define LWAI_KERNELS_WINOGRAD_INTERNAL_H_

#include <cstddef>
#include <cstdint>

#include "kernels/winograd.h"

namespace lwai::winograd_internal {

constexpr int kAlpha = Winograd3x3::kAlpha;
constexpr int kTile = Winograd3x3::kTile;
constexpr int kPoints = kAlpha * kAlpha;  // 36 GEMMs
constexpr int kPanel = 64;                // output channels per packed weight panel
constexpr int kLanes = 16;                // channel chunk of the transforms

// One Run call: the images and where the tiles are.
struct Geometry {
  const float* input = nullptr;
  int height = 0, width = 0, input_stride = 0;
  int pad_top = 0, pad_left = 0;
  float* output = nullptr;
  int out_height = 0, out_width = 0, output_stride = 0;
  int tiles_h = 0, tiles_w = 0;  // per image; tiles are numbered image by image, row-major
  float activation_min = 0, activation_max = 0;
};

// The transformed tiles of one block: [36][rows][ld] for the input (ld >= in channels,
// multiple of 16) and for the GEMM results (ld = padded out channels).
struct BlockBuffers {
  float* v = nullptr;
  size_t v_point_stride = 0;  // floats between consecutive points xi
  int ldv = 0;
  float* m = nullptr;
  size_t m_point_stride = 0;
  int ldm = 0;
};

struct Impl {
  // Transforms tiles [tile_begin, tile_begin + count) (global numbers) into rows
  // [0, count) of buf.v, channel chunks [chunk_begin, chunk_end) (16 channels each).
  void (*input_transform)(const Geometry& g, const Winograd3x3::Packed& p, int64_t tile_begin,
                          int count, int chunk_begin, int chunk_end, const BlockBuffers& buf);
  // buf.m rows [0, rows) of point xi, columns [col_begin, col_end) (multiples of 16)
  // = buf.v rows * packed weights of point xi.
  void (*gemm)(const Winograd3x3::Packed& p, int xi, int col_begin, int col_end, int rows,
               const BlockBuffers& buf);
  // Inverse-transforms rows [0, count) of buf.m (tiles tile_begin...) into the output with
  // bias and clamp, output-channel chunks [chunk_begin, chunk_end).
  void (*output_transform)(const Geometry& g, const Winograd3x3::Packed& p, int64_t tile_begin,
                           int count, int chunk_begin, int chunk_end, const BlockBuffers& buf);
};

// Tile number `tile` (numbered image by image, row-major): its image and the output pixel at
// its top-left corner.
struct TileOrigin {
  int64_t image;
  int y;
  int x;
};
inline TileOrigin LocateTile(const Geometry& g, int64_t tile) {
  const int64_t per_image = static_cast<int64_t>(g.tiles_h) * g.tiles_w;
  const int64_t image = tile / per_image;
  const int rem = static_cast<int>(tile - image * per_image);
  return TileOrigin{image, rem / g.tiles_w * kTile, rem % g.tiles_w * kTile};
}

// The AVX-512 implementation, or null when this CPU (or build target) lacks AVX-512.
const Impl* Avx512Impl();

// Tests only: when true, Run uses the portable implementation even where AVX-512 exists.
void SetForcePortableForTesting(bool force);

// Offset in floats of panel `panel` inside the packed weights of one point.
inline size_t PanelOffset(const Winograd3x3::Packed& p, int panel) {
  return static_cast<size_t>(panel) * kPanel * p.in_channels;
}
inline int PanelWidth(const Winograd3x3::Packed& p, int panel) {
  const int w = p.out_channels_padded - panel * kPanel;
  return w < kPanel ? w : kPanel;
}
inline size_t PointStride(const Winograd3x3::Packed& p) {
  return static_cast<size_t>(p.in_channels) * p.out_channels_padded;
}

}  // namespace lwai::winograd_internal

#endif  // LWAI_KERNELS_WINOGRAD_INTERNAL_H_
