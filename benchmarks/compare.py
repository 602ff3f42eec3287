"""Side-by-side benchmark of lwai, ONNX Runtime, OpenVINO and LiteRT on the seed networks.

Every measurement is a fresh process per (framework, network, threads) that imports only its
framework and numpy, loads the model, times the first result, runs W warm-ups and then timed
runs (at least --min-runs, more while --budget seconds last, at most --max-runs), and prints
its latencies and peak RSS as JSON. The parent interleaves the frameworks (each round runs every
framework on every network and thread count, in a rotating order) and reports medians over all
rounds, against this machine's fp32 FMA peak measured in the same run by fma_peak.cc.

  lwai         the seed ONNX file converted once by lwai.convert to .lwai (timed separately);
               the worker loads the .lwai file: lwai.Session(path, threads=N)
  onnxruntime  the same ONNX file, ORT_ENABLE_ALL, intra_op_num_threads=N, inter_op 1,
               sequential execution, CPUExecutionProvider
  openvino     the same ONNX file read by OpenVINO's CPU plugin: PERFORMANCE_HINT=LATENCY,
               INFERENCE_NUM_THREADS=N, INFERENCE_PRECISION_HINT=f32 (the default is bf16 on
               CPUs with AVX512_BF16 or AMX; the others compute in fp32); dynamic input dims are
               set to the benchmarked shapes (Model.reshape) before compiling
  litert       ai-edge-litert's Interpreter (XNNPACK delegate on, num_threads=N) on a TFLite
               build of the same architecture (tflite_models.py: Keras, weights=None)

Writes benchmarks/RESULTS.md, benchmarks/results.png and the raw data in
.cache/bench/results.json. Usage: python3 benchmarks/compare.py [--quick] [--nets a,b]
[--threads 1,2] [--repeats N] [--lwai-backends x,y] [--no-litert] [--no-openvino]

benchmarks/real_models.py runs trained and exported models (PP-OCR, silero-vad, YOLOv8n, BERT,
ViT, Whisper) through the same workers and adds a "Real models" section to RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import pathlib
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time

BENCH_DIR = pathlib.Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
CACHE_DIR = REPO_ROOT / ".cache" / "bench"
FRAMEWORKS = ("lwai", "ort", "openvino", "litert")
LABELS = {"lwai": "lwai", "ort": "ONNX Runtime", "openvino": "OpenVINO", "litert": "LiteRT"}
ALL_NETS = (
    "squeezenet1.0",
    "squeezenet1.1",
    "inception_v3",
    "mobilenet_v1_1.0_224",
    "mobilenet_v2_1.0_224",
    "resnet_v2_50",
)  # the order of seed_models.NAMES
WORKER_TIMEOUT_S = 600
FLAGS_OF_INTEREST = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq",
    "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16",
)  # fmt: skip


# -- worker: one process per (framework, network, threads) ------------------------------------


def _rss_kib() -> tuple[int, int]:
    """(current RSS, peak RSS) of this process in KiB, from /proc (peak: ru_maxrss elsewhere)."""
    current = peak = 0
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    current = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    peak = int(line.split()[1])
    except OSError:
        pass
    return current, peak or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# Loaders: (spec, an example feed) -> (run(feed) -> list of outputs, framework version).


def _load_lwai(spec: dict, feed: dict):
    import lwai

    kwargs = {"threads": spec["threads"]}
    if spec.get("lwai_backends"):
        kwargs["backends"] = spec["lwai_backends"]
    session = lwai.Session(spec["model"], **kwargs)
    # The extension's mtime tells builds apart: the checkout is shared, and lwai may be
    # reinstalled while a run is going on.
    build = f"{lwai.__version__} built {time.ctime(os.path.getmtime(lwai._lwai.__file__))}"
    return session.run, build


def _load_lwai_onednn(spec: dict, feed: dict):
    """lwai with its oneDNN vendor plugin first (int8_models.py)."""
    import lwai

    return _load_lwai({**spec, "lwai_backends": ["onednn", *lwai.available_backends()]}, feed)


def _load_ort(spec: dict, feed: dict):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = spec["threads"]
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(spec["model"], options, providers=["CPUExecutionProvider"])
    return lambda f: session.run(None, f), ort.__version__


def _load_openvino(spec: dict, feed: dict):
    import openvino as ov

    core = ov.Core()
    model = core.read_model(spec["model"])
    # Dynamic dims (sequence length, image size) fixed to the benchmarked shapes, as an
    # OpenVINO deployment with known shapes does; the others get the same shapes at run time.
    dynamic = {
        port.any_name: list(feed[port.any_name].shape)
        for port in model.inputs
        if port.get_partial_shape().is_dynamic and port.any_name in feed
    }
    if dynamic:
        model.reshape(dynamic)
    config = {
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_NUM_THREADS": spec["threads"],
        "INFERENCE_PRECISION_HINT": "f32",
    }
    compiled = core.compile_model(model, "CPU", config)
    request = compiled.create_infer_request()
    outputs = compiled.outputs

    def run(f):
        # Inputs read in place (as ORT and lwai do); outputs copied out (fresh arrays, as theirs).
        result = request.infer(f, share_inputs=True, share_outputs=False)
        return [result[o] for o in outputs]

    return run, ov.__version__


def _load_litert(spec: dict, feed: dict):
    from importlib.metadata import version

    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # BUILTIN = the optimized kernels with the default delegate, XNNPACK, applied.
    interpreter = Interpreter(
        model_path=spec["model"],
        num_threads=spec["threads"],
        experimental_op_resolver_type=OpResolverType.BUILTIN,
    )
    interpreter.allocate_tensors()
    inputs = interpreter.get_input_details()
    output_index = interpreter.get_output_details()[0]["index"]

    def run(f):
        # By name; a one-input model takes the feed's only array whatever its name.
        values = list(f.values()) if len(f) == len(inputs) == 1 else [f[d["name"]] for d in inputs]
        for detail, value in zip(inputs, values, strict=True):
            interpreter.set_tensor(detail["index"], value)
        interpreter.invoke()
        return [interpreter.get_tensor(output_index)]

    return run, version("ai-edge-litert")


LOADERS = {
    "lwai": _load_lwai,
    # int8_models.py: the float model beside the quantized one, and the dynamic int8 models
    "lwai_fp32": _load_lwai,
    "lwai_dynamic": _load_lwai,
    "lwai_onednn": _load_lwai_onednn,
    "ort": _load_ort,
    "ort_dynamic": _load_ort,
    "openvino": _load_openvino,
    "litert": _load_litert,
}


def _feed(spec: dict) -> dict:
    """The inputs: spec["inputs"] (an .npz file of name -> array), or a standard normal
    "input" of spec["input_shape"] (numpy default_rng(0))."""
    import numpy as np

    if spec.get("inputs"):
        with np.load(spec["inputs"]) as data:
            return {name: data[name] for name in data.files}
    return {"input": np.random.default_rng(0).standard_normal(spec["input_shape"], np.float32)}


def _stepper(run, feed: dict, stream: dict | None):
    """One timed step. Without a stream: run(feed). With stream = {"chunks": NAME, "state":
    NAME, "state_output": I}: feed[NAME] holds [n, ...] chunks, and each step runs the next
    chunk (cycling) with the state that the previous step returned as output I."""
    if not stream:
        return lambda: run(feed)
    chunks = feed[stream["chunks"]]
    current = dict(feed)
    position = [0]

    def step():
        current[stream["chunks"]] = chunks[position[0] % len(chunks)]
        position[0] += 1
        outputs = run(current)
        current[stream["state"]] = outputs[stream["state_output"]]
        return outputs

    return step


def worker(spec: dict) -> dict:
    """Loads one model, times the first result and the timed runs; returns the JSON record."""
    t_start = time.perf_counter()
    import numpy as np

    # The framework's import is part of its load time; numpy's is common to all.
    t_numpy = time.perf_counter()
    rss_numpy, _ = _rss_kib()
    feed = _feed(spec)
    stream = spec.get("stream")
    example = dict(feed, **{stream["chunks"]: feed[stream["chunks"]][0]}) if stream else feed
    run, framework_version = LOADERS[spec["framework"]](spec, example)
    step = _stepper(run, feed, stream)
    t_loaded = time.perf_counter()
    outputs = [np.asarray(o) for o in step()]
    t_first = time.perf_counter()
    first_result_epoch = time.time()
    for _ in range(spec["warmup"]):
        step()
    latencies = []
    timed_start = time.perf_counter()
    while len(latencies) < spec["max_runs"]:
        if (
            len(latencies) >= spec["min_runs"]
            and time.perf_counter() - timed_start > spec["budget"]
        ):
            break
        begin = time.perf_counter()
        step()
        latencies.append((time.perf_counter() - begin) * 1e3)
    if spec.get("save_output"):
        np.savez(spec["save_output"], *outputs)
    rss_now, rss_peak = _rss_kib()
    return {
        "version": framework_version,
        "first_result_epoch": first_result_epoch,
        "startup_s": t_numpy - t_start,
        "load_s": t_loaded - t_numpy,
        "first_run_s": t_first - t_loaded,
        "latencies_ms": latencies,
        "rss_numpy_kib": rss_numpy,
        "rss_end_kib": rss_now,
        "peak_rss_kib": rss_peak,
        "output_finite": all(bool(np.isfinite(o).all()) for o in outputs if o.dtype.kind == "f"),
    }


# -- parent: preparation ----------------------------------------------------------------------


def _run_text(cmd: list[str], timeout: float = 30) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        return (done.stdout or done.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _pkg_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine_info() -> dict:
    cpuinfo = pathlib.Path("/proc/cpuinfo").read_text() if os.path.exists("/proc/cpuinfo") else ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    mem_kib = 0
    if os.path.exists("/proc/meminfo"):
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    hypervisor = "hypervisor" in flags
    return {
        "cpu": fields.get("model name", platform.processor() or "unknown"),
        "cpu_family_model": f"family {fields.get('cpu family', '?')} model "
        f"{fields.get('model', '?')} stepping {fields.get('stepping', '?')}",
        "cpu_mhz": fields.get("cpu MHz", "?"),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "flags": [f for f in FLAGS_OF_INTEREST if f in flags],
        "virtualized": hypervisor,
        "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "os": _run_text(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "python": platform.python_version(),
        "compiler": _run_text(["g++", "--version"]).splitlines()[0:1],
        "versions": {
            pkg: _pkg_version(pkg)
            for pkg in ("lwai", "numpy", "onnx", "onnxruntime", "openvino", "ai-edge-litert")
            + ("tensorflow-cpu",)
        },
        "lwai_commit": _run_text(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"]),
        "lwai_dirty": bool(
            _run_text(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked=no"])
        ),
        "load_average_start": list(os.getloadavg()),
    }


def fma_peak(seconds: float) -> dict:
    """Compiles (if missing or stale) and runs fma_peak.cc; GMAC/s of one core."""
    source = BENCH_DIR / "fma_peak.cc"
    binary = CACHE_DIR / "fma_peak"
    if not binary.exists() or binary.stat().st_mtime < source.stat().st_mtime:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        cmd = ["g++", "-O2", "-std=c++17", "-o", str(binary), str(source)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return {"error": f"g++ failed: {done.stderr.strip()[-300:]}"}
    done = subprocess.run(
        [str(binary), str(seconds)], capture_output=True, text=True, check=False, timeout=120
    )
    if done.returncode != 0:
        return {"error": f"fma_peak exited {done.returncode}: {done.stderr.strip()[-300:]}"}
    return json.loads(done.stdout)


def combine_peaks(start: dict, end: dict) -> dict:
    """The higher of the two measurements (other load only ever lowers a peak), with both."""
    good = [p for p in (start, end) if "best" in p]
    if not good:
        return start
    best = max(good, key=lambda p: p["best"])
    return {**best, "samples": [p.get("best") for p in (start, end)]}


def prepare_onnx(nets: list[str]) -> dict:
    """ONNX path, input shape and MACs of each seed network."""
    sys.path.insert(0, str(BENCH_DIR))
    import onnx

    import seed_models

    info = {}
    for net in nets:
        path = seed_models.ensure(net)
        model = onnx.load(path)
        size = model.graph.input[0].type.tensor_type.shape.dim[2].dim_value
        info[net] = {"onnx": str(path), "input_shape": [1, 3, size, size]}
        info[net]["macs"] = seed_models.macs(model)
    return info


def prepare_lwai(nets: list[str], onnx_info: dict) -> dict:
    """Converts each ONNX file to .lwai with the installed lwai (a fresh conversion every run,
    so graph passes under development are measured); path, seconds or the error."""
    out = {}
    script = (
        "import sys, time, lwai\n"
        "t = time.perf_counter(); m = lwai.convert(sys.argv[1]); m.save(sys.argv[2])\n"
        "print(time.perf_counter() - t)\n"
    )
    (CACHE_DIR / "lwai").mkdir(parents=True, exist_ok=True)
    for net in nets:
        path = CACHE_DIR / "lwai" / f"{net}.lwai"
        done = subprocess.run(
            [sys.executable, "-c", script, onnx_info[net]["onnx"], str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0:
            out[net] = {"model": str(path), "convert_s": float(done.stdout.split()[-1])}
        else:
            out[net] = {"error": _last_line(done.stderr) or f"exit {done.returncode}"}
    return out


def prepare_tflite(nets: list[str]) -> tuple[dict, str | None]:
    """({net: {model, macs, ...} or {error}}, reason LiteRT does not run at all or None)."""
    if importlib.util.find_spec("ai_edge_litert") is None:
        return {}, "ai-edge-litert is not installed (scripts/install_bench_deps.sh)"
    sys.path.insert(0, str(BENCH_DIR))
    import tflite_models

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, str(BENCH_DIR / "tflite_models.py"), *nets],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode == tflite_models.NO_TENSORFLOW:
        return {}, _last_line(done.stderr)
    out = {}
    for net in nets:
        path = tflite_models.default_cache_dir() / f"{net}.tflite"
        meta_path = path.with_suffix(".json")
        if path.exists() and meta_path.exists():
            out[net] = {"model": str(path), **json.loads(meta_path.read_text())}
        else:
            out[net] = {"error": _last_line(done.stderr) or "TFLite build failed"}
    return out, None


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else ""


# -- parent: measurement ----------------------------------------------------------------------


def run_worker(spec: dict) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    spawn_epoch = time.time()
    try:
        done = subprocess.run(
            [sys.executable, str(pathlib.Path(__file__).resolve()), "--worker", json.dumps(spec)],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            timeout=WORKER_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {WORKER_TIMEOUT_S} s"}
    if done.returncode != 0:
        return {"error": _last_line(done.stderr) or f"exit {done.returncode}"}
    record = json.loads(done.stdout.strip().splitlines()[-1])
    record["first_result_s"] = record["first_result_epoch"] - spawn_epoch
    return record


def measure(args, nets, frameworks, model_spec, label_width: int = 21) -> dict:
    """{(framework, net, threads): [worker records]} over args.repeats interleaved rounds.
    model_spec(framework, net) gives the worker spec's model and input fields ("model" and
    "input_shape" or "inputs", optionally "stream") or {"error": why it cannot run}. Round 1
    saves the outputs of the ONNX frameworks for output_difference()."""
    results: dict[tuple[str, str, int], list[dict]] = {}
    jobs = [(net, t) for net in nets for t in args.threads]
    total = args.repeats * len(jobs) * len(frameworks)
    done = 0
    started = time.perf_counter()
    outputs_dir = CACHE_DIR / "outputs"
    outputs_dir.mkdir(parents=True, exist_ok=True)
    for stale in outputs_dir.glob("*.np[yz]"):  # from an earlier run: a failed worker leaves none
        stale.unlink()
    for round_index in range(args.repeats):
        for job_index, (net, threads) in enumerate(jobs):
            shift = (round_index + job_index) % len(frameworks)
            for fw in frameworks[shift:] + frameworks[:shift]:
                done += 1
                key = (fw, net, threads)
                model = model_spec(fw, net)
                if "error" in model:
                    results.setdefault(key, []).append({"error": model["error"]})
                    continue
                spec = {
                    "framework": fw,
                    "threads": threads,
                    "warmup": args.warmup,
                    "min_runs": args.min_runs,
                    "max_runs": args.max_runs,
                    "budget": args.budget,
                    "lwai_backends": args.lwai_backends,
                    **model,
                }
                if round_index == 0 and fw != "litert":
                    spec["save_output"] = str(_output_path(fw, net, threads))
                record = run_worker(spec)
                results.setdefault(key, []).append(record)
                status = record.get("error") or (
                    f"median {statistics.median(record['latencies_ms']):8.2f} ms "
                    f"over {len(record['latencies_ms'])} runs"
                )
                print(
                    f"[{done:>3}/{total} {time.perf_counter() - started:6.0f}s] round "
                    f"{round_index + 1} {fw:<8} {net:<{label_width}} t={threads}  {status}",
                    flush=True,
                )
    return results


def summarize(records: list[dict]) -> dict:
    good = [r for r in records if "error" not in r]
    if not good:
        return {"error": records[0]["error"] if records else "not run"}
    latencies = sorted(ms for r in good for ms in r["latencies_ms"])

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    return {
        "median_ms": statistics.median(latencies),
        "p10_ms": pct(0.10),
        "p90_ms": pct(0.90),
        "min_ms": latencies[0],
        "runs": len(latencies),
        "processes": len(good),
        "first_result_s": statistics.median(r["first_result_s"] for r in good),
        "load_s": statistics.median(r["load_s"] for r in good),
        "first_run_s": statistics.median(r["first_run_s"] for r in good),
        "peak_rss_mib": statistics.median(r["peak_rss_kib"] for r in good) / 1024,
        "rss_numpy_mib": statistics.median(r["rss_numpy_kib"] for r in good) / 1024,
        "version": good[0]["version"],
        "versions_seen": sorted({r["version"] for r in good}),
        "output_finite": all(r["output_finite"] for r in good),
        "errors": [r["error"] for r in records if "error" in r],
    }


def _output_path(fw: str, net: str, threads: int) -> pathlib.Path:
    return CACHE_DIR / "outputs" / f"{fw}-{net}-{threads}.npz"


def load_outputs(fw: str, net: str, threads: int) -> list | None:
    """The outputs of fw's first run of net in round 1, or None (not run or failed)."""
    import numpy as np

    path = _output_path(fw, net, threads)
    if not path.exists():
        return None
    with np.load(path) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


