"""PFSS extrapolation, open-field maps and the EUV comparison, on the real 2018-11-06 GONG and HMI maps."""

import copy
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
import sunkit_magex.pfss
from astropy.coordinates import SkyCoord
from sunkit_magex.pfss.tracing import PythonTracer

import sunpy.map
from sunpy.map.header_helper import make_fitswcs_header

from sunpy_dlmag.data.sample import GONG_SYNOPTIC, HMI_SYNCHRONIC
from sunpy_dlmag.exceptions import DlmagUserWarning, ImplausibleValueError, InputMapError
from sunpy_dlmag.io import read_gong_synoptic, read_hmi_synchronic
from sunpy_dlmag.pfss import (
    coronal_hole_overlap,
    open_field_area,
    open_field_fraction,
    open_field_map,
    pfss_extrapolate,
    source_surface_pil,
)

DATA = Path(__file__).parent / "data"
SHAPE = (90, 180)
NRHO = 20


def _block_mean(data, factor):
    ny, nx = data.shape
    return data.reshape(ny // factor, factor, nx // factor, factor).mean(axis=(1, 3))


@pytest.fixture(scope="module")
def gong():
    return read_gong_synoptic(GONG_SYNOPTIC)


@pytest.fixture(scope="module")
def output(gong):
    return pfss_extrapolate(gong, nrho=NRHO, shape=SHAPE)


@pytest.fixture(scope="module")
def open_map(output):
    return open_field_map(output, shape=(60, 120))


def test_pfss_extrapolate_is_sunkit_magex_on_the_resampled_map(gong, output):
    assert isinstance(output, sunkit_magex.pfss.Output)
    assert (output.grid.ns, output.grid.nphi, output.grid.nr, output.grid.rss) == (*SHAPE, NRHO, 2.5)
    # The input the solver got: the 2x2 block mean of the GONG map, same frame, time and centre longitude.
    np.testing.assert_allclose(output.input_map.data, _block_mean(gong.data.astype(np.float64), 2), rtol=1e-6)
    assert output.input_map.date == gong.date
    assert output.input_map.reference_coordinate.lon == gong.reference_coordinate.lon
    direct = sunkit_magex.pfss.pfss(sunkit_magex.pfss.Input(output.input_map, NRHO, 2.5))
    np.testing.assert_array_equal(output.source_surface_br.data, direct.source_surface_br.data)
    # A map already at the requested size goes to the solver as it is.
    same = pfss_extrapolate(output.input_map, nrho=NRHO)
    np.testing.assert_array_equal(same.input_map.data, output.input_map.data)


def test_default_grid_and_nan_filling_on_the_hmi_frame():
    hmi = read_hmi_synchronic(HMI_SYNCHRONIC)
    before = hmi.data.copy()
    with pytest.warns(DlmagUserWarning, match=r"0\.6% of the map's pixels are NaN; filled with the mean field"):
        out = pfss_extrapolate(hmi, nrho=5)
    np.testing.assert_array_equal(hmi.data, before)  # input untouched
    assert out.input_map.data.shape == (180, 360)  # the 360x720 frame is reduced to the default grid
    assert out.input_map.unit == u.G
    assert np.isfinite(out.input_map.data).all()
    # Away from the NaN rows the solver's input is the exact 2x2 block mean.
    rows = np.isfinite(before).all(axis=1).reshape(180, 2).all(axis=1)
    np.testing.assert_allclose(out.input_map.data[rows], _block_mean(before.astype(np.float64), 2)[rows], rtol=1e-5)


def test_nan_policies(output):
    small = output.input_map  # the GONG map at 90x180
    data = small.data.astype(np.float64)
    holes = data.copy()
    holes[20:25, 50:100] = np.nan  # a patch
    holes[:2] = np.nan  # whole rows: the nearest row with data
    smap = sunpy.map.Map(holes, small.meta)
    with pytest.warns(DlmagUserWarning, match="mean field of their latitude row"):
        zonal = pfss_extrapolate(smap, nrho=5).input_map.data
    np.testing.assert_allclose(zonal[22, 50:100], np.nanmean(holes[22]), rtol=1e-6)
    np.testing.assert_array_equal(zonal[22, :50], data[22, :50])
    np.testing.assert_allclose(zonal[:2], np.nanmean(holes[2]), rtol=1e-6)
    with pytest.warns(DlmagUserWarning, match="filled with 0 G"):
        zero = pfss_extrapolate(smap, nrho=5, fill_nan="zero").input_map.data
    assert np.all(zero[20:25, 50:100] == 0)
    with pytest.raises(InputMapError, match="NaN pixels"):
        pfss_extrapolate(smap, fill_nan="raise")
    with pytest.raises(InputMapError, match="no finite pixel"):
        pfss_extrapolate(sunpy.map.Map(np.full_like(data, np.nan), small.meta))


def test_pfss_extrapolate_rejects_bad_input(gong, mdi_map):
    with pytest.raises(InputMapError, match="heliographic"):
        pfss_extrapolate(mdi_map)
    with pytest.raises(InputMapError, match="sunpy map"):
        pfss_extrapolate(gong.data)
    car = sunpy.map.Map(gong.data, {**gong.meta, "ctype1": "CRLN-CAR", "ctype2": "CRLT-CAR"})
    with pytest.raises(InputMapError, match="car_to_cea"):
        pfss_extrapolate(car)
    half = gong.submap([0, 0] * u.pix, top_right=[179, 179] * u.pix)
    with pytest.raises(InputMapError, match="whole Sun"):
        pfss_extrapolate(half)
    with pytest.raises(InputMapError, match="in G"):
        pfss_extrapolate(sunpy.map.Map(gong.data, {**gong.meta, "bunit": "DN"}))
    for kwargs in ({"nrho": 1}, {"nrho": 3.5}, {"rss": 1.0}, {"rss": np.nan}, {"shape": (4, 8)}, {"fill_nan": "x"}):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            pfss_extrapolate(gong, **kwargs)
    # rss as a Quantity is taken in solar radii.
    assert pfss_extrapolate(gong, nrho=5, rss=2 * u.R_sun, shape=(30, 60)).grid.rss == 2


def test_open_field_map(output, open_map):
    codes = open_map.data
    assert codes.dtype == np.int8
    assert set(np.unique(codes)) == {-1, 0, 1}
    fraction = np.mean(codes != 0)
    assert open_map.meta["openfrac"] == pytest.approx(fraction)
    assert 0.05 < fraction < 0.3  # PFSS with rss 2.5 opens 5-30 % of the surface
    # 2018 is near solar minimum: polar coronal holes, positive in the north, negative in the south.
    assert np.mean(codes[-1] == 1) > 0.9
    assert np.mean(codes[0] == -1) > 0.9
    # The polarity of an open line is the sign of the radial field at its footpoint.
    ys, xs = np.nonzero(codes)
    feet = open_map.wcs.pixel_to_world(xs, ys)
    px, py = output.input_map.wcs.world_to_pixel(feet)
    br = output.input_map.data[np.round(py).astype(int), np.round(px).astype(int) % SHAPE[1]]
    strong = np.abs(br) > 1
    assert np.mean(np.sign(br[strong]) == codes[ys, xs][strong]) > 0.9
    assert open_map.meta["rss"] == 2.5
    assert open_map.meta["nrho"] == NRHO
    assert open_map.meta["nrunout"] >= 0


def test_open_field_map_with_another_tracer(output, open_map):
    # sunkit-magex's pure-Python tracer agrees with the compiled one on a coarse grid.
    python = open_field_map(output, shape=(6, 12), tracer=PythonTracer())
    fast = open_field_map(output, shape=(6, 12))
    assert np.mean(python.data == fast.data) >= 0.9
    assert python.meta["nrunout"] == -1


def test_open_field_area_and_pil(output, open_map):
    surface = (4 * np.pi * u.R_sun**2).to(u.km**2)
    area = open_field_area(open_map)
    assert area.unit == u.km**2
    assert (area / surface).decompose().value == pytest.approx(open_map.meta["openfrac"])
    assert u.allclose(open_field_area(open_map, polarity=1) + open_field_area(open_map, polarity=-1), area)
    fraction = open_field_fraction(open_map)
    assert fraction == pytest.approx(open_map.meta["openfrac"])
    assert open_field_fraction(open_map, polarity=1) + open_field_fraction(open_map, polarity=-1) == pytest.approx(
        fraction
    )
    with pytest.raises(ValueError, match="polarity"):
        open_field_area(open_map, polarity=2)
    with pytest.raises(InputMapError, match="only -1, 0 and \\+1"):
        open_field_area(output.input_map)
    pils = source_surface_pil(output)
    assert all(isinstance(p, SkyCoord) for p in pils)
    # Near minimum the heliospheric current sheet is one line around the Sun.
    longest = pils[0]
    assert np.ptp(longest.lon.wrap_at(360 * u.deg).to_value(u.deg)) > 300
    assert np.abs(longest.lat.to_value(u.deg)).max() < 60
    with pytest.raises(InputMapError, match="Output"):
        source_surface_pil(open_map)


def test_open_field_map_rejects_bad_input(output):
    with pytest.raises(InputMapError, match="Output"):
        open_field_map(output.input_map)
    with pytest.raises(ValueError, match="shape"):
        open_field_map(output, shape=(10,))
    with pytest.raises(ValueError, match="seed_radius"):
        open_field_map(output, seed_radius=3 * u.R_sun)
    with pytest.raises(TypeError, match="seed_radius"):
        open_field_map(output, seed_radius=1.01)


def _euv_from(open_map, dark_where, *, bright=1000.0, dark=100.0):
    """An EUV 'synoptic map' on the grid of open_map: dark where asked, bright elsewhere."""
    meta = copy.deepcopy(open_map.meta)
    meta["bunit"] = "DN"
    return sunpy.map.Map(np.where(dark_where, dark, bright), meta)


def test_coronal_hole_overlap_on_built_cases(open_map):
    opened = open_map.data != 0
    perfect = coronal_hole_overlap(open_map, _euv_from(open_map, opened))
    assert perfect["dice"] == perfect["jaccard"] == perfect["precision"] == perfect["recall"] == 1
    assert perfect["open_fraction"] == pytest.approx(opened.mean())
    assert perfect["valid_fraction"] == 1
    np.testing.assert_array_equal(perfect["dark"].data, opened)
    # Dark only in the northern half of the open regions.
    north = opened & (np.arange(opened.shape[0])[:, None] >= opened.shape[0] // 2)
    half = coronal_hole_overlap(open_map, _euv_from(open_map, north))
    assert half["recall"] == 1
    assert half["precision"] == pytest.approx(north.sum() / opened.sum())
    assert half["dice"] == pytest.approx(2 * north.sum() / (north.sum() + opened.sum()))
    assert half["jaccard"] == pytest.approx(north.sum() / opened.sum())
    # The same map as log10 intensities.
    log_map = sunpy.map.Map(np.log10(_euv_from(open_map, north).data), _euv_from(open_map, north).meta)
    assert coronal_hole_overlap(open_map, log_map, scale="log10")["dice"] == half["dice"]
    # Leaving out the poles leaves out the polar holes.
    low = coronal_hole_overlap(open_map, _euv_from(open_map, opened), max_latitude=50 * u.deg)
    assert low["valid_fraction"] == pytest.approx(np.sin(np.deg2rad(50)), abs=0.03)
    assert low["open_fraction"] < perfect["open_fraction"]


def test_coronal_hole_overlap_on_a_disk_image(open_map):
    # The built synoptic EUV map seen from Earth: only the part near disk centre counts.
    synoptic = _euv_from(open_map, open_map.data != 0)
    earth = synoptic.observer_coordinate
    frame_centre = SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame="helioprojective", observer=earth, obstime=synoptic.date)
    header = make_fitswcs_header((256, 256), frame_centre, scale=[8, 8] * u.arcsec / u.pix)
    disk = synoptic.reproject_to(header)
    result = coronal_hole_overlap(open_map, disk, min_mu=0.5)
    assert 0.1 < result["valid_fraction"] < 0.25  # (1 - 0.5) / 2 of the sphere at most
    assert result["dice"] > 0.85
    with pytest.raises(ValueError, match="min_mu"):
        coronal_hole_overlap(open_map, disk, min_mu=1)


def test_coronal_hole_overlap_on_a_real_euv_mosaic(open_map):
    # AIA + EUVI-A/B 171 mosaic of 2011-02-15 in Stonyhurst coordinates, 0 where nothing was seen
    # (another date than the model: this checks the mechanics, not the physics).
    mosaic = sunpy.map.Map(DATA / "reproject_coadd_aia_euvi_171_20110215.fits")[0]
    result = coronal_hole_overlap(open_map, mosaic, threshold=0.5)
    assert 0.5 < result["valid_fraction"] <= 1
    assert 0 < result["dark_fraction"] < 0.5
    dark = result["dark"].data
    assert np.isnan(dark).mean() == pytest.approx(1 - result["valid_fraction"])
    # The scores from their definitions, on the returned dark map and the open-field codes.
    usable = np.isfinite(dark)
    d, o = (dark == 1) & usable, (open_map.data != 0) & usable
    assert result["dark_fraction"] == pytest.approx(d.sum() / usable.sum())
    assert result["open_fraction"] == pytest.approx(o.sum() / usable.sum())
    assert result["dice"] == pytest.approx(2 * (d & o).sum() / (d.sum() + o.sum()))
    assert result["jaccard"] == pytest.approx((d & o).sum() / (d | o).sum())
    assert result["precision"] == pytest.approx((d & o).sum() / o.sum())
    assert result["recall"] == pytest.approx((d & o).sum() / d.sum())
    # Dark means below half the median of the usable EUV values (the default threshold).
    assert 0 < result["dark_fraction"] < 0.5


def test_coronal_hole_overlap_rejects_bad_input(open_map, output, aia_map):
    euv = _euv_from(open_map, open_map.data != 0)
    with pytest.raises(InputMapError, match="open-field map"):
        coronal_hole_overlap(output, euv)
    with pytest.raises(InputMapError, match="only -1, 0"):
        coronal_hole_overlap(output.input_map, euv)
    with pytest.raises(InputMapError, match="sunpy map"):
        coronal_hole_overlap(open_map, euv.data)
    with pytest.raises(ValueError, match="scale"):
        coronal_hole_overlap(open_map, euv, scale="sqrt")
    with pytest.raises(ValueError, match="threshold"):
        coronal_hole_overlap(open_map, euv, threshold=0)
    with pytest.raises(ImplausibleValueError, match=r"holds one value \(0\)"):  # issue 25: an empty frame
        coronal_hole_overlap(open_map, sunpy.map.Map(np.zeros_like(euv.data), euv.meta))
