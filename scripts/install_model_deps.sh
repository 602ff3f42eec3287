#!/usr/bin/env bash
# Installs what scripts/export_arch_models.py needs to build YOLOv8n, BERT, MiniLM, ViT and
# Whisper with their own libraries and export them to ONNX: PyTorch (CPU), ultralytics and
# transformers, pinned. Idempotent; `make arch-models` runs it.
#
# torch 2.13.0 first and alone: where pip finds the CPU wheel on disk (pip's find-links) it takes
# that; a torch requirement reached through another package could pull a CUDA build (GBs).
# torchvision is there only because ultralytics reads its version at import: PyPI's build links
# CUDA torch and does not load beside the CPU wheel, so export_arch_models.py hides it (no model
# here uses a torchvision op).
set -euo pipefail

PYTHON="${PYTHON:-python3}"
TORCH="torch==2.13.0"
PACKAGES=("torchvision==0.28.0" "ultralytics==8.4.190" "transformers==5.24.0")

bash "$(dirname "$0")/install_deps.sh"

have() {  # have NAME==VERSION...: each installed at exactly that version (ignoring +local)
  "$PYTHON" - "$@" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
for spec in sys.argv[1:]:
    name, wanted = spec.split("==")
    if version(name).split("+")[0] != wanted:
        sys.exit(1)
PY
}

if ! have "$TORCH"; then
  echo "install_model_deps: pip install $TORCH"
  "$PYTHON" -m pip install -q "$TORCH"
fi
if ! have "${PACKAGES[@]}"; then
  echo "install_model_deps: pip install ${PACKAGES[*]}"
  "$PYTHON" -m pip install -q "$TORCH" "${PACKAGES[@]}"
fi
echo "install_model_deps: all model-export dependencies present"
