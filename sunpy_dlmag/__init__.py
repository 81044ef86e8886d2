"""
sunpy-dlmag: deep-learning image translation for solar data.

Maps in, maps out: farside magnetograms from EUV images, denoised magnetograms,
synchronic maps and PFSS, and magnetograms from sunspot drawings, with the networks
of the Kyung Hee University solar group run through onnxruntime.
"""

from sunpy_dlmag.denoise import denoise, noise_level, stack_magnetograms
from sunpy_dlmag.drawings import detect_sunspots, drawing_to_magnetogram, read_drawing, sunspot_counts
from sunpy_dlmag.farside import farside_magnetogram
from sunpy_dlmag.maps import DlmagMap  # defining it registers it with sunpy.map.Map
from sunpy_dlmag.models import get_model, list_models, load_model
from sunpy_dlmag.pfss import coronal_hole_overlap, open_field_map, pfss_extrapolate
from sunpy_dlmag.synchronic import synchronic_map
from sunpy_dlmag.version import version as __version__

__all__ = [
    "DlmagMap",
    "__version__",
    "coronal_hole_overlap",
    "denoise",
    "detect_sunspots",
    "drawing_to_magnetogram",
    "farside_magnetogram",
    "get_model",
    "list_models",
    "load_model",
    "noise_level",
    "open_field_map",
    "pfss_extrapolate",
    "read_drawing",
    "stack_magnetograms",
    "sunspot_counts",
    "synchronic_map",
]
