"""lwai demo: convert the committed digits CNN, run the held-out split through lwai and
onnxruntime, and compare accuracy, latency and sizes. Run with `make demo`."""

from __future__ import annotations

import pathlib
import sys
import tempfile
import time

import numpy as np

import lwai

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from digits_data import load_split  # noqa: E402

ONNX_PATH = REPO / "tests" / "data" / "digits_cnn.onnx"


def median_ms(fn, runs: int = 200) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def main() -> int:
    import onnxruntime as ort

    _, _, x_test, y_test = load_split()
    with tempfile.TemporaryDirectory() as tmp:
        lwai_path = pathlib.Path(tmp) / "digits_cnn.lwai"
        model = lwai.convert(ONNX_PATH)
        model.save(lwai_path)
        session = lwai.Session(lwai_path, threads=1)
        lwai_probabilities = session.run({"input": x_test})[0]
        lwai_file_bytes = lwai_path.stat().st_size

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        ort_session = ort.InferenceSession(str(ONNX_PATH), options)
        ort_probabilities = ort_session.run(None, {"input": x_test})[0]

        lwai_accuracy = float((lwai_probabilities.argmax(1) == y_test).mean())
        ort_accuracy = float((ort_probabilities.argmax(1) == y_test).mean())
        agree = float((lwai_probabilities.argmax(1) == ort_probabilities.argmax(1)).mean())
        max_diff = float(np.abs(lwai_probabilities - ort_probabilities).max())

        one = x_test[:1]
        lwai_ms = median_ms(lambda: session.run({"input": one}))
        ort_ms = median_ms(lambda: ort_session.run(None, {"input": one}))
        lwai_batch_ms = median_ms(lambda: session.run({"input": x_test}), runs=20)
        ort_batch_ms = median_ms(lambda: ort_session.run(None, {"input": x_test}), runs=20)

        print(f"digits CNN, held-out split of {len(y_test)} images (8x8, 10 classes)")
        print(f"  accuracy      lwai {lwai_accuracy:.4f}   onnxruntime {ort_accuracy:.4f}")
        print(f"  predictions agree on {agree:.2%}, max probability difference {max_diff:.2e}")
        print(f"  latency, 1 image       lwai {lwai_ms:.3f} ms   onnxruntime {ort_ms:.3f} ms")
        print(
            f"  latency, {len(y_test)} images   lwai {lwai_batch_ms:.2f} ms   "
            f"onnxruntime {ort_batch_ms:.2f} ms"
        )
        print(
            f"  model: {ONNX_PATH.stat().st_size} bytes ONNX -> {lwai_file_bytes} bytes .lwai, "
            f"{model.parameter_bytes} parameter bytes, {len(model.nodes)} nodes "
            f"({', '.join(f'{op} x{n}' for op, n in model.op_histogram().items())})"
        )
        print(f"  arena for the batch of {len(y_test)}: {session.arena_bytes} bytes")
    if lwai_accuracy != ort_accuracy or agree < 1.0:
        print("demo: lwai and onnxruntime disagree", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
