"""lwai vs ONNX Runtime vs OpenVINO on real models, through compare.py's workers.

Trained models from PyPI wheels (scripts/fetch_real_models.py: PP-OCR det/cls/rec, silero-vad)
and architectures exported from their own libraries with random weights
(scripts/export_arch_models.py: YOLOv8n, BERT-base, MiniLM-L6, ViT-Ti/16, Whisper-tiny's
encoder, Hugging Face's MobileNetV2, SegFormer-B0, LeViT-128S, PoolFormer-S12 and wav2vec2),
each (framework, model, threads) in a fresh process, interleaved, medians over all rounds, as
compare.py does for the seed networks. silero-vad runs a stream of 512-sample chunks
(16 kHz, the state fed back): its latency is per chunk. lwai's own profiler then runs each
model once more and reports where lwai's time goes (operator, backend, share on the portable
reference kernels).

Replaces the "Real models" section of benchmarks/RESULTS.md (compare.py keeps it); raw records
in .cache/bench/real_models.json.

    python3 benchmarks/real_models.py [--quick] [--models a,b] [--threads 1,2] [--repeats N]
        [--note TEXT] [--profile-runs N] [--no-openvino] [--lwai-backends x,y]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import shlex
import subprocess
import sys
import time

BENCH_DIR = pathlib.Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import compare  # noqa: E402
import export_arch_models  # noqa: E402

MODELS_DIR = REPO_ROOT / ".cache" / "models"
INPUTS_DIR = compare.CACHE_DIR / "inputs"
FRAMEWORKS = ("lwai", "ort", "openvino")
SILERO_CHUNKS = 64  # 2 s of audio at 16 kHz, cycled
SILERO_STREAM = {"chunks": "input", "state": "state", "state_output": 1}
OCR_TEXT = "lwai 2026"
OCR_EXAMPLE = REPO_ROOT / "python" / "examples" / "ppocr.py"
# name -> (what, the input as the table shows it). PP-OCR inputs are those of
# tests/python/test_real_models.py: rendered text at (width, height), batch.
OCR_SIZES = {"ppocr_det": ((320, 96), 1), "ppocr_cls": ((192, 48), 2), "ppocr_rec": ((200, 48), 1)}
MODELS = {
    "ppocr_det": ("PP-OCRv4 text detector (trained)", "1x3x96x320"),
    "ppocr_cls": ("PP-OCR v2 direction classifier (trained)", "2x3x48x192"),
    "ppocr_rec": ("PP-OCRv4 text recognizer (trained)", "1x3x48x200"),
    "silero_vad": ("silero-vad 6.2.3 with If subgraphs (trained)", "512-sample chunks"),
    "silero_vad_ifless": ("silero-vad 6.2.3, opset-18 If-less (trained)", "512-sample chunks"),
    "yolov8n": ("YOLOv8n, ultralytics yaml, random weights", "1x3x640x640"),
    "bert_base": ("BERT-base encoder, random weights", "sequence 128"),
    "minilm_l6": ("MiniLM-L6-H384 encoder, random weights", "sequence 128"),
    "vit_tiny": ("ViT-Ti/16 classifier, random weights", "1x3x224x224"),
    "whisper_tiny_encoder": ("Whisper-tiny encoder, random weights", "80x3000 mel"),
    "hf_mobilenet_v2": ("Hugging Face MobileNetV2 (tf padding), random weights", "1x3x224x224"),
    "segformer_b0": ("SegFormer-B0 segmenter, random weights", "1x3x512x512"),
    "levit_128s": ("LeViT-128S, random weights", "1x3x224x224"),
    "poolformer_s12": ("PoolFormer-S12, random weights", "1x3x224x224"),
    "wav2vec2_base": ("wav2vec2-base (4 layers), random weights", "1 s of 16 kHz audio"),
}
STREAMS = {"silero_vad": SILERO_STREAM, "silero_vad_ifless": SILERO_STREAM}


# -- inputs -----------------------------------------------------------------------------------


def ocr_input(size: tuple[int, int], batch: int, rng=None):
    """Rendered text at `size` (width, height), normalized as PP-OCR expects, repeated `batch`
    times, plus a little noise per item when rng is given: inputs on which the models produce
    real detections and text."""
    import numpy as np

    sys.path.insert(0, str(OCR_EXAMPLE.parent))
    import ppocr

    x = np.repeat(ppocr.normalize(ppocr.render(OCR_TEXT).resize(size)), batch, axis=0)
    if rng is not None:
        x = x + rng.normal(0, 0.05, x.shape)
    return x.astype(np.float32)


def vad_audio(chunks: int, rng) -> object:
    """[chunks, 1, 512] float32: a 220 Hz tone with noise at 16 kHz, in 512-sample chunks."""
    import numpy as np

    t = np.arange(chunks * 512) / 16000
    audio = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    return audio.astype(np.float32).reshape(chunks, 1, 512)


def model_inputs(name: str) -> dict:
    """The benchmark's inputs of `name`, keyed by ONNX input name (streams: [n, ...] chunks)."""
    import numpy as np

    rng = np.random.default_rng(0)
    if name in OCR_SIZES:
        size, batch = OCR_SIZES[name]
        return {"x": ocr_input(size, batch, rng)}
    if name in STREAMS:
        return {
            "input": vad_audio(SILERO_CHUNKS, rng),
            "state": np.zeros((2, 1, 128), np.float32),
            "sr": np.array(16000, np.int64),
        }
    return export_arch_models.example_inputs(name)


