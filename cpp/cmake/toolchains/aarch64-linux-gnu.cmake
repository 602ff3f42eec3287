# Cross-compiling for 64-bit Arm Linux with Debian's cross compilers (g++-aarch64-linux-gnu);
# tests run under qemu-user (qemu-aarch64) through CMAKE_CROSSCOMPILING_EMULATOR.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(LWAI_CROSS_TRIPLE aarch64-linux-gnu)
include(${CMAKE_CURRENT_LIST_DIR}/debian_cross.cmake)
