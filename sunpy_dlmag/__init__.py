"""
sunpy-dlmag: deep-learning image translation for solar data.

Maps in, maps out: farside magnetograms from EUV images, denoised magnetograms,
synchronic maps and PFSS, and magnetograms from sunspot drawings, with the networks
of the Kyung Hee University solar group run through onnxruntime.
"""

try:
    from sunpy_dlmag._version import __version__
except ImportError:  # running from a source tree that was never installed
    __version__ = "0.0.0.dev0"

from sunpy_dlmag.denoise import denoise, noise_level, stack_magnetograms
from sunpy_dlmag.models import get_model, list_models, load_model

__all__ = ["__version__", "denoise", "get_model", "list_models", "load_model", "noise_level", "stack_magnetograms"]
