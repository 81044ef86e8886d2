import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

import sunpy.map

import sunpy_dlmag
from sunpy_dlmag.data.fetch import build_hmi_series_query
from sunpy_dlmag.exceptions import InputMapError, MissingObserverError, WeightsNotInstalledError
from sunpy_dlmag.models import load_model


@pytest.fixture
def denoiser(conv_onnx):
    path, _ = conv_onnx("tiny-denoiser", task="denoise")
    return load_model(path, device="cpu")


def _with_data(smap, data):
    return sunpy.map.Map(data, smap.meta)


def test_noise_level_of_a_real_magnetogram(mdi_map, rng):
    sigma0 = sunpy_dlmag.noise_level(mdi_map)
    assert sigma0.unit == u.G
    assert 5 * u.G < sigma0 < 25 * u.G
    # Independent Gaussian noise adds in quadrature.
    noisy = _with_data(mdi_map, mdi_map.data + rng.normal(0, 10, mdi_map.data.shape))
    expected = np.hypot(sigma0.to_value(u.G), 10)
    assert sunpy_dlmag.noise_level(noisy).to_value(u.G) == pytest.approx(expected, rel=0.05)


def test_noise_level_regions(mdi_map):
    # A quiet box near disk centre, given as world coordinates and as a mask, agree.
    corners = (
        SkyCoord(-200 * u.arcsec, 100 * u.arcsec, frame=mdi_map.coordinate_frame),
        SkyCoord(200 * u.arcsec, 400 * u.arcsec, frame=mdi_map.coordinate_frame),
    )
    from_box = sunpy_dlmag.noise_level(mdi_map, region=corners)
    bl, tr = (mdi_map.wcs.world_to_pixel(c) for c in corners)
    mask = np.zeros(mdi_map.data.shape, dtype=bool)
    mask[round(float(bl[1])) : round(float(tr[1])) + 1, round(float(bl[0])) : round(float(tr[0])) + 1] = True
    assert sunpy_dlmag.noise_level(mdi_map, region=mask) == from_box
    # Plain arrays are taken to be in G.
    assert sunpy_dlmag.noise_level(mdi_map.data, region=mask) == from_box
    with pytest.raises(InputMapError, match="boolean array"):
        sunpy_dlmag.noise_level(mdi_map, region=np.zeros((3, 3)))
    with pytest.raises(InputMapError, match="quiet-Sun pixels"):
        sunpy_dlmag.noise_level(mdi_map, region=np.zeros(mdi_map.data.shape, dtype=bool))


def test_denoise_returns_a_new_map_on_the_input_grid(denoiser, mdi_map):
    before = mdi_map.data.copy()
    out = sunpy_dlmag.denoise(mdi_map, model=denoiser)
    assert out is not mdi_map
    assert out.wcs.wcs.compare(mdi_map.wcs.wcs)
    assert out.date == mdi_map.date
    assert out.unit == u.G
    np.testing.assert_array_equal(np.isnan(out.data), np.isnan(mdi_map.data))
    assert out.meta["dlmodel"] == "tiny-denoiser"
    np.testing.assert_array_equal(mdi_map.data, before)


def test_denoise_rejects_what_is_not_a_magnetogram(denoiser, euvi_map, mdi_map):
    with pytest.raises(InputMapError, match=r"Expected a magnetogram with data in G.*unit DN"):
        sunpy_dlmag.denoise(euvi_map, model=denoiser)
    with pytest.raises(InputMapError, match="got ndarray"):
        sunpy_dlmag.denoise(mdi_map.data, model=denoiser)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="All-NaN"):
        all_nan = _with_data(mdi_map, np.full(mdi_map.data.shape, np.nan))  # sunpy warns on all-NaN data
    with pytest.raises(InputMapError, match="no finite pixel"):
        sunpy_dlmag.denoise(all_nan, model=denoiser)
    no_unit = mdi_map.meta.copy()
    no_unit.pop("bunit", None)
    header = {
        "ctype1": "HPLN-TAN", "ctype2": "HPLT-TAN", "cunit1": "arcsec", "cunit2": "arcsec",
        "cdelt1": 10.0, "cdelt2": 10.0, "crpix1": 16.5, "crpix2": 16.5, "crval1": 0.0, "crval2": 0.0,
        "date-obs": "2011-02-15T00:00:00", "bunit": "G",
    }  # fmt: skip
    with pytest.raises(MissingObserverError):
        sunpy_dlmag.denoise(sunpy.map.Map(np.ones((32, 32)), header), model=denoiser)
    with pytest.raises(ValueError, match="method must be"):
        sunpy_dlmag.denoise(mdi_map, method="median")


