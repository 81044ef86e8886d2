import copy
import os
import tempfile
from pathlib import Path

# Keep sunpy's configuration and downloads out of the user's home, before sunpy is imported.
_SANDBOX = Path(tempfile.mkdtemp(prefix="sunpy_dlmag_tests_"))
os.environ["SUNPY_CONFIGDIR"] = str(_SANDBOX / "config")
os.environ["SUNPY_DOWNLOADDIR"] = str(_SANDBOX / "downloads")
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from astropy.utils import iers  # noqa: E402

import sunpy.map  # noqa: E402

from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM  # noqa: E402
from sunpy_dlmag.models import (  # noqa: E402
    Channel,
    Geometry,
    ModelSpec,
    Normalization,
    registry,
)
from sunpy_dlmag.models.graphs import convolution_network, gaussian_filter_network  # noqa: E402

iers.conf.auto_download = False

DATA = Path(__file__).parent / "data"


def _shared_data():
    """The real observations of ``shared/data`` beside the repository (or $SUNPY_DLMAG_REAL_DATA); None if absent."""
    root = Path(__file__).resolve().parents[1]
    for candidate in (os.environ.get("SUNPY_DLMAG_REAL_DATA"), root.parent / "shared" / "data"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


SHARED_DATA = _shared_data()


def shared_path(*parts):
    """A path under `SHARED_DATA`, or None where the shared data or that path are not here."""
    if SHARED_DATA is None:
        return None
    path = SHARED_DATA.joinpath(*parts)
    return path if path.exists() else None


def map_with(smap, data=None, **changes):
    """A copy of ``smap`` with header keys changed (``None`` removes a key) and optionally new data."""
    meta = copy.deepcopy(smap.meta)
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    return sunpy.map.Map(smap.data.copy() if data is None else data, meta)


@pytest.fixture
def mdi_map():
    """Real SOHO/MDI full-disk magnetogram, 1024x1024, NaN off the disk."""
    return sunpy.map.Map(MDI_MAGNETOGRAM)


@pytest.fixture
def euvi_map():
    """Real STEREO-A/EUVI 171 image, 128x128, rolled by about 7 degrees, 2011-02-15."""
    return sunpy.map.Map(DATA / "secchi_l0_a.fits")


@pytest.fixture
def aia_map():
    """Real SDO/AIA 171 image, 128x128, 2011-02-15 (co-temporal with euvi_map)."""
    return sunpy.map.Map(DATA / "aia_171_level1.fits")


def make_spec(name="tiny", *, n_inputs=1, unit="G", scale=3000.0, clip=False, task="test", **geometry):
    """A spec for a tiny test network."""
    norm = Normalization("linear", -scale, scale, clip=clip)
    return ModelSpec(
        name=name,
        task=task,
        architecture="tiny test network",
        inputs=tuple(Channel("test", None, unit, norm) for _ in range(n_inputs)),
        output=Channel("test", None, unit, norm),
        geometry=Geometry(**geometry),
    )


@pytest.fixture
def conv_onnx(tmp_path):
    """Factory: a tiny random tile-safe conv network (stride 4) with its spec in the ONNX metadata."""

    def build(name="tiny", n_inputs=1, levels=2, **spec_kwargs):
        path = tmp_path / f"{name}.onnx"
        radius = convolution_network(path, in_channels=n_inputs, levels=levels)
        spec = make_spec(name, n_inputs=n_inputs, stride=2**levels, receptive_radius=radius, **spec_kwargs)
        registry.write_spec_to_onnx(path, spec)
        return path, spec

    return build


@pytest.fixture
def smoothing_onnx(tmp_path):
    """Factory: a fixed Gaussian filter network (an almost-identity for small sigma)."""

    def build(name="smooth", sigma=0.5, **spec_kwargs):
        path = tmp_path / f"{name}.onnx"
        radius = gaussian_filter_network(path, sigma=sigma)
        spec_kwargs.setdefault("receptive_radius", radius)
        registry.write_spec_to_onnx(path, make_spec(name, **spec_kwargs))
        return path

    return build


@pytest.fixture
def registered():
    """Register specs for one test and remove them afterwards."""
    added = []

    def add(spec):
        registry.register_model(spec)
        added.append(spec.name)
        return spec

    yield add
    for name in added:
        registry._REGISTRY.pop(name, None)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
