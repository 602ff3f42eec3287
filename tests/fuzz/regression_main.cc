// Runs a fuzz harness over files given on the command line, for builds without libFuzzer (the
// normal gcc build): every committed corpus and regression input goes through the harness in
// `make test`, sanitized or not. An input that takes more than kMaxSecondsPerInput fails the run:
// the harness gives each session a 2 s deadline, so a slow input means some work is unbounded.
// Under an emulator (qemu-user for cross builds), which runs 10-20x slower, CMake sets
// LWAI_TEST_TIME_SCALE to scale the limit.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

constexpr double kMaxSecondsPerInput = 10.0;

int main(int argc, char** argv) {
  const char* scale = std::getenv("LWAI_TEST_TIME_SCALE");
  const double max_seconds =
      kMaxSecondsPerInput * (scale != nullptr && std::atof(scale) > 0 ? std::atof(scale) : 1.0);
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot open %s\n", argv[i]);
      return 1;
    }
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
    const auto start = std::chrono::steady_clock::now();
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (seconds > max_seconds) {
      std::fprintf(stderr, "%s took %.1f s (at most %.0f s allowed)\n", argv[i], seconds,
                   max_seconds);
      return 1;
    }
  }
  std::printf("ran %d input(s)\n", argc - 1);
  return 0;
}
