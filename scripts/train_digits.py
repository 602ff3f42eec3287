"""Train the lwai digits demo CNN in pure numpy and export it to ONNX.

Architecture (NCHW, input [batch, 1, 8, 8]):
    Conv 3x3 (16) -> BatchNormalization -> Relu -> MaxPool 2x2
    Conv 3x3 (32) -> Relu -> MaxPool 2x2 -> Flatten (128)
    Gemm (64) -> Relu -> Gemm (10) -> Softmax -> "probabilities" [batch, 10]

Training uses Adam on minibatches with a fixed seed and a single BLAS thread, so the exported
model is byte-for-byte reproducible for a given seed. After export the file is checked with
onnx.checker and compared against the numpy inference pass using onnxruntime.

Usage: python3 scripts/train_digits.py [--out PATH] [--epochs N] [--seed S]
"""

import argparse
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from threadpoolctl import threadpool_limits

from digits_data import load_split  # found next to this script (sys.path[0])

PRODUCER = "lwai digits demo trainer"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "digits_cnn.onnx"
BN_EPS = 1e-5
BN_MOMENTUM = 0.1
BATCH_SIZE = 32
LEARNING_RATE = 2e-3
ADAM_BETAS = (0.9, 0.999)
MAX_ORT_DIFF = 1e-5

CONV = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}
POOL = {"kernel_shape": [2, 2], "strides": [2, 2]}
# (node name, op type, initializer inputs, attributes); each node consumes the previous output.
LAYERS = [
    ("conv1", "Conv", ["conv1.weight", "conv1.bias"], CONV),
    (
        "bn1",
        "BatchNormalization",
        ["bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"],
        {"epsilon": BN_EPS},
    ),
    ("relu1", "Relu", [], {}),
    ("pool1", "MaxPool", [], POOL),
    ("conv2", "Conv", ["conv2.weight", "conv2.bias"], CONV),
    ("relu2", "Relu", [], {}),
    ("pool2", "MaxPool", [], POOL),
    ("flatten", "Flatten", [], {"axis": 1}),
    ("fc1", "Gemm", ["fc1.weight", "fc1.bias"], {"transB": 1}),
    ("relu3", "Relu", [], {}),
    ("fc2", "Gemm", ["fc2.weight", "fc2.bias"], {"transB": 1}),
    ("softmax", "Softmax", [], {"axis": 1}),
]


def he_normal(rng, shape):
    fan_in = int(np.prod(shape[1:]))
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def init_params(rng):
    """Trainable weights, keyed by the ONNX initializer names they are exported under."""
    return {
        "conv1.weight": he_normal(rng, (16, 1, 3, 3)),
        "conv1.bias": np.zeros(16, np.float32),
        "bn1.weight": np.ones(16, np.float32),
        "bn1.bias": np.zeros(16, np.float32),
        "conv2.weight": he_normal(rng, (32, 16, 3, 3)),
        "conv2.bias": np.zeros(32, np.float32),
        "fc1.weight": he_normal(rng, (64, 128)),
        "fc1.bias": np.zeros(64, np.float32),
        "fc2.weight": he_normal(rng, (10, 64)),
        "fc2.bias": np.zeros(10, np.float32),
    }


def conv_forward(x, w, b):
    """3x3 convolution with padding 1 via im2col; columns are ordered (C, kh, kw) like w."""
    n, _, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    patches = np.stack([xp[:, :, i : i + h, j : j + wd] for i in range(3) for j in range(3)], 2)
    cols = patches.transpose(0, 3, 4, 1, 2).reshape(n * h * wd, -1)
    out = cols @ w.reshape(len(w), -1).T + b
    return out.reshape(n, h, wd, -1).transpose(0, 3, 1, 2), (cols, x.shape)


def conv_backward(dout, cache, w):
    """Gradients (dx, dw, db) of conv_forward."""
    cols, (n, c, h, wd) = cache
    dflat = dout.transpose(0, 2, 3, 1).reshape(-1, len(w))
    dw = (dflat.T @ cols).reshape(w.shape)
    dpatches = (dflat @ w.reshape(len(w), -1)).reshape(n, h, wd, c, 9).transpose(0, 3, 4, 1, 2)
    dxp = np.zeros((n, c, h + 2, wd + 2), dout.dtype)
    for k in range(9):
        i, j = divmod(k, 3)
        dxp[:, :, i : i + h, j : j + wd] += dpatches[:, :, k]
    return dxp[:, :, 1:-1, 1:-1], dw, dflat.sum(axis=0)


