// Winograd F(4x4, 3x3): weight transform, planning, threading and the portable
// implementation. The AVX-512 implementation lives in winograd_avx512.cc.
//
// Matrices (Lavin & Gray 2015, interpolation points 0, 1, -1, 2, -2, inf):
//   B^T = [4  0 -5  0 1 0]   G = [ 1/4     0     0]   A^T = [1 1  1 1  1 0]
//         [0 -4 -4  1 1 0]       [-1/6  -1/6  -1/6]         [0 1 -1 2 -2 0]
//         [0  4 -4 -1 1 0]       [-1/6   1/6  -1/6]         [0 1  1 4  4 0]
//         [0 -2 -1  2 1 0]       [1/24  1/12   1/6]         [0 1 -1 8 -8 1]
//         [0  2 -1 -2 1 0]       [1/24 -1/12   1/6]
//         [0  4  0 -5 0 1]       [   0     0     1]
#include "kernels/winograd.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

#include "kernels/winograd_internal.h"
#include "runtime/thread_pool.h"

namespace lwai {
namespace winograd_internal {
namespace {

// Rows of the GEMM micro-kernels; blocks are preferably multiples of it.
constexpr int kGemmRows = 6;
// Target size of one block's transformed input and GEMM output (kept in L2).
constexpr size_t kBlockBytes = 448 * 1024;
// Fewest rows per block (when there are that many tiles).
constexpr int kMinBlockRows = 30;
// Fewer tiles per thread than this: threads split the output channels instead of the tiles.
constexpr int kMinRowsPerThread = 24;

int RoundUp(int x, int m) { return (x + m - 1) / m * m; }

// ---- Portable implementation (auto-vectorized over 16 channels). ----

inline void InputRow(const float d[6][kLanes], float r[6][kLanes]) {
  for (int l = 0; l < kLanes; ++l) {
    const float t0 = d[4][l] - 4.0f * d[2][l];
    const float t1 = d[3][l] - 4.0f * d[1][l];
    const float t2 = d[4][l] - d[2][l];
    const float t3 = 2.0f * (d[3][l] - d[1][l]);
    r[0][l] = 4.0f * d[0][l] - 5.0f * d[2][l] + d[4][l];
    r[1][l] = t0 + t1;
    r[2][l] = t0 - t1;
    r[3][l] = t2 + t3;
    r[4][l] = t2 - t3;
    r[5][l] = 4.0f * d[1][l] - 5.0f * d[3][l] + d[5][l];
  }
}

inline void OutputRow(const float m[6][kLanes], float o[4][kLanes]) {
  for (int l = 0; l < kLanes; ++l) {
    const float a = m[1][l] + m[2][l], b = m[1][l] - m[2][l];
    const float c = m[3][l] + m[4][l], d = m[3][l] - m[4][l];
    o[0][l] = m[0][l] + a + c;
    o[1][l] = b + 2.0f * d;
    o[2][l] = a + 4.0f * c;
    o[3][l] = b + 8.0f * d + m[5][l];
  }
}

void GenericInputTransform(const Geometry& g, const Winograd3x3::Packed& p, int64_t tile_begin,
                           int count, int chunk_begin, int chunk_end, const BlockBuffers& buf) {
  for (int row = 0; row < count; ++row) {
    const TileOrigin origin = LocateTile(g, tile_begin + row);
    const int64_t n = origin.image;
    const int y0 = origin.y - g.pad_top;
    const int x0 = origin.x - g.pad_left;
    const float* image = g.input + n * g.height * g.width * static_cast<int64_t>(g.input_stride);
    for (int chunk = chunk_begin; chunk < chunk_end; ++chunk) {
      const int c0 = chunk * kLanes;
      const int lanes = std::min(kLanes, p.in_channels - c0);
      float t[6][6][kLanes];  // [input row][transformed column][lane]
      for (int i = 0; i < 6; ++i) {
        float d[6][kLanes] = {};
        const int y = y0 + i;
        if (y >= 0 && y < g.height) {
          for (int j = 0; j < 6; ++j) {
            const int x = x0 + j;
            if (x < 0 || x >= g.width) continue;
            const float* src =
                image + (static_cast<int64_t>(y) * g.width + x) * g.input_stride + c0;
            for (int l = 0; l < lanes; ++l) d[j][l] = src[l];
          }
        }
        InputRow(d, t[i]);
      }
      for (int j = 0; j < 6; ++j) {
        float col[6][kLanes], r[6][kLanes];
        for (int i = 0; i < 6; ++i) std::memcpy(col[i], t[i][j], sizeof(col[i]));
        InputRow(col, r);
        for (int i = 0; i < 6; ++i) {
          std::memcpy(
              buf.v + (i * 6 + j) * buf.v_point_stride + static_cast<size_t>(row) * buf.ldv + c0,
              r[i], sizeof(r[i]));
        }
      }
    }
  }
}

void GenericGemm(const Winograd3x3::Packed& p, int xi, int col_begin, int col_end, int rows,
                 const BlockBuffers& buf) {
  constexpr int kRows = 4;
  const int k_size = p.in_channels;
  const float* weights = p.weights + xi * PointStride(p);
  const float* a = buf.v + xi * buf.v_point_stride;
  float* c = buf.m + xi * buf.m_point_stride;
  for (int col = col_begin; col < col_end; col += kLanes) {
    const int panel = col / kPanel;
    const int width = PanelWidth(p, panel);
    const float* w = weights + PanelOffset(p, panel) + (col - panel * kPanel);
    for (int r0 = 0; r0 < rows; r0 += kRows) {
      const int nr = std::min(kRows, rows - r0);
      float acc[kRows][kLanes] = {};
      for (int k = 0; k < k_size; ++k) {
        const float* b = w + static_cast<size_t>(k) * width;
        for (int r = 0; r < nr; ++r) {
          const float av = a[static_cast<size_t>(r0 + r) * buf.ldv + k];
          for (int l = 0; l < kLanes; ++l) acc[r][l] += av * b[l];
        }
      }
      for (int r = 0; r < nr; ++r) {
        std::memcpy(c + static_cast<size_t>(r0 + r) * buf.ldm + col, acc[r], sizeof(acc[r]));
      }
    }
  }
}

void GenericOutputTransform(const Geometry& g, const Winograd3x3::Packed& p, int64_t tile_begin,
                            int count, int chunk_begin, int chunk_end, const BlockBuffers& buf) {
  for (int row = 0; row < count; ++row) {
    const TileOrigin origin = LocateTile(g, tile_begin + row);
    const int64_t n = origin.image;
    const int oy0 = origin.y;
    const int ox0 = origin.x;
    const int rows_valid = std::min(kTile, g.out_height - oy0);
    const int cols_valid = std::min(kTile, g.out_width - ox0);
    float* out = g.output + ((n * g.out_height + oy0) * g.out_width + ox0) *
                                static_cast<int64_t>(g.output_stride);
    for (int chunk = chunk_begin; chunk < chunk_end; ++chunk) {
      const int c0 = chunk * kLanes;
      const int lanes = std::min(kLanes, p.out_channels - c0);
      float t[6][4][kLanes];
      for (int i = 0; i < 6; ++i) {
        float m[6][kLanes];
        for (int j = 0; j < 6; ++j) {
          std::memcpy(
              m[j],
              buf.m + (i * 6 + j) * buf.m_point_stride + static_cast<size_t>(row) * buf.ldm + c0,
              sizeof(m[j]));
        }
        OutputRow(m, t[i]);
      }
      for (int j = 0; j < cols_valid; ++j) {
        float col[6][kLanes], o[4][kLanes];
        for (int i = 0; i < 6; ++i) std::memcpy(col[i], t[i][j], sizeof(col[i]));
        OutputRow(col, o);
        for (int r = 0; r < rows_valid; ++r) {
          float* dst = out + (static_cast<int64_t>(r) * g.out_width + j) * g.output_stride + c0;
          for (int l = 0; l < lanes; ++l) {
            const float v = o[r][l] + p.bias[c0 + l];
            dst[l] = std::min(std::max(v, g.activation_min), g.activation_max);
          }
        }
      }
    }
  }
}

const Impl kGenericImpl = {GenericInputTransform, GenericGemm, GenericOutputTransform};

std::atomic<bool> g_force_portable{false};

const Impl& SelectImpl() {
  static const Impl* const best = [] {
    const Impl* avx512 = Avx512Impl();
    return avx512 ? avx512 : &kGenericImpl;
  }();
  return g_force_portable.load(std::memory_order_relaxed) ? kGenericImpl : *best;
}

// ---- Planning: how tiles are grouped into blocks and how threads share them. ----

struct Plan {
  int tiles_h = 0, tiles_w = 0;
  int64_t tiles = 0;
  int block = 0;  // tiles per block (rows of the block buffers)
  int64_t blocks = 0;
  // Whether threads split the output channels (each running all blocks) instead of the
  // blocks. Either way each thread has its own block buffers (a slot).
  bool split_columns = false;
  int slots = 1;
  int ldv = 0, ldm = 0;
  size_t v_floats = 0, m_floats = 0;  // per slot, multiples of 16
};

Plan MakePlan(const Winograd3x3::Packed& p, int batch, int height, int width, int pad_top,
              int pad_left, int pad_bottom, int pad_right, int threads) {
  Plan plan;
  const int out_h = height + pad_top + pad_bottom - 2;
  const int out_w = width + pad_left + pad_right - 2;
  if (batch <= 0 || out_h <= 0 || out_w <= 0) return plan;
  threads = std::max(1, threads);
  plan.tiles_h = (out_h + kTile - 1) / kTile;
  plan.tiles_w = (out_w + kTile - 1) / kTile;
  plan.tiles = static_cast<int64_t>(batch) * plan.tiles_h * plan.tiles_w;
  plan.ldv = RoundUp(p.in_channels, kLanes);
  plan.ldm = p.out_channels_padded;
  // Rows per block: enough for the transformed tiles and GEMM results to stay in L2, but
  // at least kMinBlockRows so that each packed weight panel, streamed once per block, is
  // reused by enough rows (with many channels the weights dominate the memory traffic).
  const size_t row_bytes = sizeof(float) * kPoints * (plan.ldv + plan.ldm);
  const int fit = static_cast<int>(
      std::max<size_t>(kMinBlockRows, std::min<size_t>(1 << 16, kBlockBytes / row_bytes)));
  int64_t blocks;
  const int vectors_out = p.out_channels_padded / kLanes;
  if (threads == 1 || plan.tiles >= static_cast<int64_t>(threads) * kMinRowsPerThread ||
      vectors_out < threads) {
    // Each thread runs whole blocks of tiles: a multiple of the thread count.
    plan.split_columns = false;
    const int64_t per_thread = (plan.tiles + static_cast<int64_t>(threads) * fit - 1) /
                               (static_cast<int64_t>(threads) * fit);
    blocks = threads * per_thread;
  } else {
    // Too few tiles to give each thread enough rows: every thread runs all tiles (the input
    // transform redundantly) for its share of the output channels.
    plan.split_columns = true;
    blocks = (plan.tiles + fit - 1) / fit;
  }
  plan.slots = threads;
  plan.block = static_cast<int>((plan.tiles + blocks - 1) / blocks);
  plan.blocks = (plan.tiles + plan.block - 1) / plan.block;
  plan.v_floats = static_cast<size_t>(kPoints) * plan.block * plan.ldv;
  plan.m_floats = static_cast<size_t>(kPoints) * plan.block * plan.ldm;
  return plan;
}

}  // namespace

void SetForcePortableForTesting(bool force) { g_force_portable.store(force); }

}  // namespace winograd_internal

using namespace winograd_internal;  // NOLINT: implementation file

Result<std::unique_ptr<Winograd3x3>> Winograd3x3::Create(const float* weights, const float* bias,
                                                         int in_channels, int out_channels) {
  if (weights == nullptr) return InvalidArgument(LWAI_MSG("Winograd3x3: weights are null"));
  if (in_channels <= 0 || out_channels <= 0 || in_channels > (1 << 16) ||
      out_channels > (1 << 16)) {
    return InvalidArgument(LWAI_MSG(
        "Winograd3x3: channel counts must be in [1, 65536], got in=" + std::to_string(in_channels) +
        " out=" + std::to_string(out_channels)));
  }
  if (static_cast<int64_t>(kPoints) * in_channels * RoundUp(out_channels, kLanes) > (1ll << 30)) {
    return InvalidArgument(
        LWAI_MSG("Winograd3x3: transformed weights for in=" + std::to_string(in_channels) +
                 " out=" + std::to_string(out_channels) + " would exceed 4 GiB"));
  }
  std::unique_ptr<Winograd3x3> w(new Winograd3x3());
  w->in_channels_ = in_channels;
  w->out_channels_ = out_channels;
  Packed& p = w->packed_;
  p.in_channels = in_channels;
  p.out_channels = out_channels;
  p.out_channels_padded = RoundUp(out_channels, kLanes);
  const size_t weight_floats = kPoints * PointStride(p);
  w->storage_.assign(weight_floats + p.out_channels_padded + 16, 0.0f);
  float* base = w->storage_.data();
  base += (16 - (reinterpret_cast<uintptr_t>(base) / sizeof(float)) % 16) % 16;
  float* packed = base;
  float* packed_bias = base + weight_floats;
  static constexpr double kG[6][3] = {{1.0 / 4, 0, 0},
                                      {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                      {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                      {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                      {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                      {0, 0, 1}};
  // U = G g G^T for every (co, ci) as one small matrix product per panel and input channel:
  // [36 points][9 taps] (the Kronecker product of G with itself) times [9 taps][64 channels].
  // Each point plane is then written sequentially, and the inner loop vectorizes over co.
  float transform[36][9];
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 6; ++j) {
      for (int a = 0; a < 3; ++a) {
        for (int b = 0; b < 3; ++b) {
          transform[i * 6 + j][a * 3 + b] = static_cast<float>(kG[i][a] * kG[j][b]);
        }
      }
    }
  }
  const size_t point_stride = PointStride(p);
  float taps[9][kPanel];
  for (int panel = 0; panel * kPanel < out_channels; ++panel) {
    const int width = PanelWidth(p, panel);
    const int count = std::min(out_channels - panel * kPanel, kPanel);
    for (int ci = 0; ci < in_channels; ++ci) {
      for (int c = 0; c < count; ++c) {
        const float* g = weights + (static_cast<size_t>(panel * kPanel + c) * in_channels + ci) * 9;
        for (int k = 0; k < 9; ++k) taps[k][c] = g[k];
      }
      float* column = packed + PanelOffset(p, panel) + static_cast<size_t>(ci) * width;
      for (int point = 0; point < 36; ++point) {
        float* out = column + point * point_stride;
        for (int c = 0; c < count; ++c) {
          float u = 0.0f;
          for (int k = 0; k < 9; ++k) u += transform[point][k] * taps[k][c];
          out[c] = u;
        }
      }
    }
  }
  for (int co = 0; bias != nullptr && co < out_channels; ++co) packed_bias[co] = bias[co];
  p.weights = packed;
  p.bias = packed_bias;
  return w;
}

size_t Winograd3x3::ScratchBytes(int batch, int height, int width, int pad_top, int pad_left,
                                 int pad_bottom, int pad_right, int threads) const {
  const Plan plan =
      MakePlan(packed_, batch, height, width, pad_top, pad_left, pad_bottom, pad_right, threads);
  return sizeof(float) * plan.slots * (plan.v_floats + plan.m_floats);
}

void Winograd3x3::Run(const float* input, int batch, int height, int width, int input_pixel_stride,
                      int pad_top, int pad_left, int pad_bottom, int pad_right, float* output,
                      int output_pixel_stride, float activation_min, float activation_max,
                      void* scratch, ThreadPool* pool) const {
  const int threads = pool ? pool->num_threads() : 1;
  const Plan plan =
      MakePlan(packed_, batch, height, width, pad_top, pad_left, pad_bottom, pad_right, threads);
  if (plan.tiles == 0) return;
  const Impl& impl = SelectImpl();
  Geometry g;
  g.input = input;
  g.height = height;
  g.width = width;
  g.input_stride = input_pixel_stride;
  g.pad_top = pad_top;
  g.pad_left = pad_left;
  g.output = output;
  g.out_height = height + pad_top + pad_bottom - 2;
  g.out_width = width + pad_left + pad_right - 2;
  g.output_stride = output_pixel_stride;
  g.tiles_h = plan.tiles_h;
  g.tiles_w = plan.tiles_w;
  g.activation_min = activation_min;
  g.activation_max = activation_max;
  const Packed& p = packed_;
  const int chunks_in = (p.in_channels + kLanes - 1) / kLanes;

  auto buffers = [&](int slot, int rows) {
    BlockBuffers buf;
    float* base = static_cast<float*>(scratch) + slot * (plan.v_floats + plan.m_floats);
    buf.v = base;
    buf.ldv = plan.ldv;
    buf.v_point_stride = static_cast<size_t>(rows) * plan.ldv;
    buf.m = base + plan.v_floats;
    buf.ldm = plan.ldm;
    buf.m_point_stride = static_cast<size_t>(rows) * plan.ldm;
    return buf;
  };

  const int vectors_out = p.out_channels_padded / kLanes;
  auto run_slots = [&](int64_t slot_begin, int64_t slot_end) {
    for (int64_t slot = slot_begin; slot < slot_end; ++slot) {
      int64_t b0 = 0, b1 = plan.blocks;
      int v0 = 0, v1 = vectors_out;
      if (plan.split_columns) {
        v0 = static_cast<int>(slot * vectors_out / plan.slots);
        v1 = static_cast<int>((slot + 1) * vectors_out / plan.slots);
      } else {
        b0 = slot * plan.blocks / plan.slots;
        b1 = (slot + 1) * plan.blocks / plan.slots;
      }
      if (v0 == v1) continue;
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t tile0 = b * plan.block;
        const int rows = static_cast<int>(std::min<int64_t>(plan.block, plan.tiles - tile0));
        const BlockBuffers buf = buffers(static_cast<int>(slot), rows);
        impl.input_transform(g, p, tile0, rows, 0, chunks_in, buf);
        for (int xi = 0; xi < kPoints; ++xi) impl.gemm(p, xi, v0 * kLanes, v1 * kLanes, rows, buf);
        impl.output_transform(g, p, tile0, rows, v0, v1, buf);
      }
    }
  };
  if (pool != nullptr && plan.slots > 1) {
    pool->ParallelFor(plan.slots, 1, run_slots);
  } else {
    run_slots(0, plan.slots);
  }
}

WinogradChoice ChooseWinograd(int in_channels, int out_channels, int out_height, int out_width) {
  if (Avx512Impl() == nullptr || out_height < 1 || out_width < 1) return WinogradChoice::kNo;
  // Tile utilization: the fraction of the computed 4x4 tiles' outputs that are real.
  const int64_t tiles_h = (out_height + kTile - 1) / kTile;
  const int64_t tiles_w = (out_width + kTile - 1) / kTile;
  const int64_t pixels = static_cast<int64_t>(out_height) * out_width;
  const double utilization = static_cast<double>(pixels) / (16.0 * tiles_h * tiles_w);
  if (in_channels < 4 || out_channels < 4 || pixels < 16 || utilization < 0.4) {
    return WinogradChoice::kNo;
  }
  if (in_channels >= 32 && out_channels >= 32 && pixels >= 36 && utilization >= 0.7) {
    return WinogradChoice::kYes;
  }
  return WinogradChoice::kMeasure;
}

}  // namespace lwai
