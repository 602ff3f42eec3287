// CRC-32C (Castagnoli), the checksum of .lwai data sections: hardware instructions where the
// CPU has them (SSE4.2 on x86, the CRC extension on Arm), a table-driven loop elsewhere.
#ifndef LWAI_FORMAT_CRC32C_H_
#define LWAI_FORMAT_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace lwai {

// CRC-32C of `size` bytes, continuing from `crc` (0 to start). Crc32c("123456789") is
// 0xE3069283. Thread-safe.
uint32_t Crc32c(const void* data, size_t size, uint32_t crc = 0);

}  // namespace lwai

#endif  // LWAI_FORMAT_CRC32C_H_
