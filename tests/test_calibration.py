import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from conftest import map_with, shared_path

import sunpy.map
from sunpy.map.header_helper import make_heliographic_header

from sunpy_dlmag import calibration, disk
from sunpy_dlmag.data.sample import AIA_171, EUVI_171
from sunpy_dlmag.exceptions import (
    CalibrationNotAvailableError,
    ChannelMismatchError,
    DlmagUserWarning,
    IncompleteDiskError,
    InconsistentObservationsError,
    InputMapError,
    MissingObserverError,
)


def _mu_on_disk(smap):
    """mu of each pixel from sunpy's own coordinates (independent of calibration's pixel geometry)."""
    coords = sunpy.map.all_coordinates_from_map(smap)
    rho = np.hypot(coords.Tx, coords.Ty).to_value(u.arcsec) / smap.rsun_obs.to_value(u.arcsec)
    with np.errstate(invalid="ignore"):
        return np.sqrt(1 - rho**2)


def test_sample_files_are_the_test_files(euvi_map, aia_map):
    # The package's samples and tests/data hold the same real observations.
    assert np.array_equal(sunpy.map.Map(EUVI_171).data, euvi_map.data)
    assert np.array_equal(sunpy.map.Map(AIA_171).data, aia_map.data)


def test_normalize_exposure(euvi_map, aia_map):
    before = euvi_map.data.copy()
    rate = calibration.normalize_exposure(euvi_map)
    # Level 0.5 EUVI: bias not subtracted on board or on the ground (OFFSETCR = 0).
    expected = (euvi_map.data - euvi_map.meta["biasmean"]) / euvi_map.meta["exptime"]
    np.testing.assert_allclose(rate.data, expected, rtol=1e-5, atol=1e-4)
    assert rate.unit == u.DN / u.s
    assert np.array_equal(euvi_map.data, before)
    # The off-disk sky of a bias-subtracted image is near 0 DN/s (it was ~722 DN before).
    corner = rate.data[:5, :5]
    assert abs(np.median(corner)) < 1.0
    np.testing.assert_allclose(
        calibration.normalize_exposure(aia_map).data, aia_map.data / aia_map.meta["exptime"], rtol=1e-5
    )
    # Already in DN/s: unchanged; normalising twice changes nothing.
    np.testing.assert_allclose(calibration.normalize_exposure(rate).data, rate.data)
    # Bias already subtracted: only the exposure.
    done = map_with(euvi_map, offsetcr=725.0)
    np.testing.assert_allclose(
        calibration.normalize_exposure(done).data, euvi_map.data / euvi_map.meta["exptime"], rtol=1e-5
    )


def test_normalize_exposure_errors(euvi_map, mdi_map):
    with pytest.raises(InputMapError, match="Expected an EUV map"):
        calibration.normalize_exposure(mdi_map)
    with pytest.raises(InputMapError, match="no positive exposure time"):
        calibration.normalize_exposure(map_with(euvi_map, exptime=0.0))


def test_full_disk_check(euvi_map, aia_map, mdi_map):
    for smap in (euvi_map, aia_map, mdi_map):
        disk.check_full_disk(smap)
    half = euvi_map.submap([0, 0] * u.pix, top_right=[127, 63] * u.pix)
    with pytest.raises(IncompleteDiskError, match="does not hold the whole solar disk"):
        disk.check_full_disk(half)
    holes = euvi_map.data.copy()
    holes[40:90, 40:90] = np.nan
    with pytest.raises(IncompleteDiskError, match=r"on-disk pixels .* are finite"):
        disk.check_full_disk(sunpy.map.Map(holes, euvi_map.meta))


def test_derived_factor_is_the_packaged_one(euvi_map, aia_map):
    derived = calibration.derive_calibration(euvi_map, aia_map)
    packaged = calibration.get_calibration("STEREO A", 171 * u.AA)
    assert derived.scale == pytest.approx(packaged.scale, rel=1e-9)
    assert derived.exponent == packaged.exponent == 1
    assert packaged.date_start.startswith("2011-02-15")
    assert "secchi_l0_a.fits" in packaged.source
    assert derived.observatory == "STEREO_A"
    assert derived.wavelength == 171 * u.AA
    assert derived.aia_wavelength == 171 * u.AA


