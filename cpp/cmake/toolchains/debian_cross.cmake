# Shared part of the Debian cross toolchain files: compilers ${LWAI_CROSS_TRIPLE}-gcc/g++, the
# target's libraries from /usr/${LWAI_CROSS_TRIPLE} (and LWAI_CROSS_LIBS), host headers allowed
# (FlatBuffers, Eigen, XNNPACK's: the same for every arch), and qemu-user to run the tests.
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
# The target's XNNPACK, pthreadpool and cpuinfo libraries from Debian's pool
# (scripts/fetch_cross_libs.sh) in a sysroot overlay: found by find_library, their own
# dependencies resolved at link time, and given to the test programs under qemu.
set(LWAI_CROSS_LIBS "" CACHE PATH "Sysroot overlay with the target's XNNPACK libraries")
set(LWAI_QEMU_ENV "")
if(LWAI_CROSS_LIBS)
  list(APPEND CMAKE_FIND_ROOT_PATH ${LWAI_CROSS_LIBS})
  set(LWAI_CROSS_LIBDIR ${LWAI_CROSS_LIBS}/usr/lib/${LWAI_CROSS_TRIPLE})
  string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -Wl,-rpath-link,${LWAI_CROSS_LIBDIR}")
  string(APPEND CMAKE_SHARED_LINKER_FLAGS_INIT " -Wl,-rpath-link,${LWAI_CROSS_LIBDIR}")
  set(LWAI_QEMU_ENV -E;LD_LIBRARY_PATH=${LWAI_CROSS_LIBDIR})
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR
    qemu-${LWAI_QEMU_ARCH};-L;/usr/${LWAI_CROSS_TRIPLE};${LWAI_QEMU_ENV})
