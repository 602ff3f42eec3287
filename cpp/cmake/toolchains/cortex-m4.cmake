# Cross-compiling for a Cortex-M4 with an FPU and no OS: Debian's gcc-arm-none-eabi with newlib
# (libnewlib-arm-none-eabi, libstdc++-arm-none-eabi-newlib). Programs are bare-metal images; the
# board (startup code, linker script, how to run it) is the application's: tests/cortex_m has
# one for qemu-system-arm's MPS2 AN386 board.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
# try_compile cannot link a program without the board's startup code.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(LWAI_TARGET_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
# One section per function and object, so that the linker drops what a program does not use.
set(CMAKE_C_FLAGS_INIT "${LWAI_TARGET_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT "${LWAI_TARGET_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${LWAI_TARGET_FLAGS} -Wl,--gc-sections")
set(CMAKE_FIND_ROOT_PATH /usr/lib/arm-none-eabi)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
