"""
This package's products read back with ``sunpy.map.Map`` know what they are (`DlmagMap`).
"""

import copy
import subprocess
import sys

import astropy.units as u
import numpy as np
import pytest
from matplotlib.figure import Figure

import sunpy.map
from sunpy.map.sources import GONGSynopticMap, MDIMap

from sunpy_dlmag.data.sample import AIA_171, EUVI_171, GONG_SYNOPTIC, MDI_MAGNETOGRAM
from sunpy_dlmag.denoise import denoise
from sunpy_dlmag.exceptions import DlmagUserWarning
from sunpy_dlmag.io import read_gong_synoptic, save_map
from sunpy_dlmag.maps import DlmagMap, derived_meta, magnetogram_plot_settings
from sunpy_dlmag.pfss import open_field_map, pfss_extrapolate
from sunpy_dlmag.synchronic import synchronic_map


@pytest.fixture(scope="module")
def mdi():
    return sunpy.map.Map(MDI_MAGNETOGRAM)


@pytest.fixture(scope="module")
def denoised(mdi):
    return denoise(mdi, device="cpu")


def _read_back(smap, tmp_path, name):
    return sunpy.map.Map(save_map(smap, tmp_path / f"{name}.fits"))


def _assert_plots_as_a_magnetogram(smap, kind="magnetogram"):
    expected = magnetogram_plot_settings(kind)
    assert smap.plot_settings["cmap"] == expected["cmap"]
    norm = smap.plot_settings["norm"]
    assert norm.vmin == -norm.vmax == pytest.approx(expected["norm"].vmin)
    fig = Figure()
    image = smap.plot(axes=fig.add_subplot(projection=smap))
    assert image.cmap.name == expected["cmap"]
    assert image.norm.vmin == -image.norm.vmax


def test_observations_are_not_claimed(mdi):
    assert type(mdi) is MDIMap
    assert type(sunpy.map.Map(GONG_SYNOPTIC)) is GONGSynopticMap
    for path in (AIA_171, EUVI_171):
        assert not isinstance(sunpy.map.Map(path), DlmagMap)


def test_denoised_magnetogram_read_back_knows_what_it_is(mdi, denoised, tmp_path):
    again = _read_back(denoised, tmp_path, "mdi_denoise")
    assert type(again) is DlmagMap
    assert again.product == "denoise"
    assert again.model == "denoise-m2"
    assert again.model_version == denoised.meta["dlmodver"]
    assert len(again.weights_sha256) == 64
    assert again.ai_generated is True
    assert "MDI" in again.inputs
    assert mdi.date.isot in again.inputs
    assert again.provenance["weights_sha256"] == again.weights_sha256
    assert again.provenance["version"] == denoised.meta["dlver"]
    assert again.weights_sha256 in again.meta["history"].replace("\n", "")  # FITS wraps long HISTORY lines
    # Still a measurement of the MDI Ni I line, in G, from SOHO; never an MDI observation.
    assert again.measurement == "magnetogram"
    assert u.allclose(again.wavelength, mdi.wavelength)
    assert again.unit == u.G
    assert again.observatory == "SOHO"
    assert again.instrument == "sunpy-dlmag denoise-m2"
    assert "sunpy-dlmag denoise-m2" in again.name
    assert again.date == mdi.date
    assert again.observer_coordinate.separation_3d(mdi.observer_coordinate) < 1 * u.km
    _assert_plots_as_a_magnetogram(again)


def test_synchronic_and_pfss_maps_read_back(mdi, denoised, tmp_path):
    # The denoised map stands in for an AI farside map: the merged map says a network took part.
    with pytest.warns(DlmagUserWarning, match="covered by no input"):
        smap, sources = synchronic_map(mdi, [denoised], shape=(45, 90), return_sources=True)
    again = _read_back(smap, tmp_path, "synchronic")
    assert type(again) is DlmagMap
    assert (again.product, again.measurement, again.ai_generated) == ("synchronic", "radial field", True)
    assert again.model is None
    assert "denoise-m2" in again.inputs
    assert again.wavelength is None
    _assert_plots_as_a_magnetogram(again, "global")

    codes = _read_back(sources, tmp_path, "sources")
    assert (codes.product, codes.measurement, codes.ai_generated) == ("synchronic-sources", "source code", False)
    assert codes.plot_settings["cmap"] == "tab10"

    gong = read_gong_synoptic(GONG_SYNOPTIC)
    open_map = open_field_map(pfss_extrapolate(gong, nrho=10, shape=(45, 90)), shape=(30, 60))
    again = _read_back(open_map, tmp_path, "open")
    assert type(again) is DlmagMap
    assert (again.product, again.measurement, again.ai_generated) == ("pfss-open-field", "open-field polarity", False)
    assert again.meta["rss"] == pytest.approx(2.5)
    assert again.plot_settings["cmap"].name == "open field"
    assert list(again.plot_settings["norm"].boundaries) == [-1.5, -0.5, 0.5, 1.5]


def test_derived_meta_states_the_product_and_drops_the_observation(mdi):
    before = copy.deepcopy(mdi.meta)
    meta = derived_meta(
        mdi.meta, product="test", measurement="magnetogram", ai_generated=False, history="a test product"
    )
    assert mdi.meta == before
    assert meta["dlprod"] == "test"
    assert meta["dlai"] is False
    assert meta["instrume"] == "sunpy-dlmag test"
    for key in ("wavelnth", "content", "datamin"):
        assert key in mdi.meta
        assert key not in meta
    assert meta["history"].splitlines()[-1].endswith("a test product")
    smap = sunpy.map.Map(np.zeros((4, 4)), meta)
    assert isinstance(smap, DlmagMap)
    assert smap.ai_generated is False
    # A product made from a product states its own keys, not those of its input.
    again = derived_meta(meta, product="other", measurement="x", ai_generated=True, history="b", bunit="")
    assert again["dlprod"] == "other"
    assert again["dlai"] is True
    assert "dlmodel" not in again


def test_import_registers_the_map_source():
    code = "import sunpy.map, sunpy_dlmag; assert sunpy.map.Map.registry[sunpy_dlmag.DlmagMap]"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, check=False).returncode == 0


def test_products_of_inputs_sunpy_knows_by_telescope_are_not_claimed_twice(mdi):
    # A GONG magnetogram header (sunpy's GONGMagnetogramMap keys on TELESCOP, IMTYPE, DTYPE).
    gong_meta = copy.deepcopy(mdi.meta)
    gong_meta.update({"telescop": "NSO-GONG", "imtype": "MAGNETIC", "dtype": "OBSERVE"})
    for key in ("instrume", "camera"):
        gong_meta.pop(key, None)
    assert type(sunpy.map.Map(mdi.data, gong_meta)).__name__ == "GONGMagnetogramMap"
    meta = derived_meta(
        gong_meta, product="denoise", measurement="magnetogram", ai_generated=True, history="x", observatory="NSO-GONG"
    )
    product = sunpy.map.Map(mdi.data, meta)
    assert type(product) is DlmagMap
    assert product.observatory == "NSO-GONG"
