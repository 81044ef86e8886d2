"""
Registry and runtime of the package's trained networks.
"""

from sunpy_dlmag.models.registry import (
    get_model,
    list_models,
    load_model,
    register_model,
    sha256sum,
    weights_status,
)
from sunpy_dlmag.models.runtime import Model, available_devices
from sunpy_dlmag.models.spec import Channel, Geometry, ModelSpec, Normalization, WeightsSource

__all__ = [
    "Channel",
    "Geometry",
    "Model",
    "ModelSpec",
    "Normalization",
    "WeightsSource",
    "available_devices",
    "get_model",
    "list_models",
    "load_model",
    "register_model",
    "sha256sum",
    "weights_status",
]
