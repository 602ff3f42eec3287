"""The Cortex-M4 test: builds lwai's device configuration for a model (a selective runtime, the
model and an input linked in as C arrays), runs it on qemu-system-arm's MPS2 AN386 board, and
checks that its outputs equal the host's on the same input, and that the program has not grown
more than 5% over the size recorded in tests/cortex_m/recorded_size.json.

    python3 tests/cortex_m/run_test.py [--work build-m4] [--record]

Needs gcc-arm-none-eabi, libnewlib-arm-none-eabi, libstdc++-arm-none-eabi-newlib and
qemu-system-arm (scripts/install_deps.sh), and the lwai Python package (`make python`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
RECORD = ROOT / "tests" / "cortex_m" / "recorded_size.json"
TOOLCHAIN = ROOT / "cpp" / "cmake" / "toolchains" / "cortex-m4.cmake"
# The size check's margin, as TFLite Micro's CI uses.
GROWTH_LIMIT = 1.05
# Host (glibc) and device (newlib) differ in the last bits of exp(): Softmax's outputs may differ
# by an ulp or two.
RELATIVE_TOLERANCE = 1e-5


@dataclass
class Firmware:
    """One built Cortex-M4 program and what it printed."""

    outputs: dict[str, np.ndarray]
    memory: dict[str, int]
    sizes: dict[str, int]  # text, data, bss of the image
    baseline_sizes: dict[str, int]  # the same program without lwai
    model_bytes: int
    error: tuple[int, int, str]  # a refused input: status, heap allocations, last_error()


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, text=True, capture_output=True, **kwargs)


def elf_sizes(path: Path) -> dict[str, int]:
    line = run(["arm-none-eabi-size", str(path)]).stdout.splitlines()[1].split()
    return {"text": int(line[0]), "data": int(line[1]), "bss": int(line[2])}


def build(model: Path, x: np.ndarray, work: Path, ops: dict[str, list[str]]) -> Path:
    """Builds the test program for `model` with the selective runtime `ops` (operator -> dtypes,
    as Model.operators() gives them; {"none": []}: the framework without kernels); returns the
    build directory."""
    work.mkdir(parents=True, exist_ok=True)
    ops_file = work / "ops.txt"
    ops_file.write_text("".join(f"{op} {' '.join(dtypes)}\n" for op, dtypes in ops.items()))
    input_path = work / "input.bin"
    x.astype(np.float32).tofile(input_path)
    configure = [
        "cmake", "-S", str(ROOT / "tests" / "cortex_m"), "-B", str(work), "-G", "Ninja",
        f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}", "-DCMAKE_BUILD_TYPE=MinSizeRel",
        f"-DLWAI_SELECTED_OPS={ops_file.resolve()}", f"-DLWAI_M4_MODEL={model.resolve()}",
        f"-DLWAI_M4_INPUT={input_path.resolve()}",
    ]  # fmt: skip
    run(configure)
    done = subprocess.run(
        ["cmake", "--build", str(work), "-j", os.environ.get("JOBS", "2")],
        text=True, capture_output=True,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"cortex-m4: the build failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}")
    return work


def run_on_qemu(work: Path) -> Firmware:
    """Runs the program built in `work` on the emulated board."""
    elf = work / "lwai_m4.elf"
    qemu = [
        "qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial",
        "none", "-semihosting-config", "enable=on,target=native", "-kernel", str(elf),
    ]  # fmt: skip
    try:
        done = subprocess.run(qemu, text=True, capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        sys.exit("cortex-m4: the program did not finish within 120 s under qemu")
    if "lwai-m4: ok" not in done.stdout:
        sys.exit(f"cortex-m4: the program failed (exit {done.returncode}):\n{done.stdout}")
    return Firmware(
        outputs=parse_outputs(done.stdout),
        memory={k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", memory_line(done.stdout))},
        sizes=elf_sizes(elf),
        baseline_sizes=elf_sizes(work / "lwai_m4_baseline.elf"),
        model_bytes=model_size(work),
        error=refused_input(done.stdout),
    )


def refused_input(stdout: str) -> tuple[int, int, str]:
    """The program's `error status=S allocations=A message=M` line."""
    found = re.search(r"^error status=(\d+) allocations=(\d+) message=(.*)$", stdout, re.M)
    if found is None:
        sys.exit(f"cortex-m4: no error line in the program's output:\n{stdout}")
    return int(found.group(1)), int(found.group(2)), found.group(3)


def model_size(work: Path) -> int:
    """Bytes of the model embedded in the program built in `work`."""
    cache = (work / "CMakeCache.txt").read_text()
    return Path(re.search(r"^LWAI_M4_MODEL:FILEPATH=(.*)$", cache, re.M).group(1)).stat().st_size


def memory_line(stdout: str) -> str:
    """The `memory ...` and `runs ...` lines: heap, stack and arena bytes, allocations in runs."""
    return " ".join(line for line in stdout.splitlines() if line.startswith(("memory ", "runs ")))