def output_difference(net: str, threads: int, fw: str = "lwai", relative: bool = False) -> str:
    """Max |fw - ORT| over the outputs saved in round 1; relative: divided by the range of
    ORT's output (the largest over the outputs). Seed networks: "top-1 differs" when it does."""
    import numpy as np

    got, expected = load_outputs(fw, net, threads), load_outputs("ort", net, threads)
    if got is None or expected is None:
        return "n/a"
    worst = 0.0
    for a, b in zip(got, expected, strict=False):
        if a.shape != b.shape:
            return f"shape {a.shape} vs {b.shape}"
        diff = float(np.max(np.abs(a.astype(np.float64) - b), initial=0.0))
        if relative and b.size:
            diff /= float(b.max() - b.min()) or 1.0
        worst = max(worst, diff)
    if len(got) != len(expected):
        return f"{len(got)} outputs vs {len(expected)}"
    top1 = "" if relative or np.argmax(got[0]) == np.argmax(expected[0]) else " (top-1 differs)"
    return f"{worst:.1e}{top1}"


# -- parent: report ---------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


ONNX_PEERS = ("ort", "openvino")  # run the same ONNX files as lwai
REAL_MODELS_HEADING = "# Real models"  # benchmarks/real_models.py's section of RESULTS.md
INT8_HEADING = "# Int8"  # benchmarks/int8_models.py's section of RESULTS.md
TFLITE_HEADING = "# TFLite models"  # benchmarks/mediapipe_models.py's section of RESULTS.md
SECTION_HEADINGS = (REAL_MODELS_HEADING, INT8_HEADING, TFLITE_HEADING)