def test_factor_from_an_independent_computation(euvi_map, aia_map):
    # The same quantile matching with sunpy's coordinates for mu, and the exposure read by hand.
    quantiles = np.linspace(0.05, 0.95, 19)
    values = []
    for smap, bias in ((euvi_map, euvi_map.meta["biasmean"]), (aia_map, 0.0)):
        rate = (smap.data - bias) / smap.meta["exptime"]
        keep = (_mu_on_disk(smap) >= 0.3) & (rate > 0)
        values.append(np.quantile(rate[keep], quantiles))
    expected = np.exp(np.mean(np.log(values[1] / values[0])))
    derived = calibration.derive_calibration(euvi_map, aia_map)
    assert derived.scale == pytest.approx(expected, rel=0.01)
    # AIA records about a quarter more DN/s than EUVI-A in 171 in 2011.
    assert 1.1 < derived.scale < 1.4


@pytest.mark.filterwarnings("ignore:rsun mismatch")  # 695700 vs 696000 km: 0.04 %
def test_factor_agrees_with_the_co_observed_surface(euvi_map, aia_map):
    # STEREO-A (87 deg west) and SDO both see a band of the surface between them: put both
    # images on one Carrington grid and compare the same places, seen at mu > 0.5 by both.
    header = make_heliographic_header(aia_map.date, aia_map.observer_coordinate, (180, 360), frame="stonyhurst")
    maps = [calibration.normalize_exposure(m).reproject_to(header) for m in (euvi_map, aia_map)]
    coords = sunpy.map.all_coordinates_from_map(maps[0])
    surface = SkyCoord(coords.lon, coords.lat, 695700 * u.km, frame=coords.frame).cartesian.xyz.to_value(u.km)
    normal = surface / np.linalg.norm(surface, axis=0)
    both = np.isfinite(maps[0].data) & np.isfinite(maps[1].data)
    for smap in (euvi_map, aia_map):
        observer = smap.observer_coordinate.transform_to(coords.frame).cartesian.xyz.to_value(u.km)
        sight = observer[:, np.newaxis, np.newaxis] - surface
        mu = (normal * sight / np.linalg.norm(sight, axis=0)).sum(axis=0)
        both &= mu > 0.5
    assert both.sum() > 1000
    co_observed = np.median(maps[1].data[both]) / np.median(maps[0].data[both])
    derived = calibration.derive_calibration(euvi_map, aia_map)
    assert derived.scale == pytest.approx(co_observed, rel=0.15)


def test_power_law_fit(euvi_map, aia_map):
    fitted = calibration.derive_calibration(euvi_map, aia_map, fit_exponent=True)
    single = calibration.derive_calibration(euvi_map, aia_map)
    assert fitted.exponent != 1
    assert fitted.scatter < single.scatter
    values = np.array([50.0, 100.0, 300.0], dtype=np.float32)
    np.testing.assert_allclose(fitted.inverse(fitted.apply(values)), values, rtol=1e-4)
    np.testing.assert_allclose(fitted.apply(values), fitted.scale * values**fitted.exponent, rtol=1e-5)
    np.testing.assert_allclose(single.apply(values), single.scale * values, rtol=1e-6)


def test_cross_calibrate(euvi_map):
    out = calibration.cross_calibrate(euvi_map)
    rate = calibration.normalize_exposure(euvi_map)
    np.testing.assert_allclose(out.data, rate.data * calibration.get_calibration("STEREO_A", 171 * u.AA).scale)
    assert out.unit == u.DN / u.s
    assert "cross-calibrated to AIA-equivalent intensity" in out.meta["history"]
    assert out.observer_coordinate.lon == euvi_map.observer_coordinate.lon