def test_denoise_rejects_a_model_for_another_task(conv_onnx, mdi_map):
    path, _ = conv_onnx("not-a-denoiser")
    with pytest.raises(InputMapError, match="'test' model"):
        sunpy_dlmag.denoise(mdi_map, model=path)


def test_translation_without_weights_says_how_to_build_them(mdi_map):
    with pytest.raises(WeightsNotInstalledError) as info:
        sunpy_dlmag.denoise(mdi_map, method="translation")
    message = str(info.value)
    assert "fetch_hmi_series" in message
    assert "stack_magnetograms" in message
    assert "sunpy-dlmag train denoise-m1" in message


def test_stacking_averages_noise_down(mdi_map, rng):
    frames = [_with_data(mdi_map, mdi_map.data + rng.normal(0, 20, mdi_map.data.shape)) for _ in range(4)]
    stacked = sunpy_dlmag.stack_magnetograms(frames, reference=frames[0])
    single = sunpy_dlmag.noise_level(frames[0]).to_value(u.G)
    intrinsic = sunpy_dlmag.noise_level(mdi_map).to_value(u.G)
    expected = np.hypot(intrinsic, 20 / 2)  # the added noise falls as 1/sqrt(4)
    assert sunpy_dlmag.noise_level(stacked).to_value(u.G) == pytest.approx(expected, rel=0.1)
    assert sunpy_dlmag.noise_level(stacked).to_value(u.G) < 0.75 * single
    assert "mean of 4 magnetograms" in stacked.meta["history"]


def test_stacking_follows_differential_rotation(mdi_map):
    # The same field observed one hour later has rotated west by ~0.55 deg at the equator
    # (~9.5 arcsec at disk centre); aligned to the reference time it moves back onto it.
    from skimage.registration import phase_cross_correlation

    from sunpy.map.header_helper import get_observer_meta

    later_meta = mdi_map.meta.copy()
    later_meta["date-obs"] = "2010-10-15T01:00:26.000"
    later_meta["t_obs"] = "2010-10-15T01:00:26.000"
    # The observer stays where it was (Stonyhurst); MDI's Carrington keys would co-rotate it.
    for key in ("obs_l0", "obs_b0", "obs_r0", "crln_obs", "crlt_obs"):
        later_meta.pop(key, None)
    later_meta.update(get_observer_meta(mdi_map.observer_coordinate))
    later = sunpy.map.Map(mdi_map.data, later_meta)
    stacked = sunpy_dlmag.stack_magnetograms([later, later], reference=mdi_map)
    centre = np.s_[412:612, 412:612]
    shift, _, _ = phase_cross_correlation(
        np.nan_to_num(mdi_map.data[centre]), np.nan_to_num(stacked.data[centre]), upsample_factor=20
    )
    shift_arcsec = shift[1] * mdi_map.scale.axis1.to_value(u.arcsec / u.pix)
    # Aligning a later observation to an earlier time moves features east (-x).
    assert shift_arcsec == pytest.approx(9.5, abs=1.5)
    assert abs(shift[0]) < 0.5


def test_stacking_needs_two_maps(mdi_map):
    with pytest.raises(InputMapError, match="at least two"):
        sunpy_dlmag.stack_magnetograms([mdi_map])


def test_hmi_series_query():
    query = build_hmi_series_query("2011-01-01T00:00", "2011-01-01T00:16", email="me@example.org")
    text = str(query)
    assert "hmi.M_45s" in text
    assert "me@example.org" in text
    vso = build_hmi_series_query("2011-01-01T00:00", "2011-01-01T00:16", provider="vso")
    assert "LOS_magnetic_field" in str(vso)
    with pytest.raises(ValueError, match="email"):
        build_hmi_series_query("2011-01-01", "2011-01-02")
    with pytest.raises(ValueError, match="after start"):
        build_hmi_series_query("2011-01-02", "2011-01-01", provider="vso")


def test_denoise_output_of_a_header_without_axis_units(denoiser):
    # Real binned MDI file without CUNIT: sunpy's MDI class supplies arcsec, the output map must carry them.
    from conftest import DATA

    mdi = sunpy.map.Map(DATA / "mdi_fd_M_96m_01d.5874.0005_s.fits")
    assert "cunit1" not in mdi.meta
    out = sunpy_dlmag.denoise(mdi, model=denoiser)
    assert out.spatial_units == mdi.spatial_units
    assert out.reference_date == mdi.reference_date
    np.testing.assert_allclose(out.wcs.wcs.crval, mdi.wcs.wcs.crval)


