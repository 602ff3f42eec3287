"""Progress bars for long work (conversion of large models, calibration, benchmarks): tqdm's
when it is installed (its notebook widget inside Jupyter), nothing otherwise."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def progress(
    items: Iterable, enabled: bool = True, desc: str = "", unit: str = "it", total=None
) -> Iterable | Iterator:
    """`items`, wrapped in a tqdm bar when `enabled` and tqdm is importable. The bar disappears
    when done (leave=False): it reports work in flight, not results."""
    if not enabled:
        return items
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return items
    return tqdm(items, desc=desc, unit=unit, total=total, leave=False)
