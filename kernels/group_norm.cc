#include "kernels/group_norm.h"

#include <algorithm>
#include <cmath>

#include "runtime/thread_pool.h"

namespace lwai {
namespace {

constexpr int64_t kChunkValues = 16384;  // values per partial sum, whatever the thread count

// NCHW: a group's values are contiguous, cut into chunks of kChunkValues.
// NHWC: an image's pixels are cut into chunks of kChunkValues / C pixels (at least one), each
// holding a partial sum for every group.
struct Layout {
  int64_t chunks = 1;            // per group (NCHW) or per image (NHWC)
  int64_t pixels_per_chunk = 1;  // NHWC
};

// Adds v[i] - m (or its square) over n values into 16 lane accumulators, so that it vectorizes;
// the caller adds the lanes up once.
constexpr int kLanes = 16;
template <bool kSquares>
void Accumulate(const float* v, int64_t n, float m, float* lanes) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      const float d = v[i + j] - m;
      lanes[j] += kSquares ? d * d : d;
    }
  }
  for (int j = 0; i < n; ++i, ++j) {
    const float d = v[i] - m;
    lanes[j] += kSquares ? d * d : d;
  }
}

float LaneSum(const float* lanes) {
  float sum = 0.0f;
  for (int j = 0; j < kLanes; ++j) sum += lanes[j];
  return sum;
}

Layout LayoutOf(const GroupNormShape& s, bool nhwc) {
  Layout l;
  if (nhwc) {
    l.pixels_per_chunk = std::max<int64_t>(1, kChunkValues / std::max<int64_t>(1, s.channels));
    l.chunks = std::max<int64_t>(1, (s.pixels + l.pixels_per_chunk - 1) / l.pixels_per_chunk);
  } else {
    const int64_t values = s.channels / s.groups * s.pixels;
    l.chunks = std::max<int64_t>(1, (values + kChunkValues - 1) / kChunkValues);
  }
  return l;
}

// Scratch: partial sums (N * G * chunks doubles), each group's mean and inverse deviation
// (N * G doubles each), then the multipliers and the addends per image and channel (N * C
// floats each).
struct Scratch {
  double* partials;
  double* mean;
  double* inv;
  float* coefficients;
};

Scratch Carve(const GroupNormShape& s, const Layout& l, void* scratch) {
  Scratch out;
  out.partials = static_cast<double*>(scratch);
  out.mean = out.partials + s.batch * s.groups * l.chunks;
  out.inv = out.mean + s.batch * s.groups;
  out.coefficients = reinterpret_cast<float*>(out.inv + s.batch * s.groups);
  return out;
}

// Per group, the mean and then the inverse deviation from the partials (added in chunk order),
// then the per-channel coefficients.
template <typename Partials>
void Coefficients(const GroupNormShape& s, const Layout& l, const float* scale, const float* bias,
                  const Scratch& mem, const Partials& compute_partials) {
  const int64_t groups = s.batch * s.groups;
  const int64_t per_group = s.channels / s.groups;
  const double count = static_cast<double>(per_group) * static_cast<double>(s.pixels);
  double* partials = mem.partials;
  double* mean = mem.mean;
  double* inv = mem.inv;
  float* coefficients = mem.coefficients;
  // Pass 1: sums. Pass 2: sums of squared deviations from the means of pass 1.
  for (int pass = 0; pass < 2; ++pass) {
    compute_partials(pass, mean, partials);
    for (int64_t ng = 0; ng < groups; ++ng) {
      double sum = 0.0;
      for (int64_t c = 0; c < l.chunks; ++c) sum += partials[ng * l.chunks + c];
      if (pass == 0) {
        mean[ng] = count > 0 ? sum / count : 0.0;
      } else {
        inv[ng] = 1.0 / std::sqrt((count > 0 ? sum / count : 0.0) + s.epsilon);
      }
    }
  }
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const int64_t ng = n * s.groups + c / per_group;
      const double a = inv[ng] * scale[c];
      coefficients[n * s.channels + c] = static_cast<float>(a);
      coefficients[(s.batch + n) * s.channels + c] = static_cast<float>(bias[c] - mean[ng] * a);
    }
  }
}

}  // namespace

size_t GroupNormScratchBytes(const GroupNormShape& s, bool nhwc) {
  const Layout l = LayoutOf(s, nhwc);
  return static_cast<size_t>(s.batch * s.groups * (l.chunks + 2)) * sizeof(double) +
         static_cast<size_t>(s.batch * s.channels * 2) * sizeof(float);
}

