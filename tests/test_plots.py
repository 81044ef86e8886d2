"""What the maps this package makes look like by default: fixed limits per product, legends for categories."""

import astropy.units as u
import matplotlib
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

import sunpy.map
from sunpy.coordinates import HeliographicStonyhurst

from sunpy_dlmag.data.sample import GONG_SYNOPTIC
from sunpy_dlmag.io import read_gong_synoptic
from sunpy_dlmag.maps import MAGNETOGRAM_PLOT, magnetogram_plot_settings
from sunpy_dlmag.models import load_model
from sunpy_dlmag.pfss import open_field_map, pfss_extrapolate
from sunpy_dlmag.synchronic import disk_view, synchronic_map


def _limits(smap):
    norm = smap.plot_settings["norm"]
    return norm.vmin, norm.vmax


def test_network_outputs_share_fixed_limits_whatever_their_data(conv_onnx, mdi_map):
    # A strong and a 100 times weaker input: both outputs are shown on one scale, never
    # stretched to their own data (a weak map must look weak).
    model = load_model(conv_onnx()[0], device="cpu")
    strong = model.predict(mdi_map)
    weak = model.predict(sunpy.map.Map(mdi_map.data / 100, mdi_map.meta))
    assert np.nanmax(np.abs(weak.data)) < np.nanmax(np.abs(strong.data)) / 10
    for out in (strong, weak):
        assert out.plot_settings["cmap"] == "hmimag"
        assert _limits(out) == (-1500, 1500)


def test_global_maps_use_the_global_scale():
    gong = read_gong_synoptic(GONG_SYNOPTIC)
    observer = SkyCoord(0 * u.deg, 0 * u.deg, 1 * u.AU, frame=HeliographicStonyhurst(obstime=gong.date))
    view = disk_view(gong, observer, shape=(128, 128))
    merged = synchronic_map(view, shape=(45, 90), background=gong)
    for smap in (view, merged):
        assert smap.plot_settings["cmap"] == "gray"
        assert _limits(smap) == (-50, 50)


def test_open_field_map_has_one_colour_per_category():
    gong = read_gong_synoptic(GONG_SYNOPTIC).resample([90, 45] * u.pix)
    open_map = open_field_map(pfss_extrapolate(gong, nrho=12, rss=2.5), shape=(18, 36))
    settings = open_map.plot_settings
    colours = settings["cmap"](settings["norm"](np.array([-1, 0, 1])))
    # Three distinct colours, blue for negative open field, red for positive: not a continuous scale.
    assert len({tuple(c) for c in colours}) == 3
    assert np.allclose(colours[0], matplotlib.colors.to_rgba("tab:blue"))
    assert np.allclose(colours[2], matplotlib.colors.to_rgba("tab:red"))
    assert settings["cmap"].N == 3


@pytest.mark.parametrize("product", ["full-disk", np.zeros(3), None])
def test_unknown_products_are_rejected(product):
    with pytest.raises(ValueError, match="product must be one of"):
        magnetogram_plot_settings(product)


def test_each_product_has_symmetric_limits():
    for product in MAGNETOGRAM_PLOT:
        norm = magnetogram_plot_settings(product)["norm"]
        assert norm.vmin == -norm.vmax < 0
