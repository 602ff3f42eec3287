"""lwai vs LiteRT on MediaPipe's trained .tflite models, through compare.py's workers.

The models ship inside the mediapipe 0.10.21 wheel (scripts/fetch_real_models.py puts them in
.cache/models). lwai runs each as lwai.convert made it (.tflite -> .lwai: NHWC held as NCHW,
float16 weights kept half), LiteRT (ai-edge-litert) the .tflite file with its default XNNPACK
delegate; each (framework, model, threads) in a fresh process, interleaved rounds, medians over
all runs. The input is uniform in [-1, 1] (seed 0). Replaces the "TFLite models" section of
benchmarks/RESULTS.md.

    python3 benchmarks/mediapipe_models.py [--quick] [--models a,b] [--threads 1,2] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

import numpy as np

BENCH_DIR = pathlib.Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import compare  # noqa: E402

MODELS_DIR = REPO_ROOT / ".cache" / "models"
WORK_DIR = compare.CACHE_DIR / "mediapipe"
MODELS = (
    "face_detection_short_range",
    "face_detection_full_range_sparse",
    "face_landmark",
    "hand_landmark_lite",
    "palm_detection_lite",
    "pose_detection",
    "pose_landmark_full",
    "selfie_segmentation",
    "iris_landmark",
)
FRAMEWORKS = ["lwai", "litert"]


def prepare(models: list[str]) -> dict:
    """{model: {"lwai": spec fields, "litert": spec fields}}: the converted .lwai file, the
    .tflite file and one input file for both."""
    import lwai

    WORK_DIR.mkdir(parents=True, exist_ok=True)
    specs = {}
    for name in models:
        source = MODELS_DIR / f"{name}.tflite"
        if not source.exists():
            raise SystemExit(f"{source} is missing: run `make real-models`")
        model = lwai.convert(source)
        converted = WORK_DIR / f"{name}.lwai"
        model.save(converted)
        rng = np.random.default_rng(0)
        inputs = WORK_DIR / f"{name}_inputs.npz"
        np.savez(
            inputs, **{i.name: rng.uniform(-1, 1, i.shape).astype(i.dtype) for i in model.inputs}
        )
        specs[name] = {
            "lwai": {"model": str(converted), "inputs": str(inputs)},
            "litert": {"model": str(source), "inputs": str(inputs)},
        }
    return specs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=compare._str_list, default=list(MODELS))
    compare.add_run_options(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    compare.check_run_options(parser, args)
    specs = prepare(args.models)
    machine = compare.machine_info()
    results = compare.measure(args, args.models, FRAMEWORKS, lambda fw, net: specs[net][fw], 34)
    machine["load_average_end"] = list(os.getloadavg())
    lines = [
        compare.TFLITE_HEADING,
        "",
        "MediaPipe 0.10.21's trained .tflite models: lwai runs what `lwai.convert` made of each,",
        "LiteRT the file itself with its default XNNPACK delegate. Median latency in ms over all",
        f"runs of {args.repeats} interleaved rounds (fresh process each); ratio = lwai / LiteRT",
        "(below 1: lwai is faster). Command: `python3 benchmarks/mediapipe_models.py"
        f"{' --quick' if args.quick else ''}`.",
        "",
        "| model | threads | lwai ms | LiteRT ms | ratio |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name in args.models:
        for threads in args.threads:
            ours = compare.summarize(results[("lwai", name, threads)])
            theirs = compare.summarize(results[("litert", name, threads)])
            lines.append(
                f"| {name} | {threads} | {compare._median_cell(ours)} | "
                f"{compare._median_cell(theirs)} | {compare._ratio_cell(ours, theirs)} |"
            )
    lines += ["", *compare.machine_lines(machine, None)]
    compare.write_section(args.out, compare.TFLITE_HEADING, lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
