"""Quick-looks and figures a paper can use: north up, colorbars naming the field, AI marks, 150 dpi."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from conftest import SHARED_DATA, shared_path
from PIL import Image

import sunpy.map

from sunpy_dlmag.data.sample import GONG_SYNOPTIC
from sunpy_dlmag.exceptions import InvalidArgumentError, OutputExistsError
from sunpy_dlmag.io import read_gong_synoptic
from sunpy_dlmag.maps import derived_meta
from sunpy_dlmag.plotting import (
    DPI,
    display_map,
    field_label,
    label_panels,
    noise_plot_settings,
    plot_map,
    save_quicklook,
)

HMI = shared_path("magnetograms", "hmi_fulldisk_720s", "hmi.sharp_fulldisk_sample_3_TAI.magnetogram.fits")


def _product(smap, **keys):
    meta = derived_meta(smap.meta, history="test", **{"product": "denoise", "measurement": "magnetogram",
                                                      "ai_generated": True} | keys)  # fmt: skip
    return sunpy.map.Map(smap.data.copy(), meta)


@pytest.mark.skipif(not SHARED_DATA, reason="needs the shared HMI full disk")
def test_hmi_is_shown_north_up_and_its_data_are_untouched():
    hmi = sunpy.map.Map(HMI)
    assert np.allclose(hmi.rotation_matrix, -np.eye(2), atol=1e-3)  # stored north down, x reversed
    before = hmi.data.copy()
    shown = display_map(hmi)
    np.testing.assert_array_equal(hmi.data, before)
    assert np.allclose(shown.rotation_matrix, np.eye(2), atol=1e-6)
    assert max(shown.data.shape) <= 1100

    def pixel(tx, ty):
        return shown.wcs.world_to_pixel(SkyCoord(tx * u.arcsec, ty * u.arcsec, frame=hmi.coordinate_frame))

    assert pixel(0, 500)[1] > pixel(0, -500)[1] + 400  # north up
    assert pixel(500, 0)[0] > pixel(-500, 0)[0] + 400  # west right
    # The strongest feature away from the limb keeps its place on the Sun and its sign.
    binned = hmi.superpixel([4, 4] * u.pix, func=np.mean)
    coords = sunpy.map.all_coordinates_from_map(binned)
    inner = np.hypot(coords.Tx, coords.Ty) < 0.8 * hmi.rsun_obs
    strength = np.where(inner, np.abs(binned.data), np.nan)
    y, x = np.unravel_index(np.nanargmax(strength), strength.shape)
    px, py = (round(float(v)) for v in pixel(coords[y, x].Tx.arcsec, coords[y, x].Ty.arcsec))
    patch = shown.data[py - 2 : py + 3, px - 2 : px + 3]
    assert np.sign(patch.flat[np.nanargmax(np.abs(patch))]) == np.sign(binned.data[y, x])
    assert np.nanmax(np.abs(patch)) > 0.5 * abs(binned.data[y, x])


def test_quicklook_png_has_labels_marks_and_dpi(mdi_map, tmp_path):
    product = _product(mdi_map)
    path = save_quicklook(product, tmp_path / "out.png")
    with Image.open(path) as image:
        assert image.info["dpi"] == pytest.approx((DPI, DPI), abs=0.1)
        assert image.size[0] >= 800
    with pytest.raises(OutputExistsError, match="overwrite"):
        save_quicklook(product, path)
    axes = plot_map(product)
    assert "AI-GENERATED" in axes.get_title()
    colorbar = axes.figure.axes[-1]
    assert colorbar.get_ylabel() == r"$B_\mathrm{LOS}$ [G]"
    # An observation in G gets the package's fixed magnetogram scale, not sunpy's stretch to its data.
    image = plot_map(mdi_map).get_images()[0]
    assert (image.norm.vmin, image.norm.vmax) == (-1500, 1500)
    assert "AI-GENERATED" not in plot_map(mdi_map).get_title()


def test_noise_option_is_grey_at_100_gauss(mdi_map):
    image = plot_map(mdi_map, noise=True).get_images()[0]
    assert image.get_cmap().name == "gray"
    assert (image.norm.vmin, image.norm.vmax) == (-100, 100)
    with pytest.raises(InvalidArgumentError, match="limit"):
        noise_plot_settings(-5 * u.G)


def test_labels_name_the_quantity(mdi_map):
    assert field_label(mdi_map) == r"$B_\mathrm{LOS}$ [G]"
    assert field_label(read_gong_synoptic(GONG_SYNOPTIC)) == r"$B_r$ [G]"
    sigma = _product(mdi_map, measurement="uncertainty", ai_generated=True)
    assert field_label(sigma) == r"$\sigma$ [G]"
    synchronic = _product(mdi_map, product="synchronic", measurement="radial field", ai_generated=False)
    assert field_label(synchronic) == r"$B_r$ [G]"


def test_global_map_longitudes_do_not_read_zero_at_both_ends():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    axes = plot_map(read_gong_synoptic(GONG_SYNOPTIC))
    FigureCanvasAgg(axes.figure).draw()
    drawn = np.asarray(axes.coords[0]._ticks.world["b"])  # the longitudes ticked along the bottom
    assert drawn.size >= 3
    assert not np.any(np.isclose(drawn % 360, 0))


def test_panels_are_lettered(mdi_map):
    from matplotlib.figure import Figure

    figure = Figure()
    axes = [plot_map(mdi_map, figure=figure, position=(1, 2, i)) for i in (1, 2)]
    label_panels(axes)
    assert [ax.texts[-1].get_text() for ax in axes] == ["(a)", "(b)"]