def maxpool_forward(x):
    """2x2 stride-2 max pooling; remembers the first maximum of each window."""
    n, c, h, w = x.shape
    windows = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5)
    windows = windows.reshape(n, c, h // 2, w // 2, 4)
    arg = windows.argmax(axis=-1)
    return np.take_along_axis(windows, arg[..., None], axis=-1)[..., 0], (arg, x.shape)


def maxpool_backward(dout, cache):
    """Route gradients to each window's maximum; dout may be flattened."""
    arg, (n, c, h, w) = cache
    dwindows = (np.arange(4) == arg[..., None]) * dout.reshape(arg.shape)[..., None]
    dwindows = dwindows.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    return dwindows.reshape(n, c, h, w)


def batchnorm_forward(x, gamma, beta, stats):
    """Per-channel batch norm: batch statistics when stats is None, else running statistics."""
    if stats is None:
        mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    else:
        mean, var = stats["bn1.running_mean"], stats["bn1.running_var"]
    inv_std = 1.0 / np.sqrt(var + BN_EPS)
    xhat = (x - mean[:, None, None]) * inv_std[:, None, None]
    return gamma[:, None, None] * xhat + beta[:, None, None], (xhat, inv_std, mean, var)


def batchnorm_backward(dout, cache, gamma):
    """Gradients (dx, dgamma, dbeta) of training-mode batchnorm_forward."""
    xhat, inv_std, _, _ = cache
    axes = (0, 2, 3)
    dxhat = dout * gamma[:, None, None]
    m = dout.size // len(gamma)
    mean_dxhat = dxhat.sum(axis=axes, keepdims=True) / m
    mean_dxhat_xhat = (dxhat * xhat).sum(axis=axes, keepdims=True) / m
    dx = (dxhat - mean_dxhat - xhat * mean_dxhat_xhat) * inv_std[:, None, None]
    return dx, (dout * xhat).sum(axis=axes), dout.sum(axis=axes)


def forward(params, x, stats=None):
    """Return (logits, cache); stats=None means training mode (batch statistics)."""
    cache = {}
    h, cache["conv1"] = conv_forward(x, params["conv1.weight"], params["conv1.bias"])
    h, cache["bn1"] = batchnorm_forward(h, params["bn1.weight"], params["bn1.bias"], stats)
    cache["relu1"] = np.maximum(h, 0)
    h, cache["pool1"] = maxpool_forward(cache["relu1"])
    h, cache["conv2"] = conv_forward(h, params["conv2.weight"], params["conv2.bias"])
    cache["relu2"] = np.maximum(h, 0)
    h, cache["pool2"] = maxpool_forward(cache["relu2"])
    cache["flat"] = h.reshape(len(h), -1)
    cache["relu3"] = np.maximum(cache["flat"] @ params["fc1.weight"].T + params["fc1.bias"], 0)
    return cache["relu3"] @ params["fc2.weight"].T + params["fc2.bias"], cache


def backward(params, cache, dlogits):
    """Gradients of every parameter given the gradient of the loss w.r.t. the logits."""
    g = {"fc2.weight": dlogits.T @ cache["relu3"], "fc2.bias": dlogits.sum(axis=0)}
    dh = (dlogits @ params["fc2.weight"]) * (cache["relu3"] > 0)
    g["fc1.weight"], g["fc1.bias"] = dh.T @ cache["flat"], dh.sum(axis=0)
    dh = maxpool_backward(dh @ params["fc1.weight"], cache["pool2"]) * (cache["relu2"] > 0)
    dh, g["conv2.weight"], g["conv2.bias"] = conv_backward(
        dh, cache["conv2"], params["conv2.weight"]
    )
    dh = maxpool_backward(dh, cache["pool1"]) * (cache["relu1"] > 0)
    dh, g["bn1.weight"], g["bn1.bias"] = batchnorm_backward(dh, cache["bn1"], params["bn1.weight"])
    _, g["conv1.weight"], g["conv1.bias"] = conv_backward(
        dh, cache["conv1"], params["conv1.weight"]
    )
    return g


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def predict(params, stats, x):
    """Inference-mode probabilities (batch norm uses running statistics)."""
    return softmax(forward(params, x, stats)[0])


def accuracy(probs, y):
    return float((probs.argmax(axis=1) == y).mean())


def adam_step(params, grads, moments, step):
    beta1, beta2 = ADAM_BETAS
    for name, grad in grads.items():
        m, v = moments[name]
        m[...] = beta1 * m + (1 - beta1) * grad
        v[...] = beta2 * v + (1 - beta2) * grad * grad
        m_hat, v_hat = m / (1 - beta1**step), v / (1 - beta2**step)
        params[name] -= LEARNING_RATE * m_hat / (np.sqrt(v_hat) + 1e-8)


def update_running_stats(stats, bn_cache):
    _, _, mean, var = bn_cache
    for key, batch_value in (("bn1.running_mean", mean), ("bn1.running_var", var)):
        stats[key] = (1 - BN_MOMENTUM) * stats[key] + BN_MOMENTUM * batch_value


def train(params, stats, x, y, epochs, rng):
    """Minibatch Adam on softmax cross-entropy; updates params and stats in place."""
    moments = {name: (np.zeros_like(p), np.zeros_like(p)) for name, p in params.items()}
    step = 0
    for epoch in range(1, epochs + 1):
        order, loss_sum = rng.permutation(len(x)), 0.0
        for start in range(0, len(x), BATCH_SIZE):
            idx = order[start : start + BATCH_SIZE]
            logits, cache = forward(params, x[idx])
            dlogits = softmax(logits)
            loss_sum -= np.log(dlogits[np.arange(len(idx)), y[idx]]).sum()
            dlogits[np.arange(len(idx)), y[idx]] -= 1
            step += 1
            adam_step(params, backward(params, cache, dlogits / len(idx)), moments, step)
            update_running_stats(stats, cache["bn1"])
        if epoch % 5 == 0 or epoch == epochs:
            print(f"epoch {epoch:3d}  loss {loss_sum / len(x):.4f}")


def build_model(params, stats):
    """The trained network as an opset-13, IR-version-8 ONNX model."""
    nodes, prev = [], "input"
    for i, (name, op, weights, attrs) in enumerate(LAYERS):
        out = "probabilities" if i == len(LAYERS) - 1 else name
        nodes.append(helper.make_node(op, [prev, *weights], [out], name=name, **attrs))
        prev = out
    graph = helper.make_graph(
        nodes,
        "lwai_digits_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10])],
        initializer=[numpy_helper.from_array(a, n) for n, a in {**params, **stats}.items()],
    )
    model = helper.make_model(
        graph,
        producer_name=PRODUCER,
        doc_string=PRODUCER,
        ir_version=8,
        opset_imports=[helper.make_opsetid("", 13)],
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def check_with_onnxruntime(path, x, y, reference):
    """Run the exported file on x and compare with the numpy inference probabilities."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    probs = session.run(["probabilities"], {"input": x})[0]
    diff = float(np.abs(probs - reference).max())
    print(f"onnxruntime test accuracy {accuracy(probs, y):.4f}, max abs diff vs numpy {diff:.3g}")
    if diff >= MAX_ORT_DIFF:
        raise SystemExit(f"onnxruntime disagrees with the numpy forward pass by {diff:.3g}")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output .onnx path")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    x_train, y_train, x_test, y_test = load_split()
    rng = np.random.default_rng(args.seed)
    params = init_params(rng)
    stats = {
        "bn1.running_mean": np.zeros(16, np.float32),
        "bn1.running_var": np.ones(16, np.float32),
    }

    start = time.perf_counter()
    train(params, stats, x_train, y_train, args.epochs, rng)
    print(f"train time {time.perf_counter() - start:.1f} s")
    test_probs = predict(params, stats, x_test)
    print(f"numpy train accuracy {accuracy(predict(params, stats, x_train), y_train):.4f}")
    print(f"numpy test accuracy {accuracy(test_probs, y_test):.4f}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(build_model(params, stats), args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    check_with_onnxruntime(args.out, x_test, y_test, test_probs)


if __name__ == "__main__":
    with threadpool_limits(limits=1):
        main()