def _median_cell(s: dict, reason: str | None = None) -> str:
    """A framework's median latency, or why there is none."""
    if s.get("median_ms"):
        return _ms(s["median_ms"])
    if reason:
        return "not run"
    return _cell(f"error: {s.get('error', 'not run')}")


def _ratio_cell(lw: dict, other: dict) -> str:
    lw_ms, other_ms = lw.get("median_ms"), other.get("median_ms")
    return _fmt(lw_ms / other_ms) if lw_ms and other_ms else "–"


def _per_framework(summaries: list[dict], key: str, digits: int) -> str:
    """ "a / b / c": one value per framework ("–" where it did not run)."""
    return " / ".join(_fmt(s.get(key), digits) for s in summaries)


def details_lines(summary: dict, nets: list[str], threads_list: list[int], macs=None) -> list:
    """The per-(network, threads, framework) table: spread, runs, load, first result, RSS;
    GMAC/s/core where macs(framework, net) gives the MACs."""
    header = (
        "| network | threads | framework | median ms | p10–p90 ms | runs (processes) "
        + ("| GMAC/s/core " if macs else "")
        + "| load s | first run s | first result s | peak RSS MiB | RSS after numpy MiB |"
    )
    lines = [header, "| --- | ---: | --- | ---: | ---: | ---: |" + " ---: |" * (5 + bool(macs))]
    for net in nets:
        for t in threads_list:
            for fw in FRAMEWORKS:
                s = summary.get((fw, net, t))
                if not s or "error" in s:
                    if s:
                        error = _cell(f"error: {s['error']}")
                        lines.append(f"| {net} | {t} | {LABELS[fw]} | {error} |")
                    continue
                gmacs = ""
                if macs:
                    gmacs = f"| {macs(fw, net) / (s['median_ms'] * 1e-3) / t / 1e9:.1f} "
                warn = "" if s["output_finite"] else " (non-finite output!)"
                lines.append(
                    f"| {net} | {t} | {LABELS[fw]}{warn} | {_ms(s['median_ms'])} "
                    f"| {_ms(s['p10_ms'])}–{_ms(s['p90_ms'])} | {s['runs']} ({s['processes']}) "
                    f"{gmacs}| {s['load_s']:.2f} | {s['first_run_s']:.2f} "
                    f"| {s['first_result_s']:.2f} | {s['peak_rss_mib']:.0f} "
                    f"| {s['rss_numpy_mib']:.0f} |"
                )
    return lines


