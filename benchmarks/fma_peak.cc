// fp32 FMA peak of one core: the physical ceiling that benchmarks/compare.py sets the networks'
// effective GMAC/s against.
//
// Each variant keeps kChains independent accumulators (more than FMA latency x FMA ports, so
// the pipes never wait on a dependency) and runs acc = acc * a + b on all of them in a loop.
// One FMA lane = one multiply-accumulate (MAC). AVX-512 and AVX2 variants are compiled with
// __attribute__((target(...))) and picked at run time, so a plain `g++ -O2` build runs on any
// x86-64. Single thread: compare.py multiplies by the thread count itself.
//
// Build: g++ -O2 -o fma_peak benchmarks/fma_peak.cc
// Usage: fma_peak [seconds per variant, default 0.3]
// Prints one JSON object: {"avx512": GMAC/s or null, "avx2": ..., "best": ..., "isa": "..."}

#include <immintrin.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

constexpr int kChains = 12;
constexpr std::int64_t kInner = 1 << 12;  // FMA rounds between clock reads

using Clock = std::chrono::steady_clock;

// Twelve named accumulators (not an array: at -O2 GCC would keep an array in memory).
// clang-format off
#define LWAI_FMA_CHAINS(FMA)                                                            \
  for (std::int64_t r = 0; r < rounds; ++r) {                                           \
    c0 = FMA(c0, a, b); c1 = FMA(c1, a, b); c2 = FMA(c2, a, b); c3 = FMA(c3, a, b);     \
    c4 = FMA(c4, a, b); c5 = FMA(c5, a, b); c6 = FMA(c6, a, b); c7 = FMA(c7, a, b);     \
    c8 = FMA(c8, a, b); c9 = FMA(c9, a, b); c10 = FMA(c10, a, b); c11 = FMA(c11, a, b); \
  }
// clang-format on

// Each returns the MACs done and writes a checksum (so the loop cannot be removed).
__attribute__((target("avx512f"))) std::int64_t RunAvx512(std::int64_t rounds, float* sink) {
  __m512 c0 = _mm512_set1_ps(1.00f), c1 = _mm512_set1_ps(1.01f), c2 = _mm512_set1_ps(1.02f);
  __m512 c3 = _mm512_set1_ps(1.03f), c4 = _mm512_set1_ps(1.04f), c5 = _mm512_set1_ps(1.05f);
  __m512 c6 = _mm512_set1_ps(1.06f), c7 = _mm512_set1_ps(1.07f), c8 = _mm512_set1_ps(1.08f);
  __m512 c9 = _mm512_set1_ps(1.09f), c10 = _mm512_set1_ps(1.10f), c11 = _mm512_set1_ps(1.11f);
  const __m512 a = _mm512_set1_ps(0.999999f);
  const __m512 b = _mm512_set1_ps(1e-7f);
  LWAI_FMA_CHAINS(_mm512_fmadd_ps)
  const __m512 sum =
      _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                                  _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7))),
                    _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)));
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  float total = 0.0f;
  for (float v : lanes) total += v;
  *sink = total;
  return rounds * kChains * 16;
}

__attribute__((target("avx2,fma"))) std::int64_t RunAvx2(std::int64_t rounds, float* sink) {
  __m256 c0 = _mm256_set1_ps(1.00f), c1 = _mm256_set1_ps(1.01f), c2 = _mm256_set1_ps(1.02f);
  __m256 c3 = _mm256_set1_ps(1.03f), c4 = _mm256_set1_ps(1.04f), c5 = _mm256_set1_ps(1.05f);
  __m256 c6 = _mm256_set1_ps(1.06f), c7 = _mm256_set1_ps(1.07f), c8 = _mm256_set1_ps(1.08f);
  __m256 c9 = _mm256_set1_ps(1.09f), c10 = _mm256_set1_ps(1.10f), c11 = _mm256_set1_ps(1.11f);
  const __m256 a = _mm256_set1_ps(0.999999f);
  const __m256 b = _mm256_set1_ps(1e-7f);
  LWAI_FMA_CHAINS(_mm256_fmadd_ps)
  const __m256 sum =
      _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                                  _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7))),
                    _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  float total = 0.0f;
  for (float v : lanes) total += v;
  *sink = total;
  return rounds * kChains * 8;
}

#undef LWAI_FMA_CHAINS

using Kernel = std::int64_t (*)(std::int64_t, float*);

// Best GMAC/s over 5 trials of about `seconds` / 5 each (the best trial is the one least
// disturbed by other processes on a shared machine).
double Measure(Kernel kernel, double seconds) {
  float sink = 0.0f;
  kernel(kInner * 64, &sink);  // warm up: clocks ramp, caches fill
  double best = 0.0;
  for (int trial = 0; trial < 5; ++trial) {
    std::int64_t macs = 0;
    const auto start = Clock::now();
    double elapsed = 0.0;
    do {
      macs += kernel(kInner * 16, &sink);
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < seconds / 5);
    const double gmacs = static_cast<double>(macs) / elapsed / 1e9;
    if (gmacs > best) best = gmacs;
  }
  if (sink == 12345.678f) std::fputs("", stderr);  // keeps `sink` observable
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 0.3;
  if (!(seconds > 0.0)) {
    std::fprintf(stderr, "usage: %s [seconds per variant > 0]\n", argv[0]);
    return 2;
  }
  __builtin_cpu_init();
  const bool has_avx512 = __builtin_cpu_supports("avx512f");
  const bool has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const double avx512 = has_avx512 ? Measure(RunAvx512, seconds) : 0.0;
  const double avx2 = has_avx2 ? Measure(RunAvx2, seconds) : 0.0;
  if (!has_avx512 && !has_avx2) {
    std::printf("{\"avx512\": null, \"avx2\": null, \"best\": null, \"isa\": \"none\"}\n");
    return 0;
  }
  const bool avx512_best = avx512 >= avx2;
  char a512[32] = "null";
  char a2[32] = "null";
  if (has_avx512) std::snprintf(a512, sizeof a512, "%.3f", avx512);
  if (has_avx2) std::snprintf(a2, sizeof a2, "%.3f", avx2);
  std::printf("{\"avx512\": %s, \"avx2\": %s, \"best\": %.3f, \"isa\": \"%s\"}\n", a512, a2,
              avx512_best ? avx512 : avx2, avx512_best ? "avx512" : "avx2");
  return 0;
}
