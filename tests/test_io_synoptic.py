"""Readers of the global magnetic maps, on the real 2018-11-06 GONG, HMI and ADAPT maps bundled with the package."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from reproject import reproject_interp
from scipy import ndimage
from sunkit_magex.pfss.utils import is_cea_map, is_full_sun_synoptic_map

import sunpy.map
from sunpy.coordinates import HeliographicCarrington
from sunpy.map.header_helper import make_heliographic_header

from sunpy_dlmag.data.sample import ADAPT_SYNCHRONIC, GONG_SYNOPTIC, HMI_SYNCHRONIC, MDI_MAGNETOGRAM
from sunpy_dlmag.exceptions import InputMapError
from sunpy_dlmag.io import read_adapt, read_gong_synoptic, read_hmi_synchronic


def _on_common_grid(smap, shape=(180, 360)):
    """A map on a Carrington CEA grid with longitude 0 at the left edge, at the map's own time."""
    header = make_heliographic_header(
        smap.reference_date,
        smap.observer_coordinate,
        shape,
        frame="carrington",
        projection_code="CEA",
        map_center_longitude=180 * u.deg,
    )
    data, _ = reproject_interp((smap.data, smap.wcs), WCS(header), shape_out=shape)
    return data


def _smoothed_cc(a, b):
    """CC of two field maps smoothed by 2 px and clipped at 30 G, within 60 degrees of the equator."""
    a, b = (np.clip(ndimage.gaussian_filter(np.nan_to_num(x), 2), -30, 30)[30:150] for x in (a, b))
    return np.corrcoef(a.ravel(), b.ravel())[0, 1]


@pytest.fixture(scope="module")
def gong():
    return read_gong_synoptic(GONG_SYNOPTIC)


@pytest.fixture(scope="module")
def hmi():
    return read_hmi_synchronic(HMI_SYNCHRONIC)


def test_read_gong_synoptic(gong):
    raw = fits.getdata(GONG_SYNOPTIC)
    assert gong.data.shape == (180, 360)
    assert gong.unit == u.G
    np.testing.assert_array_equal(gong.data, raw.astype(np.float32))
    assert isinstance(gong.coordinate_frame, HeliographicCarrington)
    assert is_cea_map(gong)
    assert is_full_sun_synoptic_map(gong)
    assert gong.date.isot == "2018-11-06T00:04:00.000"
    # The file name says the left edge is at Carrington longitude 166 degrees.
    left = gong.pixel_to_world(-0.5 * u.pix, 89.5 * u.pix)
    assert left.lon.to_value(u.deg) == pytest.approx(166, abs=1e-6)


def test_read_hmi_synchronic_fixes_the_header(hmi):
    header = fits.getheader(HMI_SYNCHRONIC)
    assert header["CUNIT2"] == "sin(deg)"  # the bundled file is the raw product
    assert hmi.data.shape == (360, 720)
    assert hmi.unit == u.G
    assert is_cea_map(hmi)
    assert is_full_sun_synoptic_map(hmi)
    assert hmi.scale.axis2.to_value(u.deg / u.pix) == pytest.approx(180 / np.pi * header["CDELT2"])
    assert hmi.scale.axis1.to_value(u.deg / u.pix) == pytest.approx(0.5)
    assert hmi.date.isot.startswith("2018-11-06T11:55:31")  # T_OBS 11:56:08 TAI in UTC
    # NaN where the product has no data (near the poles), as in the file.
    assert np.isnan(hmi.data).sum() == header["MISSVALS"]
    # Earth's central meridian (CRLN_OBS) sits 60 degrees from the left edge of a daily frame.
    observer = hmi.observer_coordinate.transform_to(HeliographicCarrington(observer="self", obstime=hmi.date))
    assert observer.lon.to_value(u.deg) == pytest.approx(header["CRLN_OBS"], abs=0.01)
    x_centre, _ = hmi.wcs.world_to_pixel(SkyCoord(observer.lon, 0 * u.deg, frame=hmi.coordinate_frame))
    assert (x_centre + 0.5) * 0.5 == pytest.approx(60, abs=0.5)


def test_hmi_and_gong_agree_on_carrington_longitudes(hmi, gong):
    # The two maps of the same day show the same active regions and network where they are put
    # at the same Carrington coordinates; a wrong longitude convention gives no correlation.
    assert _smoothed_cc(_on_common_grid(hmi), _on_common_grid(gong)) > 0.85


