"""The five seed networks (six files) convert, run and match onnxruntime; the arena planner
reuses memory well on all of them."""

import numpy as np
import pytest
from conftest import assert_close_to_range, ort_run

import lwai
import seed_models


@pytest.fixture(scope="module", params=seed_models.NAMES)
def network(request):
    path = seed_models.ensure(request.param)
    return request.param, path, lwai.convert(path)


def _input(name: str, batch: int) -> np.ndarray:
    size = 299 if name == "inception_v3" else 224
    rng = np.random.default_rng(7)
    return rng.standard_normal((batch, 3, size, size)).astype(np.float32)


def test_matches_onnxruntime(network):
    name, path, model = network
    assert model.optimized
    if name != "resnet_v2_50":  # pre-activation BNs follow Add/MaxPool and cannot fold
        assert "BatchNormalization" not in model.op_histogram()
    session = lwai.Session(model, threads=2)
    x = _input(name, 2)
    (got,) = session.run({"input": x})
    (expected,) = ort_run(path, {"input": x})
    assert_close_to_range(got, expected, 1e-4)


def test_arena_is_well_below_the_sum_of_intermediates(network):
    name, _, model = network
    # The reference backend plans every intermediate tensor, so its ratio measures the planner.
    reference = lwai.Session(model, backends=["reference"])
    assert reference.arena_bytes > 0
    ratio = reference.arena_bytes / reference.unshared_bytes
    arena, unshared = reference.arena_bytes, reference.unshared_bytes
    print(f"{name}: arena {arena} / unshared {unshared} = {ratio:.3f}")
    assert ratio < 0.25, f"{name}: arena is {ratio:.0%} of the unshared total"
    # Partition backends drop tensors they never need (in-place Concat inputs, fused clamps) and
    # skip the reference kernels' im2col scratch, so the default session needs no more.
    default = lwai.Session(model)
    print(f"{name}: default backends arena {default.arena_bytes}")
    assert default.arena_bytes <= reference.arena_bytes


def test_saved_file_gives_identical_results(network, tmp_path):
    name, _, model = network
    path = tmp_path / f"{name}.lwai"
    model.save(path)
    x = _input(name, 1)
    np.testing.assert_array_equal(lwai.Session(path).run(x)[0], lwai.Session(model).run(x)[0])
