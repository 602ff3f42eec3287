#!/usr/bin/env bash
# Installs what lwai needs to build and test, and nothing that is already there.
# Idempotent: safe to run on every `make`. Debian packages via apt-get, Python via pip.
set -euo pipefail

APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config clang-format curl
  clang-14 libclang-rt-14-dev llvm-14
  libflatbuffers-dev flatbuffers-compiler
  libeigen3-dev libgtest-dev pybind11-dev libxnnpack-dev libpthreadpool-dev libcpuinfo-dev
  espeak-ng libdnnl-dev
  g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm
)
PIP_PACKAGES=(
  "numpy>=1.24" "onnx==1.19.1" "onnxruntime==1.32.0" "pytest>=7" "scikit-learn>=1.3"
  "scikit-build-core>=0.10" "pybind11>=2.11" "ruff" "matplotlib" "nbclient" "nbformat" "ipykernel"
  "pillow>=10.1" "ai-edge-litert==2.3.0" "tqdm>=4.60" "ray[data]==2.60.0"
)

missing_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
    missing_apt+=("$pkg")
done
if ((${#missing_apt[@]})); then
  echo "install_deps: apt-get install ${missing_apt[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing_apt[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" - "${PIP_PACKAGES[@]}" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version, PackageNotFoundError
from packaging.requirements import Requirement
for spec in sys.argv[1:]:
    req = Requirement(spec)
    try:
        if not req.specifier.contains(version(req.name), prereleases=True):
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
  echo "install_deps: pip install ${PIP_PACKAGES[*]}"
  "$PYTHON" -m pip install -q "${PIP_PACKAGES[@]}"
fi
echo "install_deps: all dependencies present"