def machine_lines(machine: dict, peak: dict | None) -> list[str]:
    """The "Machine" list: CPU, flags, FMA peak (when measured), OS, versions, load."""
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items() if v)
    cores = f"{machine['logical_cpus']} logical CPUs ({machine['usable_cpus']} usable)"
    virt = ", virtual machine (KVM or similar)" if machine["virtualized"] else ""
    dirty = " (with uncommitted changes)" if machine["lwai_dirty"] else ""
    lines = [
        f"- CPU: {machine['cpu']} ({machine['cpu_family_model']}), {cores}{virt}, "
        f"{machine['memory_gib']} GiB RAM",
        f"- SIMD flags: {' '.join(machine['flags'])}",
    ]
    if peak is not None:
        peak_line = (
            f"{_fmt(peak.get('best'), 1)} GMAC/s per core ({peak.get('isa')}; AVX-512 "
            f"{_fmt(peak.get('avx512'), 1)}, AVX2 {_fmt(peak.get('avx2'), 1)}): "
            "`fma_peak.cc`, 12 independent FMA chains, one thread, best of 5 trials; the higher "
            f"of the runs at start and end ({', '.join(_fmt(v, 1) for v in peak['samples'])})"
            if "best" in peak
            else f"not measured: {peak.get('error')}"
        )
        lines.append(f"- fp32 FMA peak: {peak_line}")
    return lines + [
        f"- OS: {machine['os']}, Linux {machine['kernel']}, Python {machine['python']}, "
        f"{' '.join(machine['compiler'])}",
        f"- Versions: {versions}; lwai commit {machine['lwai_commit']}{dirty}",
        f"- Load average (1/5/15 min) at start {_loads(machine['load_average_start'])}, at end "
        f"{_loads(machine['load_average_end'])}: the machine may be shared, so compare the "
        "frameworks within one run (they are interleaved) rather than across runs.",
    ]


