"""The HMI noise model measured by tools/hmi_noise_model.py and the training noise drawn from it."""

import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from sunpy_dlmag.denoise import quiet_sun_mask
from sunpy_dlmag.exceptions import ArgumentTypeError, InvalidArgumentError, MissingFileError
from sunpy_dlmag.training.noise_model import (
    NoiseModel,
    curvature,
    curvature_gain,
    high_pass,
    lag_correlation,
    robust_sigma,
)

MODEL_JSON = Path(__file__).parents[2] / "tools" / "hmi_noise_model.json"
HMI_NO_WCS = Path(__file__).parents[1] / "data" / "hmi.b_720s.20100830_173600_TAI.b_hmi_los_0.fits"


@pytest.fixture(scope="module")
def measured():
    return json.loads(MODEL_JSON.read_text())


@pytest.fixture(scope="module")
def model():
    return NoiseModel(MODEL_JSON)


def test_real_hmi_noise_is_correlated_and_white_noise_is_not():
    # The measurement itself, on the real HMI 720-s cutout of AR 11101: neighbouring pixels
    # of the high-passed quiet Sun correlate; white noise through the same steps does not.
    data = fits.getdata(HMI_NO_WCS).astype(np.float32)
    quiet = quiet_sun_mask(data)
    real = lag_correlation(high_pass(np.where(quiet, data, np.nan)), quiet)
    white = np.random.default_rng(0).normal(0, 5, data.shape).astype(np.float32)
    ones = np.ones(data.shape, bool)
    white_acf = lag_correlation(high_pass(white), ones)
    for axis in ("x", "y"):
        assert real[axis][0] > 0.4
        assert abs(white_acf[axis][0]) < 0.05


def test_generated_noise_has_the_measured_correlation(model, measured):
    noise = model.unit_noise((1024, 1024), np.random.default_rng(1))
    assert noise.std() == pytest.approx(1, rel=0.03)
    acf = lag_correlation(high_pass(noise), np.ones(noise.shape, bool))
    target = measured["correlation"]["measured_lag_correlation"]
    for axis in ("x", "y"):
        assert acf[axis][0] == pytest.approx(np.mean(target[axis][0]), abs=0.03)
        assert acf[axis][1] == pytest.approx(np.mean(target[axis][1]), abs=0.05)


def test_white_fraction_mixes_in_white_noise():
    ones = np.ones((512, 512), bool)
    lag1 = []
    for fraction in (0.0, 0.5, 1.0):
        noise = NoiseModel(MODEL_JSON, white_fraction=fraction).unit_noise(ones.shape, np.random.default_rng(4))
        assert noise.std() == pytest.approx(1, rel=0.05)
        lag1.append(lag_correlation(high_pass(noise), ones)["x"][0])
    assert lag1[0] > lag1[1] + 0.2 > lag1[2] + 0.2
    assert abs(lag1[2]) < 0.03
    with pytest.raises(InvalidArgumentError, match="white_fraction must be a number from 0 to 1"):
        NoiseModel(MODEL_JSON, white_fraction=1.5)


def test_generated_noise_follows_sigma_mu(model, measured):
    table = measured["mu_dependence"]
    mu = np.tile(np.linspace(0.05, 1, 1024, dtype=np.float32), (1024, 1))
    mu[:, :8] = np.nan  # off the disk
    noise = model.draw(mu.shape, np.random.default_rng(2), 10.0, mu=mu)
    gain = curvature_gain(measured["correlation"]["frequency"], measured["correlation"]["psd"])
    curv = curvature(noise)
    for m, rel in zip(table["mu"], table["relative_sigma"], strict=True):
        cols = np.abs(mu[0] - m) < 0.03
        # Directly, and the way the tool measured it on the disks.
        assert robust_sigma(noise[:, cols]) == pytest.approx(10 * rel, rel=0.05)
        assert robust_sigma(curv[:, cols]) / gain == pytest.approx(10 * rel, rel=0.05)


def test_generated_noise_follows_the_field_on_request(model, measured):
    table = measured["field_dependence"]
    field = np.zeros((512, 1024), np.float32)
    field[:, 512:] = table["field"][3]
    noise = NoiseModel(MODEL_JSON, field=True).draw(field.shape, np.random.default_rng(3), 10.0, field=field)
    quiet, strong = robust_sigma(noise[:, 16:496]), robust_sigma(noise[:, 528:])
    assert quiet == pytest.approx(10 * np.interp(0, table["field"], table["relative_sigma"]), rel=0.05)
    assert strong == pytest.approx(10 * table["relative_sigma"][3], rel=0.05)
    flat = model.draw(field.shape, np.random.default_rng(3), 10.0, field=field)
    assert robust_sigma(flat[:, 528:]) == pytest.approx(robust_sigma(flat[:, 16:496]), rel=0.05)


def test_noise_dataset_draws_from_the_model(model, measured):
    torch = pytest.importorskip("torch")  # noqa: F841
    from sunpy_dlmag.training.datasets import NoiseDataset

    clean = np.zeros((300, 300), np.float32)
    mu = np.full(clean.shape, 0.2, np.float32)
    common = dict(patch_size=256, patches_per_image=4, noise_sigma=(10.0, 0.0), noise_mean=(0.0, 0.0))
    white = NoiseDataset([clean], **common).draw(0)
    real = NoiseDataset([clean], noise_model=model, mu=[mu], **common).draw(0)
    ones = np.ones(clean[:256, :256].shape, bool)
    assert abs(lag_correlation(high_pass(white.noisy - white.clean), ones)["x"][0]) < 0.05
    assert lag_correlation(high_pass(real.noisy - real.clean), ones)["x"][0] > 0.5
    expected = 10 * np.interp(0.2, measured["mu_dependence"]["mu"], measured["mu_dependence"]["relative_sigma"])
    assert robust_sigma(real.noisy - real.clean) == pytest.approx(expected, rel=0.1)
    assert robust_sigma(white.noisy - white.clean) == pytest.approx(10, rel=0.1)
    with pytest.raises(InvalidArgumentError, match="one entry per magnetogram"):
        NoiseDataset([clean], noise_model=model, mu=[mu, mu], **common)
    with pytest.raises(ArgumentTypeError, match="noise_model must be a NoiseModel"):
        NoiseDataset([clean], noise_model="hmi", **common)


def test_bad_models_are_refused(measured, tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"):
        NoiseModel(tmp_path / "missing.json")
    with pytest.raises(InvalidArgumentError, match="correlation"):
        NoiseModel({"mu_dependence": measured["mu_dependence"]})
    bad = {**measured, "mu_dependence": {"mu": [1.0, 0.5], "relative_sigma": [1.0, 1.2]}}
    with pytest.raises(InvalidArgumentError, match="mu needs an increasing table"):
        NoiseModel(bad)
    with pytest.raises(InvalidArgumentError, match="mu must have the noise's shape"):
        NoiseModel(measured).draw((8, 8), np.random.default_rng(0), 10.0, mu=np.ones((4, 4)))
