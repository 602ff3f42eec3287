"""lwai.convert(torch_module, example_inputs): PyTorch models in one call."""

import numpy as np
import pytest

import lwai

torch = pytest.importorskip("torch")


class SmallNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1),
            torch.nn.BatchNorm2d(8),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 16, 3, padding=1, groups=2),
            torch.nn.Hardswish(),
        )
        self.head = torch.nn.Linear(16, 5)

    def forward(self, x):
        y = self.features(x).mean(dim=(2, 3))
        return torch.softmax(self.head(y), dim=-1), y


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    module = SmallNet()
    with torch.no_grad():  # non-trivial statistics, so BatchNorm matters
        module.features[1].running_mean.uniform_(-0.5, 0.5)
        module.features[1].running_var.uniform_(0.5, 2.0)
    return module.eval()


def test_module_converts_in_one_call_and_matches_torch(net):
    x = torch.randn(2, 3, 12, 12)
    model = lwai.convert(net, (x,), input_names=["image"], output_names=["probs", "features"])
    assert [i.name for i in model.inputs] == ["image"]
    assert [o.name for o in model.outputs] == ["probs", "features"]
    assert model.metadata["torch.module"].endswith("SmallNet")
    assert model.metadata["torch.version"] == torch.__version__
    with torch.no_grad():
        expected = [t.numpy() for t in net(x)]
    got = lwai.Session(model).run({"image": x.numpy()})
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


def test_dynamic_axes_give_a_dynamic_batch(net):
    model = lwai.convert(
        net,
        torch.randn(1, 3, 12, 12),
        input_names=["x"],
        output_names=["probs", "features"],
        dynamic_axes={"x": {0: "batch"}, "probs": {0: "batch"}, "features": {0: "batch"}},
    )
    assert model.inputs[0].shape == ("batch", 3, 12, 12)
    x = np.random.default_rng(0).standard_normal((5, 3, 12, 12)).astype(np.float32)
    probs, _ = lwai.Session(model).run(x)
    with torch.no_grad():
        expected = net(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(probs, expected, rtol=1e-4, atol=1e-5)


def test_numpy_example_inputs_and_the_module_stays_as_it_was(net):
    net.train()
    try:
        model = lwai.convert(net, np.zeros((1, 3, 12, 12), np.float32))
        assert net.training  # export ran in eval mode without changing the caller's module
    finally:
        net.eval()
    # Eval mode: BatchNorm folded with running statistics, as torch computes in eval.
    assert "BatchNormalization" not in model.op_histogram()


def test_errors_name_the_problem(net, tmp_path):
    with pytest.raises(lwai.InvalidArgumentError, match="needs example inputs"):
        lwai.convert(net)
    with pytest.raises(lwai.InvalidArgumentError, match="example_inputs must be"):
        lwai.convert(net, "not a tensor")
    with pytest.raises(lwai.InvalidArgumentError, match="only for PyTorch models"):
        lwai.convert(tmp_path / "m.onnx", torch.zeros(1))

    class Broken(torch.nn.Module):
        def forward(self, x):
            return x.view(7, -1)  # the example's size is not a multiple of 7

    with pytest.raises(lwai.LwaiError, match="PyTorch model Broken: torch.onnx.export failed"):
        lwai.convert(Broken(), torch.zeros(2, 3))