def method_lines(machine: dict) -> list[str]:
    """How each framework is run (shared by both reports)."""
    return [
        f"- {machine['settings']}",
        "- Each (framework, network, threads) measurement is a fresh process; each round runs all "
        "of them with the framework order rotated, and the medians are over all rounds.",
        "- ONNX Runtime: `ORT_ENABLE_ALL`, `intra_op_num_threads` = threads, "
        "`inter_op_num_threads` = 1, sequential execution, CPUExecutionProvider.",
        "- OpenVINO: `Core.read_model` on the same ONNX file, compiled for CPU with "
        "`PERFORMANCE_HINT=LATENCY`, `INFERENCE_NUM_THREADS` = threads and "
        "`INFERENCE_PRECISION_HINT=f32` (its default is bf16 on CPUs with AVX512_BF16 or AMX; "
        "the others compute in fp32); dynamic input dims are set to the benchmarked shapes "
        "(`Model.reshape`) before compiling; `InferRequest.infer(share_inputs=True)` per run.",
        "- LiteRT: `ai_edge_litert.interpreter.Interpreter(num_threads=threads)` with the "
        "BUILTIN op resolver (XNNPACK delegate applied); set_tensor + invoke + get_tensor per run.",
        "- lwai: the ONNX file converted by `lwai.convert` (all graph passes) and saved as .lwai "
        "before the rounds; workers run `lwai.Session(path, threads=threads"
        + (f", backends={machine['lwai_backends']}" if machine["lwai_backends"] else "")
        + ").run(...)`.",
    ]


def write_sections(path: pathlib.Path, main: list[str] | None, real_models: list[str] | None):
    """Writes RESULTS.md: compare.py's report (main) and real_models.py's section, each
    replacing its own part and keeping the others (None = keep what the file has)."""
    if main is not None:
        write_section(path, None, main)
    if real_models is not None:
        write_section(path, REAL_MODELS_HEADING, real_models)


