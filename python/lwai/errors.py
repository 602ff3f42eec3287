"""Errors raised by lwai's Python layer itself (the core's come from lwai._lwai)."""

from lwai._lwai import LwaiError


class MissingDependencyError(LwaiError, ImportError):
    """An optional package a feature needs is not installed; the message says how to get it.
    Also an ImportError, for callers that test for optional features that way."""


def require(module: str, feature: str, extra: str | None = None, package: str | None = None):
    """Imports `module` for `feature`, or raises MissingDependencyError naming the pip command
    (for `package`, by default the module's top-level name)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        package = package or module.split(".")[0]
        how = f"pip install {package}"
        if extra:
            how = f"pip install lwai[{extra}] (or {how})"
        raise MissingDependencyError(
            f"{feature} needs the '{package}' package, which is not installed: {how}"
        ) from e
