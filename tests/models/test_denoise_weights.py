"""The shipped denoise-m2 weights on real magnetograms they were not trained on.

Training used the northern half of the bundled 2010-10-15 MDI disk (2x2 binned), an HMI
SHARP cutout of AR 11158 and an MDI cutout of AR 11101 (tools/denoise_data.py); the
southern half of the MDI disk, with its active region, and the HMI cutout of AR 11101
(tests/data) are held out.
"""

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from conftest import DATA
from scipy import ndimage

import sunpy.map

import sunpy_dlmag
from sunpy_dlmag.denoise import quiet_sun_mask
from sunpy_dlmag.metrics import pixel_area_on_sphere
from sunpy_dlmag.models import get_model, load_model, sha256sum
from sunpy_dlmag.models.registry import WEIGHTS_DIR

SOUTH = np.s_[:496]  # rows of the MDI disk never used in training
# What the model card promises: under 5 % (measured -2.7 % on MDI, +0.3 % on HMI).
STRONG_FLUX_TOLERANCE = 0.05


@pytest.fixture(scope="module")
def model():
    return load_model("denoise-m2", device="cpu")


@pytest.fixture(scope="module")
def mdi_pair(model):
    import warnings

    from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdi = sunpy.map.Map(MDI_MAGNETOGRAM)
    return mdi, sunpy_dlmag.denoise(mdi, model=model)


def _ar_box(data, size=128):
    strength = ndimage.uniform_filter(np.abs(np.nan_to_num(data)), 15)
    y, x = np.unravel_index(np.argmax(strength), data.shape)
    return np.s_[y - size // 2 : y + size // 2, x - size // 2 : x + size // 2]


def test_shipped_weights_are_registered_and_verified(model):
    spec = get_model("denoise-m2")
    assert spec.weights.bundled == "denoise-m2.onnx"
    assert sha256sum(WEIGHTS_DIR / spec.weights.bundled) == spec.weights.sha256 == model.sha256
    assert spec.geometry.tile_safe
    assert spec.scores
    assert "MDI" in spec.training_data
    assert "held out" in spec.training_data


def test_noise_level_halves_on_held_out_mdi(mdi_pair):
    mdi, clean = mdi_pair
    quiet = quiet_sun_mask(mdi)
    quiet[496:] = False
    before = sunpy_dlmag.noise_level(mdi, region=quiet)
    after = sunpy_dlmag.noise_level(clean, region=quiet)
    assert after < before / 2


def test_strong_fields_survive_on_held_out_mdi(mdi_pair):
    mdi, clean = mdi_pair
    original, cleaned = mdi.data[SOUTH], clean.data[SOUTH]
    area = pixel_area_on_sphere(mdi).to_value(u.cm**2)[SOUTH]
    strong = (np.abs(original) > 100) & np.isfinite(cleaned)
    flux_in = np.sum(np.abs(original[strong]) * area[strong])
    flux_out = np.sum(np.abs(cleaned[strong]) * area[strong])
    assert abs(flux_out / flux_in - 1) < STRONG_FLUX_TOLERANCE
    box = _ar_box(original)
    assert np.corrcoef(original[box].ravel(), cleaned[box].ravel())[0, 1] > 0.98


def test_what_is_removed_looks_like_noise(mdi_pair):
    mdi, clean = mdi_pair
    residual = (mdi.data - clean.data)[SOUTH]
    smooth = ndimage.gaussian_filter(np.nan_to_num(mdi.data), 3)[SOUTH]
    finite = np.isfinite(residual)
    assert abs(np.corrcoef(residual[finite], smooth[finite])[0, 1]) < 0.1


def test_held_out_hmi_active_region(model):
    hmi = fits.getdata(DATA / "hmi.b_720s.20100830_173600_TAI.b_hmi_los_0.fits").astype(np.float32)
    clean = model.predict_array(hmi)
    strong = np.abs(hmi) > 100
    assert abs(np.abs(clean[strong]).sum() / np.abs(hmi[strong]).sum() - 1) < STRONG_FLUX_TOLERANCE
    box = _ar_box(hmi)
    assert np.corrcoef(hmi[box].ravel(), clean[box].ravel())[0, 1] > 0.99
    # HMI is four times less noisy than MDI, so any shrinking of strong fields stands out here.
    smooth = ndimage.gaussian_filter(hmi, 3)
    assert abs(np.corrcoef((hmi - clean).ravel(), smooth.ravel())[0, 1]) < 0.1


def test_tiles_agree_with_the_whole_disk(model, mdi_pair):
    mdi, clean = mdi_pair
    # Tiles with their default margins (the receptive radius), on the 1024-px disk that runs whole.
    tiled = model.predict_array(mdi.data, tile_size=704, sign_symmetric=True)
    both = np.isfinite(clean.data)
    assert np.abs(tiled[both] - clean.data[both]).max() < 0.05


def _map_of(data, *, date, scale_arcsec):
    """A disk-centre helioprojective map of ``data`` for an Earth observer (for arrays without a WCS)."""
    from astropy.coordinates import SkyCoord

    from sunpy.coordinates import Helioprojective, get_earth
    from sunpy.map.header_helper import make_fitswcs_header

    frame = Helioprojective(observer=get_earth(date), obstime=date)
    header = make_fitswcs_header(
        data, SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=frame), scale=[scale_arcsec] * 2 * u.arcsec / u.pix, unit="G"
    )
    return sunpy.map.Map(data, header)


@pytest.mark.parametrize(
    ("model_name", "sigma", "window", "coverage"),
    [
        # The held-out southern half of the bundled MDI disk, 2x2 binned, + 12 G (the model card's
        # test): one sigma holds 68 % of a Gaussian error (the uncalibrated spread held 17 %).
        ("denoise-m2", 12.0, "mdi-south", (0.6, 0.78)),
        # The held-out HMI 720-s cutout of AR 11101 in tests/data, + 10 G (a 45-s magnetogram's
        # noise). The HMI calibration is made for real, partly correlated noise, whose errors are
        # larger: with white noise it is conservative (tests/models/test_denoise_hmi_weights.py
        # checks 68 % with the correlated kind).
        ("denoise-m2-hmi", 10.0, "hmi-ar11101", (0.68, 0.9)),
    ],
)
def test_calibrated_uncertainty_covers_the_error_of_held_out_data(model_name, sigma, window, coverage):
    from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM

    if window == "mdi-south":
        mdi = sunpy.map.Map(MDI_MAGNETOGRAM)
        truth = mdi.data[SOUTH].astype(np.float32).reshape(248, 2, 512, 2).mean(axis=(1, 3))
        scale = 2 * mdi.scale.axis1.to_value(u.arcsec / u.pix)
        date = mdi.date
    else:
        truth = fits.getdata(DATA / "hmi.b_720s.20100830_173600_TAI.b_hmi_los_0.fits").astype(np.float32)
        scale, date = 0.5, "2010-08-30T17:36:00"
    noisy = truth + np.random.default_rng(0).normal(0, sigma, truth.shape).astype(np.float32)
    out = sunpy_dlmag.denoise(
        _map_of(noisy, date=date, scale_arcsec=scale),
        model=model_name,
        uncertainty=True,
        progress=False,
    )
    error, sigma_map = out.data - truth, out.uncertainty.array
    finite = np.isfinite(error) & np.isfinite(sigma_map)
    assert finite.sum() > 50_000
    low, high = coverage
    assert low < np.mean(np.abs(error[finite]) <= sigma_map[finite]) < high
