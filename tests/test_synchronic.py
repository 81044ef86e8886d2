"""synchronic_map and disk_view, on the real 2018-11-06 GONG map, the real MDI magnetogram and built cases."""

import copy

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS
from reproject import reproject_adaptive, reproject_interp
from sunkit_magex.pfss import Input
from sunkit_magex.pfss.utils import is_cea_map, is_full_sun_synoptic_map

import sunpy.map
from sunpy.coordinates import HeliographicCarrington, HeliographicStonyhurst
from sunpy.map.header_helper import make_heliographic_header
from sunpy.sun.models import differential_rotation

from sunpy_dlmag.data.sample import GONG_SYNOPTIC
from sunpy_dlmag.exceptions import DlmagUserWarning, InputMapError, InvalidArgumentError, MissingObserverError
from sunpy_dlmag.io import read_gong_synoptic
from sunpy_dlmag.synchronic import CODE_BACKGROUND, CODE_NONE, disk_view, source_legend, synchronic_map

VIEW_LONGITUDES = (0, 90, 180, -90)  # Stonyhurst longitudes of the observers


def _observer(lon, time, lat=4):
    return SkyCoord(lon * u.deg, lat * u.deg, 1 * u.AU, frame=HeliographicStonyhurst(obstime=time))


def _carrington(smap, shape=(180, 360), method=reproject_interp):
    """``smap`` on the output grid of synchronic_map (longitude 0 at the left edge), at its own time."""
    header = make_heliographic_header(
        smap.reference_date, smap.observer_coordinate, shape, frame="carrington", projection_code="CEA",
        map_center_longitude=180 * u.deg,
    )  # fmt: skip
    data, _ = method((smap.data, smap.wcs), WCS(header), shape_out=shape)
    return data


def _lat_lon(shape=(180, 360)):
    lat = np.rad2deg(np.arcsin((np.arange(shape[0]) + 0.5) / (shape[0] / 2) - 1))
    lon = (np.arange(shape[1]) + 0.5) * 360 / shape[1]
    return lat, lon


def _carrington_lon(observer):
    return observer.transform_to(HeliographicCarrington(observer="self", obstime=observer.obstime)).lon.to_value(u.deg)


def _field_map(data, time="2018-11-06T12:00"):
    """A global Carrington CEA map of the given radial field (G), longitude 0 at the left edge."""
    header = make_heliographic_header(
        time, _observer(0, time), data.shape, frame="carrington", projection_code="CEA",
        map_center_longitude=180 * u.deg,
    )  # fmt: skip
    header["bunit"] = "G"
    return sunpy.map.Map(data.astype(np.float32), header)


@pytest.fixture(scope="module")
def gong():
    return read_gong_synoptic(GONG_SYNOPTIC)


@pytest.fixture(scope="module")
def views(gong):
    """Line-of-sight disk views of the GONG map from four observers 90 degrees apart."""
    return [disk_view(gong, _observer(lon, gong.date), shape=(512, 512)) for lon in VIEW_LONGITUDES]


