"""Sessions under hostile use: shared between threads, fed NaN and infinities, bounded in memory
and time, and models whose bytes were corrupted on disk."""

import pathlib
import shutil
import threading
import time

import numpy as np
import onnx
import pytest
from conftest import REPO, ort_run
from onnx import TensorProto, helper

import lwai

HOSTILE = REPO / "tests" / "data" / "hostile"


@pytest.fixture(scope="module")
def digits_model(digits_onnx) -> lwai.Model:
    return lwai.convert(digits_onnx)


def _images(count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.random((1, 1, 8, 8), dtype=np.float32) * 16 for _ in range(count)]


_FORKED_SESSION = None


def _run_forked_session(x):
    return _FORKED_SESSION.run(x)[0]


def test_a_threaded_session_keeps_working_in_a_forked_child(digits_model):
    """The workers of a session's thread pool do not exist in a fork()ed child: there it runs
    on the calling thread instead of waiting for them forever."""
    import multiprocessing

    global _FORKED_SESSION
    _FORKED_SESSION = lwai.Session(digits_model, threads=2)
    x = _images(1, 3)[0]
    expected = _FORKED_SESSION.run(x)[0]  # the parent's workers have run
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(_run_forked_session, (x,)).get(timeout=60)
    np.testing.assert_array_equal(got, expected)


def test_one_session_shared_by_threads_gives_each_its_own_outputs(digits_model):
    images = _images(8, 0)
    expected = [lwai.Session(digits_model).run(x)[0] for x in images]
    shared = lwai.Session(digits_model, threads=2)
    mismatches = []
    errors = []

    def worker(index: int):
        try:
            for round_ in range(60):
                i = (index + round_) % len(images)
                got = shared.run(images[i])[0]
                if not np.array_equal(got, expected[i]):
                    mismatches.append((index, round_))
                shared.node_assignments()  # introspection while other threads run
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert not mismatches, f"{len(mismatches)} runs returned another thread's outputs"


@pytest.mark.parametrize("backend", lwai.available_backends())
def test_non_finite_inputs_propagate_like_onnxruntime(digits_onnx, digits_model, backend):
    nan_image = np.full((1, 1, 8, 8), np.nan, np.float32)
    inf_image = _images(1, 3)[0]
    inf_image[0, 0, 3, 4] = np.inf
    session = lwai.Session(digits_model, backends=[backend])
    input_name = session.inputs[0].name
    for image in (nan_image, inf_image):
        got = session.run(image)[0]
        want = ort_run(digits_onnx, {input_name: image})[0]
        # Non-finite exactly where ONNX Runtime has them; no confident prediction from NaN.
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        finite = np.isfinite(want)
        np.testing.assert_allclose(got[finite], want[finite], rtol=1e-4, atol=1e-5)


def _conv_model_with_dynamic_size() -> onnx.ModelProto:
    """A 5x5 convolution without padding on [1, 1, H, W]: H = W = 1 (the creation-time probe)
    is no valid size, so the session cannot prepare before the first run."""
    weight = helper.make_tensor("w", TensorProto.FLOAT, [2, 1, 5, 5], np.ones(50, np.float32))
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], ["y"], name="conv"),
            helper.make_node("Relu", ["y"], ["z"], name="relu"),
        ],
        "dynamic",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, "h", "w"])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
        [weight],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_introspection_works_before_the_first_run_of_a_dynamic_model(tmp_path):
    model = lwai.convert(_conv_model_with_dynamic_size())
    session = lwai.Session(model)
    assignments = session.node_assignments()
    assert [a.op for a in assignments] == [n["op"] for n in model.nodes]
    assert session.arena_bytes >= 0
    out = session.run(np.ones((1, 1, 9, 9), np.float32))[0]
    assert out.shape == (1, 2, 5, 5)
    assert len(session.node_assignments()) == len(model.nodes)
    path = tmp_path / "dynamic.lwai"
    model.save(path)
    from conftest import run_cli

    result = run_cli("info", path)
    assert "conv" in result.stdout


def test_memory_limit_is_an_error_not_an_allocation(digits_model):
    with pytest.raises(lwai.OutOfMemoryError, match="memory limit"):
        session = lwai.Session(digits_model, max_memory=4096)
        session.run(_images(1, 0)[0])
    with pytest.raises(lwai.InvalidArgumentError):
        lwai.Session(digits_model, max_memory=-1)


