"""Choosing backends from Python: names, priority, node assignments, plugins and errors."""

import os

import numpy as np
import pytest
from conftest import assert_close_to_range

import lwai


@pytest.fixture(scope="module")
def digits(digits_onnx) -> lwai.Model:
    return lwai.convert(digits_onnx)


@pytest.fixture(scope="module")
def digits_unoptimized(digits_onnx) -> lwai.Model:
    """Keeps BatchNormalization and the Relu nodes (the example plugin claims Relu)."""
    return lwai.convert(digits_onnx, optimize=False)


def _batch(rng, n=3) -> np.ndarray:
    return rng.standard_normal((n, 1, 8, 8)).astype(np.float32)


def test_available_backends_end_with_reference():
    names = lwai.available_backends()
    assert names[-1] == "reference"
    assert len(set(names)) == len(names)
    assert all(isinstance(n, str) and n for n in names)


def test_default_session_uses_built_in_backends_in_order(digits):
    session = lwai.Session(digits)
    available = lwai.available_backends()
    assert session.backends[-1] == "reference"
    assert set(session.backends) <= set(available)
    positions = [available.index(b) for b in session.backends]
    assert positions == sorted(positions)


def test_node_assignments_cover_every_node(digits):
    session = lwai.Session(digits)
    assignments = session.node_assignments()
    assert [(a.name, a.op) for a in assignments] == [(n["name"], n["op"]) for n in digits.nodes]
    for a in assignments:
        assert a.backend in session.backends
        assert isinstance(a.kernel, str) and isinstance(a.folded, bool)


def test_reference_only_matches_default_backends(digits, rng):
    reference = lwai.Session(digits, backends=["reference"])
    assert reference.backends == ["reference"]
    assert {a.backend for a in reference.node_assignments()} == {"reference"}
    x = _batch(rng)
    (expected,) = reference.run(x)
    (got,) = lwai.Session(digits).run(x)
    assert_close_to_range(got, expected, 1e-4)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-5)


def test_every_built_in_backend_alone_matches_reference(digits, rng):
    x = _batch(rng)
    (expected,) = lwai.Session(digits, backends=["reference"]).run(x)
    for name in lwai.available_backends():
        try:
            session = lwai.Session(digits, backends=[name])
        except lwai.UnsupportedOperatorError:
            continue  # a backend this CPU cannot run
        assert session.backends == [name] + ([] if name == "reference" else ["reference"])
        (got,) = session.run(x)
        assert_close_to_range(got, expected, 1e-4)


def test_unknown_backend_name_raises_backend_not_found(digits):
    with pytest.raises(lwai.BackendNotFoundError, match="'turbo'.*reference") as info:
        lwai.Session(digits, backends=["turbo", "reference"])
    assert isinstance(info.value, lwai.LwaiError) and isinstance(info.value, LookupError)
    assert not isinstance(info.value, lwai.ModelNotFoundError)


def test_empty_backend_list_is_invalid(digits):
    with pytest.raises(lwai.InvalidArgumentError, match="backends"):
        lwai.Session(digits, backends=[])


def test_example_plugin_claims_relu_and_matches_reference(digits_unoptimized, rng):
    path = lwai.example_plugin_path()
    assert os.path.isfile(path)
    session = lwai.Session(digits_unoptimized, backends=[path])
    assert session.backends == ["example", "reference"]
    by_op = {}
    for a in session.node_assignments():
        by_op.setdefault(a.op, set()).add(a.backend)
    assert by_op.pop("Relu") == {"example"}
    assert set().union(*by_op.values()) == {"reference"}
    reference = lwai.Session(digits_unoptimized, backends=["reference"])
    for batch in (1, 4):  # a new batch size re-prepares the plugin's states
        x = _batch(rng, batch)
        np.testing.assert_array_equal(session.run(x)[0], reference.run(x)[0])


def test_plugin_path_as_single_string_and_pathlike(digits_unoptimized):
    import pathlib

    for spec in (lwai.example_plugin_path(), pathlib.Path(lwai.example_plugin_path())):
        assert lwai.Session(digits_unoptimized, backends=spec).backends == [
            "example",
            "reference",
        ]


def test_missing_plugin_raises_backend_not_found_naming_the_path(digits, tmp_path):
    path = str(tmp_path / "libmissing_plugin.so")
    with pytest.raises(lwai.BackendNotFoundError, match="libmissing_plugin.so"):
        lwai.Session(digits, backends=[path])


def test_library_that_is_not_a_plugin_is_invalid(digits, tmp_path):
    # A real shared library without lwai_plugin_entry: lwai's own extension module.
    extension = lwai._lwai.__file__
    with pytest.raises(lwai.InvalidModelError, match="lwai_plugin_entry"):
        lwai.Session(digits, backends=[extension])
    fake = tmp_path / "libfake.so"
    fake.write_text("not a library")
    with pytest.raises(lwai.InvalidModelError, match="libfake.so"):
        lwai.Session(digits, backends=[str(fake)])