def test_not_available(euvi_map):
    with pytest.raises(CalibrationNotAvailableError, match="STEREO_B EUVI 171") as err:
        calibration.get_calibration("STEREO_B", 171 * u.AA)
    message = str(err.value)
    assert "derive_calibration(euvi_map, aia_map)" in message
    assert "calibrate=False" in message
    with pytest.raises(CalibrationNotAvailableError, match="STEREO_A EUVI 304"):
        calibration.cross_calibrate(map_with(euvi_map, wavelnth=304))
    table = calibration.calibration_table()
    assert len(table) == 6
    for row in table:
        assert row["source"]
        assert np.ma.is_masked(row["scale"]) == row["source"].startswith("not available")


def test_date_warning(euvi_map):
    packaged = calibration.get_calibration("STEREO_A", 171 * u.AA)
    packaged.check_date("2011-06-01")  # within a year: silent
    with pytest.warns(DlmagUserWarning, match="derived from data of 2011-02-15"):
        packaged.check_date("2014-06-01")


def test_derive_errors(euvi_map, aia_map):
    with pytest.raises(ChannelMismatchError, match="euvi_map must be an EUVI image"):
        calibration.derive_calibration(aia_map, euvi_map)
    with pytest.raises(ChannelMismatchError, match="not corresponding passbands"):
        calibration.derive_calibration(euvi_map, map_with(aia_map, wavelnth=193))
    late = map_with(aia_map, **{"date-obs": "2011-02-15T03:00:00", "t_obs": None})
    with pytest.raises(InconsistentObservationsError, match="apart"):
        calibration.derive_calibration(euvi_map, late)
    with pytest.raises(IncompleteDiskError):
        calibration.derive_calibration(euvi_map.submap([0, 0] * u.pix, top_right=[127, 63] * u.pix), aia_map)
    no_observer = {
        k: None
        for k in euvi_map.meta
        if k.endswith("_obs") and k[:3] in ("hgl", "crl", "dsu", "hci", "hae", "hee", "heq")
    }
    with pytest.raises(MissingObserverError):
        calibration.derive_calibration(map_with(euvi_map, **no_observer), aia_map)
    with pytest.raises(ValueError, match="quantiles"):
        calibration.derive_calibration(euvi_map, aia_map, quantiles=[0.5])


EIT_LEVEL1 = shared_path("euv", "eit_l1_20020625_100011.fits")
EIT_LEVEL0 = shared_path("euv", "eit_20040301_hourly", "efz20040301.000010_s.fits")
SWAP = shared_path("euv", "swap_lv1_20120101_001607.fits")


@pytest.mark.skipif(None in (EIT_LEVEL1, EIT_LEVEL0, SWAP), reason="real EIT and SWAP files of shared/data")
def test_eit_counts_per_pixel_and_swap_dn_per_second_per_pixel_are_intensities():
    # SWAP level 1: 'DN/s/pixel', a rate as it is.
    swap = sunpy.map.Map(SWAP)
    rate = calibration.normalize_exposure(swap)
    assert rate.unit == u.DN / u.s
    np.testing.assert_array_equal(rate.data, swap.data.astype(np.float32))
    # EIT level 1 (eit_prep): 'counts / pixel', but its history says the counts are per second.
    eit = sunpy.map.Map(EIT_LEVEL1)
    assert "Exposure normalized (per sec)" in eit.meta["history"]
    rate = calibration.normalize_exposure(eit)
    assert rate.unit == u.DN / u.s
    np.testing.assert_allclose(rate.data, eit.data, rtol=1e-6)
    # EIT level 0: counts in 13 s, divided by the exposure.
    raw = sunpy.map.Map(EIT_LEVEL0)
    rate = calibration.normalize_exposure(raw)
    assert raw.exposure_time == 13 * u.s
    np.testing.assert_allclose(rate.data, raw.data / 13.0, rtol=1e-6)
    assert "divided by 13 s" in rate.meta["history"]
    # Not intensities: still refused.
    with pytest.raises(InputMapError, match=r"Expected EUV intensities in DN .* has data in G"):
        calibration.normalize_exposure(map_with(swap, bunit="G"))
