#!/usr/bin/env bash
# The device configuration, on the host: a selective runtime for the digits model without
# threads, plugins, mmap, exceptions, JSON or optional backends. Builds its lwai_run, checks that
# it links nothing those switches leave out, and that it gives the full build's outputs.
# Usage: tests/minimal_build_test.sh BUILD_DIR MINIMAL_DIR JOBS (after `make build python`).
set -euo pipefail
build=$1 minimal=$2 jobs=$3
python=${PYTHON:-python3}
mkdir -p "$minimal"
model=$minimal/digits.lwai
"$python" -m lwai convert tests/data/digits_cnn.onnx -o "$model" >/dev/null
"$python" -m lwai ops "$model" > "$minimal/ops.txt"
cmake -S . -B "$minimal" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLWAI_SELECTED_OPS="$PWD/$minimal/ops.txt" \
  -DLWAI_WITH_THREADS=OFF -DLWAI_WITH_PLUGINS=OFF -DLWAI_WITH_MMAP=OFF -DLWAI_NO_EXCEPTIONS=ON \
  -DLWAI_WITH_XNNPACK=OFF -DLWAI_WITH_EIGEN=OFF -DLWAI_WITH_ONEDNN=OFF -DLWAI_WITH_JSON=OFF \
  -DLWAI_BUILD_TESTS=OFF -DLWAI_NATIVE_ARCH=OFF >/dev/null
cmake --build "$minimal" -j"$jobs" --target lwai_run
# Thread starts (std::thread's or pthreads'), dlopen, mmap, iostreams (file streams).
for symbol in _M_start_thread pthread_create dlopen mmap basic_filebuf ios_base; do
  if nm -u "$minimal/lwai_run" | grep -q "$symbol"; then
    echo "minimal build: lwai_run references $symbol, which its switches leave out" >&2
    exit 1
  fi
done
"$python" - "$minimal/x.npy" <<'PY'
import sys
import numpy as np
np.save(sys.argv[1], np.random.default_rng(3).random((2, 1, 8, 8), dtype=np.float32))
PY
want=$("$build/lwai_run" "$model" --input "input=$minimal/x.npy" --runs 1 | grep -v "^load")
got=$("$minimal/lwai_run" "$model" --input "input=$minimal/x.npy" --runs 1 | grep -v "^load")
# The full build runs XNNPACK's float kernels, the minimal one the reference kernels: the same
# values up to float rounding (printed to 6 digits).
"$python" - "$want" "$got" <<'PY'
import re
import sys

want, got = sys.argv[1], sys.argv[2]
def numbers(text):
    return [float(v) for v in re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?", text.split("\n", 1)[1])]
if want.splitlines()[0] != got.splitlines()[0] or len(numbers(want)) != len(numbers(got)) or any(
    abs(a - b) > 1e-4 * abs(a) + 1e-9 for a, b in zip(numbers(want), numbers(got))
):
    sys.exit(f"minimal build: outputs differ\nfull:\n{want}\nminimal:\n{got}")
PY
size "$minimal/lwai_run" "$build/lwai_run"
echo "minimal build: same outputs as the full build, no threads, dlopen, mmap or iostreams linked"
