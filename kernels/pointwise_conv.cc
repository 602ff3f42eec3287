// PointwiseConv: weight packing, planning, threading and the portable implementation. The
// AVX-512 implementation lives in pointwise_conv_avx512.cc.
#include "kernels/pointwise_conv.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

#include "runtime/thread_pool.h"

namespace lwai {
namespace pointwise_internal {
namespace {

constexpr int kLanes = 16;
constexpr int kPanel = PointwiseConv::kPanel;
// Row tiles of the micro-kernels: row blocks and thread splits are multiples of it, so every
// row is computed by the same kernel whatever the thread count.
constexpr int kRowTile = 12;
// Target bytes of one row block's inputs (kept in L2 while every panel passes over them).
constexpr int64_t kBlockInputBytes = 384 * 1024;
// In-channel block when there are several row tiles: the weight block (kKBlock x 32 floats,
// 64 KiB) stays in L1/L2 while the rows pass over it. Measured on Zen 4 against 128, 256 and
// unblocked: 512 is best or within noise on every benchmark shape, and 10-20% faster than
// 128/256 with 2048 input channels.
constexpr int kKBlock = 512;
// With at least this many rows per thread threads split the rows, otherwise the panels.
constexpr int64_t kMinRowsPerThread = 48;

int RoundUp(int x, int m) { return (x + m - 1) / m * m; }

// ---- Portable implementation (auto-vectorizable over 16 columns). ----

void GenericCompute(const PointwiseConv::Packed& p, const float* x, int rows, int64_t ldx,
                    int panel_begin, int panel_end, float* y, int64_t ldy, float lo, float hi,
                    int /*k_block*/, float* /*buffer*/) {
  constexpr int kRows = 4;
  const int k_size = p.in_channels;
  for (int panel = panel_begin; panel < panel_end; ++panel) {
    const int col0 = panel * kPanel;
    const int width = std::min(kPanel, p.out_channels_padded - col0);
    const float* wp = p.weights + static_cast<size_t>(col0) * k_size;
    for (int v = 0; v < width; v += kLanes) {
      const int col = col0 + v;
      const int lanes = std::min(kLanes, p.out_channels - col);
      for (int r0 = 0; r0 < rows; r0 += kRows) {
        const int nr = std::min(kRows, rows - r0);
        float acc[kRows][kLanes];
        for (int r = 0; r < kRows; ++r) {
          for (int l = 0; l < kLanes; ++l) acc[r][l] = p.bias[col + l];
        }
        for (int k = 0; k < k_size; ++k) {
          const float* b = wp + static_cast<size_t>(k) * width + v;
          for (int r = 0; r < nr; ++r) {
            const float a = x[(r0 + r) * ldx + k];
            for (int l = 0; l < kLanes; ++l) acc[r][l] += a * b[l];
          }
        }
        for (int r = 0; r < nr; ++r) {
          float* dst = y + (r0 + r) * ldy + col;
          for (int l = 0; l < lanes; ++l) dst[l] = std::min(std::max(acc[r][l], lo), hi);
        }
      }
    }
  }
}

std::atomic<bool> g_force_portable{false};

ComputeFn SelectCompute() {
  static const ComputeFn best = [] {
    const ComputeFn avx512 = Avx512Compute();
    return avx512 ? avx512 : GenericCompute;
  }();
  return g_force_portable.load(std::memory_order_relaxed) ? GenericCompute : best;
}

}  // namespace

void SetForcePortableForTesting(bool force) { g_force_portable.store(force); }

bool HasAvx512() { return Avx512Compute() != nullptr; }

}  // namespace pointwise_internal

using namespace pointwise_internal;  // NOLINT: implementation file

namespace {

Status CheckChannels(int in_channels, int out_channels) {
  if (in_channels <= 0 || out_channels <= 0 || in_channels > (1 << 20) ||
      out_channels > (1 << 20)) {
    return InvalidArgument(
        LWAI_MSG("PointwiseConv: channel counts must be in [1, 1048576], got in=" +
                 std::to_string(in_channels) + " out=" + std::to_string(out_channels)));
  }
  if (static_cast<int64_t>(in_channels) * RoundUp(out_channels, kLanes) > (int64_t{1} << 30)) {
    return InvalidArgument(
        LWAI_MSG("PointwiseConv: packed weights for in=" + std::to_string(in_channels) +
                 " out=" + std::to_string(out_channels) + " would exceed 4 GiB"));
  }
  return Status::Ok();
}

// Packs weights ([out][in], or [in][out] rows `row_stride` apart when `transposed`) and bias
// into `base` (64-byte aligned, zero-initialized where `zeroed`): the panels, then the bias.
PointwiseConv::Packed Pack(const float* weights, bool transposed, int64_t row_stride,
                           const float* bias, int in_channels, int out_channels, float* base,
                           bool zeroed) {
  PointwiseConv::Packed p;
  p.in_channels = in_channels;
  p.out_channels = out_channels;
  p.out_channels_padded = RoundUp(out_channels, kLanes);
  p.panels = (p.out_channels_padded + kPanel - 1) / kPanel;
  const size_t weight_floats = static_cast<size_t>(in_channels) * p.out_channels_padded;
  float* packed_bias = base + weight_floats;
  for (int panel = 0; panel < p.panels; ++panel) {
    const int col0 = panel * kPanel;
    const int width = std::min(kPanel, p.out_channels_padded - col0);
    const int cols = std::min(width, out_channels - col0);
    float* dst = base + static_cast<size_t>(col0) * in_channels;
    for (int k = 0; k < in_channels; ++k) {
      float* row = dst + static_cast<size_t>(k) * width;
      if (transposed) {
        std::memcpy(row, weights + k * row_stride + col0, sizeof(float) * cols);
      } else {
        for (int c = 0; c < cols; ++c) {
          row[c] = weights[static_cast<size_t>(col0 + c) * in_channels + k];
        }
      }
      if (!zeroed && cols < width) std::memset(row + cols, 0, sizeof(float) * (width - cols));
    }
  }
  if (!zeroed) std::memset(packed_bias, 0, sizeof(float) * p.out_channels_padded);
  if (bias != nullptr) std::memcpy(packed_bias, bias, sizeof(float) * out_channels);
  p.weights = base;
  p.bias = packed_bias;
  return p;
}

}  // namespace

Result<std::unique_ptr<PointwiseConv>> PointwiseConv::Create(const float* weights,
                                                             bool weights_transposed,
                                                             const float* bias, int in_channels,
                                                             int out_channels) {
  if (weights == nullptr) return InvalidArgument(LWAI_MSG("PointwiseConv: weights are null"));
  LWAI_RETURN_IF_ERROR(CheckChannels(in_channels, out_channels));
  std::unique_ptr<PointwiseConv> conv(new PointwiseConv());
  const size_t padded = RoundUp(out_channels, kLanes);
  conv->storage_.assign(static_cast<size_t>(in_channels) * padded + padded + 16, 0.0f);
  float* base = conv->storage_.data();
  base += (16 - (reinterpret_cast<uintptr_t>(base) / sizeof(float)) % 16) % 16;
  conv->packed_ = Pack(weights, weights_transposed, out_channels, bias, in_channels, out_channels,
                       base, /*zeroed=*/true);
  return conv;
}

size_t PointwiseConv::PackedBytes(int in_channels, int out_channels) {
  if (!CheckChannels(in_channels, out_channels).ok()) return 0;
  const size_t padded = RoundUp(out_channels, kLanes);
  return sizeof(float) * (static_cast<size_t>(in_channels) * padded + padded);
}

PointwiseConv::Packed PointwiseConv::PackInto(const float* weights, bool transposed,
                                              int64_t row_stride, int in_channels, int out_channels,
                                              void* memory) {
  return Pack(weights, transposed, row_stride, nullptr, in_channels, out_channels,
              static_cast<float*>(memory), /*zeroed=*/false);
}

namespace {

// How Run splits the work.
struct Plan {
  int k_block = 0;         // in-channels per K block
  int64_t block_rows = 0;  // rows per block (a multiple of kRowTile)
  int64_t row_tiles = 0;   // tiles of kRowTile rows
  bool split_panels = false;
  int slots = 1;             // threads used, each with its own input buffer
  size_t buffer_floats = 0;  // per slot (0: inputs read in place)
};

Plan MakePlan(const PointwiseConv::Packed& p, int64_t pixels, int threads) {
  Plan plan;
  threads = std::max(1, threads);
  // K blocks only pay when a weight block is reused by several row tiles. Decided from the
  // pixel count alone: results must not depend on the thread count (KernelRow's partial sums
  // would round differently with other blocks).
  plan.k_block = pixels <= kRowTile ? p.in_channels : std::min(p.in_channels, kKBlock);
  // Rows per block: the block's inputs stay in L2 while all panels pass over them.
  const int64_t row_bytes = static_cast<int64_t>(sizeof(float)) * BufferStride(plan.k_block);
  plan.row_tiles = (pixels + kRowTile - 1) / kRowTile;
  plan.block_rows = std::max<int64_t>(1, kBlockInputBytes / row_bytes / kRowTile);
  plan.block_rows = std::min(plan.block_rows, plan.row_tiles) * kRowTile;
  // Threads split the panels when there are few rows (every weight is then read once in all),
  // the rows otherwise (each thread reads all weights).
  plan.split_panels = threads > 1 && p.panels >= threads &&
                      (pixels < threads * kMinRowsPerThread || pixels <= p.out_channels_padded / 2);
  plan.slots = threads == 1        ? 1
               : plan.split_panels ? threads
                                   : static_cast<int>(std::min<int64_t>(threads, plan.row_tiles));
  if (pixels > 1) {  // the portable code ignores the buffer
    plan.buffer_floats = static_cast<size_t>(plan.block_rows) * BufferStride(plan.k_block);
  }
  return plan;
}

}  // namespace

size_t PointwiseConv::ScratchBytes(int64_t pixels, int threads) const {
  if (pixels <= 0) return 0;
  const Plan plan = MakePlan(packed_, pixels, threads);
  return sizeof(float) * plan.buffer_floats * plan.slots;
}

bool PointwiseConv::HasFastPath() {
  return HasAvx512() && !g_force_portable.load(std::memory_order_relaxed);
}

void PointwiseConv::Run(const float* input, int64_t pixels, int input_stride, float* output,
                        int output_stride, float act_min, float act_max, void* scratch,
                        ThreadPool* pool) const {
  RunPacked(packed_, input, pixels, input_stride, output, output_stride, act_min, act_max, scratch,
            pool);
}

size_t PointwiseConv::PackedScratchBytes(int in_channels, int out_channels, int64_t pixels,
                                         int threads) {
  Packed layout;
  layout.in_channels = in_channels;
  layout.out_channels = out_channels;
  layout.out_channels_padded = RoundUp(out_channels, kLanes);
  layout.panels = (layout.out_channels_padded + kPanel - 1) / kPanel;
  if (pixels <= 0) return 0;
  const Plan plan = MakePlan(layout, pixels, threads);
  return sizeof(float) * plan.buffer_floats * plan.slots;
}

void PointwiseConv::RunPacked(const Packed& p, const float* input, int64_t pixels, int input_stride,
                              float* output, int output_stride, float act_min, float act_max,
                              void* scratch, ThreadPool* pool) {
  if (pixels <= 0) return;
  const ComputeFn compute = SelectCompute();
  const int threads = pool ? std::max(1, pool->num_threads()) : 1;
  const Plan plan = MakePlan(p, pixels, threads);
  auto run_slots = [&](int64_t slot_begin, int64_t slot_end) {
    for (int64_t slot = slot_begin; slot < slot_end; ++slot) {
      int panel0 = 0, panel1 = p.panels;
      int64_t row0 = 0, row1 = pixels;
      if (plan.split_panels) {
        panel0 = static_cast<int>(slot * p.panels / plan.slots);
        panel1 = static_cast<int>((slot + 1) * p.panels / plan.slots);
      } else {
        row0 = std::min(pixels, slot * plan.row_tiles / plan.slots * kRowTile);
        row1 = std::min(pixels, (slot + 1) * plan.row_tiles / plan.slots * kRowTile);
      }
      float* buffer = plan.buffer_floats == 0
                          ? nullptr
                          : static_cast<float*>(scratch) + slot * plan.buffer_floats;
      for (int64_t r = row0; r < row1; r += plan.block_rows) {
        const int rows = static_cast<int>(std::min(plan.block_rows, row1 - r));
        compute(p, input + r * input_stride, rows, input_stride, panel0, panel1,
                output + r * output_stride, output_stride, act_min, act_max, plan.k_block, buffer);
      }
    }
  };
  if (pool != nullptr && plan.slots > 1) {
    pool->ParallelFor(plan.slots, 1, run_slots);
  } else {
    run_slots(0, plan.slots);
  }
}

int64_t CoreL2Bytes() {
  static const int64_t bytes = [] {
    const long size = sysconf(_SC_LEVEL2_CACHE_SIZE);
    return size > 0 ? static_cast<int64_t>(size) : int64_t{1} << 20;
  }();
  return bytes;
}

bool PointwiseConvIsProfitable(int64_t pixels, int in_channels, int out_channels) {
  // Measured against XNNPACK's 1x1 convolution / fully connected operator on a Zen 4 core (one
  // thread, benchmarks/pointwise_bench.cc, weights hot in cache and evicted before each call):
  // with 1-4 rows the packed panels stream the weights once, 1.2-2.7x faster than XNNPACK
  // with hot weights and up to 1.3x with cold ones; with <= 64 rows and weights of at least
  // the core's L2 cache (there 1 MiB, 512 x 512 channels), which are cold in a whole network,
  // 1.0-1.2x faster cold, 0.95-1.0x hot. On the other (compute-bound) shapes both run at
  // 0.85-1.05x of each other: keep XNNPACK. The L2 size comes from the OS, so the rule follows
  // the machine's cache rather than Zen 4's.
  if (!HasAvx512() || pixels < 1 || in_channels < 1 || out_channels < 1) return false;
  if (pixels <= 4) return true;
  const int64_t weight_bytes = int64_t{4} * in_channels * out_channels;
  return pixels <= 64 && in_channels >= 256 && out_channels >= 256 && weight_bytes >= CoreL2Bytes();
}

}  // namespace lwai
