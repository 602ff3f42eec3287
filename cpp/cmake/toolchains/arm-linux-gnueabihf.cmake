# Cross-compiling for 32-bit Arm Linux (Debian armhf: ARMv7-A, VFPv3-D16, hard float) with Debian's cross
# compilers (g++-arm-linux-gnueabihf); tests run under qemu-user (qemu-arm).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(LWAI_CROSS_TRIPLE arm-linux-gnueabihf)
include(${CMAKE_CURRENT_LIST_DIR}/debian_cross.cmake)
