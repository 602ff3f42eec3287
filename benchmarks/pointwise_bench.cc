// Microbenchmark of PointwiseConv against XNNPACK's 1x1 convolution (and fully connected
// operator for one-pixel shapes) on typical pointwise layers (NHWC, batch 1).
// Prints GMAC/s (pixels * in * out / median time) and the median time; each median is over
// several batches of runs of ~20 ms each, with the two implementations interleaved so load
// from other users of the machine affects both alike. With one thread the time is the thread's
// CPU time (robust against other processes on a shared machine; POINTWISE_BENCH_WALL=1 for wall
// time), with more threads wall time.
// See MeasureCold for POINTWISE_BENCH_COLD=1.
// Build (from the repository root, after building build-pw/liblwai_kernels.a):
//   g++ -O2 -std=c++17 -march=native -Icpp/include -Icpp/src -I. benchmarks/pointwise_bench.cc \
//       build-pw/liblwai_kernels.a -lXNNPACK -lpthreadpool -lpthread -o build-pw/pointwise_bench
// Usage: pointwise_bench [threads...]   (default: 1 2); POINTWISE_BENCH_FILTER=substring
// selects shapes by name.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <limits>
#include <vector>

#include "kernels/pointwise_conv.h"
#include "runtime/thread_pool.h"

