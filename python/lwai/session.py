"""lwai.Session: runs a model on numpy arrays."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from lwai import _lwai
from lwai.model import Model, TensorInfo, load
from lwai.profile import NodeProfile, Profile, with_subgraph_nodes

_EXAMPLE_PLUGIN = "liblwai_example_plugin.so"


def available_backends() -> list[str]:
    """Built-in backends of this build, fastest first; "reference" is always last. Plugins
    (shared libraries speaking lwai/plugin_api.h) are given to Session by path instead."""
    return list(_lwai.available_backends())


def installed_plugins() -> list[str]:
    """lwai's own vendor plugins that this installation ships, by name: "onednn" (oneDNN's int8
    and pooling kernels, run in NHWC partitions) when lwai was built with libdnnl-dev. A session
    uses one only when named: `Session(model, backends=["onednn", *available_backends()])`."""
    return list(_lwai.installed_plugins())


def example_plugin_path() -> str:
    """Path of the example backend plugin shipped with the package (float32 Relu and Add), for
    trying `Session(model, backends=[lwai.example_plugin_path()])`."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), _EXAMPLE_PLUGIN)
    if not os.path.exists(path):
        raise _lwai.BackendNotFoundError(f"{path}: the example plugin was not installed")
    return path


class NodeAssignment(NamedTuple):
    """Who runs a node: backend name, the backend's more specific kernel ("" if none), and
    whether prepare already evaluated it (constant inputs: it does not run at all)."""

    name: str
    op: str
    backend: str
    kernel: str
    folded: bool


def _memory_bytes(max_memory) -> int:
    if max_memory is None:
        return 0
    if not isinstance(max_memory, int) or isinstance(max_memory, bool) or max_memory < 1:
        raise _lwai.InvalidArgumentError(
            f"max_memory must be a positive number of bytes or None, got {max_memory!r}"
        )
    return max_memory


def _timeout_ms(timeout) -> int:
    if timeout is None:
        return 0
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise _lwai.InvalidArgumentError(
            f"timeout must be a positive number of seconds or None, got {timeout!r}"
        )
    return max(1, int(timeout * 1000))


def _native_byte_order(array: np.ndarray) -> np.ndarray:
    """`array`, converted to native byte order if it is not (e.g. big-endian data read from a
    file), so the kernels read its values, not swapped bytes."""
    if array.dtype.isnative:
        return array
    return array.astype(array.dtype.newbyteorder("="))


