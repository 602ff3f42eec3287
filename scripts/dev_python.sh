#!/usr/bin/env bash
# Builds the Python extension into a build folder of its own and lays out an importable lwai
# package there, for working on kernels without reinstalling:
#   scripts/dev_python.sh build-dev && PYTHONPATH=build-dev/pkg python3 -c 'import lwai'
# The package's .py files are symlinks into python/lwai, so Python edits need no rebuild.
# Extra arguments go to CMake (e.g. -DLWAI_WITH_XNNPACK=OFF for a quicker build).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:?usage: scripts/dev_python.sh BUILD_DIR [cmake args...]}
shift
export CCACHE_BASEDIR=$PWD
# pip's pybind11, as `pip install .` uses: Debian's predates numpy 2's dtype layout.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLWAI_BUILD_PYTHON=ON \
  -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" \
  -DLWAI_BUILD_TESTS=OFF -DLWAI_BUILD_TOOLS=OFF "$@" >/dev/null
cmake --build "$build_dir" -j"${JOBS:-2}" --target _lwai lwai_example_plugin
pkg="$build_dir/pkg/lwai"
mkdir -p "$pkg"
for f in python/lwai/*.py; do ln -sf "$PWD/$f" "$pkg/"; done
ln -sf "$PWD/$build_dir"/_lwai*.so "$pkg/"
ln -sf "$PWD/$build_dir"/liblwai_example_plugin.so "$pkg/" 2>/dev/null || true
