"""Shared train/test split of the scikit-learn 8x8 digits for the lwai digits demo."""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def load_split():
    """Return (x_train, y_train, x_test, y_test).

    x is float32 [N, 1, 8, 8] scaled to [0, 1]; y is int64 class labels.
    """
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    return x_train, y_train, x_test, y_test
