"""
ADAPT, GONG and HMI maps loaded the ways sunpy's gallery and sunkit-magex document work in
`pfss_extrapolate`, `synchronic_map(background=)` and `disk_view`, with the same result as the
package's own readers (issue 18).
"""

import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from conftest import shared_path

import sunpy.map
from sunpy.time import parse_time

from sunpy_dlmag.exceptions import AssumedUnitWarning
from sunpy_dlmag.io import read_adapt, read_gong_synoptic, read_hmi_synchronic
from sunpy_dlmag.pfss import pfss_extrapolate
from sunpy_dlmag.synchronic import disk_view, synchronic_map

DATA = shared_path("synoptic") or Path("shared-data-not-found")
ADAPT = DATA / "adapt40311_02e012_201811060000_i00005600n0.fts"
GONG = DATA / "mrzqs181106t0004c2210_166.fits"
HMI = DATA / "hmi.mrdailysynframe_small_720s.20181106_120000_TAI.data.fits"

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared synoptic data are not available")


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def adapt_as_sunpy_reads_it():
    """sunpy's gallery: ``sunpy.map.Map(file, hdus=0)``, the first realisation, no BUNIT."""
    return _quiet(sunpy.map.Map, ADAPT, hdus=0)


def adapt_as_sunkit_magex_converts_it():
    """sunkit-magex's example: the CAR map through ``car_to_cea`` (header: WCS and dates only)."""
    from sunkit_magex.pfss.utils import car_to_cea

    return _quiet(car_to_cea, adapt_as_sunpy_reads_it())


def hmi_as_sunkit_magex_fixes_it():
    """
    ``sunpy.map.Map`` fails on the raw file (CUNIT2 'sin(deg)'); users fix the header as
    sunkit-magex's ``fix_hmi_meta`` does (units, CDELT2 * 180/pi, CDELT1 > 0, DATE-OBS from
    T_OBS) and read it with ``sunpy.map.Map``. CRVAL1 stays in Carrington time.
    """
    with fits.open(HMI) as hdul:
        hdul[0].verify("silentfix")
        header, data = hdul[0].header.copy(), hdul[0].data.copy()
    header["CUNIT1"], header["CUNIT2"] = "deg", "deg"
    header["CDELT2"] *= 180 / np.pi
    header["CDELT1"] = abs(header["CDELT1"])
    header["DATE-OBS"] = parse_time(header["T_OBS"]).isot
    return _quiet(sunpy.map.Map, data, header)


def hmi_synoptic_chart_as_sunpy_reads_it():
    """
    A Carrington synoptic chart (``hmi.Synoptic_Mr``: CUNIT2 'Sine Latitude', CDELT2 in sine
    latitude), which ``sunpy.map.Map`` reads as `~sunpy.map.sources.HMISynopticMap`; made from
    the synchronic frame by giving it the chart's header keys.
    """
    with fits.open(HMI) as hdul:
        hdul[0].verify("silentfix")
        header, data = hdul[0].header.copy(), hdul[0].data.copy()
    header["CUNIT2"] = "Sine Latitude"
    header["CONTENT"] = "Carrington Synoptic Chart Of Mr Field"
    smap = _quiet(sunpy.map.Map, data, header)
    assert isinstance(smap, sunpy.map.sources.HMISynopticMap)
    return smap


CASES = {
    "adapt-sunpy": (adapt_as_sunpy_reads_it, lambda: read_adapt(ADAPT, realization=0), True),
    "adapt-car_to_cea": (adapt_as_sunkit_magex_converts_it, lambda: read_adapt(ADAPT, realization=0), True),
    "gong-sunpy": (lambda: _quiet(sunpy.map.Map, GONG), lambda: read_gong_synoptic(GONG), False),
    "hmi-fixed-header": (hmi_as_sunkit_magex_fixes_it, lambda: read_hmi_synchronic(HMI), False),
    "hmi-synoptic-chart": (hmi_synoptic_chart_as_sunpy_reads_it, lambda: read_hmi_synchronic(HMI), False),
}


def test_raw_hmi_synchronic_frame_fails_inside_sunpy():
    # As the errors page says: sunpy.map.Map fails while it builds the map (GenericMap's
    # _validate_meta reads spatial_units, which parses CUNIT2 'sin(deg)'), so no function of
    # this package is ever handed the map; read_hmi_synchronic reads the file in one line.
    # Should sunpy learn to read it, this fails: then let the ecosystem cases above take it too.
    with pytest.raises(ValueError, match=r"'sin\(deg\)' did not parse as unit"):
        _quiet(sunpy.map.Map, HMI)
    smap = read_hmi_synchronic(HMI)
    assert smap.spatial_units == (u.deg, u.deg)
    assert smap.date.isot.startswith("2018-11-06T11:5")


def _call(assumes_gauss, function, *args, **kwargs):
    """Call, checking the one warning about the assumed unit (and ignoring the filling of NaN)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(*args, **kwargs)
    assumed = [w for w in caught if issubclass(w.category, AssumedUnitWarning)]
    assert len(assumed) == (1 if assumes_gauss else 0), [str(w.message) for w in assumed]
    if assumed:
        assert "taken to be in G" in str(assumed[0].message)
    return result


@pytest.mark.parametrize("case", CASES)
def test_pfss_extrapolate_takes_the_ecosystems_maps(case):
    load, read, assumes_gauss = CASES[case]
    smap = load()
    ours = _quiet(pfss_extrapolate, read(), nrho=8, shape=(45, 90))
    theirs = _call(assumes_gauss, pfss_extrapolate, smap, nrho=8, shape=(45, 90))
    np.testing.assert_allclose(theirs.source_surface_br.data, ours.source_surface_br.data, rtol=1e-5, atol=1e-6)
    assert theirs.input_map.wcs.wcs.compare(ours.input_map.wcs.wcs, tolerance=1e-9)


@pytest.mark.parametrize("case", CASES)
def test_synchronic_background_and_disk_view_take_the_ecosystems_maps(case, mdi_map):
    load, read, assumes_gauss = CASES[case]
    smap, reference = load(), read()
    observer = SkyCoord(30 * u.deg, 4 * u.deg, 1 * u.AU, frame="heliographic_stonyhurst", obstime=reference.date)
    ours = _quiet(disk_view, reference, observer, shape=(64, 64))
    theirs = _call(assumes_gauss, disk_view, smap, observer, shape=(64, 64))
    np.testing.assert_allclose(theirs.data, ours.data, rtol=1e-5, atol=1e-4, equal_nan=True)
    assert np.isfinite(theirs.data).mean() > 0.5
    expected = _quiet(synchronic_map, ours, background=reference, shape=(45, 90))
    merged = _quiet(synchronic_map, ours, background=smap, shape=(45, 90))
    np.testing.assert_allclose(merged.data, expected.data, rtol=1e-5, atol=1e-4, equal_nan=True)
    _call(assumes_gauss, synchronic_map, ours, background=smap, shape=(45, 90))
