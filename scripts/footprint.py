"""Measures lwai's footprint and writes docs/footprint.md.

    python3 scripts/footprint.py [--out docs/footprint.md]

Builds, from this tree:
  (a) the framework alone (no kernel) on a Cortex-M4, as TFLite Micro measures its own: the
      size difference between the test program with and without lwai;
  (b) the digits model's selective runtime on the Cortex-M4, and runs it under qemu for its RAM;
  (c) a selective runtime for the six seed networks on aarch64 and armhf (lwai_run, the device
      configuration without JSON, plugins or optional backends);
  (d) the full core on x86-64 (build/lwai_run of `make build`);
and the arena each seed network needs on the host. Needs scripts/install_deps.sh's cross
compilers, `make build python` and the seed networks (`make seed-models`, then the benchmark
conversions in .cache/bench/lwai).
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cortex_m"))
import run_test as cortex_m  # noqa: E402

SEEDS = [
    "squeezenet1.0", "squeezenet1.1", "inception_v3", "mobilenet_v1_1.0_224",
    "mobilenet_v2_1.0_224", "resnet_v2_50",
]  # fmt: skip
SEED_DIR = ROOT / ".cache" / "bench" / "lwai"


def size_of(tool: str, path: Path) -> dict[str, int]:
    fields = subprocess.run([tool, str(path)], check=True, text=True, capture_output=True)
    text, data, bss = (int(v) for v in fields.stdout.splitlines()[1].split()[:3])
    return {"text": text, "data": data, "bss": bss}


def kib(n: int) -> str:
    return f"{n / 1024:.1f} KiB"


def cortex_m4(work: Path, lwai) -> dict:
    model_path = work / "digits.lwai"
    model_path.parent.mkdir(parents=True, exist_ok=True)
    lwai.convert(str(ROOT / "tests" / "data" / "digits_cnn.onnx")).save(str(model_path))
    ops = lwai.load(str(model_path)).operators()
    x = np.random.default_rng(7).random((1, 1, 8, 8), dtype=np.float32)
    print("footprint: Cortex-M4, the framework without kernels", flush=True)
    framework = cortex_m.lwai_flash_bytes(
        cortex_m.build(model_path, x, work / "none", {"none": []})
    )
    print("footprint: Cortex-M4, the digits runtime", flush=True)
    digits_dir = cortex_m.build(model_path, x, work / "digits", ops)
    firmware = cortex_m.run_on_qemu(digits_dir)
    image, baseline = firmware.sizes, firmware.baseline_sizes
    arena_buffer = int(
        next(
            line.split("=")[1]
            for line in (digits_dir / "CMakeCache.txt").read_text().splitlines()
            if line.startswith("LWAI_M4_ARENA_BYTES:")
        )
    )
    static_ram = image["data"] + image["bss"] - arena_buffer - baseline["data"] - baseline["bss"]
    return {
        "framework": framework,
        "digits": cortex_m.lwai_flash_bytes(digits_dir),
        "ops": sorted(ops),
        "model": firmware.model_bytes,
        "static_ram": static_ram,
        **firmware.memory,
    }


def selective_linux(triple: str, ops_file: Path, work: Path) -> dict[str, int]:
    """lwai_run as a selective runtime for `ops_file`, cross-compiled for `triple`."""
    print(f"footprint: {triple}, the seed networks' selective runtime", flush=True)
    configure = [
        "cmake", "-S", str(ROOT), "-B", str(work), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=MinSizeRel",
        f"-DCMAKE_TOOLCHAIN_FILE={ROOT / 'cpp' / 'cmake' / 'toolchains' / (triple + '.cmake')}",
        f"-DLWAI_SELECTED_OPS={ops_file}", "-DLWAI_WITH_PLUGINS=OFF", "-DLWAI_WITH_JSON=OFF",
        "-DLWAI_WITH_XNNPACK=OFF", "-DLWAI_WITH_EIGEN=OFF", "-DLWAI_WITH_ONEDNN=OFF",
        "-DLWAI_BUILD_TESTS=OFF",
    ]  # fmt: skip
    subprocess.run(configure, check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(work), "--target", "lwai_run"], check=True,
                   capture_output=True)  # fmt: skip
    subprocess.run([f"{triple}-strip", "-o", str(work / "lwai_run.stripped"),
                    str(work / "lwai_run")], check=True)  # fmt: skip
    return size_of(f"{triple}-size", work / "lwai_run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "footprint.md")
    parser.add_argument("--work", type=Path, default=ROOT / "build-footprint")
    args = parser.parse_args()
    import lwai

    m4 = cortex_m4(args.work / "m4", lwai)

    missing = [s for s in SEEDS if not (SEED_DIR / f"{s}.lwai").exists()]
    if missing:
        sys.exit(f"footprint: missing {missing} in {SEED_DIR} (run the benchmarks' conversion)")
    seed_ops: dict[str, set[str]] = {}
    arenas = {}
    for name in SEEDS:
        model = lwai.load(str(SEED_DIR / f"{name}.lwai"))
        for op, dtypes in model.operators().items():
            seed_ops.setdefault(op, set()).update(dtypes)
        arenas[name] = (
            lwai.Session(model, backends=["reference"]).arena_bytes,
            lwai.Session(model).arena_bytes,
        )
    args.work.mkdir(parents=True, exist_ok=True)
    ops_file = args.work / "seed_ops.txt"
    ops_file.write_text(
        "".join(f"{op} {' '.join(sorted(t))}\n" for op, t in sorted(seed_ops.items()))
    )
    linux = {t: selective_linux(t, ops_file, args.work / t)
             for t in ("aarch64-linux-gnu", "arm-linux-gnueabihf")}  # fmt: skip
    x86 = size_of("size", ROOT / "build" / "lwai_run")

    lines = [
        "# lwai's footprint",
        "",
        f"Written by `python3 scripts/footprint.py` on {datetime.date.today()}; do not edit by "
        "hand. Sizes are bytes of flash or text as `size` reports them (KiB = 1024 bytes).",
        "",
        "## Cortex-M4 (arm-none-eabi-gcc 12, newlib-nano, -Os with link-time optimization, "
        "qemu-system-arm MPS2 AN386)",
        "",
        "Measured as TFLite Micro measures its own: the test program (tests/cortex_m) minus the",
        "same program without lwai, minus the embedded model.",
        "",
        "| what | flash | target |",
        "| --- | ---: | ---: |",
        f"| (a) the framework without kernels (`LWAI_SELECTED_OPS=none`) | "
        f"{kib(m4['framework'])} | 16 KiB |",
        f"| (b) the digits runtime ({', '.join(m4['ops'])}) | {kib(m4['digits'])} | 64 KiB |",
        "",
        f"The digits model itself: {kib(m4['model'])} of flash, used in place.",
        "",
        "RAM of the digits run on the M4 (target: 32 KiB beside the model):",
        "",
        "| part | bytes |",
        "| --- | ---: |",
        f"| static data (.data + .bss of lwai) | {m4['static_ram']} |",
        f"| arena (caller-provided) | {m4['arena']} |",
        f"| heap high-water mark | {m4['heap']} |",
        f"| stack high-water mark | {m4['stack']} |",
        f"| total | {m4['static_ram'] + m4['arena'] + m4['heap'] + m4['stack']} |",
        "",
        "## Linux targets",
        "",
        "`lwai_run` (the command-line runner: lwai plus a small main) as a selective runtime for",
        f"the six seed networks ({len(seed_ops)} operators), without JSON, plugins or optional",
        "backends, -Os; libstdc++ is linked dynamically and not counted. Target: 300 KiB of text",
        "on aarch64.",
        "",
        "| target | text | data | bss |",
        "| --- | ---: | ---: | ---: |",
    ]
    for triple, sizes in linux.items():
        lines.append(
            f"| {triple} | {kib(sizes['text'])} | {kib(sizes['data'])} | {kib(sizes['bss'])} |"
        )
    lines += [
        f"| x86-64, the full build (`make build`: every operator, XNNPACK, Eigen, JSON) | "
        f"{kib(x86['text'])} | {kib(x86['data'])} | {kib(x86['bss'])} |",
        "",
        "## Arena per seed network (host, batch 1)",
        "",
        "| network | reference kernels | default backends |",
        "| --- | ---: | ---: |",
    ]
    for name, (reference, default) in arenas.items():
        lines.append(f"| {name} | {kib(reference)} | {kib(default)} |")
    lines += [
        "",
        "## Published peers",
        "",
        "| runtime | size |",
        "| --- | ---: |",
        "| TFLite Micro, the framework (Cortex-M3) | 9.7 KiB |",
        "| ExecuTorch core runtime | ~50 KiB |",
        "| LiteRT selective MobileNet AAR | 297 KiB armv7 / 383 KiB arm64 |",
        "| ncnn | 300-700 KiB |",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"footprint: wrote {args.out.relative_to(ROOT)}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
