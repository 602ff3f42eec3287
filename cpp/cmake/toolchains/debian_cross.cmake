# Shared part of the Debian cross toolchain files: compilers ${LWAI_CROSS_TRIPLE}-gcc/g++, the
# target's libraries from /usr/${LWAI_CROSS_TRIPLE}, header-only host packages (FlatBuffers'
# headers, Eigen) allowed, and qemu-user to run the test programs.
set(CMAKE_C_COMPILER ${LWAI_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${LWAI_CROSS_TRIPLE}-g++)
set(CMAKE_FIND_ROOT_PATH /usr/${LWAI_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
string(REGEX REPLACE "-linux-gnu.*$" "" LWAI_QEMU_ARCH ${LWAI_CROSS_TRIPLE})
if(LWAI_QEMU_ARCH STREQUAL "arm")
  set(LWAI_QEMU_ARCH arm)
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-${LWAI_QEMU_ARCH};-L;/usr/${LWAI_CROSS_TRIPLE})