def write_section(path: pathlib.Path, heading: str | None, lines: list[str]) -> None:
    """Replaces one part of RESULTS.md: compare.py's report (heading None, the file's start) or
    the section that starts with the line `heading` (one of SECTION_HEADINGS), keeping the
    others in SECTION_HEADINGS order."""
    old = path.read_text() if path.exists() else ""
    parts: dict[str | None, str] = {}
    current: str | None = None
    chunk: list[str] = []
    for line in old.splitlines():
        if line in SECTION_HEADINGS:
            parts[current] = "\n".join(chunk).strip("\n")
            current, chunk = line, []
        chunk.append(line)
    parts[current] = "\n".join(chunk).strip("\n")
    parts[heading] = "\n".join(lines).strip("\n")
    order = [None, *SECTION_HEADINGS]
    path.write_text("\n\n".join(parts[h] for h in order if parts.get(h)) + "\n")


def write_report(path, chart_name, command, machine, peak, summary, info, reasons) -> None:
    """RESULTS.md's seed-network report; `reasons` says why a framework did not run at all."""
    onnx_info, lwai_info, tflite_info = info
    peak_core = peak.get("best")
    nets = list(onnx_info)
    threads_list = sorted({t for (_, _, t) in summary})
    litert_reason = reasons.get("litert")
    lines = [
        "# lwai vs ONNX Runtime vs OpenVINO vs LiteRT",
        "",
        f"Generated by `benchmarks/compare.py` on {machine['date']} in {machine['wall_s']:.0f} s."
        " Regenerate with:",
        "",
        "```sh",
        command,
        "```",
        "",
        f"![latency per network]({chart_name})",
        "",
        *_busy_warning(machine),
        *_rebuilt_warning(summary),
        "## Results",
        "",
        "Median latency over all timed runs of all rounds (batch 1, float32). "
        "*GMAC/s/core* = network MACs / median latency / threads; *% of FMA peak* sets it "
        f"against the measured single-core fp32 FMA peak ({_fmt(peak_core, 1)} GMAC/s; "
        "MACs are those of direct convolution, so a Winograd or FFT kernel can pass 100%). "
        "*first result* = process start (interpreter, imports) → model loaded → first output; "
        "*peak RSS* = the worker process's high-water mark (VmHWM / ru_maxrss), each framework "
        "in its own process that imports only numpy and that framework.",
        "",
        "| network | threads | lwai ms | ORT ms | lwai/ORT | OpenVINO ms | lwai/OpenVINO "
        "| LiteRT ms | lwai/LiteRT | lwai GMAC/s/core | % of FMA peak "
        "| first result lwai / ORT / OpenVINO (s) | peak RSS lwai / ORT / OpenVINO (MiB) |",
        "| --- |" + " ---: |" * 12,
    ]
    for net in nets:
        for t in threads_list:
            lw, ort, ov, lite = (summary.get((fw, net, t), {}) for fw in FRAMEWORKS)
            lw_ms = lw.get("median_ms")
            gmacs = onnx_info[net]["macs"] / (lw_ms * 1e-3) / t / 1e9 if lw_ms else None
            row = [
                net,
                str(t),
                _median_cell(lw),
                _median_cell(ort),
                _ratio_cell(lw, ort),
                _median_cell(ov, reasons.get("openvino")),
                _ratio_cell(lw, ov),
                _median_cell(lite, litert_reason),
                _ratio_cell(lw, lite),
                _fmt(gmacs, 1),
                _fmt(100 * gmacs / peak_core, 1) if gmacs and peak_core else "–",
                _per_framework([lw, ort, ov], "first_result_s", 2),
                _per_framework([lw, ort, ov], "peak_rss_mib", 0),
            ]
            lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        *(
            f"{LABELS[fw]}: **not run**: {reason}."
            for fw, reason in reasons.items()
            if reason and fw != "litert"
        ),
        "LiteRT: "
        + (
            f"**not run**: {litert_reason}."
            if litert_reason
            else "runs TFLite builds of the same architectures made with TensorFlow/Keras "
            "(`tflite_models.py`, weights=None, float32) because the seed ONNX files cannot be "
            "converted to TFLite offline; its weights and some layer details differ (below), so "
            "its column compares architectures, not identical models."
        ),
        "",
        "## Details",
        "",
        "Latency spread is p10–p90 over all timed runs; *load* = framework import + model load "
        "(lwai: .lwai file, ORT and OpenVINO: ONNX file with graph optimization or compilation, "
        "LiteRT: .tflite); *RSS after numpy* is the process before the framework is imported.",
        "",
        *details_lines(
            summary,
            nets,
            threads_list,
            lambda fw, net: (tflite_info if fw == "litert" else onnx_info)[net]["macs"],
        ),
        "",
        "| network | GMACs (ONNX) | lwai convert s | max abs(lwai − ORT) of the softmax "
        "(OpenVINO − ORT), per thread count | GMACs (TFLite) | TFLite build vs seed network |",
        "| --- | ---: | ---: | --- | ---: | --- |",
    ]
    for net in nets:
        lw = lwai_info.get(net, {})
        lite = tflite_info.get(net, {})
        agreement = ", ".join(
            f"{t}T: {output_difference(net, t)} ({output_difference(net, t, 'openvino')})"
            for t in threads_list
        )
        lines.append(
            f"| {net} | {onnx_info[net]['macs'] / 1e9:.3f} "
            f"| {_fmt(lw.get('convert_s'))} | {agreement} "
            f"| {_fmt(lite['macs'] / 1e9, 3) if 'macs' in lite else '–'} "
            f"| {lite.get('difference', lite.get('error', litert_reason or '–'))} |"
        )
    lines += [
        "",
        "## Machine",
        "",
        *machine_lines(machine, peak),
        "",
        "## Method",
        "",
        *method_lines(machine),
        "- The same random input (numpy default_rng(0), standard normal) for every run.",
        "",
    ]
    write_sections(path, lines, None)


