#!/usr/bin/env bash
# Installs what benchmarks/compare.py and benchmarks/real_models.py need beyond `make deps`:
# OpenVINO (reads the ONNX files directly), LiteRT (ai-edge-litert) to run TFLite models and
# TensorFlow to build them (benchmarks/tflite_models.py). ONNX Runtime is pinned in
# install_deps.sh (the tests use it too). Each pin is the newest release on PyPI when set; compare
# speed against the newest peers. Idempotent; not part of `make deps` because TensorFlow is large
# (about 1.4 GB installed). Without these, compare.py still runs lwai and ONNX Runtime and
# reports "OpenVINO/LiteRT: not run". --no-tensorflow: all but TensorFlow (real_models.py needs
# no TFLite builds).
set -euo pipefail

WITH_TF=1
[ "${1:-}" = "--no-tensorflow" ] && WITH_TF=0

PYTHON="${PYTHON:-python3}"
OPENVINO="openvino==2026.4.1"
LITERT="ai-edge-litert==2.3.0"
TF_CPU="tensorflow-cpu==2.21.0"
TF_FULL="tensorflow==2.21.0"  # where no tensorflow-cpu wheel exists (e.g. aarch64)

bash "$(dirname "$0")/install_deps.sh"

have() {  # have PACKAGE VERSION: installed at exactly that version
  "$PYTHON" - "$1" "$2" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version(sys.argv[1]) == sys.argv[2] else 1)
PY
}

if ! have openvino "${OPENVINO#*==}"; then
  echo "install_bench_deps: pip install $OPENVINO"
  "$PYTHON" -m pip install -q "$OPENVINO"
fi
if ! have ai-edge-litert "${LITERT#*==}"; then
  echo "install_bench_deps: pip install $LITERT"
  "$PYTHON" -m pip install -q "$LITERT"
fi
if ((WITH_TF)) && ! have tensorflow-cpu "${TF_CPU#*==}" && ! have tensorflow "${TF_FULL#*==}"; then
  echo "install_bench_deps: pip install $TF_CPU"
  if ! "$PYTHON" -m pip install -q "$TF_CPU"; then
    echo "install_bench_deps: $TF_CPU failed; trying $TF_FULL"
    "$PYTHON" -m pip install -q "$TF_FULL"
  fi
fi
echo "install_bench_deps: all benchmark dependencies present"
