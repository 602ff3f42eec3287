// Microbenchmark of Winograd3x3 on typical 3x3 layers (batch 1, pad 1, NHWC).
// Prints the effective rate: direct-convolution MACs (N*OH*OW*Cout*Cin*9) per second, from
// the median and 10th-percentile wall time, and from the process CPU time divided by the
// thread count (what an unshared machine would give if the threads never wait).
// Usage: winograd_bench [threads...]   (default: 1 2); WINOGRAD_BENCH_FILTER=substring
// selects layers by name.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include "kernels/winograd.h"
#include "runtime/thread_pool.h"

namespace {

struct Layer {
  const char* name;
  int size, cin, cout;
};

const Layer kLayers[] = {
    {"resnet50 56x56 64->64", 56, 64, 64},     {"resnet50 28x28 128->128", 28, 128, 128},
    {"resnet50 14x14 256->256", 14, 256, 256}, {"resnet50 7x7 512->512", 7, 512, 512},
    {"inception 35x35 48->64", 35, 48, 64},    {"inception 35x35 64->96", 35, 64, 96},
    {"inception 35x35 96->96", 35, 96, 96},    {"inception 17x17 192->192", 17, 192, 192},
    {"squeezenet 55x55 16->64", 55, 16, 64},   {"squeezenet 27x27 32->128", 27, 32, 128},
    {"squeezenet 13x13 48->192", 13, 48, 192}, {"squeezenet 13x13 64->256", 13, 64, 256},
};

double Seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU time of the whole process (all threads).
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> thread_counts;
  for (int i = 1; i < argc; ++i) thread_counts.push_back(std::atoi(argv[i]));
  if (thread_counts.empty()) thread_counts = {1, 2};
  for (int threads : thread_counts) {
    lwai::ThreadPool pool(threads);
    for (const Layer& l : kLayers) {
      const char* filter = std::getenv("WINOGRAD_BENCH_FILTER");
      if (filter != nullptr && std::strstr(l.name, filter) == nullptr) continue;
      std::vector<float> weights(static_cast<size_t>(l.cout) * l.cin * 9, 0.01f);
      std::vector<float> bias(l.cout, 0.1f);
      std::vector<float> input(static_cast<size_t>(l.size) * l.size * l.cin, 0.5f);
      std::vector<float> output(static_cast<size_t>(l.size) * l.size * l.cout);
      auto conv = lwai::Winograd3x3::Create(weights.data(), bias.data(), l.cin, l.cout);
      if (!conv.ok()) return 1;
      const size_t bytes = (*conv)->ScratchBytes(1, l.size, l.size, 1, 1, 1, 1, threads);
      float* scratch = static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64));
      auto run = [&] {
        (*conv)->Run(input.data(), 1, l.size, l.size, l.cin, 1, 1, 1, 1, output.data(), l.cout,
                     0.0f, 1e30f, scratch, threads > 1 ? &pool : nullptr);
      };
      const double macs = 9.0 * l.size * l.size * l.cin * l.cout;
      // Samples of about 5 ms; the machine may be shared, so report the median and the 10th
      // percentile (closest to an idle machine) and the CPU time used per wall second.
      run();
      double t0 = Seconds();
      run();
      const double once = std::max(1e-6, Seconds() - t0);
      const int reps = std::max(1, static_cast<int>(0.005 / once));
      std::vector<double> samples, cpu_samples;
      const double cpu0 = CpuSeconds();
      const double wall0 = Seconds();
      for (int s = 0; s < 41; ++s) {
        t0 = Seconds();
        const double c0 = CpuSeconds();
        for (int r = 0; r < reps; ++r) run();
        samples.push_back((Seconds() - t0) / reps);
        cpu_samples.push_back((CpuSeconds() - c0) / reps / threads);
      }
      const double cpu_per_wall = (CpuSeconds() - cpu0) / (Seconds() - wall0);
      std::sort(samples.begin(), samples.end());
      std::sort(cpu_samples.begin(), cpu_samples.end());
      const double median = samples[samples.size() / 2];
      const double p10 = samples[samples.size() / 10];
      const double cpu_median = cpu_samples[cpu_samples.size() / 2];
      std::printf(
          "threads=%d  %-26s %8.1f us  median %6.1f GMAC/s  p10 %6.1f  cpu-time %6.1f  "
          "cpu/wall %.2f\n",
          threads, l.name, median * 1e6, macs / median * 1e-9, macs / p10 * 1e-9,
          macs / cpu_median * 1e-9, cpu_per_wall);
      std::free(scratch);
    }
  }
  return 0;
}
