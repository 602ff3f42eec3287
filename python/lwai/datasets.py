"""Example models and data that ship with lwai, so notebooks and tutorials run from anywhere
(as onnxruntime.datasets does).

    path = lwai.datasets.get_example("digits_cnn.onnx")   # a small trained CNN (8x8 digits)
    x_train, y_train, x_test, y_test = lwai.datasets.load_digits_split()
"""

from __future__ import annotations

import os

import numpy as np

from lwai import _lwai
from lwai.errors import require

_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def examples() -> list[str]:
    """Names of the example models get_example() knows."""
    return sorted(os.listdir(_DATA)) if os.path.isdir(_DATA) else []


def get_example(name: str) -> str:
    """Path of an example model shipped with lwai: "digits_cnn.onnx", a CNN trained on
    scikit-learn's 8x8 digits (input "input" [batch, 1, 8, 8] in [0, 1], output
    "probabilities" [batch, 10])."""
    path = os.path.join(_DATA, os.path.basename(name))
    if not os.path.isfile(path):
        raise _lwai.ModelNotFoundError(
            f"no example model '{name}'; lwai ships {examples() or 'none in this build'}"
        )
    return path


def load_digits_split():
    """(x_train, y_train, x_test, y_test): scikit-learn's 8x8 digits as float32 [N, 1, 8, 8]
    in [0, 1] and int64 labels, split as digits_cnn.onnx was trained (a quarter held out,
    stratified, seed 0). Needs scikit-learn."""
    datasets = require("sklearn.datasets", "the digits data set", package="scikit-learn")
    selection = require("sklearn.model_selection", "the digits data set", package="scikit-learn")
    digits = datasets.load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = selection.train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    return x_train, y_train, x_test, y_test