def test_endless_loop_ends_at_the_timeout():
    model = lwai.load(HOSTILE / "lwai" / "loop_int64max_true.onnx.lwai")
    session = lwai.Session(model)
    start = time.perf_counter()
    with pytest.raises(lwai.DeadlineExceededError, match="Loop"):
        session.run(np.zeros(1, np.float32), timeout=0.2)
    assert time.perf_counter() - start < 5
    with pytest.raises(lwai.DeadlineExceededError):
        lwai.Session(model, timeout=0.1).run(np.zeros(1, np.float32))
    assert issubclass(lwai.DeadlineExceededError, TimeoutError)


def test_converting_deeply_nested_constant_loops_is_bounded():
    # Six nested Loops of 100 trips each, all constant: conversion evaluates what it can within
    # its work limit and leaves the rest to run time.
    path = HOSTILE / "onnx" / "nested_loop_d6_t100.onnx"
    start = time.perf_counter()
    model = lwai.convert(path)
    assert time.perf_counter() - start < 60
    assert any(n["op"] == "Loop" for n in model.nodes)


def test_corrupted_weights_are_an_error_naming_the_tensor(digits_model, tmp_path):
    path = tmp_path / "digits.lwai"
    digits_model.save(path)
    data = bytearray(path.read_bytes())
    # Zero 64 bytes in the middle of the data section (the tail of the file).
    middle = len(data) - len(data) // 4
    data[middle : middle + 64] = bytes(64)
    corrupted = tmp_path / "corrupted.lwai"
    corrupted.write_bytes(bytes(data))
    with pytest.raises(lwai.InvalidModelError, match="checksum") as error:
        lwai.load(corrupted)
    assert "tensor" in str(error.value)
    with pytest.raises(lwai.InvalidModelError, match="checksum"):
        lwai.load(bytes(data))
    # Skipping the check is possible (e.g. for a model in read-only memory).
    assert lwai.load(corrupted, verify_checksums=False).nodes
    shutil.copy(path, tmp_path / "copy.lwai")
    assert lwai.load(tmp_path / "copy.lwai").nodes


def test_session_docstrings_state_the_thread_safety_contract():
    assert "Thread safety" in lwai.Session.__doc__
    assert "threads" in lwai.Session.run.__doc__


def test_hostile_reproducers_fail_cleanly():
    for path in sorted(pathlib.Path(HOSTILE / "lwai").glob("*.lwai")):
        try:
            model = lwai.load(path)
            session = lwai.Session(model, max_memory=256 << 20, timeout=3)
            shapes = {
                i.name: [d if isinstance(d, int) else 1 for d in i.shape]
                for i in session.inputs
                if i.shape is not None
            }
            small = all(np.prod(s, dtype=np.float64) <= 1 << 24 for s in shapes.values())
            if len(shapes) == len(session.inputs) and small:
                dtypes = {i.name: i.dtype for i in session.inputs}
                session.run({n: np.zeros(s, dtypes[n]) for n, s in shapes.items()})
        except lwai.LwaiError as e:
            assert not isinstance(e, lwai.InternalError), f"{path.name}: {e}"


@pytest.mark.parametrize("name", ["wrap_slice.onnx", "wrap_gathernd.onnx"])
def test_shapes_that_wrap_64_bits_fail_conversion_cleanly(name):
    # Reshape of an empty tensor to [2^32, 2^32], then Slice / GatherND: constant folding used
    # to compute with a wrapped element count and crash.
    try:
        model = lwai.convert(HOSTILE / "onnx" / name)
    except lwai.LwaiError as e:
        assert not isinstance(e, lwai.InternalError), str(e)
        return
    with pytest.raises(lwai.LwaiError):
        session = lwai.Session(model, max_memory=256 << 20)
        session.run({i.name: np.zeros([1] * len(i.shape), i.dtype) for i in session.inputs})


def test_growing_loop_output_hits_the_memory_limit():
    model = lwai.convert(HOSTILE / "onnx" / "loop_scan_growing.onnx")
    session = lwai.Session(model, max_memory=64 << 20, timeout=30)
    feed = {
        i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], i.dtype)
        for i in session.inputs
    }
    with pytest.raises(lwai.OutOfMemoryError, match="memory limit"):
        session.run(feed)
