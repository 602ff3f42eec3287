"""Fetches the trained models that ship inside PyPI wheels (pinned versions) into
.cache/models/: PP-OCR (rapidocr-onnxruntime) and silero-vad (ONNX), MediaPipe's detectors,
landmark models and selfie segmenter (TFLite). Idempotent; `make real-models`.

    python3 scripts/fetch_real_models.py [--dest .cache/models]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHEELS = {
    "rapidocr-onnxruntime==1.4.4": {
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx": "ppocr_det.onnx",
        "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx": "ppocr_cls.onnx",
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx": "ppocr_rec.onnx",
    },
    # The last mediapipe release that ships its .tflite models inside the wheel.
    "mediapipe==0.10.21": {
        f"mediapipe/modules/{path}.tflite": f"{path.split('/')[1]}.tflite"
        for path in (
            "face_detection/face_detection_short_range",
            "face_detection/face_detection_full_range_sparse",
            "face_landmark/face_landmark",
            "face_landmark/face_landmark_with_attention",
            "hand_landmark/hand_landmark_lite",
            "palm_detection/palm_detection_lite",
            "pose_detection/pose_detection",
            "pose_landmark/pose_landmark_full",
            "selfie_segmentation/selfie_segmentation",
            "iris_landmark/iris_landmark",
        )
    },
    "silero-vad==6.2.3": {
        "silero_vad/data/silero_vad.onnx": "silero_vad.onnx",
        "silero_vad/data/silero_vad_op18_ifless.onnx": "silero_vad_ifless.onnx",
    },
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", default=os.path.join(ROOT, ".cache", "models"))
    args = parser.parse_args()
    os.makedirs(args.dest, exist_ok=True)
    wheel_dir = os.path.join(ROOT, ".cache", "wheels")
    for requirement, members in WHEELS.items():
        if all(os.path.exists(os.path.join(args.dest, name)) for name in members.values()):
            continue
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "-d",
                wheel_dir,
                requirement,
            ],
            check=True,
        )
        project, version = requirement.split("==")
        prefix = f"{project.replace('-', '_')}-{version}-"
        wheel = next(f for f in os.listdir(wheel_dir) if f.startswith(prefix))
        with zipfile.ZipFile(os.path.join(wheel_dir, wheel)) as archive:
            for member, name in members.items():
                with archive.open(member) as src, open(os.path.join(args.dest, name), "wb") as dst:
                    dst.write(src.read())
        print(f"fetched {', '.join(members.values())} from {wheel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