namespace {

struct Shape {
  const char* name;
  int pixels, cin, cout;
};

const Shape kShapes[] = {
    {"mbv1 112x112 32->64", 12544, 32, 64},
    {"mbv1 56x56 64->128", 3136, 64, 128},
    {"mbv1 56x56 128->128", 3136, 128, 128},
    {"mbv1 28x28 128->256", 784, 128, 256},
    {"mbv1 28x28 256->256", 784, 256, 256},
    {"mbv1 14x14 256->512", 196, 256, 512},
    {"mbv1 14x14 512->512", 196, 512, 512},
    {"mbv1 7x7 512->1024", 49, 512, 1024},
    {"mbv1 7x7 1024->1024", 49, 1024, 1024},
    {"mbv1 fc 1024->1001", 1, 1024, 1001},
    {"rn50 56x56 64->64", 3136, 64, 64},
    {"rn50 56x56 64->256", 3136, 64, 256},
    {"rn50 56x56 256->64", 3136, 256, 64},
    {"rn50 28x28 128->512", 784, 128, 512},
    {"rn50 28x28 512->128", 784, 512, 128},
    {"rn50 14x14 256->1024", 196, 256, 1024},
    {"rn50 14x14 1024->256", 196, 1024, 256},
    {"rn50 7x7 512->2048", 49, 512, 2048},
    {"rn50 7x7 2048->512", 49, 2048, 512},
    {"rn50 fc 2048->1000", 1, 2048, 1000},
    {"sqz 55x55 96->16", 3025, 96, 16},
    {"sqz 55x55 16->64", 3025, 16, 64},
    {"sqz 27x27 32->128", 729, 32, 128},
    {"sqz 13x13 64->256", 169, 64, 256},
    {"sqz 13x13 512->1000", 169, 512, 1000},
    {"incv3 35x35 192->64", 1225, 192, 64},
    {"incv3 17x17 768->192", 289, 768, 192},
    {"incv3 8x8 2048->320", 64, 2048, 320},
    {"mbv2 56x56 24->144", 3136, 24, 144},
    {"mbv2 56x56 144->24", 3136, 144, 24},
    {"mbv2 7x7 160->960", 49, 160, 960},
    {"mbv2 7x7 320->1280", 49, 320, 1280},
    {"fc b2 1024->1001", 2, 1024, 1001},
    {"fc b4 1024->1001", 4, 1024, 1001},
    {"odd 197 17->33", 197, 17, 33},
    // MediaPipe's pose detector (never tuned on: measured against LiteRT's newer XNNPACK).
    {"mp 14x14 112->672", 196, 112, 672},
    {"mp 14x14 672->112", 196, 672, 112},
    {"mp 7x7 192->1152", 49, 192, 1152},
    {"mp 7x7 1152->192", 49, 1152, 192},
    {"mp 112x112 16->64", 12544, 16, 64},
    {"mp 14x14 1152->192", 196, 1152, 192},
};

double Seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU time of the calling thread: with one thread, what an unshared machine would give.
double ThreadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

bool g_cpu_time = false;  // time with ThreadSeconds (one thread) instead of wall time

double Now() { return g_cpu_time ? ThreadSeconds() : Seconds(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median seconds per call of a and b, measured in interleaved batches.
void Measure(const std::function<void()>& a, const std::function<void()>& b, double* ta,
             double* tb) {
  a();
  b();
  const double t0 = Now();
  a();
  const double once = std::max(1e-7, Now() - t0);
  const int iters = std::max(1, static_cast<int>(0.02 / once));
  std::vector<double> sa, sb;
  for (int batch = 0; batch < 9; ++batch) {
    double s = Now();
    for (int i = 0; i < iters; ++i) a();
    sa.push_back((Now() - s) / iters);
    s = Now();
    for (int i = 0; i < iters; ++i) b();
    sb.push_back((Now() - s) / iters);
  }
  *ta = Median(sa);
  *tb = Median(sb);
}

// Cold weights (POINTWISE_BENCH_COLD=1): before each timed call, a 64 MiB buffer is written
// (evicting the weights from every cache level, as in a whole network whose weights exceed the
// caches) and the input is read back into the cache (as if a previous layer had just written
// it). Median of per-call times.
std::vector<float>* g_flush = nullptr;

void MeasureCold(const std::function<void()>& a, const std::function<void()>& b,
                 const std::function<void()>& warm_input, double* ta, double* tb) {
  std::vector<double> sa, sb;
  for (int it = 0; it < 31; ++it) {
    for (int which = 0; which < 2; ++which) {
      float* f = g_flush->data();
      for (size_t i = 0; i < g_flush->size(); i += 16) f[i] += 1.0f;
      warm_input();
      const double s = Now();
      (which == 0 ? a : b)();
      (which == 0 ? sa : sb).push_back(Now() - s);
    }
  }
  *ta = Median(sa);
  *tb = Median(sb);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> thread_counts;
  for (int i = 1; i < argc; ++i) thread_counts.push_back(std::atoi(argv[i]));
  if (thread_counts.empty()) thread_counts = {1, 2};
  if (xnn_initialize(nullptr) != xnn_status_success) {
    std::fprintf(stderr, "xnn_initialize failed\n");
    return 1;
  }
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> flush;
  if (std::getenv("POINTWISE_BENCH_COLD") != nullptr) {
    flush.assign(16 << 20, 0.0f);
    g_flush = &flush;
  }
  for (int threads : thread_counts) {
    lwai::ThreadPool pool(threads);
    g_cpu_time = threads == 1 && std::getenv("POINTWISE_BENCH_WALL") == nullptr;
    pthreadpool_t xnn_pool = threads > 1 ? pthreadpool_create(threads) : nullptr;
    std::printf("threads=%d (%s time, %s weights)\n%-24s %8s %9s %9s %9s %9s %7s %s\n", threads,
                g_cpu_time ? "thread CPU" : "wall", g_flush ? "cold" : "hot", "shape", "MMAC",
                "lwai_us", "xnn_us", "lwai_GM/s", "xnn_GM/s", "speedup", "profitable");
    for (const Shape& s : kShapes) {
      const char* filter = std::getenv("POINTWISE_BENCH_FILTER");
      if (filter != nullptr && std::strstr(s.name, filter) == nullptr) continue;
      std::vector<float> weights(static_cast<size_t>(s.cout) * s.cin);
      for (size_t i = 0; i < weights.size(); ++i) weights[i] = 0.01f * ((i * 7) % 13) - 0.06f;
      std::vector<float> bias(s.cout, 0.1f);
      std::vector<float> input(static_cast<size_t>(s.pixels) * s.cin, 0.5f);
      std::vector<float> out_lwai(static_cast<size_t>(s.pixels) * s.cout);
      std::vector<float> out_xnn(out_lwai.size());
      auto conv = lwai::PointwiseConv::Create(weights.data(), false, bias.data(), s.cin, s.cout);
      if (!conv.ok()) {
        std::fprintf(stderr, "%s: %s\n", s.name, conv.status().ToString().c_str());
        return 1;
      }
      const lwai::PointwiseConv& pw = **conv;
      std::vector<float> scratch(pw.ScratchBytes(s.pixels, threads) / sizeof(float) + 16);
      xnn_operator_t op = nullptr;
      xnn_status st;
      if (s.pixels == 1 || std::strncmp(s.name, "fc", 2) == 0) {
        st = xnn_create_fully_connected_nc_f32(s.cin, s.cout, s.cin, s.cout, weights.data(),
                                               bias.data(), 0.0f, inf, 0, &op);
        if (st == xnn_status_success) {
          st = xnn_setup_fully_connected_nc_f32(op, s.pixels, input.data(), out_xnn.data(),
                                                xnn_pool);
        }
      } else {
        st = xnn_create_convolution2d_nhwc_f32(0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, s.cin, s.cout,
                                               s.cin, s.cout, weights.data(), bias.data(), 0.0f,
                                               inf, 0, &op);
        if (st == xnn_status_success) {
          st = xnn_setup_convolution2d_nhwc_f32(op, 1, 1, s.pixels, input.data(), out_xnn.data(),
                                                xnn_pool);
        }
      }
      if (st != xnn_status_success) {
        std::fprintf(stderr, "%s: XNNPACK failed (%d)\n", s.name, static_cast<int>(st));
        return 1;
      }
      auto run_lwai = [&] {
        pw.Run(input.data(), s.pixels, s.cin, out_lwai.data(), s.cout, 0.0f, inf, scratch.data(),
               threads > 1 ? &pool : nullptr);
      };
      auto run_xnn = [&] { xnn_run_operator(op, xnn_pool); };
      double tl = 0, tx = 0;
      if (g_flush != nullptr) {
        volatile float sink = 0;
        auto warm_input = [&] {
          float acc = 0;
          for (size_t i = 0; i < input.size(); i += 16) acc += input[i];
          sink = sink + acc;
        };
        MeasureCold(run_lwai, run_xnn, warm_input, &tl, &tx);
      } else {
        Measure(run_lwai, run_xnn, &tl, &tx);
      }
      double max_diff = 0;
      for (size_t i = 0; i < out_lwai.size(); ++i) {
        max_diff = std::max(max_diff, static_cast<double>(std::abs(out_lwai[i] - out_xnn[i])));
      }
      const double macs = static_cast<double>(s.pixels) * s.cin * s.cout;
      std::printf("%-24s %8.2f %9.1f %9.1f %9.1f %9.1f %7.2f %d%s\n", s.name, macs * 1e-6, tl * 1e6,
                  tx * 1e6, macs / tl * 1e-9, macs / tx * 1e-9, tx / tl,
                  lwai::PointwiseConvIsProfitable(s.pixels, s.cin, s.cout) ? 1 : 0,
                  max_diff > 1e-3 ? "  MISMATCH" : "");
      std::fflush(stdout);
      xnn_delete_operator(op);
    }
    if (xnn_pool != nullptr) pthreadpool_destroy(xnn_pool);
  }
  return 0;
}