def test_the_shipped_autoencoder_is_picked_by_instrument(mdi_map):
    from conftest import DATA

    from sunpy_dlmag.denoise import _denoise_model

    hmi = sunpy.map.Map(DATA / "hmi.sharp_cea_720s.377.20110215_020000_TAI.Br.fits")
    assert _denoise_model("ae", None, "cpu", magnetogram=hmi).spec.name == "denoise-m2-hmi"
    assert _denoise_model("ae", None, "cpu", magnetogram=mdi_map).spec.name == "denoise-m2"
    # A magnetogram of another instrument gets no silent guess.
    other = sunpy.map.Map(mdi_map.data, {**mdi_map.meta, "instrume": "VSM", "camera": "VSM", "telescop": "SOLIS"})
    assert not isinstance(other, sunpy.map.sources.MDIMap)
    with pytest.raises(InputMapError, match=r"VSM.*denoise-m2-hmi for SDO/HMI; denoise-m2 for SOHO/MDI.*model="):
        sunpy_dlmag.denoise(other)
    # model= overrides the choice.
    assert _denoise_model("ae", "denoise-m2", "cpu", magnetogram=hmi).spec.name == "denoise-m2"
    # A product is not denoised again by default; the model suggested is its source's (MDI here).
    cutout = mdi_map.submap([400, 400] * u.pix, top_right=[527, 527] * u.pix)
    product = sunpy_dlmag.denoise(cutout, progress=False)
    with pytest.raises(InputMapError, match=r"product .*SOHO MDI.*model='denoise-m2'\)") as err:
        sunpy_dlmag.denoise(product)
    assert "model='denoise-m2-hmi')" not in str(err.value)


def test_symmetry_ensemble_commutes_with_rotations_and_flips(denoiser, mdi_map):
    from sunpy_dlmag.denoise import symmetry_ensemble

    data = mdi_map.data[300:428, 400:560].astype(np.float32)
    mean, spread = symmetry_ensemble(denoiser, data)
    # The ensemble of a rotated (or mirrored) image is the rotated ensemble: the 8 transforms form a group.
    for transformed, back in ((np.rot90(data), lambda a: np.rot90(a, -1)), (data[::-1], lambda a: a[::-1])):
        m2, s2 = symmetry_ensemble(denoiser, np.ascontiguousarray(transformed))
        np.testing.assert_allclose(back(m2), mean, atol=1e-3)
        np.testing.assert_allclose(back(s2), spread, atol=1e-3)
    single = denoiser.predict_array(data)
    assert np.abs(mean - single).max() > 0  # a random network is not symmetric: the copies differ
    assert (spread >= 0).all()
    assert spread.max() > 0


def test_uncertainty_is_a_stddev_map_in_gauss(denoiser, mdi_map):
    from astropy.nddata import StdDevUncertainty

    before = mdi_map.data.copy()
    with pytest.warns(sunpy_dlmag.exceptions.DlmagUserWarning, match="not calibrated"):
        out = sunpy_dlmag.denoise(mdi_map, model=denoiser, uncertainty=True)
    assert isinstance(out.uncertainty, StdDevUncertainty)
    assert out.uncertainty.unit == u.G
    sigma = out.uncertainty.array
    assert sigma.shape == out.data.shape
    np.testing.assert_array_equal(np.isnan(sigma), np.isnan(mdi_map.data))
    assert np.nanmin(sigma) >= 0
    assert "8 rotations and flips" in out.meta["history"]
    np.testing.assert_array_equal(mdi_map.data, before)


def test_cli_writes_the_uncertainty_that_read_map_reads_back(tmp_path, capsys):
    from conftest import DATA

    from sunpy_dlmag.cli import main
    from sunpy_dlmag.io import read_map

    output = tmp_path / "clean.fits"
    source = DATA / "mdi_fd_M_96m_01d.5874.0005_s.fits"
    assert main(["denoise", str(source), "--out", str(output), "--uncertainty", "--device", "cpu"]) == 0
    clean = read_map(output)
    assert clean.uncertainty.unit == u.G
    sigma = clean.uncertainty.array
    np.testing.assert_array_equal(np.isnan(sigma), np.isnan(clean.data))
    assert np.nanmedian(sigma) > 0
    # sunpy alone reads the one map, not the sigma as a second magnetogram.
    assert isinstance(sunpy.map.Map(output), sunpy_dlmag.DlmagMap)
