"""torch, or an ImportError that says how to install it (the one place that checks)."""

from sunpy_dlmag.exceptions import MissingDependencyError

try:
    import torch
except ImportError as err:  # pragma: no cover - depends on the environment
    raise MissingDependencyError(
        "sunpy_dlmag.training needs torch, which is not installed. "
        "Install the training extra: pip install 'sunpy-dlmag[train]' (on CPU-only machines "
        "install torch first, e.g. pip install torch==2.13.0)."
    ) from err

__all__ = ["torch"]
