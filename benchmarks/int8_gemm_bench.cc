// Microbenchmark of lwai's int8 GEMM (kernels/int8_gemm.h) on layer shapes of the seed networks
// (ResNet-50's 3x3 and 1x1 layers as rows x depth x columns, MobileNetV2's thin pointwise layers):
// prints the best time of five ~50 ms batches and GMAC/s. Wall time; run on a quiet machine.
// Build (from the repository root, after building build/liblwai_kernels.a):
//   g++ -O2 -std=c++17 -march=native -Icpp/include -Icpp/src -I. -Ibuild/generated \
//       benchmarks/int8_gemm_bench.cc build/liblwai_kernels.a -lpthreadpool -lpthread \
//       -o build/int8_gemm_bench
// Usage: int8_gemm_bench [threads] [t|tf]   (default 1 thread; "t": B given by columns and Y
// written transposed, as the quantized MatMul kernels run A * W^T; "tf": with float output, as
// DynamicQuantizeMatMul)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>

#include "kernels/int8_gemm.h"
#include "runtime/thread_pool.h"
using namespace lwai;
// Seconds of wall time.
double cpu() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}
int main(int argc, char** argv) {
  struct S {
    int m, k, n;
  } shapes[] = {{256, 2304, 196}, {64, 576, 3136}, {512, 4608, 49}, {2048, 512, 49},
                {96, 16, 12544},  {24, 96, 3136},  {1024, 256, 196}, {768, 768, 128},
                {3072, 768, 128}, {768, 3072, 128}};
  ThreadPool pool(argc > 1 ? atoi(argv[1]) : 1);
  const bool transposed = argc > 2 && argv[2][0] == 't';
  const bool float_output = argc > 2 && argv[2][1] == 'f';
  for (auto s : shapes) {
    std::vector<int8_t> w(s.m * s.k);
    std::mt19937 r(1);
    for (auto& v : w) v = r() % 255 - 127;
    auto W = Int8GemmWeights::Create(w.data(), s.m, s.k);
    std::vector<uint8_t> b(s.k * s.n);
    for (auto& v : b) v = r();
    std::vector<int32_t> off(s.m, 5);
    std::vector<float> sc(s.m, 0.001f);
    Int8Requantization rq;
    rq.row_offset = off.data();
    rq.row_scale = sc.data();
    rq.y_zero_point = 3;
    rq.y_transposed = transposed;
    rq.float_output = float_output;
    std::vector<float> y(s.m * s.n);
    void* scratch =
        aligned_alloc(64, (Int8GemmScratchBytes(s.k, s.n, pool.num_threads()) + 63) / 64 * 64);
    double best = 1e9;
    for (int rep = 0; rep < 5; ++rep) {
      int iters = 0;
      double t0 = cpu();
      while (cpu() - t0 < 0.05) {
        Int8Gemm(**W, b.data(), transposed ? s.k : s.n, 0, s.n, rq, y.data(),
                 transposed ? s.m : s.n, scratch, &pool, transposed);
        ++iters;
      }
      best = std::min(best, (cpu() - t0) / iters);
    }
    printf("m %5d k %5d n %6d: %.3f ms  %.1f GMAC/s\n", s.m, s.k, s.n, best * 1e3,
           double(s.m) * s.k * s.n / best * 1e-9);
  }
}
