#!/usr/bin/env bash
# Cross-compiles the core, the reference kernels, the Eigen and XNNPACK backends and the C++
# tests for TRIPLE (aarch64-linux-gnu, arm-linux-gnueabihf) with Debian's cross compilers, and
# runs the tests under qemu-user. XNNPACK's target libraries come from Debian's pool
# (scripts/fetch_cross_libs.sh, cached in .cache/cross-libs); a backend whose libraries the
# target lacks (oneDNN; XNNPACK when the fetch fails) is reported by the configure step and
# left out.
# Usage: tests/cross_test.sh TRIPLE BUILD_DIR JOBS
set -euo pipefail
triple=$1 build=$2 jobs=$3
toolchain=cpp/cmake/toolchains/$triple.cmake
[ -f "$toolchain" ] || { echo "cross_test: no toolchain file $toolchain" >&2; exit 2; }
libs="$PWD/.cache/cross-libs/$triple"
bash scripts/fetch_cross_libs.sh "$triple" "$libs"
echo "cross_test: $triple: configure and build in $build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
  -DLWAI_CROSS_LIBS="$libs" | grep -E "^-- lwai" || true
cmake --build "$build" -j"$jobs" | grep -E "FAILED|error|Linking" || true
# (grep drops the compile lines but not a failure: the build's status is checked here)
cmake --build "$build" -j"$jobs" >/dev/null
echo "cross_test: $triple: running the tests under qemu-user"
cd "$build"
ctest -j"$jobs" --timeout 600 --output-on-failure | tail -n 25