def section_preamble(script: str, machine: dict, command: str, summary: dict) -> list[str]:
    """The lines under a RESULTS.md section heading: which script made it, when, where, the
    command that regenerates it, and warnings about load or a rebuilt lwai."""
    return [
        f"Generated by `benchmarks/{script}` on {machine['date']} in "
        f"{machine['wall_s']:.0f} s on {machine['cpu']} ({machine['usable_cpus']} CPUs). "
        "Regenerate with:",
        "",
        "```sh",
        command,
        "```",
        "",
        *_busy_warning(machine),
        *_rebuilt_warning(summary),
    ]


def _busy_warning(machine: dict) -> list[str]:
    """A warning paragraph when other processes loaded the machine during the run."""
    busiest = max(machine["load_average_start"][0], machine["load_average_end"][0])
    if busiest <= 0.5 * machine["usable_cpus"]:
        return []
    return [
        f"> **Busy machine**: the 1-minute load average reached {busiest:.1f} on "
        f"{machine['usable_cpus']} CPUs during this run, so absolute numbers (and the FMA peak) "
        "are low and noisy, 2-thread runs most of all; the ratios between the interleaved "
        "frameworks are the more reliable part.",
        "",
    ]


def _rebuilt_warning(summary: dict) -> list[str]:
    """A warning when the workers saw more than one lwai build (reinstalled during the run)."""
    builds = sorted(
        {v for (fw, _, _), s in summary.items() if fw == "lwai" for v in s.get("versions_seen", [])}
    )
    if len(builds) <= 1:
        return []
    return [
        f"> **lwai changed during this run**: the workers loaded {len(builds)} different builds "
        f"({'; '.join(builds)}), so the lwai numbers mix them. Run again on a quiet checkout.",
        "",
    ]


def _cell(text: str) -> str:
    """Text that is safe inside one Markdown table cell."""
    return text.replace("|", "/").replace("\n", " ")[:160]


def _loads(values) -> str:
    return "/".join(f"{v:.2f}" for v in values)


def write_chart(path, summary, nets, threads_list) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(threads_list), figsize=(6.5 * len(threads_list), 4.8), squeeze=False, sharey=True
    )
    colors = {"lwai": "#d62728", "ort": "#1f77b4", "openvino": "#9467bd", "litert": "#2ca02c"}
    width = 0.8 / len(FRAMEWORKS)
    for ax, t in zip(axes[0], threads_list, strict=True):
        for i, fw in enumerate(FRAMEWORKS):
            values = [summary.get((fw, net, t), {}).get("median_ms") for net in nets]
            if not any(values):
                continue
            xs = [j + (i - (len(FRAMEWORKS) - 1) / 2) * width for j in range(len(nets))]
            heights = [v or 0 for v in values]
            bars = ax.bar(xs, heights, width, label=LABELS[fw], color=colors[fw])
            for bar, v in zip(bars, values, strict=True):
                if v:
                    ax.annotate(
                        f"{v:.0f}" if v >= 10 else f"{v:.1f}",
                        (bar.get_x() + bar.get_width() / 2, v),
                        ha="center",
                        va="bottom",
                        fontsize=7,
                    )
        ax.set_yscale("log")
        ax.set_xticks(range(len(nets)))
        ax.set_xticklabels(nets, rotation=25, ha="right", fontsize=8)
        ax.set_ylabel("median latency, ms (log scale)")
        ax.set_title(f"{t} thread{'s' if t > 1 else ''}, batch 1, fp32")
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- command line -----------------------------------------------------------------------------


