"""
Training toolkit: networks, export to ONNX (the only place in the package that uses torch).

torch is an optional dependency (``pip install sunpy-dlmag[train]``). Importing
`sunpy_dlmag`, or this package, never imports torch; only the submodules do, e.g.
`sunpy_dlmag.training.networks` and `sunpy_dlmag.training.export`. The names below are
imported from them on first use.
"""

import importlib

__all__ = [
    "DenoiseGenerator",
    "GlobalGenerator",
    "MultiScaleDiscriminator",
    "PatchDiscriminator",
    "UNetGenerator",
    "drawing_training_pairs",
    "export_to_onnx",
    "render_drawing",
]

_LAZY = {
    "DenoiseGenerator": "sunpy_dlmag.training.networks",
    "GlobalGenerator": "sunpy_dlmag.training.networks",
    "MultiScaleDiscriminator": "sunpy_dlmag.training.discriminators",
    "PatchDiscriminator": "sunpy_dlmag.training.discriminators",
    "UNetGenerator": "sunpy_dlmag.training.networks",
    "export_to_onnx": "sunpy_dlmag.training.export",
    "drawing_training_pairs": "sunpy_dlmag.training.drawings",
    "render_drawing": "sunpy_dlmag.training.drawings",
}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
