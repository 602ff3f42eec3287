#include "format/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define LWAI_CRC32C_X86 1
#elif defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
#define LWAI_CRC32C_ARM 1
#endif

namespace lwai {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;  // reflected Castagnoli polynomial

// tables[k][b]: the CRC of byte b followed by k zero bytes: slicing by 8 (8 KiB of tables), or
// in builds optimized for size (-Os, as for microcontrollers) one table of 1 KiB, a byte at a
// time.
#ifdef __OPTIMIZE_SIZE__
constexpr int kSlices = 1;
#else
constexpr int kSlices = 8;
#endif
struct Tables {
  std::array<std::array<uint32_t, 256>, kSlices> t{};
  constexpr Tables() {
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t crc = b;
      for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? kPolynomial : 0u);
      t[0][b] = crc;
    }
    for (uint32_t b = 0; b < 256; ++b) {
      for (int k = 1; k < kSlices; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
    }
  }
};
constexpr Tables kTables;

uint32_t Crc32cPortable(const uint8_t* p, size_t size, uint32_t crc) {
  const auto& t = kTables.t;
#ifndef __OPTIMIZE_SIZE__
  while (size >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);  // little-endian hosts only, as the .lwai format itself
    word ^= crc;
    crc = t[7][word & 0xFF] ^ t[6][(word >> 8) & 0xFF] ^ t[5][(word >> 16) & 0xFF] ^
          t[4][(word >> 24) & 0xFF] ^ t[3][(word >> 32) & 0xFF] ^ t[2][(word >> 40) & 0xFF] ^
          t[1][(word >> 48) & 0xFF] ^ t[0][word >> 56];
    p += 8;
    size -= 8;
  }
#endif
  while (size--) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xFF];
  return crc;
}

#if defined(LWAI_CRC32C_X86)
__attribute__((target("sse4.2"))) uint32_t Crc32cSse42(const uint8_t* p, size_t size,
                                                       uint32_t crc) {
#if defined(__x86_64__)
  uint64_t crc64 = crc;
  while (size >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    crc64 = _mm_crc32_u64(crc64, word);
    p += 8;
    size -= 8;
  }
  crc = static_cast<uint32_t>(crc64);
#endif
  while (size--) crc = _mm_crc32_u8(crc, *p++);
  return crc;
}

bool HasSse42() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

#if defined(LWAI_CRC32C_ARM)
uint32_t Crc32cArm(const uint8_t* p, size_t size, uint32_t crc) {
  while (size >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    crc = __crc32cd(crc, word);
    p += 8;
    size -= 8;
  }
  while (size--) crc = __crc32cb(crc, *p++);
  return crc;
}
#endif

}  // namespace

uint32_t Crc32c(const void* data, size_t size, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
#if defined(LWAI_CRC32C_X86)
  crc = HasSse42() ? Crc32cSse42(p, size, crc) : Crc32cPortable(p, size, crc);
#elif defined(LWAI_CRC32C_ARM)
  crc = Crc32cArm(p, size, crc);
#else
  crc = Crc32cPortable(p, size, crc);
#endif
  return ~crc;
}

}  // namespace lwai