def _int_list(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def _str_list(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared with real_models.py: threads, rounds, runs per process, frameworks."""
    parser.add_argument("--threads", type=_int_list, default=[1, 2], help="comma list (1,2)")
    parser.add_argument("--repeats", type=int, help="interleaved rounds (default 3, quick 1)")
    parser.add_argument("--warmup", type=int, help="warm-up runs per process (default 1)")
    parser.add_argument("--min-runs", type=int, help="timed runs per process, at least (3)")
    parser.add_argument("--max-runs", type=int, help="timed runs per process, at most (50)")
    parser.add_argument("--budget", type=float, help="seconds of timed runs per process (2.0)")
    parser.add_argument("--quick", action="store_true", help="1 round, fewer runs")
    parser.add_argument("--no-openvino", action="store_true", help="skip OpenVINO")
    parser.add_argument(
        "--lwai-backends", type=_str_list, help="passed as lwai.Session(backends=[...])"
    )
    parser.add_argument("--out", type=pathlib.Path, default=BENCH_DIR / "RESULTS.md")


def check_run_options(parser: argparse.ArgumentParser, args) -> None:
    """Fills in the defaults of add_run_options (quick or not) and checks the values."""
    quick = args.quick
    defaults = {
        "repeats": 1 if quick else 3,
        "warmup": 1,
        "min_runs": 2 if quick else 3,
        "max_runs": 20 if quick else 50,
        "budget": 0.7 if quick else 2.0,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if not args.threads or min(args.threads) < 1:
        parser.error("--threads needs positive thread counts")
    if args.repeats < 1 or args.min_runs < 1 or args.max_runs < args.min_runs:
        parser.error("--repeats and --min-runs must be >= 1 and --max-runs >= --min-runs")


def run_settings(args) -> str:
    return (
        f"{args.repeats} round(s); per process {args.warmup} warm-up run(s), then timed runs: "
        f"at least {args.min_runs}, more while {args.budget} s last, at most {args.max_runs}"
    )


def openvino_reason(args) -> str | None:
    """Why OpenVINO does not run, or None."""
    if args.no_openvino:
        return "skipped (--no-openvino)"
    if importlib.util.find_spec("openvino") is None:
        return "openvino is not installed (scripts/install_bench_deps.sh)"
    return None


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nets", type=_str_list, default=list(ALL_NETS), help="comma list")
    add_run_options(parser)
    parser.add_argument("--no-litert", action="store_true", help="skip LiteRT")
    parser.add_argument("--fma-seconds", type=float, default=1.0, help="FMA peak measuring time")
    parser.add_argument("--chart", type=pathlib.Path, default=BENCH_DIR / "results.png")
    args = parser.parse_args(argv)
    check_run_options(parser, args)
    unknown = [n for n in args.nets if n not in ALL_NETS]
    if unknown:
        parser.error(f"unknown network(s) {unknown}; choose from {', '.join(ALL_NETS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        print(json.dumps(worker(json.loads(argv[1]))))
        return 0
    args = parse_args(argv)
    started = time.perf_counter()
    command = "python3 benchmarks/compare.py " + " ".join(shlex.quote(a) for a in argv)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    if max(args.threads) > machine["usable_cpus"]:
        print(f"warning: {max(args.threads)} threads on {machine['usable_cpus']} usable CPUs")
    print(f"machine: {machine['cpu']}, {machine['usable_cpus']} CPUs, {machine['flags']}")
    peak_start = fma_peak(args.fma_seconds)
    print(f"fp32 FMA peak per core: {peak_start}", flush=True)
    nets = args.nets
    onnx_info = prepare_onnx(nets)
    lwai_info = prepare_lwai(nets, onnx_info)
    for net, lw in lwai_info.items():
        status = lw.get("error") or f"{lw['convert_s']:.2f} s"
        print(f"lwai convert {net}: {status}")
    if args.no_litert:
        tflite_info, litert_reason = {}, "skipped (--no-litert)"
    else:
        print("TFLite models (first time: builds them with TensorFlow, a few minutes)...")
        tflite_info, litert_reason = prepare_tflite(nets)
    print(f"LiteRT: {'not run, ' + litert_reason if litert_reason else 'on'}", flush=True)
    reasons = {"openvino": openvino_reason(args), "litert": litert_reason}
    frameworks = [fw for fw in FRAMEWORKS if not reasons.get(fw)]

    def model_spec(fw: str, net: str) -> dict:
        if fw in ONNX_PEERS:
            return {"model": onnx_info[net]["onnx"], "input_shape": onnx_info[net]["input_shape"]}
        source = (lwai_info if fw == "lwai" else tflite_info).get(net, {"error": "not built"})
        if "error" in source:
            return {"error": source["error"]}
        shape = tflite_info[net]["input_shape"] if fw == "litert" else onnx_info[net]["input_shape"]
        return {"model": source["model"], "input_shape": shape}

    results = measure(args, nets, frameworks, model_spec)
    summary = {key: summarize(records) for key, records in results.items()}
    peak = combine_peaks(peak_start, fma_peak(args.fma_seconds))
    print(f"fp32 FMA peak per core, start and end of the run: {peak}", flush=True)
    machine["load_average_end"] = list(os.getloadavg())
    machine["date"] = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    machine["wall_s"] = time.perf_counter() - started
    machine["lwai_backends"] = args.lwai_backends
    machine["settings"] = run_settings(args)
    write_chart(args.chart, summary, nets, sorted(args.threads))
    info = (onnx_info, lwai_info, tflite_info)
    write_report(args.out, args.chart.name, command, machine, peak, summary, info, reasons)
    raw = {
        "machine": machine,
        "fma_peak": peak,
        "args": {k: str(v) if isinstance(v, pathlib.Path) else v for k, v in vars(args).items()},
        "models": {"onnx": onnx_info, "lwai": lwai_info, "tflite": tflite_info},
        "reasons": reasons,
        "results": [
            {
                "framework": fw,
                "net": net,
                "threads": t,
                "summary": summary[(fw, net, t)],
                "records": records,
            }
            for (fw, net, t), records in results.items()
        ],  # fmt: skip
    }
    (CACHE_DIR / "results.json").write_text(json.dumps(raw, indent=1))
    print((args.out).read_text().split("## Details")[0])
    print(f"wrote {args.out}, {args.chart} and {CACHE_DIR / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
