"""Int8 on the seed networks: lwai int8 vs lwai fp32, ONNX Runtime int8 and OpenVINO int8.

lwai int8 runs twice: on its own kernels (the default backends) and with its oneDNN vendor
plugin first (`backends=["onednn", ...]`, when lwai was built with libdnnl-dev).

Each seed network is quantized once by onnxruntime.quantization (quant_pre_process, then
quantize_static: QDQ form, int8 weights per output channel, uint8 activations, min-max ranges
from 8 standard-normal calibration images, numpy default_rng(100 + i)). All three frameworks run
that same QDQ file: ONNX Runtime and OpenVINO read it directly, lwai converts it (lwai.convert
folds the QDQ pairs into int8 operators). lwai fp32 runs the float network converted as in
compare.py. Every (framework, network, threads) is a fresh process, interleaved, medians over
all rounds (compare.py's workers). Outputs are compared with ONNX Runtime's on the same
quantized file; model sizes are the .lwai files.

Dynamic quantization (a second table): the transformer encoders of real_models.py (MiniLM-L6,
BERT-base; random weights, 128 tokens) quantized by each framework's own tool, lwai by
`lwai.quantize(mode="dynamic")`, ONNX Runtime by `quantize_dynamic` (int8 weights), against lwai
fp32 and ONNX Runtime fp32.

Real models quantized by ONNX Runtime (a third table): models of real_models.py (the trained
PP-OCR models, and architectures with random weights) quantized by `quantize_static` (QDQ, int8
weights per channel, uint8 activations) calibrated on the benchmark's input and a noisy copy of
it; lwai, ONNX Runtime and OpenVINO run that same file. This is what a user who quantized a
model with ONNX Runtime's tools meets: weights that the quantizer saw as activations (PP-OCR keeps
them in Constant nodes) come as uint8 with zero points, transformers' MatMuls as QDQ MatMul.

Replaces the "Int8" section of benchmarks/RESULTS.md; raw records in .cache/bench/int8.json.

    python3 benchmarks/int8_models.py [--quick] [--nets a,b] [--threads 1,2] [--repeats N]
        [--no-openvino] [--dynamic a,b] [--real a,b]
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
sys.path.insert(0, str(BENCH_DIR))

import compare  # noqa: E402

INT8_DIR = compare.CACHE_DIR / "int8"
FRAMEWORKS = ("lwai", "lwai_onednn", "lwai_fp32", "ort", "openvino")
CALIBRATION_IMAGES = 8

QUANTIZE_SCRIPT = """
import sys, numpy as np
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
source, pre, out, shape = sys.argv[1], sys.argv[2], sys.argv[3], eval(sys.argv[4])
quant_pre_process(source, pre, skip_symbolic_shape=True)
class Reader(CalibrationDataReader):
    def __init__(self):
        self.feeds = iter(
            {"input": np.random.default_rng(100 + i).standard_normal(shape, np.float32)}
            for i in range(int(sys.argv[5])))
    def get_next(self):
        return next(self.feeds, None)
