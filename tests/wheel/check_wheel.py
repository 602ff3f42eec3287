"""Installs the wheel from `make wheel` into a fresh virtual environment holding only numpy,
then, from outside the repository:
  - runs a .lwai model and compares with this environment's outputs;
  - `lwai convert` without onnx fails with the one-line pip hint;
  - with onnx added (pip install lwai[onnx] gives the same), converts and runs the digits model;
  - ldd of the extension module and of every bundled library: nothing outside the manylinux
    policy's system libraries and the wheel's own lwai.libs.

    python3 tests/wheel/check_wheel.py dist/lwai-*.whl
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

import lwai

# The system libraries every manylinux policy allows (PEP 600 / auditwheel's policy files).
MANYLINUX_SYSTEM = {
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libstdc++.so.6",
    "libgcc_s.so.1",
    "ld-linux-x86-64.so.2",
    "linux-vdso.so.1",
    "libnsl.so.1",
    "libcrypt.so.1",
    "libresolv.so.2",
}


def run(*command, cwd=None, env=None, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env)
    if check and result.returncode != 0:
        raise SystemExit(
            f"check_wheel: {' '.join(command)} failed:\n{result.stdout}{result.stderr}"
        )
    return result


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="lwai-wheel-") as work:
        return check(os.path.abspath(sys.argv[1]), work)


def check(wheel: str, work: str) -> int:
    size_mb = os.path.getsize(wheel) / 1e6
    venv = os.path.join(work, "venv")
    run(sys.executable, "-m", "venv", venv)
    python = os.path.join(venv, "bin", "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    run(*pip, f"numpy=={np.__version__}", wheel, env=env)
    listed = run(python, "-m", "pip", "list", "--format=freeze", env=env).stdout.split()
    names = sorted(line.split("==")[0].lower() for line in listed)
    assert names == ["lwai", "numpy", "pip"] or names == ["lwai", "numpy", "pip", "setuptools"], (
        names
    )

    # A model converted here, run there.
    digits_onnx = lwai.datasets.get_example("digits_cnn.onnx")
    model = lwai.convert(digits_onnx)
    model.save(os.path.join(work, "digits.lwai"))
    x = np.random.default_rng(0).random((16, 1, 8, 8), dtype=np.float32)
    np.save(os.path.join(work, "x.npy"), x)
    np.save(os.path.join(work, "expected.npy"), lwai.Session(model).run(x)[0])
    script = (
        "import os, sys, numpy as np, lwai\n"
        "where = os.path.realpath(lwai.__file__)\n"
        "assert where.startswith(os.path.realpath(sys.prefix)), where\n"
        "x, expected = np.load('x.npy'), np.load('expected.npy')\n"
        "got = lwai.Session('digits.lwai').run(x)[0]\n"
        "np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)\n"
        "print('backends', lwai.available_backends())\n"
    )
    print("check_wheel:", run(python, "-c", script, cwd=work, env=env).stdout.strip())

    # The portable ISA: the same run on an emulated CPU without AVX-512 (a -march=native build
    # from an AVX-512 machine dies there with SIGILL). numpy's own baseline rules out older CPUs.
    qemu = shutil.which("qemu-x86_64")
    if qemu:
        result = run(qemu, "-cpu", "Haswell", python, "-c", script, cwd=work, env=env, check=False)
        assert result.returncode == 0, f"on an emulated Haswell: {result.stderr[-2000:]}"
        print("check_wheel: runs on an emulated Haswell (AVX2, no AVX-512)")

    # Without onnx: one line naming the extra.
    result = run(
        os.path.join(venv, "bin", "lwai"), "convert", digits_onnx, cwd=work, env=env, check=False
    )
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "pip install lwai[onnx]" in result.stderr, result.stderr

    # With onnx: convert and run from the wheel.
    import onnx

    run(*pip, f"onnx=={onnx.__version__}", env=env)
    script = (
        "import numpy as np, lwai\n"
        f"model = lwai.convert({digits_onnx!r})\n"
        "got = lwai.Session(model).run(np.load('x.npy'))[0]\n"
        "np.testing.assert_allclose(got, np.load('expected.npy'), rtol=1e-5, atol=1e-6)\n"
        "print('converted', model)\n"
    )
    print("check_wheel:", run(python, "-c", script, cwd=work, env=env).stdout.strip())

    # ldd: system libraries of the policy, or the wheel's own copies.
    site = run(
        python,
        "-c",
        "import lwai, os; print(os.path.dirname(os.path.dirname(lwai.__file__)))",
        env=env,
    ).stdout.strip()
    libs_dir = os.path.join(site, "lwai.libs")
    objects = glob.glob(os.path.join(site, "lwai", "*.so")) + glob.glob(
        os.path.join(libs_dir, "*.so*")
    )
    bundled = sorted(os.path.basename(p) for p in glob.glob(os.path.join(libs_dir, "*.so*")))
    for path in objects:
        for line in run("ldd", path).stdout.splitlines():
            name = line.split()[0]
            target = line.split("=>")[1].split()[0] if "=>" in line else ""
            if os.path.basename(name) in MANYLINUX_SYSTEM:
                continue
            inside = os.path.realpath(target).startswith(os.path.realpath(libs_dir) + os.sep)
            assert inside, f"{os.path.basename(path)} needs {line.strip()}"
    tag = os.path.basename(wheel).split("-")[-1].removesuffix(".whl")
    assert "manylinux" in tag, tag
    name = os.path.basename(wheel)
    print(f"check_wheel: ok: {name}, {size_mb:.1f} MB, bundles {', '.join(bundled)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