def parse_outputs(stdout: str) -> dict[str, np.ndarray]:
    """`output NAME float32 [d0,d1]` headers, each followed by the values' bits in hex."""
    outputs: dict[str, np.ndarray] = {}
    name, dims, bits = None, None, []
    for line in stdout.splitlines() + ["end"]:
        header = re.match(r"output (\S+) float32 \[([\d,]*)\]", line)
        if name is not None and (header or not re.fullmatch(r"[0-9a-f]{8}", line)):
            values = np.array(bits, dtype=np.uint32).view(np.float32)
            outputs[name] = values.reshape([int(d) for d in dims.split(",") if d])
            name, bits = None, []
        if header:
            name, dims = header.group(1), header.group(2)
        elif name is not None:
            bits.append(int(line, 16))
    return outputs


def lwai_flash_bytes(work: Path) -> int:
    """Flash that lwai adds to the program built in `work` (code, constants, initialized data),
    without the model: the image's size minus the same program's without lwai (baseline)."""
    image, baseline = elf_sizes(work / "lwai_m4.elf"), elf_sizes(work / "lwai_m4_baseline.elf")
    return image["text"] + image["data"] - baseline["text"] - baseline["data"] - model_size(work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=ROOT / "build-m4")
    parser.add_argument(
        "--record", action="store_true", help="write the measured size as the new reference"
    )
    args = parser.parse_args()

    import lwai

    args.work.mkdir(parents=True, exist_ok=True)
    model_path = args.work / "digits.lwai"
    lwai.convert(str(ROOT / "tests" / "data" / "digits_cnn.onnx")).save(str(model_path))
    model = lwai.load(str(model_path))
    ops = model.operators()
    x = np.random.default_rng(7).random((1, 1, 8, 8), dtype=np.float32)
    firmware = run_on_qemu(build(model_path, x, args.work, ops))

    # The host's reference kernels: the same portable code as the device's.
    session = lwai.Session(model, backends=["reference"])
    host = dict(zip([o.name for o in session.outputs], session.run(x), strict=True))
    if sorted(host) != sorted(firmware.outputs):
        sys.exit(f"cortex-m4: outputs {sorted(firmware.outputs)}, host {sorted(host)}")
    for name, want in host.items():
        got = firmware.outputs[name]
        if got.shape != want.shape:
            sys.exit(f"cortex-m4: output {name} has shape {got.shape}, host {want.shape}")
        ulps = np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))
        if not np.allclose(got, want, rtol=RELATIVE_TOLERANCE, atol=0):
            sys.exit(f"cortex-m4: output {name} differs from the host's:\n{got}\n{want}")
        print(
            f"cortex-m4: output {name} {list(got.shape)} matches the host "
            f"({int((ulps == 0).sum())}/{ulps.size} bit-identical, at most {int(ulps.max())} ulp)"
        )

    # The arena is planned alike on both: the host's plan for the same backend is the prediction.
    if firmware.memory["arena"] != session.arena_bytes:
        sys.exit(
            f"cortex-m4: the session's arena is {firmware.memory['arena']} bytes, the host plans "
            f"{session.arena_bytes} for the same model and kernels"
        )
    print(f"cortex-m4: arena {session.arena_bytes} bytes, as the host plans it")
    if firmware.memory["allocations"] != 0:
        sys.exit(
            f"cortex-m4: three runs made {firmware.memory['allocations']} heap allocations "
            "(a prepared session must run from its arena and persistent state alone)"
        )
    print("cortex-m4: three runs made no heap allocation")
    # Code-only statuses (LWAI_STATUS_MESSAGES=OFF in tests/cortex_m/CMakeLists.txt).
    if firmware.error != (1, 0, "InvalidArgument"):
        sys.exit(
            "cortex-m4: a refused input gave (status, allocations, last_error) "
            f"{firmware.error}, expected (1, 0, 'InvalidArgument'): code-only statuses allocate "
            "nothing and name their code"
        )
    print("cortex-m4: a refused input: InvalidArgument, no allocation, no message text")
    flash = lwai_flash_bytes(args.work)
    memory = firmware.memory
    print(
        f"cortex-m4: lwai adds {flash} bytes of flash (model {firmware.model_bytes} bytes apart); "
        f"RAM: heap {memory['heap']} (after loading {memory['heap_after_load']}), "
        f"stack {memory['stack']}, arena {memory['arena']} bytes"
    )
    if args.record:
        RECORD.write_text(json.dumps({"digits_flash_bytes": flash}, indent=2) + "\n")
        print(f"cortex-m4: recorded {flash} bytes in {RECORD.relative_to(ROOT)}")
        return
    recorded = json.loads(RECORD.read_text())["digits_flash_bytes"]
    if flash > recorded * GROWTH_LIMIT:
        sys.exit(
            f"cortex-m4: the digits runtime grew to {flash} bytes of flash, more than 5% over "
            f"the recorded {recorded} (tests/cortex_m/recorded_size.json; if the growth is "
            "wanted, rerun with --record and say why in the commit)"
        )
    print(f"cortex-m4: size within 5% of the recorded {recorded} bytes")


if __name__ == "__main__":
    main()