def ensure_models(names: list[str]) -> dict:
    """{name: {"onnx": path, "inputs": .npz path} or {"error": ...}}: fetches (PyPI wheels)
    and exports (torch) what is missing, and writes each model's inputs."""
    fetched = [n for n in names if n not in export_arch_models.NAMES]
    if any(not (MODELS_DIR / f"{n}.onnx").exists() for n in fetched):
        script = REPO_ROOT / "scripts" / "fetch_real_models.py"
        subprocess.run([sys.executable, str(script)], check=True)
    INPUTS_DIR.mkdir(parents=True, exist_ok=True)
    import numpy as np

    info = {}
    for name in names:
        try:
            if name in export_arch_models.NAMES:
                export_arch_models.ensure(name, MODELS_DIR)
            path = INPUTS_DIR / f"{name}.npz"
            np.savez(path, **model_inputs(name))
            info[name] = {"onnx": str(MODELS_DIR / f"{name}.onnx"), "inputs": str(path)}
        except Exception as e:  # noqa: BLE001 - e.g. torch missing: the row says why
            info[name] = {"error": f"{type(e).__name__}: {e}"}
    return info


# -- lwai's profile ---------------------------------------------------------------------------


def inline_ifs(path: str, feed: dict):
    """The ONNX model at `path` with each If of its main graph replaced by the branch that
    `feed` takes (the condition evaluated by ONNX Runtime), again until none is left, so nested
    Ifs are inlined too. lwai's profiler times the nodes of the main graph only: an If is one
    untimed node."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(path)
    graph = model.graph
    while True:
        index = next((i for i, n in enumerate(graph.node) if n.op_type == "If"), None)
        if index is None:
            return model
        node = graph.node[index]
        probe = onnx.ModelProto()
        probe.CopyFrom(model)
        cond = onnx.helper.make_tensor_value_info(node.input[0], onnx.TensorProto.BOOL, None)
        probe.graph.output.append(cond)
        session = ort.InferenceSession(
            probe.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        names = {i.name for i in session.get_inputs()}
        (taken,) = session.run([node.input[0]], {k: v for k, v in feed.items() if k in names})
        branch_name = "then_branch" if bool(taken) else "else_branch"
        branch = next(a.g for a in node.attribute if a.name == branch_name)
        graph.initializer.extend(branch.initializer)
        nodes = list(branch.node) + [
            onnx.helper.make_node("Identity", [b.name], [out])
            for b, out in zip(branch.output, node.output, strict=True)
        ]
        rest = list(graph.node)
        del graph.node[:]
        graph.node.extend(rest[:index] + nodes + rest[index + 1 :])


def profile_worker(spec: dict) -> dict:
    """Runs lwai's profiler on one model (a fresh process); time per (op, backend), the share
    on reference kernels, the slowest nodes. A model with If nodes is profiled with the taken
    branches inlined (inline_ifs), converted here."""
    import onnx

    import lwai

    feed = compare._feed(spec)
    if spec.get("stream"):
        feed[spec["stream"]["chunks"]] = feed[spec["stream"]["chunks"]][0]
    kwargs = {"threads": spec["threads"]}
    if spec.get("lwai_backends"):
        kwargs["backends"] = spec["lwai_backends"]
    has_if = any(n.op_type == "If" for n in onnx.load(spec["onnx"]).graph.node)
    model = lwai.convert(inline_ifs(spec["onnx"], feed)) if has_if else spec["model"]
    session = lwai.Session(model, **kwargs)
    profile = session.profile(feed, runs=spec["runs"], warmup=1)
    groups: dict[tuple[str, str], dict] = {}
    for node in profile.nodes:
        g = groups.setdefault((node.op, node.backend), {"nodes": 0, "ms": 0.0, "share": 0.0})
        g["nodes"] += 1
        g["ms"] += node.median_ms
        g["share"] += node.share
    backends: dict[str, int] = {}
    for node in session.node_assignments():
        backends[node.backend] = backends.get(node.backend, 0) + 1
    return {
        "total_ms": profile.total_ms,
        "wall_ms": profile.median_wall_ms,
        "groups": [
            {"op": op, "backend": backend, **g}
            for (op, backend), g in sorted(groups.items(), key=lambda kv: -kv[1]["ms"])
        ],
        "reference_share": sum(n.share for n in profile.nodes if n.backend == "reference"),
        "slowest": [
            {
                "name": n.name,
                "op": n.op,
                "backend": n.backend,
                "kernel": n.kernel,
                "ms": n.median_ms,
                "share": n.share,
            }
            for n in profile.sorted()[:5]
        ],
        "assigned": backends,
        "inlined_ifs": has_if,
    }


def run_profiles(names, lwai_info, inputs, args) -> dict:
    """{(name, threads): profile record or {"error"}} for lwai at --profile-threads."""
    out = {}
    for name in names:
        for threads in args.profile_threads:
            if "error" in lwai_info.get(name, {"error": "not converted"}):
                out[(name, threads)] = {"error": lwai_info.get(name, {}).get("error", "?")}
                continue
            spec = {
                "model": lwai_info[name]["model"],
                "onnx": inputs[name]["onnx"],
                "inputs": inputs[name]["inputs"],
                "stream": STREAMS.get(name),
                "threads": threads,
                "runs": args.profile_runs,
                "lwai_backends": args.lwai_backends,
            }
            done = subprocess.run(
                [sys.executable, __file__, "--profile-worker", json.dumps(spec)],
                capture_output=True,
                text=True,
                check=False,
                timeout=compare.WORKER_TIMEOUT_S,
            )
            if done.returncode == 0:
                out[(name, threads)] = json.loads(done.stdout.strip().splitlines()[-1])
                share = out[(name, threads)]["reference_share"]
                print(f"profile {name} t={threads}: {share:.1f}% on reference kernels")
            else:
                out[(name, threads)] = {"error": compare._last_line(done.stderr)}
                print(f"profile {name} t={threads}: {out[(name, threads)]['error']}")
    return out


# -- report -----------------------------------------------------------------------------------


def report_lines(command, machine, summary, names, info, profiles, args, reasons) -> list[str]:
    """The "Real models" section of RESULTS.md."""
    inputs, lwai_info = info
    fmt, cell, ms = compare._fmt, compare._cell, compare._ms
    threads_list = sorted({t for (_, _, t) in summary})
    lines = [
        compare.REAL_MODELS_HEADING,
        "",
        *([args.note, ""] if args.note else []),
        *compare.section_preamble("real_models.py", machine, command, summary),
        "Median latency over all timed runs of all rounds, float32; silero-vad: per 512-sample "
        "chunk of a stream, the state fed back. *first result* = process start → model loaded "
        "→ first output; *peak RSS* = the worker's high-water mark (each framework in its own "
        "process). The models and their inputs are listed below the tables.",
        "",
        "| model | threads | lwai ms | ORT ms | OpenVINO ms | lwai/ORT | lwai/OpenVINO "
        "| first result lwai / ORT / OpenVINO (s) | peak RSS lwai / ORT / OpenVINO (MiB) |",
        "| --- |" + " ---: |" * 8,
    ]
    for name in names:
        for t in threads_list:
            lw, ort, ov = (summary.get((fw, name, t), {}) for fw in FRAMEWORKS)
            row = [
                name,
                str(t),
                compare._median_cell(lw),
                compare._median_cell(ort),
                compare._median_cell(ov, reasons.get("openvino")),
                compare._ratio_cell(lw, ort),
                compare._ratio_cell(lw, ov),
                compare._per_framework([lw, ort, ov], "first_result_s", 2),
                compare._per_framework([lw, ort, ov], "peak_rss_mib", 0),
            ]
            lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        *(f"{compare.LABELS[fw]}: **not run**: {why}." for fw, why in reasons.items() if why),
        "",
        "## Real models: where lwai's time goes",
        "",
        f"lwai's profiler (`Session.profile`, median per node over {args.profile_runs} runs) "
        "on the same inputs "
        "(silero-vad: one chunk). *Top operators* = time per (operator, backend), largest "
        "first, as % of the summed node time; *reference* = the share on the portable "
        "reference kernels; *node ms* = summed node medians, *wall ms* = one whole run as "
        "Python sees it. *If inlined*: the profiler times the main graph's nodes only (an If is "
        "one untimed node), so these models are profiled with the branches that the input "
        "takes inlined (`inline_ifs`); their times can differ from the If model's.",
        "",
        "| model | threads | node ms | wall ms | top operators (backend: % of time) "
        "| reference | nodes per backend | slowest node |",
        "| --- | ---: | ---: | ---: | --- | ---: | --- | --- |",
    ]
    for (name, t), p in profiles.items():
        if "error" in p:
            lines.append(f"| {name} | {t} | {cell('error: ' + p['error'])} |")
            continue
        top = ", ".join(f"{g['op']} ({g['backend']}: {g['share']:.1f}%)" for g in p["groups"][:5])
        assigned = ", ".join(f"{b} {n}" for b, n in sorted(p["assigned"].items()))
        slow = p["slowest"][0] if p["slowest"] else None
        slowest = (
            cell(
                f"{slow['op']} {slow['backend']}{' ' + slow['kernel'] if slow['kernel'] else ''} "
                f"{slow['ms']:.2f} ms ({slow['share']:.1f}%)"
            )
            if slow
            else "–"
        )
        inlined = " (If inlined)" if p["inlined_ifs"] else ""
        lines.append(
            f"| {name}{inlined} | {t} | {ms(p['total_ms'])} | {ms(p['wall_ms'])} | {top} "
            f"| {p['reference_share']:.1f}% | {assigned} | {slowest} |"
        )
    lines += [
        "",
        "## Real models: details",
        "",
        *compare.details_lines(summary, names, threads_list),
        "",
        "| model | what | input | lwai convert s | max abs(lwai − ORT) / range of ORT's output "
        "(OpenVINO − ORT), per thread count |",
        "| --- | --- | --- | ---: | --- |",
    ]
    for name in names:
        what, shape = MODELS[name]
        lw = lwai_info.get(name, {})
        if "error" in inputs[name]:
            agreement = cell(f"not run: {inputs[name]['error']}")
        else:
            agreement = ", ".join(
                f"{t}T: {compare.output_difference(name, t, relative=True)} "
                f"({compare.output_difference(name, t, 'openvino', relative=True)})"
                for t in threads_list
            )
        lines.append(f"| {name} | {what} | {shape} | {fmt(lw.get('convert_s'))} | {agreement} |")
    lines += [
        "",
        "Inputs: PP-OCR gets text rendered by `python/examples/ppocr.py` (the inputs of "
        "`tests/python/test_real_models.py`); silero-vad a 220 Hz tone with noise, cycled over "
        f"{SILERO_CHUNKS} chunks, sr = 16000; the exported models `export_arch_models."
        "example_inputs` (standard normal images and mel features; BERT token ids with the last "
        "quarter of the attention mask padded). yolov8n and the BERTs have dynamic dims "
        "(image size, sequence length), set to the shapes above.",
        "",
        "## Real models: machine and method",
        "",
        *compare.machine_lines(machine, None),
        *compare.method_lines(machine),
        "",
    ]
    return lines


# -- command line -----------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=compare._str_list, default=list(MODELS), help="comma list")
    compare.add_run_options(parser)
    parser.add_argument(
        "--profile-threads", type=compare._int_list, default=[1], help="comma list (1)"
    )
    parser.add_argument("--profile-runs", type=int, default=10, help="runs per profile")
    parser.add_argument("--note", default="", help="a paragraph under the heading")
    args = parser.parse_args(argv)
    compare.check_run_options(parser, args)
    unknown = [n for n in args.models if n not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {', '.join(MODELS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--profile-worker"]:
        print(json.dumps(profile_worker(json.loads(argv[1]))))
        return 0
    args = parse_args(argv)
    started = time.perf_counter()
    command = "python3 benchmarks/real_models.py " + " ".join(shlex.quote(a) for a in argv)
    compare.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    machine = compare.machine_info()
    print(f"machine: {machine['cpu']}, {machine['usable_cpus']} CPUs, load {os.getloadavg()}")
    names = args.models
    inputs = ensure_models(names)
    ready = [n for n in names if "error" not in inputs[n]]
    lwai_info = compare.prepare_lwai(ready, inputs)
    for name in names:
        lw = lwai_info.get(name, {})
        error = inputs[name].get("error") or lw.get("error")
        print(f"{name}: " + (error or f"lwai convert {lw['convert_s']:.2f} s"))
    reasons = {"openvino": compare.openvino_reason(args)}
    frameworks = [fw for fw in FRAMEWORKS if not reasons.get(fw)]

    def model_spec(fw: str, name: str) -> dict:
        source = inputs[name] if fw in compare.ONNX_PEERS else lwai_info.get(name, inputs[name])
        if "error" in source:
            return {"error": source["error"]}
        model = source["onnx"] if fw in compare.ONNX_PEERS else source["model"]
        return {"model": model, "inputs": inputs[name]["inputs"], "stream": STREAMS.get(name)}

    results = compare.measure(args, names, frameworks, model_spec, label_width=20)
    summary = {key: compare.summarize(records) for key, records in results.items()}
    profiles = run_profiles(names, lwai_info, inputs, args)
    machine["load_average_end"] = list(os.getloadavg())
    machine["date"] = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    machine["wall_s"] = time.perf_counter() - started
    machine["lwai_backends"] = args.lwai_backends
    machine["settings"] = compare.run_settings(args)
    info = (inputs, lwai_info)
    lines = report_lines(command, machine, summary, names, info, profiles, args, reasons)
    compare.write_sections(args.out, None, lines)
    raw = {
        "machine": machine,
        "args": {k: str(v) if isinstance(v, pathlib.Path) else v for k, v in vars(args).items()},
        "models": {"inputs": inputs, "lwai": lwai_info},
        "reasons": reasons,
        "profiles": [{"model": n, "threads": t, **p} for (n, t), p in profiles.items()],
        "results": [
            {
                "framework": fw,
                "model": n,
                "threads": t,
                "summary": summary[(fw, n, t)],
                "records": r,
            }
            for (fw, n, t), r in results.items()
        ],
    }
    (compare.CACHE_DIR / "real_models.json").write_text(json.dumps(raw, indent=1))
    print("\n".join(lines[: lines.index("## Real models: details")]))
    print(f"wrote {args.out} and {compare.CACHE_DIR / 'real_models.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