quantize_static(pre, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
"""


def run_script(script: str, *args) -> str | None:
    """Runs `python -c script args...` in a fresh process (the quantizers load their own
    frameworks); the last line of its stderr when it fails, else None."""
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, check=False
    )
    return compare._last_line(done.stderr) if done.returncode != 0 else None


def prepare_int8(nets: list[str], onnx_info: dict) -> dict:
    """Quantizes each network with ONNX Runtime's tools (cached) and converts the QDQ file with
    lwai: {net: {"onnx": qdq path, "model": int8 .lwai, ...} or {"error": ...}}."""
    INT8_DIR.mkdir(parents=True, exist_ok=True)
    out = {}
    for net in nets:
        qdq = INT8_DIR / f"{net}_qdq.onnx"
        if not qdq.exists():
            error = run_script(
                QUANTIZE_SCRIPT,
                onnx_info[net]["onnx"],
                INT8_DIR / f"{net}_pre.onnx",
                qdq,
                repr(onnx_info[net]["input_shape"]),
                CALIBRATION_IMAGES,
            )
            if error:
                out[net] = {"error": error}
                continue
        converted = compare.prepare_lwai([f"{net}_qdq"], {f"{net}_qdq": {"onnx": str(qdq)}})
        entry = converted[f"{net}_qdq"]
        out[net] = {"onnx": str(qdq), **entry}
    return out


DYNAMIC_MODELS = ("minilm_l6", "bert_base")
DYNAMIC_FRAMEWORKS = ("lwai_dynamic", "lwai_fp32", "ort_dynamic", "ort")

DYNAMIC_SCRIPT = """
import sys, lwai
from onnxruntime.quantization import QuantType, quantize_dynamic
source, ort_out, lwai_out, fp32_out = sys.argv[1:5]
quantize_dynamic(source, ort_out, weight_type=QuantType.QInt8)
model = lwai.convert(source)
model.save(fp32_out)
lwai.quantize(model, mode="dynamic").save(lwai_out)
"""


def prepare_dynamic(names: list[str]) -> dict:
    """{name: {"onnx", "inputs", "ort_dynamic", "lwai_dynamic", "lwai_fp32"} or {"error"}}: each
    framework's dynamic quantization of the model (ONNX Runtime's file cached, lwai's fresh)."""
    import real_models

    out = real_models.ensure_models(names)
    for name in names:
        entry = out[name]
        if "error" in entry:
            continue
        paths = {
            "ort_dynamic": INT8_DIR / f"{name}_dynamic.onnx",
            "lwai_dynamic": INT8_DIR / f"{name}_dynamic.lwai",
            "lwai_fp32": INT8_DIR / f"{name}_fp32.lwai",
        }
        error = run_script(DYNAMIC_SCRIPT, entry["onnx"], *paths.values())
        if error:
            out[name] = {"error": error}
            continue
        entry.update({k: str(v) for k, v in paths.items()})
    return out


REAL_QDQ_MODELS = (
    "ppocr_det",
    "ppocr_cls",
    "ppocr_rec",
    "hf_mobilenet_v2",
    "yolov8n",
    "levit_128s",
    "vit_tiny",
    "minilm_l6",
    "wav2vec2_base",
    "bert_base",
)
REAL_QDQ_FRAMEWORKS = ("lwai", "ort", "openvino")

REAL_QDQ_SCRIPT = """
import sys, numpy as np
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
source, out, inputs = sys.argv[1:4]
feed = dict(np.load(inputs))
rng = np.random.default_rng(1)
noisy = {k: v + rng.normal(0, 0.05, v.shape).astype(v.dtype) if v.dtype == np.float32 else v
         for k, v in feed.items()}
class Reader(CalibrationDataReader):
    def __init__(self):
        self.feeds = iter([feed, noisy])
    def get_next(self):
        return next(self.feeds, None)
quantize_static(source, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
"""


def prepare_real_qdq(names: list[str]) -> dict:
    """{name: {"onnx": QDQ file, "model": its .lwai, "inputs"} or {"error"}}: each real model
    quantized by ONNX Runtime (cached) and converted by lwai (fresh)."""
    import real_models

    out = real_models.ensure_models(names)
    for name in names:
        entry = out[name]
        if "error" in entry:
            continue
        qdq = INT8_DIR / f"{name}_real_qdq.onnx"
        if not qdq.exists():
            error = run_script(REAL_QDQ_SCRIPT, entry["onnx"], qdq, entry["inputs"])
            if error:
                out[name] = {"error": error}
                continue
        converted = compare.prepare_lwai(
            [f"{name}_real_qdq"], {f"{name}_real_qdq": {"onnx": str(qdq)}}
        )
        out[name] = {**converted[f"{name}_real_qdq"], "onnx": str(qdq), "inputs": entry["inputs"]}
    return out


def model_rows(summary, names, info, frameworks, columns, make_row) -> list[str]:
    """Markdown rows per (model, threads) of a table with `columns` columns: an error row for a
    model that could not be prepared, else make_row(name, threads, cells, ratio), with the
    frameworks' summary cells and ratio(a, b) of their medians (by position)."""
    threads_list = sorted({t for (_, _, t) in summary})
    lines = []
    for name in names:
        shown = name.removesuffix("_ortqdq")
        if "error" in info.get(name, {}):
            lines.append(f"| {shown} | - | error: {info[name]['error']} |" + " |" * (columns - 3))
            continue
        for t in threads_list:
            cells = [summary.get((fw, name, t), {}) for fw in frameworks]
            med = [c.get("median_ms") for c in cells]

            def ratio(a, b, med=med):
                return compare._fmt(med[a] / med[b]) if med[a] and med[b] else "-"

            row = [shown, str(t), *make_row(name, t, cells, ratio)]
            lines.append("| " + " | ".join(compare._cell(c) for c in row) + " |")
    return lines


def real_qdq_lines(summary, names, info, differences, reasons) -> list[str]:
    lines = [
        "",
        "## Real models quantized by ONNX Runtime",
        "",
        "Models of real_models.py quantized by `quantize_static` (QDQ, int8 weights per channel, "
        "uint8 activations, calibrated on the benchmark's input and a noisy copy); all three "
        "frameworks run that file. Median latency in ms. *vs ORT* is the largest difference of "
        "lwai's output from ONNX Runtime's over the range of ONNX Runtime's output (random "
        "weights amplify one-step rounding differences; ONNX Runtime's own optimized and "
        "unoptimized sessions part as much on these).",
        "",
        "| model | threads | lwai int8 | ORT int8 | OpenVINO int8 | lwai/ORT | lwai/OpenVINO "
        "| vs ORT |",
        "| --- |" + " ---: |" * 7,
    ]

    def make_row(name, t, cells, ratio):
        return [
            compare._median_cell(cells[0]),
            compare._median_cell(cells[1]),
            compare._median_cell(cells[2], reasons.get("openvino")),
            ratio(0, 1),
            ratio(0, 2),
            differences.get((name, t), "n/a"),
        ]

    return lines + model_rows(summary, names, info, REAL_QDQ_FRAMEWORKS, 8, make_row)


def dynamic_cosines(names: list[str], threads_list: list[int]) -> dict:
    """{(framework, name): the lowest cosine of its dynamic int8 outputs to its fp32 outputs}
    from round 1's saved outputs."""
    import numpy as np

    out = {}
    for name in names:
        for quantized, reference in (("lwai_dynamic", "lwai_fp32"), ("ort_dynamic", "ort")):
            got = compare.load_outputs(quantized, name, threads_list[0])
            want = compare.load_outputs(reference, name, threads_list[0])
            if got is None or want is None:
                continue
            worst = 1.0
            for a, b in zip(got, want, strict=False):
                a, b = a.reshape(-1).astype(np.float64), b.reshape(-1).astype(np.float64)
                norms = np.linalg.norm(a) * np.linalg.norm(b)
                worst = min(worst, float(a @ b / norms) if norms else 1.0)
            out[(quantized, name)] = worst
    return out


def dynamic_lines(summary, names, info, cosines) -> list[str]:
    lines = [
        "",
        "## Dynamic int8 (transformers)",
        "",
        "Each framework's own dynamic quantization of the float model: lwai's "
        '`lwai.quantize(mode="dynamic")` (DynamicQuantizeMatMul), ONNX Runtime\'s '
        "`quantize_dynamic` (int8 weights). Median latency in ms, random weights, 128 tokens; "
        "*cosine* is each int8 output's cosine similarity to its framework's fp32 output.",
        "",
        "| model | threads | lwai dynamic | lwai fp32 | ORT dynamic | ORT fp32 | lwai fp32/dynamic "
        "| lwai/ORT dynamic | cosine lwai / ORT |",
        "| --- |" + " ---: |" * 8,
    ]

    def make_row(name, t, cells, ratio):
        lw, ort = cosines.get(("lwai_dynamic", name)), cosines.get(("ort_dynamic", name))
        cosine = f"{lw:.5f} / {ort:.5f}" if lw is not None and ort is not None else "n/a"
        return [*(compare._median_cell(c) for c in cells), ratio(1, 0), ratio(0, 2), cosine]

    return lines + model_rows(summary, names, info, DYNAMIC_FRAMEWORKS, 9, make_row)


def report_lines(command, machine, summary, nets, info, reasons) -> list[str]:
    onnx_info, fp32_info, int8_info = info
    threads_list = sorted({t for (_, _, t) in summary})
    fmt = compare._fmt
    lines = [
        compare.INT8_HEADING,
        "",
        *compare.section_preamble("int8_models.py", machine, command, summary),
        "The seed networks quantized by `onnxruntime.quantization.quantize_static` (QDQ, int8 "
        "weights per channel, uint8 activations, min-max over 8 random images); lwai, ONNX "
        "Runtime and OpenVINO run that same file, lwai fp32 the float network. Median latency "
        "in ms; the ratios are lwai int8's time over the other's (below 1: lwai int8 is "
        "faster). *int8 vs ORT* is the largest absolute difference of lwai's output from ONNX "
        "Runtime's on the quantized file (the softmax outputs are quantized in steps of 1/256; "
        "the networks have random weights, which amplify one-step rounding differences).",
        "",
        "Each ratio cell gives lwai's own int8 kernels first, then lwai with its oneDNN plugin "
        '(`backends=["onednn", ...]`).',
        "",
        "| network | threads | lwai int8 | lwai int8 oneDNN | lwai fp32 | ORT int8 "
        "| OpenVINO int8 | fp32/int8 | lwai/ORT | lwai/OpenVINO | int8 vs ORT "
        "| .lwai MB int8 / fp32 |",
        "| --- |" + " ---: |" * 11,
    ]
    for net in nets:
        for t in threads_list:
            lw, dn, fp, ort, ov = (summary.get((fw, net, t), {}) for fw in FRAMEWORKS)
            med = {
                "lw": lw.get("median_ms"),
                "dn": dn.get("median_ms"),
                "fp": fp.get("median_ms"),
                "ort": ort.get("median_ms"),
                "ov": ov.get("median_ms"),
            }

            def one(a, b, med=med):
                return fmt(med[a] / med[b]) if med[a] and med[b] else "-"

            def both(over=None, under=None):
                """The ratio for lwai's own kernels, then for the oneDNN plugin."""
                return " / ".join(one(over or x, under or x) for x in ("lw", "dn"))

            size = "-"
            if "model" in int8_info.get(net, {}) and "model" in fp32_info.get(net, {}):
                mb8 = os.path.getsize(int8_info[net]["model"]) / 2**20
                mb32 = os.path.getsize(fp32_info[net]["model"]) / 2**20
                size = f"{mb8:.1f} / {mb32:.1f} ({mb8 / mb32:.2f}x)"
            row = [
                net,
                str(t),
                compare._median_cell(lw),
                compare._median_cell(dn, reasons.get("lwai_onednn")),
                compare._median_cell(fp),
                compare._median_cell(ort),
                compare._median_cell(ov, reasons.get("openvino")),
                both(over="fp"),
                both(under="ort"),
                both(under="ov"),
                compare.output_difference(net, t)
                + " / "
                + compare.output_difference(net, t, fw="lwai_onednn"),
                size,
            ]
            lines.append("| " + " | ".join(compare._cell(c) for c in row) + " |")
    lines += ["", *compare.machine_lines(machine, None)]
    return lines


def onednn_reason() -> str | None:
    """Why lwai's oneDNN plugin does not run, or None."""
    import lwai

    if "onednn" not in lwai.installed_plugins():
        return "not installed (lwai built without libdnnl-dev)"
    return None


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nets", type=compare._str_list, default=list(compare.ALL_NETS))
    parser.add_argument(
        "--dynamic",
        type=compare._str_list,
        default=list(DYNAMIC_MODELS),
        help="transformers for the dynamic table ('' for none)",
    )
    parser.add_argument(
        "--real",
        type=compare._str_list,
        default=list(REAL_QDQ_MODELS),
        help="real models quantized by ONNX Runtime for the third table ('' for none)",
    )
    compare.add_run_options(parser)
    args = parser.parse_args(argv)
    compare.check_run_options(parser, args)
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    started = time.perf_counter()
    command = "python3 benchmarks/int8_models.py " + " ".join(shlex.quote(a) for a in argv)
    machine = compare.machine_info()
    print(f"machine: {machine['cpu']}, {machine['usable_cpus']} CPUs, load {os.getloadavg()}")
    nets = args.nets
    onnx_info = compare.prepare_onnx(nets)
    fp32_info = compare.prepare_lwai(nets, onnx_info)
    int8_info = prepare_int8(nets, onnx_info)
    for net in nets:
        entry = int8_info[net]
        print(f"{net}: " + (entry.get("error") or f"lwai convert {entry['convert_s']:.2f} s"))
    reasons = {"openvino": compare.openvino_reason(args), "lwai_onednn": onednn_reason()}
    frameworks = [fw for fw in FRAMEWORKS if not reasons.get(fw)]

    def model_spec(fw: str, net: str) -> dict:
        source = fp32_info.get(net, {}) if fw == "lwai_fp32" else int8_info.get(net, {})
        if "error" in source or not source:
            return {"error": source.get("error", "not built")}
        model = source["onnx"] if fw in compare.ONNX_PEERS else source["model"]
        return {"model": model, "input_shape": onnx_info[net]["input_shape"]}

    # The dynamic table first: measure() clears the saved outputs that the tables compare.
    dynamic = [n for n in args.dynamic if n]
    dynamic_info = prepare_dynamic(dynamic) if dynamic else {}

    def dynamic_spec(fw: str, name: str) -> dict:
        entry = dynamic_info.get(name, {})
        if "error" in entry:
            return {"error": entry["error"]}
        model = entry["onnx"] if fw == "ort" else entry[fw]
        return {"model": model, "inputs": entry["inputs"]}

    results, cosines = {}, {}
    if dynamic:
        results = compare.measure(args, dynamic, DYNAMIC_FRAMEWORKS, dynamic_spec)
        cosines = dynamic_cosines(dynamic, sorted({t for (_, _, t) in results}))
    # Keyed "<model>_ortqdq": the dynamic table measures the same models' float files as "ort".
    real = [n for n in args.real if n]
    real_info = {f"{n}_ortqdq": v for n, v in (prepare_real_qdq(real) if real else {}).items()}
    real = list(real_info)

    def real_spec(fw: str, name: str) -> dict:
        entry = real_info.get(name, {})
        if "error" in entry:
            return {"error": entry["error"]}
        return {
            "model": entry["onnx" if fw in compare.ONNX_PEERS else "model"],
            "inputs": entry["inputs"],
        }

    real_differences = {}
    if real:
        real_frameworks = [fw for fw in REAL_QDQ_FRAMEWORKS if not reasons.get(fw)]
        real_results = compare.measure(args, real, real_frameworks, real_spec)
        for name in real:
            for t in args.threads:
                real_differences[(name, t)] = compare.output_difference(name, t, relative=True)
        results.update(real_results)
    results.update(compare.measure(args, nets, frameworks, model_spec))
    summary = {key: compare.summarize(records) for key, records in results.items()}
    machine["load_average_end"] = list(os.getloadavg())
    machine["date"] = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    machine["wall_s"] = time.perf_counter() - started
    machine["lwai_backends"] = args.lwai_backends
    machine["settings"] = compare.run_settings(args)
    lines = report_lines(
        command, machine, summary, nets, (onnx_info, fp32_info, int8_info), reasons
    )
    # The dynamic and real-model tables go before the machine list.
    extra = dynamic_lines(summary, dynamic, dynamic_info, cosines) if dynamic else []
    if real:
        extra += real_qdq_lines(summary, real, real_info, real_differences, reasons)
    if extra:
        machine_at = next(i for i, line in enumerate(lines) if line.startswith("- CPU:")) - 1
        lines[machine_at:machine_at] = extra
    compare.write_section(args.out, compare.INT8_HEADING, lines)
    raw = {
        "machine": machine,
        "models": {
            "onnx": onnx_info,
            "fp32": fp32_info,
            "int8": int8_info,
            "dynamic": dynamic_info,
            "real_qdq": real_info,
        },
        "results": [
            {"framework": fw, "net": n, "threads": t, "summary": summary[(fw, n, t)], "records": r}
            for (fw, n, t), r in results.items()
        ],
    }
    (compare.CACHE_DIR / "int8.json").write_text(json.dumps(raw, indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