def test_round_trip_recovers_the_global_map(gong, views):
    with pytest.warns(DlmagUserWarning, match="covered by no input"):  # the poles
        smap, sources = synchronic_map(views[0], views[1:], return_sources=True)
    assert smap.data.shape == (180, 360)
    assert smap.unit == u.G
    assert is_cea_map(smap)
    assert is_full_sun_synoptic_map(smap)
    reference = _carrington(gong, method=reproject_adaptive)
    observed = np.isfinite(smap.data) & np.isfinite(reference)
    assert observed.mean() > 0.9
    assert np.corrcoef(smap.data[observed], reference[observed])[0, 1] > 0.98
    # Flux is radial: B_los / mu undoes B_r mu.
    assert np.median(np.abs(smap.data[observed])) == pytest.approx(np.median(np.abs(reference[observed])), rel=0.1)
    # Every pixel comes from the view whose observer is nearest in longitude (at the equator).
    lat, _lon = _lat_lon()
    equator = np.argmin(np.abs(lat))
    for code, view in enumerate(views, start=1):
        column = int(_carrington_lon(view.observer_coordinate) // 1)
        assert sources.data[equator, column] == code
    assert np.all(sources.data[~np.isfinite(smap.data)] == CODE_NONE)
    legend = source_legend(sources)
    assert set(legend) == {0, 1, 2, 3, 4}
    assert all(legend[c].startswith("observed: ") for c in range(1, 5))
    assert "90.0 deg" in legend[2]


def test_ai_maps_are_marked_and_inputs_left_alone(views):
    farside = copy.deepcopy(views[2])
    farside.meta["dlmodel"] = "aisfm-v2"
    farside.meta["dlai"] = True
    farside.meta["dlinput"] = "STEREO A SECCHI EUVI"
    before = (farside.data.copy(), copy.deepcopy(farside.meta))
    with pytest.warns(DlmagUserWarning):
        smap, sources = synchronic_map(views[0], [farside], return_sources=True)
    np.testing.assert_array_equal(farside.data, before[0])
    assert farside.meta == before[1]
    legend = source_legend(sources)
    assert legend[1].startswith("observed: ")
    assert legend[2].startswith("AI-generated: model aisfm-v2 from STEREO A SECCHI EUVI")
    ai_codes = [code for code, text in legend.items() if text.startswith("AI-generated")]
    ai = np.isin(sources.data, ai_codes)
    assert 0.2 < ai.mean() < 0.5
    assert smap.meta["dlai"] is True
    assert "aisfm-v2" in smap.meta["history"]
    # A published AISFM product of unknown version: its header says a network made it, nothing more.
    product = copy.deepcopy(views[2])
    product.meta["dlai"] = True
    with pytest.warns(DlmagUserWarning):
        _, sources = synchronic_map(views[0], [product], return_sources=True)
    assert source_legend(sources)[2].startswith("AI-generated: ")


def test_uniform_radial_field_comes_back_uniform():
    # 100 G radial everywhere: every view sees 100 mu G, the merged map 100 G.
    global_map = _field_map(np.full((90, 180), 100.0))
    views = [disk_view(global_map, _observer(lon, global_map.date), shape=(256, 256)) for lon in (0, 120, -120)]
    with pytest.warns(DlmagUserWarning):
        smap = synchronic_map(views[0], views[1:], shape=(90, 180))
    values = smap.data[np.isfinite(smap.data)]
    assert np.median(values) == pytest.approx(100, rel=1e-3)
    # Near the limb cut-off the field seen averaged over a pixel is divided by mu at its centre.
    assert np.percentile(np.abs(values - 100), 98) < 2
    np.testing.assert_allclose(values, 100, rtol=0.05)
    # disk_view with los=False gives the radial field itself.
    radial = disk_view(global_map, _observer(0, global_map.date), shape=(64, 64), los=False)
    np.testing.assert_allclose(radial.data[np.isfinite(radial.data)], 100, rtol=1e-3)


def test_background_fills_what_no_view_covers(gong, views):
    smap, sources = synchronic_map(views[0], background=gong, return_sources=True)  # no warning
    assert np.isfinite(smap.data).all()
    filled = sources.data == CODE_BACKGROUND
    assert 0.5 < filled.mean() < 0.7
    np.testing.assert_allclose(smap.data[filled], _carrington(gong)[filled], rtol=1e-5, atol=1e-4)
    assert source_legend(sources)[CODE_BACKGROUND].startswith("background: NSO-GONG")
    # A complete map is a valid sunkit-magex input as it is.
    Input(smap, 5, 2.5)


def test_one_view_limb_cutoff_and_warning(mdi_map):
    # The real MDI magnetogram: covered is the cap mu >= limb_cutoff around the observer's
    # central meridian, (1 - cutoff) / 2 of the sphere for a distant observer.
    for cutoff in (0.2, 0.5):
        with pytest.warns(DlmagUserWarning, match=r"covered by no input map, including \d+ of 360 longitude"):
            smap = synchronic_map(mdi_map, limb_cutoff=cutoff)
        covered = np.isfinite(smap.data)
        assert covered.mean() == pytest.approx((1 - cutoff) / 2, abs=0.01)
    lat, lon = _lat_lon()
    centre = _carrington_lon(mdi_map.observer_coordinate)
    distance = np.abs((lon - centre + 180) % 360 - 180)
    row = covered[np.argmin(np.abs(lat))]
    assert distance[row].max() <= 61
    assert distance[~row].min() >= 59
    assert smap.date == mdi_map.reference_date


def test_differential_rotation_to_a_common_time():
    # Two spots on Carrington longitude 200, at the equator and at 45 degrees, seen 10 days before
    # the requested time: the Howard model moves them by its rate minus the Carrington rate.
    lat, lon = _lat_lon()
    data = np.zeros((180, 360))
    for spot_lat in (0, 45):
        data += 100 * np.exp(-(((lon[None] - 200) / 3) ** 2 + ((lat[:, None] - spot_lat) / 3) ** 2))
    global_map = _field_map(data)
    view = disk_view(global_map, _observer(-20, global_map.date, lat=0), shape=(512, 512))
    later = global_map.date + 10 * u.day
    with pytest.warns(DlmagUserWarning):
        fixed = synchronic_map(view)
    with pytest.warns(DlmagUserWarning):
        rotated = synchronic_map(view, time=later)
    assert rotated.date == later
    for spot_lat in (0, 45):
        rows = slice(np.argmin(np.abs(lat - spot_lat)) - 3, np.argmin(np.abs(lat - spot_lat)) + 4)
        centroids = []
        for smap in (fixed, rotated):
            profile = np.nan_to_num(smap.data[rows]).sum(axis=0)
            centroids.append((profile * lon).sum() / profile.sum())
        carrington_rate = 360 * u.deg / (25.38 * u.day)
        expected = (differential_rotation(10 * u.day, spot_lat * u.deg) - 10 * u.day * carrington_rate).to_value(u.deg)
        assert centroids[0] == pytest.approx(200, abs=0.3)
        assert centroids[1] - centroids[0] == pytest.approx(expected, abs=0.5)


def test_bad_inputs(gong, views, mdi_map, aia_map):
    with pytest.raises(InputMapError, match="at least one disk map"):
        synchronic_map([])
    with pytest.raises(InputMapError, match="helioprojective"):
        synchronic_map(gong)
    with pytest.raises(InputMapError, match=r"input map 2.*in G"):
        synchronic_map(views[0], [aia_map])
    no_observer = copy.deepcopy(mdi_map.meta)
    for key in list(no_observer):
        if key.endswith("_obs") or key.startswith("obs_"):
            no_observer.pop(key)
    with pytest.raises(MissingObserverError):
        synchronic_map(sunpy.map.Map(mdi_map.data, no_observer))
    with pytest.raises(InputMapError, match="a map or a sequence"):
        synchronic_map(views[0], farside="map.fits")
    for shape in ((180,), (180, 2), (180.0, 360)):
        with pytest.raises(ValueError, match="shape"):
            synchronic_map(views[0], shape=shape)
    for cutoff in (0, 1, -0.1):
        with pytest.raises(ValueError, match="limb_cutoff"):
            synchronic_map(views[0], limb_cutoff=cutoff)
    with pytest.raises(InputMapError, match="full-Sun heliographic"):
        synchronic_map(views[0], background=views[1])
    half = gong.submap([0, 0] * u.pix, top_right=[179, 179] * u.pix)
    with pytest.raises(InputMapError, match="360 degrees"):
        synchronic_map(views[0], background=half)
    unitless = sunpy.map.Map(gong.data, {**gong.meta, "bunit": "DN"})
    with pytest.raises(InputMapError, match="in G"):
        synchronic_map(views[0], background=unitless)
    with pytest.raises(InputMapError, match="sources map"):
        source_legend(gong)
    with pytest.raises(InvalidArgumentError, match="obstime"):
        disk_view(gong, SkyCoord(0 * u.deg, 0 * u.deg, 1 * u.AU, frame="heliographic_stonyhurst"))
    with pytest.raises(InputMapError, match="heliographic"):
        disk_view(mdi_map, _observer(0, mdi_map.date))
