"""Peak memory holds one copy of the weights: a session made from a mapped .lwai file packs its
MatMul weights and lets the file's pages go, so RSS holds one copy, not two; and several sessions
on one model share that packed copy."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import lwai

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import lwai

    def rss_mb():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    model = lwai.load(sys.argv[1])
    before = rss_mb()
    sessions = [lwai.Session(model, threads=1) for _ in range(int(sys.argv[2]))]
    for session in sessions:
        session.run({"x": np.ones((8, 1024), np.float32)})
    print(rss_mb() - before)
    """
)


@pytest.mark.parametrize("sessions", [1, 4])
def test_packed_matmul_weights_release_the_mapped_file(tmp_path, sessions):
    import onnx

    rng = np.random.default_rng(0)
    dims = [(1024, 4096), (4096, 1024), (1024, 4096)]
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.02, d).astype(np.float32), f"w{i}")
        for i, d in enumerate(dims)
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w0"], ["h0"]),
        helper.make_node("Relu", ["h0"], ["r0"]),
        helper.make_node("MatMul", ["r0", "w1"], ["h1"]),
        helper.make_node("MatMul", ["h1", "w2"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 1024])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 4096])],
        inits,
    )
    onnx_path = tmp_path / "mlp.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), onnx_path)
    lwai_path = tmp_path / "mlp.lwai"
    lwai.convert(onnx_path).save(lwai_path)
    session = lwai.Session(lwai.load(lwai_path), threads=1)
    if "eigen" not in session.backends:
        pytest.skip("built without the Eigen backend")
    assert {a.backend for a in session.node_assignments() if a.op == "MatMul"} == {"eigen"}
    weights_mb = sum(np.prod(d) for d in dims) * 4 / 2**20  # 48 MB
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(lwai_path), str(sessions)],
        capture_output=True,
        text=True,
        check=True,
    )
    growth_mb = float(result.stdout.strip())
    # Loading verified the file, so its pages are resident; the session adds a packed copy and
    # drops those pages: RSS stays about where it was (it would grow by a whole copy otherwise).
    # More sessions on the same model use the same packed copy (each would add 48 MB otherwise).
    assert growth_mb < 0.25 * weights_mb, f"RSS grew {growth_mb:.0f} MB for {weights_mb:.0f} MB"