def test_read_adapt_realisations(gong):
    mean = read_adapt(ADAPT_SYNCHRONIC)
    assert mean.meta["adaptrl"] == "mean"
    assert mean.data.shape == (180, 360)
    assert mean.unit == u.G
    assert mean.coordinate_system.axis1 == "CRLN-CEA"
    assert is_full_sun_synoptic_map(mean)
    assert mean.date.isot == "2018-11-06T00:00:00.000"
    assert mean.observer_coordinate.lat.to_value(u.deg) == pytest.approx(3.888, abs=0.01)  # Earth's B0
    with fits.open(ADAPT_SYNCHRONIC) as hdul:
        n_real = hdul[0].data.shape[0]
    singles = [read_adapt(ADAPT_SYNCHRONIC, realization=k).data for k in range(n_real)]
    assert not np.array_equal(singles[0], singles[1])
    # car_to_cea is linear: the CEA map of the mean is the mean of the CEA maps.
    np.testing.assert_allclose(mean.data, np.mean(singles, axis=0), atol=1e-4)
    assert np.isfinite(mean.data).all()
    # ADAPT assimilates GONG data: it matches the GONG map of the same day.
    assert _smoothed_cc(_on_common_grid(mean), _on_common_grid(gong)) > 0.7


def test_readers_leave_the_files_alone(tmp_path):
    before = {p: p.read_bytes() for p in (GONG_SYNOPTIC, HMI_SYNCHRONIC)}
    read_gong_synoptic(GONG_SYNOPTIC)
    read_hmi_synchronic(HMI_SYNCHRONIC)
    for path, content in before.items():
        assert path.read_bytes() == content


@pytest.mark.parametrize("realization", [12, -1, "median", 1.0, True])
def test_read_adapt_bad_realization(realization):
    with pytest.raises(InputMapError, match="realization"):
        read_adapt(ADAPT_SYNCHRONIC, realization=realization)


def test_readers_reject_other_files(tmp_path):
    with pytest.raises(InputMapError, match="not a GONG synoptic map"):
        read_gong_synoptic(MDI_MAGNETOGRAM)
    with pytest.raises(InputMapError, match="not an HMI synoptic map"):
        read_hmi_synchronic(GONG_SYNOPTIC)
    with pytest.raises(InputMapError, match="not an ADAPT map"):
        read_adapt(GONG_SYNOPTIC)
    for reader in (read_gong_synoptic, read_hmi_synchronic, read_adapt):
        with pytest.raises(FileNotFoundError):
            reader(tmp_path / "missing.fits")


def test_hmi_reader_accepts_a_header_already_in_longitude(tmp_path, hmi):
    # A frame saved after reading (CRVAL1 a longitude, CDELT1 positive) reads back the same.
    path = tmp_path / "frame.fits"
    header = hmi.wcs.to_header()
    header.update({"TELESCOP": "SDO/HMI", "BUNIT": "Mx/cm^2", "DATE-OBS": hmi.date.isot, "DSUN_OBS": hmi.dsun.value})
    header.update({"CRLN_OBS": hmi.meta["crln_obs"], "CRLT_OBS": hmi.meta["crlt_obs"]})
    fits.writeto(path, hmi.data, header)
    again = read_hmi_synchronic(path)
    assert again.wcs.wcs.compare(hmi.wcs.wcs, tolerance=1e-9)
    np.testing.assert_array_equal(again.data, hmi.data)
    assert sunpy.map.Map(path).data.shape == hmi.data.shape


def test_readers_honour_fill_values_and_refuse_implausible_ones(tmp_path):
    # Issue 25: a fill value the header declares is missing data; an undeclared 1e30 is refused.
    from sunpy_dlmag.exceptions import ImplausibleValueError

    with fits.open(HMI_SYNCHRONIC) as hdul:
        hdul[0].verify("silentfix")  # its 'nan' cards, as the reader does
        header, data = hdul[0].header.copy(), hdul[0].data.astype(np.float32)
    data[180, 300] = -7777.0
    header["FILLVAL"] = -7777.0
    fits.writeto(tmp_path / "declared.fits", data, header)
    hmi = read_hmi_synchronic(tmp_path / "declared.fits")
    assert np.isnan(hmi.data[180, 300])
    del header["FILLVAL"]
    data[180, 300] = 1e30
    fits.writeto(tmp_path / "undeclared.fits", data, header)
    with pytest.raises(ImplausibleValueError, match=r"1 value\(s\) beyond \+-5000 G.*\(180, 300\)"):
        read_hmi_synchronic(tmp_path / "undeclared.fits")
    with pytest.warns(UserWarning, match="set to NaN"):
        masked = read_hmi_synchronic(tmp_path / "undeclared.fits", bad_values="mask")
    np.testing.assert_array_equal(np.isnan(masked.data), np.isnan(hmi.data))