class Session:
    """Runs a model. `model` is a lwai.Model, a path to a .lwai/.json file, or .lwai bytes.

    Thread safety: every method may be called from any thread. One Session runs one call at a
    time: runs from several threads on the same Session take turns (each gets its own, correct
    outputs), they never race. The GIL is released while a session runs, so for parallel runs
    give each thread its own Session; Sessions sharing one Model run fully in parallel.
    """

    def __init__(
        self,
        model: Model | str | os.PathLike | bytes,
        threads: int = 1,
        backends: Sequence[str | os.PathLike] | None = None,
        *,
        max_memory: int | None = None,
        timeout: float | None = None,
    ):
        """`backends`: backend names (see lwai.available_backends()) or paths of plugin shared
        libraries, in priority order; None means every built-in backend, fastest first. The
        reference kernels always take the nodes that no other backend claims. An unknown name
        or a missing plugin raises BackendNotFoundError.

        `max_memory`: the largest buffer in bytes (the arena, a value computed while preparing,
        a loop's stacked output) the session may allocate; a model that needs more raises
        OutOfMemoryError naming the tensor. None: half of the physical memory.
        `timeout`: seconds that session creation and each run may take (None: no limit); a run
        past it raises DeadlineExceededError (checked between nodes and loop iterations)."""
        if not isinstance(model, Model):
            model = load(model)
        if not isinstance(threads, int) or threads < 1:
            raise _lwai.InvalidArgumentError(f"threads must be a positive int, got {threads!r}")
        if isinstance(backends, str | os.PathLike):
            backends = [backends]
        names = [os.fspath(b) for b in backends] if backends is not None else []
        if backends is not None and not names:
            raise _lwai.InvalidArgumentError("backends must name at least one backend, or be None")
        self.model = model
        self.threads = threads
        self._lock = threading.Lock()
        self._native = _lwai.Session(
            model._native,
            threads,
            names,
            max_memory_bytes=_memory_bytes(max_memory),
            timeout_ms=_timeout_ms(timeout),
        )
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

    @property
    def backends(self) -> list[str]:
        """Names of the backends this session uses, in priority order ("reference" last)."""
        return list(self._native.backends)

    def node_assignments(self) -> list[NodeAssignment]:
        """Which backend (and kernel) runs each node, in execution order."""
        return [
            NodeAssignment(node["name"], node["op"], a["backend"], a["kernel"], a["folded"])
            for node, a in zip(self.model.nodes, self._native.node_assignments(), strict=True)
        ]

    def profile(self, feed, runs: int = 10, warmup: int = 1) -> Profile:
        """Runs the model `warmup` + `runs` times on `feed` with per-node timing and returns a
        Profile: per node (except those prepare evaluated) its backend, kernel, shapes, median
        time over the timed runs and share of the total. Timing adds a little overhead per node."""
        if not isinstance(runs, int) or runs < 1:
            raise _lwai.InvalidArgumentError(f"runs must be a positive int, got {runs!r}")
        if not isinstance(warmup, int) or warmup < 0:
            raise _lwai.InvalidArgumentError(f"warmup must be an int >= 0, got {warmup!r}")
        arrays = self._arrange_inputs(feed)
        # Held across the runs and the timing reads: another thread's run in between would
        # overwrite the per-node times.
        with self._lock:
            return self._profile_locked(arrays, runs, warmup)

    def _profile_locked(self, arrays, runs, warmup) -> Profile:
        per_run_ns, per_run_subgraphs, wall_ms = [], [], []
        self._native.set_profiling(True)
        try:
            for _ in range(warmup):
                self._native.run(arrays)
            for _ in range(runs):
                start = time.perf_counter()
                self._native.run(arrays)
                wall_ms.append((time.perf_counter() - start) * 1e3)
                per_run_ns.append(self._native.node_time_ns())
                per_run_subgraphs.append(self._native.subgraph_profiles())
        finally:
            self._native.set_profiling(False)
        shapes = self._native.node_shapes()
        nodes = []
        for n, assignment in enumerate(self.node_assignments()):
            if assignment.folded:
                continue
            inputs, outputs = shapes[n]
            nodes.append(
                NodeProfile(
                    index=n,
                    name=assignment.name or f"#{n}",
                    op=assignment.op,
                    backend=assignment.backend,
                    kernel=assignment.kernel,
                    input_shapes=tuple(inputs),
                    output_shapes=tuple(outputs),
                    times_ms=tuple(run[n] / 1e6 for run in per_run_ns),
                )
            )
        return Profile(with_subgraph_nodes(nodes, per_run_subgraphs), wall_ms)

    def run(
        self,
        feed,
        output_names: Sequence[str] | None = None,
        *,
        out=None,
        timeout: float | None = None,
    ) -> list[np.ndarray]:
        """Runs the model. `feed` maps input names to arrays, or lists arrays in input order
        (a single array is fine for a one-input model). Returns outputs in model order, or in
        the order of `output_names`. `timeout` (seconds) overrides the session's for this run.
        Safe to call from several threads at once (the runs take turns).

        Outputs are not copied: the kernels write each output straight into the array returned
        for it (new arrays, 64-byte aligned), wherever the session's plan lets them. `out` gives
        arrays you own instead (as onnxruntime's IO binding does), so a serving loop allocates
        nothing per run: a dict from output name to array, or a list in the order of the
        returned outputs (None entries get new arrays). Each array must be C-contiguous and
        writeable with the output's dtype and shape; a mismatch raises InvalidArgumentError
        before the run starts (for an output whose shape depends on the input values, after the
        run, before anything is copied); so does a dtype other than the one the model computes,
        and `out` arrays that share memory. The returned list holds those same array objects.
        Outputs that cannot be written in place (an array that is not 16-byte aligned or that
        shares memory with an input, an output that is a constant or another output's view) are
        copied into their arrays at the end of the run."""
        arrays = self._arrange_inputs(feed)
        timeout_ms = _timeout_ms(timeout)
        names = [info.name for info in self.outputs]
        if output_names is not None:
            missing = [n for n in output_names if n not in names]
            if missing:
                raise _lwai.InvalidArgumentError(
                    f"unknown output name(s) {missing}; the model's outputs are {names}"
                )
        out_arrays = self._arrange_out(out, output_names, names)
        with self._lock:
            outputs = self._native.run(arrays, timeout_ms, out_arrays)
        if output_names is None:
            return outputs
        by_name = dict(zip(names, outputs, strict=True))
        return [by_name[n] for n in output_names]

    @staticmethod
    def _arrange_out(out, output_names, names: list[str]) -> list:
        """`out` as one entry per model output (None where a new array is wanted)."""
        if out is None:
            return []
        order = list(output_names) if output_names is not None else names
        if isinstance(out, np.ndarray):
            out = [out]
        if isinstance(out, Mapping):
            unknown = [k for k in out if k not in names]
            if unknown:
                raise _lwai.InvalidArgumentError(
                    f"out names unknown output(s) {unknown}; the model's outputs are {names}"
                )
            by_name = dict(out)
        elif isinstance(out, Sequence):
            if len(out) != len(order):
                raise _lwai.InvalidArgumentError(
                    f"out lists {len(out)} array(s) for {len(order)} output(s) {order}"
                )
            by_name = dict(zip(order, out, strict=True))
        else:
            raise _lwai.InvalidArgumentError(
                f"out must be a dict, a list or an array, got {type(out).__name__}"
            )
        return [by_name.get(n) for n in names]

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
        return [_native_byte_order(np.asarray(a)) for a in feed]

    def __repr__(self) -> str:
        return f"lwai.Session({self.model!r}, threads={self.threads}, backends={self.backends})"
