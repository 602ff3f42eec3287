"""TFLite import: MediaPipe's trained .tflite models against LiteRT on the same inputs, layouts,
weights, and errors for unsupported operators and malformed files."""

import collections
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, run_cli

import lwai

MODELS = REPO / ".cache" / "models"


def tflite_path(name: str) -> pathlib.Path:
    path = MODELS / f"{name}.tflite"
    if not path.exists():
        subprocess.run([sys.executable, str(REPO / "scripts" / "fetch_real_models.py")], check=True)
    return path


def litert_run(
    path: pathlib.Path, feed: list[np.ndarray], xnnpack: bool = True
) -> dict[str, np.ndarray]:
    """LiteRT's outputs by name: with its default XNNPACK delegate, or its builtin kernels."""
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    resolver = (
        litert.OpResolverType.AUTO
        if xnnpack
        else litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    interpreter = litert.Interpreter(
        model_path=str(path), num_threads=1, experimental_op_resolver_type=resolver
    )
    interpreter.allocate_tensors()
    for detail, x in zip(interpreter.get_input_details(), feed, strict=True):
        interpreter.set_tensor(detail["index"], x)
    interpreter.invoke()
    return {d["name"]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}


# (model, input range): MediaPipe's detectors and landmark models take images in [-1, 1] or
# [0, 1].
PARITY = [
    ("face_detection_short_range", (-1, 1)),
    ("face_detection_full_range_sparse", (-1, 1)),
    ("hand_landmark_lite", (0, 1)),
    ("pose_detection", (-1, 1)),
    ("pose_landmark_full", (0, 1)),
    ("palm_detection_lite", (0, 1)),
    ("face_landmark", (0, 1)),
    ("iris_landmark", (0, 1)),
]


@pytest.mark.parametrize("name, value_range", PARITY, ids=[p[0] for p in PARITY])
def test_mediapipe_models_match_litert(name, value_range, rng):
    path = tflite_path(name)
    model = lwai.convert(path)
    session = lwai.Session(model)
    feed = [
        rng.uniform(*value_range, [d if isinstance(d, int) else 1 for d in i.shape]).astype(i.dtype)
        for i in session.inputs
    ]
    expected = litert_run(path, feed)
    builtin = litert_run(path, feed, xnnpack=False)
    got = session.run(feed)
    assert [o.name for o in session.outputs] == list(expected)
    for info, value in zip(session.outputs, got, strict=True):
        want = expected[info.name]
        assert value.shape == want.shape and value.dtype == want.dtype
        # 1e-4 of the output's range, as the ONNX parity tests allow. Where LiteRT's own two
        # kernel sets disagree by more, the output amplifies rounding: pose_landmark_full's
        # segmentation logits (range 1700) differ by 0.95 between XNNPACK and LiteRT's builtin
        # kernels. There lwai (a third set, whose Winograd-or-direct choice is timed per run)
        # may differ from XNNPACK by up to twice that disagreement.
        own_spread = float(np.abs(want.astype(np.float64) - builtin[info.name]).max())
        error = float(np.abs(value.astype(np.float64) - want).max())
        value_range = float(np.ptp(want)) or 1.0
        assert error <= max(1e-4 * value_range, 2 * own_spread), (info.name, error, own_spread)


def litert_prefix(path: pathlib.Path, operators: int, output: int) -> bytes:
    """The model cut after its first `operators` operators, with tensor `output` as its output
    (through LiteRT's own schema code), for LiteRT to run what precedes a custom operator."""
    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    flatbuffers = pytest.importorskip("flatbuffers")
    model = schema.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
    graph = model.subgraphs[0]
    graph.operators = graph.operators[:operators]
    graph.outputs = [output]
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def transposed_conv_nhwc(x, w, bias, stride):
    """Reference: NHWC x, OHWI w, the full (uncropped) output plus bias."""
    n, h, width, _ = x.shape
    out, kh, kw, _ = w.shape
    y = np.zeros((n, (h - 1) * stride + kh, (width - 1) * stride + kw, out), np.float64)
    for ky in range(kh):
        for kx in range(kw):
            tap = x.astype(np.float64) @ w[:, ky, kx, :].T.astype(np.float64)
            y[
                :,
                ky : ky + (h - 1) * stride + 1 : stride,
                kx : kx + (width - 1) * stride + 1 : stride,
            ] += tap
    return y + bias


def test_selfie_segmenter_matches_litert_and_a_reference_transposed_conv(rng, tmp_path):
    """LiteRT's builtin kernels cannot run MediaPipe's custom Convolution2DTransposeBias: they
    run the graph up to that operator; the operator and the final Sigmoid are computed here in
    float64. Then the whole model against LiteRT with its XNNPACK delegate, which can."""
    path = tflite_path("selfie_segmentation")
    model = lwai.convert(path)
    x = rng.uniform(0, 1, (1, 256, 256, 3)).astype(np.float32)
    (got,) = lwai.Session(model).run(x)
    assert got.shape == (1, 256, 256, 1)
    prefix = tmp_path / "prefix.tflite"
    prefix.write_bytes(litert_prefix(path, 244, 245))  # up to the ADD that feeds operator 244
    features = next(iter(litert_run(prefix, [x]).values()))
    assert features.shape == (1, 128, 128, 16)
    # The operator's float16 kernel and bias (tensors 246 and 247, DEQUANTIZEd), read with
    # LiteRT's schema code.
    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    source = schema.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
    tensors = source.subgraphs[0].tensors

    def half_constant(index):
        data = source.buffers[tensors[index].buffer].data
        return np.frombuffer(bytes(data), np.float16).reshape(tensors[index].shape)

    w, b = half_constant(246), half_constant(247)
    assert w.shape == (1, 2, 2, 16) and b.shape == (1,)
    logits = transposed_conv_nhwc(features, w.astype(np.float32), b.astype(np.float32), 2)
    expected = 0.5 * (1 + np.tanh(0.5 * logits))  # the logistic function, without overflow
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # LiteRT's XNNPACK delegate implements MediaPipe's operator too (its builtin kernels do not).
    (with_delegate,) = litert_run(path, [x]).values()
    assert np.abs(got - with_delegate).max() <= 1e-4


def test_layouts_need_a_transpose_only_at_the_edges():
    model = lwai.convert(tflite_path("face_detection_short_range"))
    ops = model.op_histogram()
    # One at the NHWC input, one before each of the 4 layout-dependent Reshapes of the heads;
    # the 37 Conv, 16 Add, 11 Pad, 3 MaxPool and 2 Concat nodes need none.
    assert ops["Transpose"] <= 1 + ops["Reshape"], ops
    assert ops["Conv"] == 37 and ops["Pad"] == 11


def test_float16_weights_stay_half_size():
    path = tflite_path("hand_landmark_lite")
    model = lwai.convert(path)
    # The .tflite file holds its weights as float16: so does the lwai model.
    assert model.parameter_bytes <= 1.05 * path.stat().st_size
    assert "Cast" in model.op_histogram()
    session = lwai.Session(model)
    # The weights' Casts run once at session creation, not per run.
    assert all(a.folded for a in session.node_assignments() if a.op == "Cast")


def test_model_inputs_and_outputs_keep_tflite_names_and_shapes():
    model = lwai.convert(tflite_path("face_detection_short_range"))
    assert [(i.name, i.shape) for i in model.inputs] == [("input", (1, 128, 128, 3))]
    assert [o.name for o in model.outputs] == ["regressors", "classificators"]
    assert [o.shape for o in model.outputs] == [(1, 896, 16), (1, 896, 1)]
    assert model.source_format == "tflite"


def test_unsupported_operators_are_listed_at_once_with_indices():
    path = tflite_path("face_landmark_with_attention")
    with pytest.raises(lwai.UnsupportedOperatorError) as err:
        lwai.convert(path)
    message = str(err.value)
    assert message.startswith(str(path))
    assert "11 unsupported TFLite operator(s)" in message
    counts = collections.Counter(
        line.split("'")[1] for line in message.splitlines() if "custom operator" in line
    )
    assert counts == {
        "Landmarks2TransformMatrix": 3,
        "TransformTensorBilinear": 3,
        "TransformLandmarks": 5,
    }
    assert "operator 192: custom operator 'Landmarks2TransformMatrix'" in message


def test_malformed_files_raise_invalid_model_naming_the_file(tmp_path):
    good = tflite_path("face_detection_short_range").read_bytes()
    cases = {
        "empty.tflite": b"",
        "not_tflite.tflite": b"\x00" * 64,
        "truncated.tflite": good[:4096],
        "header_only.tflite": good[:8],
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(lwai.InvalidModelError, match=str(path)):
            lwai.convert(path)
    with pytest.raises(lwai.ModelNotFoundError, match="missing.tflite"):
        lwai.convert(tmp_path / "missing.tflite")


def test_corrupted_files_give_lwai_errors_only(tmp_path):
    """Random byte flips in the flatbuffer part: a model, or an LwaiError; never another
    exception or a crash."""
    good = bytearray(tflite_path("face_detection_short_range").read_bytes())
    rng = np.random.default_rng(7)
    head = min(len(good), 20000)  # tables and vectors; weights lie further on
    path = tmp_path / "flipped.tflite"
    outcomes = collections.Counter()
    for _ in range(150):
        data = bytearray(good)
        for at in rng.integers(8, head, 4):
            data[at] = int(rng.integers(0, 256))
        path.write_bytes(bytes(data))
        try:
            lwai.convert(path)
            outcomes["converted"] += 1
        except lwai.LwaiError as e:
            assert str(path) in str(e)
            outcomes[type(e).__name__] += 1
    assert sum(outcomes.values()) == 150


def test_cli_converts_and_describes_tflite(tmp_path):
    path = tflite_path("face_detection_short_range")
    out = tmp_path / "face.lwai"
    run_cli("convert", path, "-o", out)
    info = run_cli("info", path).stdout
    assert "(from tflite" in info and "Conv" in info
    x = np.zeros((1, 128, 128, 3), np.float32)
    np.testing.assert_array_equal(
        lwai.Session(lwai.load(out)).run(x)[1], lwai.Session(lwai.convert(path)).run(x)[1]
    )