void GroupNormNchw(const GroupNormShape& s, const float* x, const float* scale, const float* bias,
                   float* y, void* scratch, ThreadPool* pool) {
  if (s.batch * s.channels * s.pixels == 0) return;
  const Layout l = LayoutOf(s, false);
  const Scratch mem = Carve(s, l, scratch);
  const int64_t per_group = s.channels / s.groups;
  const int64_t values = per_group * s.pixels;
  const int64_t jobs = s.batch * s.groups * l.chunks;
  auto partials = [&](int pass, const double* mean, double* out) {
    pool->ParallelFor(jobs, 1, [&](int64_t begin, int64_t end) {
      for (int64_t job = begin; job < end; ++job) {
        const int64_t ng = job / l.chunks, chunk = job % l.chunks;
        const float* group = x + ng * values;
        const int64_t first = chunk * kChunkValues;
        const int64_t last = std::min(values, first + kChunkValues);
        const float m = pass == 0 ? 0.0f : static_cast<float>(mean[ng]);
        float lanes[kLanes] = {};
        if (pass == 0) {
          Accumulate<false>(group + first, last - first, m, lanes);
        } else {
          Accumulate<true>(group + first, last - first, m, lanes);
        }
        out[job] = LaneSum(lanes);
      }
    });
  };
  Coefficients(s, l, scale, bias, mem, partials);
  const int64_t planes = s.batch * s.channels;
  pool->ParallelFor(planes, std::max<int64_t>(1, 16384 / s.pixels),
                    [&](int64_t begin, int64_t end) {
                      for (int64_t p = begin; p < end; ++p) {
                        const float a = mem.coefficients[p];
                        const float b = mem.coefficients[planes + p];
                        const float* in = x + p * s.pixels;
                        float* out = y + p * s.pixels;
                        for (int64_t i = 0; i < s.pixels; ++i) out[i] = in[i] * a + b;
                      }
                    });
}

void GroupNormNhwc(const GroupNormShape& s, const float* x, int64_t x_stride, const float* scale,
                   const float* bias, float* y, int64_t y_stride, void* scratch, ThreadPool* pool) {
  if (s.batch * s.channels * s.pixels == 0) return;
  const Layout l = LayoutOf(s, true);
  const Scratch mem = Carve(s, l, scratch);
  const int64_t per_group = s.channels / s.groups;
  const int64_t jobs = s.batch * l.chunks;
  // One job: a chunk of one image's pixels, a partial sum for every group.
  auto partials = [&](int pass, const double* mean, double* out) {
    pool->ParallelFor(jobs, 1, [&](int64_t begin, int64_t end) {
      for (int64_t job = begin; job < end; ++job) {
        const int64_t n = job / l.chunks, chunk = job % l.chunks;
        const int64_t first = chunk * l.pixels_per_chunk;
        const int64_t last = std::min(s.pixels, first + l.pixels_per_chunk);
        const float* image = x + n * s.pixels * x_stride;
        for (int64_t g = 0; g < s.groups; ++g) {
          const float m = pass == 0 ? 0.0f : static_cast<float>(mean[n * s.groups + g]);
          float lanes[kLanes] = {};
          for (int64_t p = first; p < last; ++p) {
            const float* segment = image + p * x_stride + g * per_group;
            if (pass == 0) {
              Accumulate<false>(segment, per_group, m, lanes);
            } else {
              Accumulate<true>(segment, per_group, m, lanes);
            }
          }
          out[(n * s.groups + g) * l.chunks + chunk] = LaneSum(lanes);
        }
      }
    });
  };
  Coefficients(s, l, scale, bias, mem, partials);
  const int64_t rows = s.batch * s.pixels;
  pool->ParallelFor(rows, std::max<int64_t>(1, 16384 / s.channels),
                    [&](int64_t begin, int64_t end) {
                      for (int64_t r = begin; r < end; ++r) {
                        const float* a = mem.coefficients + (r / s.pixels) * s.channels;
                        const float* b = a + s.batch * s.channels;
                        const float* in = x + r * x_stride;
                        float* out = y + r * y_stride;
                        for (int64_t c = 0; c < s.channels; ++c) out[c] = in[c] * a[c] + b[c];
                      }
                    });
}

}  // namespace lwai
