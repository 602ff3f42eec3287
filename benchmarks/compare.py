"""Side-by-side benchmark of lwai, ONNX Runtime and LiteRT on the seed networks.

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
  litert       ai-edge-litert's Interpreter (XNNPACK delegate on, num_threads=N) on a TFLite
               build of the same architecture (tflite_models.py: Keras, weights=None)

Writes benchmarks/RESULTS.md, benchmarks/results.png and the raw data in
.cache/bench/results.json. Usage: python3 benchmarks/compare.py [--quick] [--nets a,b]
[--threads 1,2] [--repeats N] [--lwai-backends x,y] [--no-litert]
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
FRAMEWORKS = ("lwai", "ort", "litert")
LABELS = {"lwai": "lwai", "ort": "ONNX Runtime", "litert": "LiteRT"}
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


def _load_lwai(spec: dict):
    import lwai

    kwargs = {"threads": spec["threads"]}
    if spec.get("lwai_backends"):
        kwargs["backends"] = spec["lwai_backends"]
    session = lwai.Session(spec["model"], **kwargs)
    # The extension's mtime tells builds apart: the checkout is shared, and lwai may be
    # reinstalled while a run is going on.
    build = f"{lwai.__version__} built {time.ctime(os.path.getmtime(lwai._lwai.__file__))}"
    return lambda x: session.run({"input": x})[0], build


def _load_ort(spec: dict):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = spec["threads"]
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(spec["model"], options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"input": x})[0], ort.__version__


def _load_litert(spec: dict):
    from importlib.metadata import version

    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # BUILTIN = the optimized kernels with the default delegate, XNNPACK, applied.
    interpreter = Interpreter(
        model_path=spec["model"],
        num_threads=spec["threads"],
        experimental_op_resolver_type=OpResolverType.BUILTIN,
    )
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]

    def run(x):
        interpreter.set_tensor(input_index, x)
        interpreter.invoke()
        return interpreter.get_tensor(output_index)

    return run, version("ai-edge-litert")


def worker(spec: dict) -> dict:
    """Loads one model, times the first result and the timed runs; returns the JSON record."""
    t_start = time.perf_counter()
    import numpy as np

    loader = {"lwai": _load_lwai, "ort": _load_ort, "litert": _load_litert}[spec["framework"]]
    # The framework's import is part of its load time; numpy's is common to all three.
    t_numpy = time.perf_counter()
    rss_numpy, _ = _rss_kib()
    x = np.random.default_rng(0).standard_normal(spec["input_shape"], dtype=np.float32)
    run, framework_version = loader(spec)
    t_loaded = time.perf_counter()
    output = run(x)
    t_first = time.perf_counter()
    first_result_epoch = time.time()
    for _ in range(spec["warmup"]):
        run(x)
    latencies = []
    timed_start = time.perf_counter()
    while len(latencies) < spec["max_runs"]:
        if (
            len(latencies) >= spec["min_runs"]
            and time.perf_counter() - timed_start > spec["budget"]
        ):
            break
        begin = time.perf_counter()
        run(x)
        latencies.append((time.perf_counter() - begin) * 1e3)
    if spec.get("save_output"):
        np.save(spec["save_output"], np.asarray(output))
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
        "output_finite": bool(np.isfinite(output).all()),
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
            for pkg in ("lwai", "numpy", "onnx", "onnxruntime", "ai-edge-litert", "tensorflow-cpu")
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


def measure(args, nets, onnx_info, lwai_info, tflite_info) -> dict:
    """{(framework, net, threads): [worker records]} over args.repeats interleaved rounds."""
    results: dict[tuple[str, str, int], list[dict]] = {}
    frameworks = [fw for fw in FRAMEWORKS if fw != "litert" or tflite_info]
    jobs = [(net, t) for net in nets for t in args.threads]
    total = args.repeats * len(jobs) * len(frameworks)
    done = 0
    started = time.perf_counter()
    outputs_dir = CACHE_DIR / "outputs"
    outputs_dir.mkdir(parents=True, exist_ok=True)
    for stale in outputs_dir.glob("*.npy"):  # from an earlier run: a failed worker leaves none
        stale.unlink()
    for round_index in range(args.repeats):
        for job_index, (net, threads) in enumerate(jobs):
            shift = (round_index + job_index) % len(frameworks)
            for fw in frameworks[shift:] + frameworks[:shift]:
                done += 1
                key = (fw, net, threads)
                source = {"lwai": lwai_info, "ort": None, "litert": tflite_info}[fw]
                if source is not None and "error" in source.get(net, {"error": "not built"}):
                    results.setdefault(key, []).append({"error": source[net]["error"]})
                    continue
                spec = {
                    "framework": fw,
                    "model": onnx_info[net]["onnx"] if fw == "ort" else source[net]["model"],
                    "threads": threads,
                    "input_shape": (
                        tflite_info[net]["input_shape"]
                        if fw == "litert"
                        else onnx_info[net]["input_shape"]
                    ),
                    "warmup": args.warmup,
                    "min_runs": args.min_runs,
                    "max_runs": args.max_runs,
                    "budget": args.budget,
                    "lwai_backends": args.lwai_backends,
                }
                if round_index == 0 and fw != "litert":
                    spec["save_output"] = str(outputs_dir / f"{fw}-{net}-{threads}.npy")
                record = run_worker(spec)
                results.setdefault(key, []).append(record)
                status = record.get("error") or (
                    f"median {statistics.median(record['latencies_ms']):8.2f} ms "
                    f"over {len(record['latencies_ms'])} runs"
                )
                print(
                    f"[{done:>3}/{total} {time.perf_counter() - started:6.0f}s] round "
                    f"{round_index + 1} {fw:<6} {net:<21} t={threads}  {status}",
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


def output_agreement(net: str, threads: int) -> str:
    """Max |lwai - ORT| of the softmax outputs saved in round 1."""
    import numpy as np

    paths = [CACHE_DIR / "outputs" / f"{fw}-{net}-{threads}.npy" for fw in ("lwai", "ort")]
    if not all(p.exists() for p in paths):
        return "n/a"
    a, b = (np.load(p) for p in paths)
    if a.shape != b.shape:
        return f"shape {a.shape} vs {b.shape}"
    diff = float(np.max(np.abs(a.astype(np.float64) - b)))
    return f"{diff:.1e}" + ("" if np.argmax(a) == np.argmax(b) else " (top-1 differs)")


# -- parent: report ---------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def write_report(path, chart_name, command, machine, peak, summary, info, litert_reason) -> None:
    onnx_info, lwai_info, tflite_info = info
    peak_core = peak.get("best")
    nets = list(onnx_info)
    threads_list = sorted({t for (_, _, t) in summary})
    lines = [
        "# lwai vs ONNX Runtime vs LiteRT",
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
        "| network | threads | lwai ms | ORT ms | lwai/ORT | LiteRT ms | lwai/LiteRT "
        "| lwai GMAC/s/core | % of FMA peak | first result lwai / ORT (s) "
        "| peak RSS lwai / ORT (MiB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for net in nets:
        for t in threads_list:
            lw, ort, lite = (summary.get((fw, net, t), {}) for fw in FRAMEWORKS)
            lw_ms, ort_ms, lite_ms = (s.get("median_ms") for s in (lw, ort, lite))
            gmacs = onnx_info[net]["macs"] / (lw_ms * 1e-3) / t / 1e9 if lw_ms else None
            row = [
                net,
                str(t),
                _ms(lw_ms) if lw_ms else _cell(f"error: {lw.get('error', 'not run')}"),
                _ms(ort_ms) if ort_ms else _cell(f"error: {ort.get('error', 'not run')}"),
                _fmt(lw_ms / ort_ms) if lw_ms and ort_ms else "–",
                _ms(lite_ms) if lite_ms else ("not run" if litert_reason else "error"),
                _fmt(lw_ms / lite_ms) if lw_ms and lite_ms else "–",
                _fmt(gmacs, 1),
                _fmt(100 * gmacs / peak_core, 1) if gmacs and peak_core else "–",
                f"{_fmt(lw.get('first_result_s'))} / {_fmt(ort.get('first_result_s'))}",
                f"{_fmt(lw.get('peak_rss_mib'), 0)} / {_fmt(ort.get('peak_rss_mib'), 0)}",
            ]
            lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
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
        "(lwai: .lwai file, ORT: ONNX file with graph optimization, LiteRT: .tflite); "
        "*RSS after numpy* is the process before the framework is imported.",
        "",
        "| network | threads | framework | median ms | p10–p90 ms | runs (processes) "
        "| GMAC/s/core | load s | first run s | first result s | peak RSS MiB "
        "| RSS after numpy MiB |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for net in nets:
        for t in threads_list:
            for fw in FRAMEWORKS:
                s = summary.get((fw, net, t))
                if not s or "error" in s:
                    if s:
                        error = _cell(f"error: {s['error']}")
                        lines.append(f"| {net} | {t} | {LABELS[fw]} | {error} |")
                    continue
                macs = tflite_info[net]["macs"] if fw == "litert" else onnx_info[net]["macs"]
                gmacs = macs / (s["median_ms"] * 1e-3) / t / 1e9
                warn = "" if s["output_finite"] else " (non-finite output!)"
                lines.append(
                    f"| {net} | {t} | {LABELS[fw]}{warn} | {_ms(s['median_ms'])} "
                    f"| {_ms(s['p10_ms'])}–{_ms(s['p90_ms'])} | {s['runs']} ({s['processes']}) "
                    f"| {gmacs:.1f} | {s['load_s']:.2f} | {s['first_run_s']:.2f} "
                    f"| {s['first_result_s']:.2f} | {s['peak_rss_mib']:.0f} "
                    f"| {s['rss_numpy_mib']:.0f} |"
                )
    lines += [
        "",
        "| network | GMACs (ONNX) | lwai convert s | max abs(lwai − ORT) of the softmax, "
        "per thread count | GMACs (TFLite) | TFLite build vs seed network |",
        "| --- | ---: | ---: | --- | ---: | --- |",
    ]
    for net in nets:
        lw = lwai_info.get(net, {})
        lite = tflite_info.get(net, {})
        agreement = ", ".join(f"{t}T: {output_agreement(net, t)}" for t in threads_list)
        lines.append(
            f"| {net} | {onnx_info[net]['macs'] / 1e9:.3f} "
            f"| {_fmt(lw.get('convert_s'))} | {agreement} "
            f"| {_fmt(lite['macs'] / 1e9, 3) if 'macs' in lite else '–'} "
            f"| {lite.get('difference', lite.get('error', litert_reason or '–'))} |"
        )
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items() if v)
    cores = f"{machine['logical_cpus']} logical CPUs ({machine['usable_cpus']} usable)"
    virt = ", virtual machine (KVM or similar)" if machine["virtualized"] else ""
    peak_line = (
        f"{_fmt(peak.get('best'), 1)} GMAC/s per core ({peak.get('isa')}; AVX-512 "
        f"{_fmt(peak.get('avx512'), 1)}, AVX2 {_fmt(peak.get('avx2'), 1)}): "
        "`fma_peak.cc`, 12 independent FMA chains, one thread, best of 5 trials; the higher "
        f"of the runs at start and end ({', '.join(_fmt(v, 1) for v in peak['samples'])})"
        if "best" in peak
        else f"not measured: {peak.get('error')}"
    )
    dirty = " (with uncommitted changes)" if machine["lwai_dirty"] else ""
    lines += [
        "",
        "## Machine",
        "",
        f"- CPU: {machine['cpu']} ({machine['cpu_family_model']}), {cores}{virt}, "
        f"{machine['memory_gib']} GiB RAM",
        f"- SIMD flags: {' '.join(machine['flags'])}",
        f"- fp32 FMA peak: {peak_line}",
        f"- OS: {machine['os']}, Linux {machine['kernel']}, Python {machine['python']}, "
        f"{' '.join(machine['compiler'])}",
        f"- Versions: {versions}; lwai commit {machine['lwai_commit']}{dirty}",
        f"- Load average (1/5/15 min) at start {_loads(machine['load_average_start'])}, at end "
        f"{_loads(machine['load_average_end'])}: the machine may be shared, so compare the "
        "frameworks within one run (they are interleaved) rather than across runs.",
        "",
        "## Method",
        "",
        f"- {machine['settings']}",
        "- Each (framework, network, threads) measurement is a fresh process; each round runs all "
        "of them with the framework order rotated, and the medians are over all rounds.",
        "- ONNX Runtime: `ORT_ENABLE_ALL`, `intra_op_num_threads` = threads, "
        "`inter_op_num_threads` = 1, sequential execution, CPUExecutionProvider.",
        "- LiteRT: `ai_edge_litert.interpreter.Interpreter(num_threads=threads)` with the "
        "BUILTIN op resolver (XNNPACK delegate applied); set_tensor + invoke + get_tensor per run.",
        "- lwai: the ONNX file converted by `lwai.convert` (all graph passes) and saved as .lwai "
        "before the rounds; workers run `lwai.Session(path, threads=threads"
        + (f", backends={machine['lwai_backends']}" if machine["lwai_backends"] else "")
        + ").run(...)`.",
        "- The same random input (numpy default_rng(0), standard normal) for every run.",
        "",
    ]
    path.write_text("\n".join(lines))


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
    colors = {"lwai": "#d62728", "ort": "#1f77b4", "litert": "#2ca02c"}
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


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nets", type=_str_list, default=list(ALL_NETS), help="comma list")
    parser.add_argument("--threads", type=_int_list, default=[1, 2], help="comma list (1,2)")
    parser.add_argument("--repeats", type=int, help="interleaved rounds (default 3, quick 1)")
    parser.add_argument("--warmup", type=int, help="warm-up runs per process (default 1)")
    parser.add_argument("--min-runs", type=int, help="timed runs per process, at least (3)")
    parser.add_argument("--max-runs", type=int, help="timed runs per process, at most (50)")
    parser.add_argument("--budget", type=float, help="seconds of timed runs per process (2.0)")
    parser.add_argument("--quick", action="store_true", help="1 round, fewer runs (1-2 min)")
    parser.add_argument("--no-litert", action="store_true", help="skip LiteRT")
    parser.add_argument(
        "--lwai-backends", type=_str_list, help="passed as lwai.Session(backends=[...])"
    )
    parser.add_argument("--fma-seconds", type=float, default=1.0, help="FMA peak measuring time")
    parser.add_argument("--out", type=pathlib.Path, default=BENCH_DIR / "RESULTS.md")
    parser.add_argument("--chart", type=pathlib.Path, default=BENCH_DIR / "results.png")
    args = parser.parse_args(argv)
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
    unknown = [n for n in args.nets if n not in ALL_NETS]
    if unknown:
        parser.error(f"unknown network(s) {unknown}; choose from {', '.join(ALL_NETS)}")
    if not args.threads or min(args.threads) < 1:
        parser.error("--threads needs positive thread counts")
    if args.repeats < 1 or args.min_runs < 1 or args.max_runs < args.min_runs:
        parser.error("--repeats and --min-runs must be >= 1 and --max-runs >= --min-runs")
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
    results = measure(args, nets, onnx_info, lwai_info, tflite_info)
    summary = {key: summarize(records) for key, records in results.items()}
    peak = combine_peaks(peak_start, fma_peak(args.fma_seconds))
    print(f"fp32 FMA peak per core, start and end of the run: {peak}", flush=True)
    machine["load_average_end"] = list(os.getloadavg())
    machine["date"] = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    machine["wall_s"] = time.perf_counter() - started
    machine["lwai_backends"] = args.lwai_backends
    machine["settings"] = (
        f"{args.repeats} round(s); per process {args.warmup} warm-up run(s), then timed runs: "
        f"at least {args.min_runs}, more while {args.budget} s last, at most {args.max_runs}"
    )
    write_chart(args.chart, summary, nets, sorted(args.threads))
    info = (onnx_info, lwai_info, tflite_info)
    write_report(args.out, args.chart.name, command, machine, peak, summary, info, litert_reason)
    raw = {
        "machine": machine,
        "fma_peak": peak,
        "args": {k: str(v) if isinstance(v, pathlib.Path) else v for k, v in vars(args).items()},
        "models": {"onnx": onnx_info, "lwai": lwai_info, "tflite": tflite_info},
        "litert_reason": litert_reason,
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
