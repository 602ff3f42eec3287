"""lwai.Session: runs a model on numpy arrays."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from lwai import _lwai
from lwai.model import Model, TensorInfo, load


class Session:
    """Runs a model. `model` is a lwai.Model, a path to a .lwai/.json file, or .lwai bytes.

    One Session runs one call at a time; the GIL is released while it runs, so sessions in
    different Python threads run in parallel.
    """

    def __init__(self, model: Model | str | os.PathLike | bytes, threads: int = 1):
        if not isinstance(model, Model):
            model = load(model)
        if not isinstance(threads, int) or threads < 1:
            raise _lwai.InvalidArgumentError(f"threads must be a positive int, got {threads!r}")
        self.model = model
        self.threads = threads
        self._native = _lwai.Session(model._native, threads)
        self.inputs = [TensorInfo.from_dict(d) for d in self._native.inputs]
        self.outputs = [TensorInfo.from_dict(d) for d in self._native.outputs]

    @property
    def arena_bytes(self) -> int:
        """Bytes of the planned arena for the most recent input shapes."""
        return self._native.arena_bytes

    @property
    def unshared_bytes(self) -> int:
        """What the arena would take if no two buffers shared memory."""
        return self._native.unshared_bytes

    def run(self, feed, output_names: Sequence[str] | None = None) -> list[np.ndarray]:
        """Runs the model. `feed` maps input names to arrays, or lists arrays in input order
        (a single array is fine for a one-input model). Returns outputs in model order, or in
        the order of `output_names`."""
        arrays = self._arrange_inputs(feed)
        outputs = self._native.run(arrays)
        if output_names is None:
            return outputs
        by_name = {info.name: out for info, out in zip(self.outputs, outputs, strict=True)}
        missing = [n for n in output_names if n not in by_name]
        if missing:
            raise _lwai.InvalidArgumentError(
                f"unknown output name(s) {missing}; the model's outputs are {list(by_name)}"
            )
        return [by_name[n] for n in output_names]

    def _arrange_inputs(self, feed) -> list[np.ndarray]:
        names = [i.name for i in self.inputs]
        if isinstance(feed, np.ndarray):
            feed = [feed]
        if isinstance(feed, Mapping):
            unknown = [k for k in feed if k not in names]
            missing = [n for n in names if n not in feed]
            if unknown or missing:
                problems = []
                if missing:
                    problems.append(f"missing input(s) {missing}")
                if unknown:
                    problems.append(f"unknown input(s) {unknown}")
                raise _lwai.InvalidArgumentError(
                    f"{' and '.join(problems)}; the model's inputs are {names}"
                )
            feed = [feed[n] for n in names]
        if len(feed) != len(names):
            raise _lwai.InvalidArgumentError(
                f"the model has {len(names)} input(s) {names}, got {len(feed)} array(s)"
            )
        return [np.asarray(a) for a in feed]

    def __repr__(self) -> str:
        return f"lwai.Session({self.model!r}, threads={self.threads})"
