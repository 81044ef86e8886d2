"""
Cutouts of any size: `denoise` of a real magnetogram's submap, whatever its shape.

Active-region cutouts are the most common input of all; until 0.1 every map under 368 px
whose side was not a multiple of 16 was refused with an error about tiles. These tests cut
real MDI (and, where ``../shared/data`` is beside the repository, HMI) maps into shapes of
1-600 px on each axis, odd and even, square and not.
"""

import warnings

import astropy.units as u
import numpy as np
import pytest
from conftest import shared_path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage

import sunpy.map

import sunpy_dlmag
from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
from sunpy_dlmag.exceptions import DlmagError
from sunpy_dlmag.models import load_model

MDI = sunpy.map.Map(MDI_MAGNETOGRAM)
RECEPTIVE_RADIUS = 176  # denoise-m2's, on its stride grid of 16 px
HMI_DISK = shared_path("magnetograms", "hmi_fulldisk_720s", "hmi.sharp_fulldisk_sample_1_TAI.magnetogram.fits")


def cutout(smap, row, col, height, width):
    """The submap of ``smap`` whose bottom-left array pixel is (row, col)."""
    with warnings.catch_warnings():
        # sunpy's own warning for a cutout wholly off the disk (all NaN).
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        return smap.submap([col, row] * u.pix, top_right=[col + width - 1, row + height - 1] * u.pix)


@pytest.fixture(scope="module")
def denoiser():
    return load_model("denoise-m2", device="cpu")


@pytest.fixture(scope="module")
def whole_disk(denoiser):
    return sunpy_dlmag.denoise(MDI, model=denoiser, progress=False)


@pytest.mark.parametrize("side", [100, 250, 300])
def test_square_active_region_cutouts_from_the_issue(denoiser, side):
    sub = cutout(MDI, 400, 400, side, side)
    before = sub.data.copy()
    out = sunpy_dlmag.denoise(sub, model=denoiser, progress=False)
    assert out.data.shape == (side, side)
    assert out.wcs.wcs.compare(sub.wcs.wcs)
    np.testing.assert_array_equal(sub.data, before)
    assert sunpy_dlmag.noise_level(out) < 0.75 * sunpy_dlmag.noise_level(sub)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    height=st.integers(1, 600),
    width=st.integers(1, 600),
    row=st.integers(0, 1023),
    col=st.integers(0, 1023),
)
def test_any_cutout_shape_is_denoised_on_its_own_grid(denoiser, height, width, row, col):
    row, col = min(row, 1024 - height), min(col, 1024 - width)
    sub = cutout(MDI, row, col, height, width)
    assert sub.data.shape == (height, width)
    finite = np.isfinite(sub.data)
    if not finite.any():
        with pytest.raises(DlmagError, match="NaN"):
            sunpy_dlmag.denoise(sub, model=denoiser, progress=False)
        return
    out = sunpy_dlmag.denoise(sub, model=denoiser, progress=False)
    assert out.data.shape == (height, width)
    np.testing.assert_array_equal(np.isfinite(out.data), finite)
    if finite.sum() > 1:
        # What the network removes is noise, not the field: at most a few tens of G per pixel.
        assert np.nanpercentile(np.abs(out.data - sub.data), 99) < 100


def test_cutout_interior_equals_the_whole_disk_result(denoiser, whole_disk):
    # On the stride grid and further than the receptive radius from the cutout's edges, the
    # network sees the same pixels as in the whole disk: the padding inside must not show.
    row, col, height, width = 320, 304, 401, 389
    out = sunpy_dlmag.denoise(cutout(MDI, row, col, height, width), model=denoiser, progress=False)
    inner = np.s_[RECEPTIVE_RADIUS : height - RECEPTIVE_RADIUS, RECEPTIVE_RADIUS : width - RECEPTIVE_RADIUS]
    whole = whole_disk.data[row : row + height, col : col + width]
    assert out.data[inner].size > 1000
    np.testing.assert_allclose(out.data[inner], whole[inner], atol=0.05)


def test_explicit_tile_size_larger_than_an_odd_cutout(denoiser):
    sub = cutout(MDI, 450, 450, 123, 77)
    default = sunpy_dlmag.denoise(sub, model=denoiser, progress=False)
    tiled = sunpy_dlmag.denoise(sub, model=denoiser, tile_size=200, progress=False)
    np.testing.assert_array_equal(tiled.data, default.data)


@pytest.mark.skipif(HMI_DISK is None, reason="the HMI full disks of ../shared/data are not here")
@pytest.mark.parametrize("shape", [(100, 100), (250, 250), (211, 347)])
def test_real_hmi_active_region_cutouts(shape):
    disk = sunpy.map.Map(HMI_DISK)
    # The strongest field in 16-px blocks well inside the limb: an active region, cut out as a
    # user would (the strongest single pixels are saturated ones at the limb).
    blocks = np.abs(disk.data).reshape(256, 16, 256, 16).mean(axis=(1, 3))
    inside = ndimage.binary_erosion(np.isfinite(blocks), iterations=16)
    row, col = np.unravel_index(np.argmax(np.where(inside, blocks, 0)), blocks.shape)
    height, width = shape
    sub = cutout(disk, row * 16 + 8 - height // 2, col * 16 + 8 - width // 2, height, width)
    assert np.isfinite(sub.data).all()
    out = sunpy_dlmag.denoise(sub, progress=False)
    assert out.data.shape == shape
    assert "denoise-m2-hmi" in out.meta["history"]
    strong = np.abs(sub.data) > 500
    assert strong.any()
    # The active region is kept: strong-field pixels change by a few percent at most.
    assert np.median(np.abs(out.data[strong] - sub.data[strong]) / np.abs(sub.data[strong])) < 0.05
