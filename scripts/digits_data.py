"""Shared train/test split of the scikit-learn 8x8 digits for the lwai digits demo: the one in
lwai.datasets (re-exported for the scripts and tests that import it from here)."""

from lwai.datasets import load_digits_split as load_split

__all__ = ["load_split"]
