"""
Sunspot drawings: traced from real observations, read back, measured and turned into magnetograms.

The drawings are rendered from the SOHO/MDI magnetogram of 2010-10-15 (spots: |B| >= 300 G) and
from the SDO/HMI SHARP 377 continuum of 2011-02-15 (spots: I <= 0.9 of the quiet Sun), as ink on
paper with a disk outline, a handwritten label, an "N" and a signature, rotated, mirrored and
off-centre, saved as PNG, JPEG or TIFF. The truth is measured on the observation's own grid.
"""

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable
from PIL import Image
from scipy import ndimage
from scipy.cluster.hierarchy import fcluster, linkage

import sunpy.map
from sunpy.coordinates import HeliographicStonyhurst, Helioprojective, sun
from sunpy.map.header_helper import make_fitswcs_header

from sunpy_dlmag import _cycles, disk, drawings, geometry
from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
from sunpy_dlmag.disk import pixel_area
from sunpy_dlmag.exceptions import (
    CyclePhaseUnknownError,
    DlmagUserWarning,
    InputMapError,
    WeightsNotInstalledError,
)
from sunpy_dlmag.metrics import pixel_area_on_sphere
from sunpy_dlmag.models import Channel, Geometry, ModelSpec, Normalization, get_model, load_model, registry
from sunpy_dlmag.models.graphs import gaussian_filter_network
from sunpy_dlmag.training import drawings as synthetic

DATA = Path(__file__).parents[1] / "data"
SHARP = str(DATA / "hmi.sharp_cea_720s.377.20110215_020000_TAI.{}.fits")
THRESHOLD = 300 * u.G

# How the MDI drawing is laid out on the paper and saved.
CASES = {
    "rotated-mirrored-offcentre-jpeg": dict(
        shape=(1000, 1100), centre=(560.0, 470.0), radius=420.0, north_angle=35 * u.deg, mirrored=True, fmt="JPEG"
    ),
    "upside-down-small-tiff": dict(
        shape=(900, 1200), centre=(650.0, 430.0), radius=360.0, north_angle=-120 * u.deg, mirrored=False, fmt="TIFF"
    ),
}


def unit_vectors(lon, lat):
    lon, lat = np.deg2rad(lon), np.deg2rad(lat)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def _on_disk_vectors(smap):
    """Unit vectors (Stonyhurst) of the on-disk pixels, their mask and mu, from sunpy's coordinates."""
    coords = sunpy.map.all_coordinates_from_map(smap)
    on_disk = sunpy.map.coordinate_is_on_solar_disk(coords)
    surface = coords[on_disk].transform_to(HeliographicStonyhurst(obstime=smap.date))
    vectors = unit_vectors(surface.lon.to_value(u.deg), surface.lat.to_value(u.deg))
    good = np.isfinite(vectors).all(axis=1)
    on_disk[on_disk] = good
    vectors = vectors[good]
    mu = disk.mu_towards(smap.rsun_meters.to_value(u.m) * vectors, smap.observer_coordinate)
    return vectors, on_disk, mu


def _separation_deg(v, w):
    return np.rad2deg(np.arccos(np.clip(np.dot(v, w), -1, 1)))


@pytest.fixture(scope="module")
def mdi():
    return sunpy.map.Map(MDI_MAGNETOGRAM)


@pytest.fixture(scope="module")
def truth_groups(mdi):
    """Spot groups of the MDI map, measured on its own grid: (unit vector of the centre, area in MSH)."""
    penumbra, _ = synthetic._spot_masks(mdi, THRESHOLD, None, 4)
    labels, n = ndimage.label(penumbra, structure=np.ones((3, 3)))
    ys, xs = np.nonzero(labels)
    surface = mdi.pixel_to_world(xs * u.pix, ys * u.pix).transform_to(HeliographicStonyhurst(obstime=mdi.date))
    vectors = unit_vectors(surface.lon.to_value(u.deg), surface.lat.to_value(u.deg))
    area = pixel_area_on_sphere(mdi).to_value(u.cm**2)[ys, xs]
    ids = labels[ys, xs]
    spot_sums = np.array([(area[ids == k, None] * vectors[ids == k]).sum(axis=0) for k in range(1, n + 1)])
    spot_areas = np.array([area[ids == k].sum() for k in range(1, n + 1)])
    spot_dirs = spot_sums / np.linalg.norm(spot_sums, axis=1, keepdims=True)
    separations = np.arccos(np.clip(spot_dirs @ spot_dirs.T, -1, 1))[np.triu_indices(n, 1)]
    groups = fcluster(linkage(separations, method="single"), t=np.deg2rad(10), criterion="distance")
    truth = []
    for g in np.unique(groups):
        centre = spot_sums[groups == g].sum(axis=0)
        truth.append(
            (centre / np.linalg.norm(centre), (spot_areas[groups == g].sum() * u.cm**2).to_value(drawings.MSH))
        )
    return truth


@pytest.fixture(scope="module", params=list(CASES))
def drawn(request, mdi, tmp_path_factory):
    """(layout, drawing map read back from the saved image file) for each layout."""
    case = CASES[request.param]
    image = synthetic.render_drawing(
        mdi,
        shape=case["shape"],
        centre=case["centre"],
        radius=case["radius"],
        north_angle=case["north_angle"],
        mirrored=case["mirrored"],
        threshold=THRESHOLD,
    )
    path = tmp_path_factory.mktemp("drawings") / f"mdi.{case['fmt'].lower()}"
    Image.fromarray(image).save(path, format=case["fmt"], **({"quality": 85} if case["fmt"] == "JPEG" else {}))
    drawing = drawings.read_drawing(path, date=mdi.date, north_angle=case["north_angle"], mirrored=case["mirrored"])
    return case, drawing


@pytest.fixture(scope="module")
def mdi_drawing(drawn):
    return drawn[1]


@pytest.fixture(scope="module")
def mdi_spots(mdi_drawing):
    return drawings.detect_sunspots(mdi_drawing)


def _circle_image(size=400, centre=(200, 200), radius=150, dots=()):
    """A hand-made drawing: a disk outline and round black dots at image positions (x, y)."""
    yy, xx = np.indices((size, size))
    image = np.full((size, size), 240, dtype=np.uint8)
    image[np.abs(np.hypot(xx - centre[0], yy - centre[1]) - radius) < 1.2] = 10
    for x, y in dots:
        image[np.hypot(xx - x, yy - y) < 4] = 10
    return image


# --------------------------------------------------------------------------- disk and positions


def test_disk_found_within_one_percent(drawn):
    case, drawing = drawn
    x0, y0 = case["centre"]
    r0 = case["radius"]
    assert abs(drawing.meta["drawx"] - x0) < 0.01 * r0
    assert abs(drawing.meta["drawy"] - y0) < 0.01 * r0
    assert abs(drawing.meta["drawr"] - r0) < 0.01 * r0
    assert drawing.meta["drawcov"] > 0.95
    # The map's WCS puts the disk centre and the limb where the drawing has them.
    h = case["shape"][0]
    centre = SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=drawing.coordinate_frame)
    cx, cy = drawing.wcs.world_to_pixel(centre)
    assert cx == pytest.approx(x0, abs=0.01 * r0)  # the scan's columns, mirrored or not
    assert cy == pytest.approx(h - 1 - y0, abs=0.01 * r0)
    assert (drawing.rsun_obs / drawing.scale.axis1).to_value(u.pix) == pytest.approx(r0, rel=0.01)


def test_groups_land_within_one_degree_of_the_truth(drawn, mdi_spots, truth_groups):
    groups = drawings.sunspot_groups(mdi_spots)
    found = unit_vectors(groups["lon"].to_value(u.deg), groups["lat"].to_value(u.deg))
    assert len(groups) == len(truth_groups)
    for direction, area in truth_groups:
        distances = [_separation_deg(f, direction) for f in found]
        k = int(np.argmin(distances))
        assert distances[k] < 1.0, f"group of {area:.0f} MSH found {distances[k]:.2f} deg away"
        if area > 50:
            assert groups["area"][k].to_value(drawings.MSH) == pytest.approx(area, rel=0.35)


def test_spot_table_columns_and_units(mdi_spots, mdi_drawing):
    assert isinstance(mdi_spots, QTable)
    assert mdi_spots["lat"].unit == u.deg
    assert mdi_spots["area"].unit == drawings.MSH
    assert np.all(np.diff(mdi_spots["group"]) >= 0)
    assert mdi_spots["group"].min() == 1
    assert np.all((mdi_spots["mu"] > 0) & (mdi_spots["mu"] <= 1))
    # Carrington = Stonyhurst + one offset at the drawing's time; the pixel columns point at the spots.
    offsets = ((mdi_spots["carrington_lon"] - mdi_spots["lon"]).to_value(u.deg)) % 360
    assert np.ptp(offsets) < 1e-6
    assert offsets[0] == pytest.approx(sun.L0(mdi_drawing.date).to_value(u.deg), abs=0.1)
    spot = mdi_spots[np.argmax(mdi_spots["area"])]
    x, y = round(spot["x"].value), round(spot["y"].value)
    assert mdi_drawing.data[y - 1 : y + 2, x - 1 : x + 2].min() < 180  # ink there


def test_orientation_conventions():
    # One dot up and right of the centre of a hand-made drawing, 60 px each way, radius 150 px.
    image = _circle_image(dots=[(260, 140)])
    date = "2011-02-15T00:00"
    expected = {}  # (north_angle, mirrored) -> (sign of lat, sign of lon)
    expected[0, False] = (1, 1)  # north up, west right: north-west
    expected[0, True] = (1, -1)  # mirrored: the dot is north-east
    expected[90, False] = (-1, 1)  # north to the left: up is west, right is south
    expected[90, True] = (-1, -1)  # mirrored with north to the left: up is east, right is south
    for (angle, mirrored), (lat_sign, lon_sign) in expected.items():
        drawing = drawings.read_drawing(image, date=date, north_angle=angle * u.deg, mirrored=mirrored)
        spot = drawings.detect_sunspots(drawing)
        assert len(spot) == 1
        assert np.sign(spot["lat"][0].value) == lat_sign
        assert np.sign(spot["lon"][0].value) == lon_sign
    # North up, not mirrored: the position agrees with sunpy's own helioprojective -> heliographic.
    drawing = drawings.read_drawing(image, date=date)
    spot = drawings.detect_sunspots(drawing)[0]
    scale = sun.angular_radius(date) / 150
    seen = SkyCoord(60 * scale, 60 * scale, frame=drawing.coordinate_frame)
    surface = seen.transform_to(HeliographicStonyhurst(obstime=date))
    assert spot["lat"].to_value(u.deg) == pytest.approx(surface.lat.to_value(u.deg), abs=0.3)
    assert spot["lon"].to_value(u.deg) == pytest.approx(surface.lon.to_value(u.deg), abs=0.3)
    # A drawing oriented to celestial north is turned by the P angle.
    p_angle = sun.P(date).to(u.deg)
    celestial = drawings.detect_sunspots(drawings.read_drawing(image, date=date, north="celestial"))[0]
    solar = drawings.detect_sunspots(drawings.read_drawing(image, date=date, north_angle=p_angle))[0]
    assert celestial["lat"].to_value(u.deg) == pytest.approx(solar["lat"].to_value(u.deg), abs=1e-6)
    assert celestial["lon"].to_value(u.deg) == pytest.approx(solar["lon"].to_value(u.deg), abs=1e-6)


def test_image_types_give_the_same_disk():
    grey = _circle_image(size=300, centre=(140, 155), radius=110)
    variants = {
        "uint8": grey,
        "rgb": np.repeat(grey[..., None], 3, axis=2),
        "rgba": np.dstack([np.repeat(grey[..., None], 3, axis=2), np.full(grey.shape, 255, np.uint8)]),
        "uint16": grey.astype(np.uint16) * 257,
        "float": grey / 255.0,
    }
    for name, image in variants.items():
        before = image.copy()
        drawing = drawings.read_drawing(image, date="2011-02-15")
        np.testing.assert_array_equal(image, before)  # the input is not modified
        fit = (drawing.meta["drawx"], drawing.meta["drawy"], drawing.meta["drawr"])
        assert fit == pytest.approx((140, 155, 110), abs=0.2), name
    # The disk can be given by hand; the map is in map orientation (first row at the bottom).
    drawing = drawings.read_drawing(grey, date="2011-02-15", disk=(140, 155, 110))
    assert drawing.meta["drawr"] == 110
    np.testing.assert_array_equal(drawing.data, grey[::-1].astype(np.float32))


def test_drawing_overlays_on_the_observation(mdi, mdi_drawing):
    # Every MDI spot pixel of the larger spots lands on ink in the drawing (seen from Earth, not SOHO).
    penumbra, _ = synthetic._spot_masks(mdi, THRESHOLD, None, 4)
    labels, _n = ndimage.label(penumbra, structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel())
    big = penumbra & (sizes[labels] >= 30)
    ys, xs = np.nonzero(big)
    x, y = mdi_drawing.wcs.world_to_pixel(mdi.pixel_to_world(xs * u.pix, ys * u.pix))
    ink = mdi_drawing.data[np.round(y).astype(int), np.round(x).astype(int)]
    assert np.mean(ink < 200) > 0.8


# --------------------------------------------------------------------------- areas and flux on real sunspots


@pytest.fixture(scope="module")
def sharp_disk():
    """The SHARP 377 continuum (AR 11158) on a full-disk helioprojective grid of SDO's view, 2 arcsec/px."""
    continuum = sunpy.map.Map(SHARP.format("continuum"))
    frame = Helioprojective(observer=continuum.observer_coordinate, obstime=continuum.date)
    header = make_fitswcs_header(
        (1024, 1024), SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=frame), scale=[2, 2] * u.arcsec / u.pix
    )
    header["bunit"] = "DN/s"
    disk = sunpy.map.Map(
        geometry.resample(continuum.data, continuum.wcs, sunpy.map.Map(np.zeros((1, 1)), header).wcs, (1024, 1024)),
        header,
    )
    return continuum, disk


def _cea_spots(continuum, level=0.9):
    """Spot pixels of the CEA continuum (I <= level x the cutout's median) and the area of one pixel."""
    spots = continuum.data <= level * np.nanmedian(continuum.data)
    dx = continuum.scale.axis1.to_value(u.rad / u.pix)
    dy = continuum.scale.axis2.to_value(u.rad / u.pix)
    pixel = (dx * dy * continuum.rsun_meters**2).to(drawings.MSH)  # equal-area projection
    return spots, pixel


def test_sunspot_area_and_position_from_a_continuum_drawing(sharp_disk, tmp_path):
    continuum, disk = sharp_disk
    image = synthetic.render_drawing(disk, shape=(1100, 1100), radius=480, north_angle=20 * u.deg)
    Image.fromarray(image).save(tmp_path / "ar11158.png")
    drawing = drawings.read_drawing(tmp_path / "ar11158.png", date=continuum.date, north_angle=20 * u.deg)
    groups = drawings.sunspot_groups(drawings.detect_sunspots(drawing))
    spots, pixel = _cea_spots(continuum)
    true_area = spots.sum() * pixel
    surface = sunpy.map.all_coordinates_from_map(continuum)[spots].transform_to(
        HeliographicStonyhurst(obstime=continuum.date)
    )
    centre = unit_vectors(surface.lon.to_value(u.deg), surface.lat.to_value(u.deg)).sum(axis=0)
    big = groups[np.argmax(groups["area"])]
    found = unit_vectors(big["lon"].to_value(u.deg), big["lat"].to_value(u.deg))
    assert _separation_deg(found, centre / np.linalg.norm(centre)) < 1.0
    assert big["area"].to_value(drawings.MSH) == pytest.approx(true_area.to_value(drawings.MSH), rel=0.15)


def test_flux_area_relation_against_hmi_radial_field(sharp_disk):
    continuum, _ = sharp_disk
    radial = sunpy.map.Map(SHARP.format("Br"))
    spots, pixel = _cea_spots(continuum)
    labels, _n = ndimage.label(spots, structure=np.ones((3, 3)))
    areas = np.bincount(labels.ravel())[1:] * pixel
    predicted = (drawings.spot_mean_field(areas) * areas.to(u.cm**2)).to(u.Mx).sum()
    measured = np.nansum(np.abs(radial.data[spots])) * pixel.to_value(u.cm**2) * u.Mx
    # Tlatov & Pevtsov (2014) from HMI spots: within 30 % of the |Br| flux in AR 11158's spots.
    assert predicted.to_value(u.Mx) == pytest.approx(measured.to_value(u.Mx), rel=0.3)


# --------------------------------------------------------------------------- bipoles


def test_bipoles_follow_hale_and_joy(mdi, mdi_spots):
    bipoles = drawings.sunspot_bipoles(mdi_spots, date=mdi.date)
    assert set(bipoles["cycle"]) == {24}
    north = bipoles["lat"] > 0
    # Cycle 24: leading spots negative in the north, positive in the south.
    assert np.all(bipoles["polarity"][north] == -1)
    assert np.all(bipoles["polarity"][~north] == 1)
    # Joy's law: the leading polarity is west of and closer to the equator than the following one.
    expected_tilt = 32.1 * np.sin(np.abs(bipoles["lat"]))
    np.testing.assert_allclose(bipoles["tilt"].to_value(u.deg), expected_tilt.value, rtol=1e-6)
    assert np.all(bipoles["lead_lon"] > bipoles["follow_lon"])
    assert np.all(np.abs(bipoles["lead_lat"]) <= np.abs(bipoles["follow_lat"]))
    # The real magnetogram agrees: east-west moment of the field around each larger group.
    surface = sunpy.map.all_coordinates_from_map(mdi).transform_to(HeliographicStonyhurst(obstime=mdi.date))
    lon, lat = surface.lon.to_value(u.deg), surface.lat.to_value(u.deg)
    for row in bipoles[bipoles["area"] > 20 * drawings.MSH]:
        lon0, lat0 = row["lon"].to_value(u.deg), row["lat"].to_value(u.deg)
        near = np.hypot((lon - lon0) * np.cos(np.deg2rad(lat0)), lat - lat0) < 6
        near &= np.abs(np.nan_to_num(mdi.data)) > 50
        moment = np.sum(mdi.data[near] * (lon[near] - lon0))
        assert np.sign(moment) == row["polarity"]


def test_hale_polarity_alternates_with_the_cycle(mdi_spots):
    cycle24 = drawings.sunspot_bipoles(mdi_spots, date="2010-10-15")
    cycle23 = drawings.sunspot_bipoles(mdi_spots, date="2002-06-01")
    assert set(cycle23["cycle"]) == {23}
    np.testing.assert_array_equal(cycle23["polarity"], -cycle24["polarity"])
    given = drawings.sunspot_bipoles(mdi_spots, date="2010-10-15", leading_polarity=1)
    assert set(given["cycle"]) == {0}
    np.testing.assert_array_equal(given["polarity"], np.where(given["lat"] > 0, 1, -1))
    # Flux doubles with flux_factor; the patches keep their place.
    doubled = drawings.sunspot_bipoles(mdi_spots, date="2010-10-15", flux_factor=2)
    np.testing.assert_allclose(doubled["flux"], 2 * cycle24["flux"])
    np.testing.assert_allclose(doubled["lead_lon"], cycle24["lead_lon"])


def test_cycle_numbers_and_overlap():
    assert _cycles.cycle_number("2010-10-15") == 24
    assert _cycles.cycle_number("2008-11-30") == 23
    assert _cycles.cycle_number("2019-12-01") == 25
    # Within 1.5 years of a minimum, high-latitude groups belong to the new cycle, low ones to the old.
    assert _cycles.cycle_number("2009-06-01", 25 * u.deg) == 24
    assert _cycles.cycle_number("2009-06-01", 5 * u.deg) == 23
    assert _cycles.cycle_number("2008-06-01", 28 * u.deg) == 24
    assert _cycles.cycle_number("2013-06-01", 28 * u.deg) == 24
    assert _cycles.north_leading_polarity(24) == -1
    assert _cycles.north_leading_polarity(25) == 1


def test_bipole_magnetogram(mdi_drawing, mdi_spots):
    before = mdi_drawing.data.copy()
    magnetogram = drawings.drawing_to_magnetogram(mdi_drawing, spots=mdi_spots)
    np.testing.assert_array_equal(mdi_drawing.data, before)
    assert magnetogram.unit == u.G
    # A magnetogram's grid, not the scan's: 1024 px, north up, the disk filling it as in MDI,
    # seen by the drawing's observer at its time.
    assert magnetogram.data.shape == (1024, 1024)
    assert np.allclose(magnetogram.rotation_matrix, np.eye(2))
    assert 0.9 < 2 * magnetogram.rsun_obs / (1024 * u.pix * magnetogram.scale.axis1) < 0.95
    assert magnetogram.date == mdi_drawing.date
    assert magnetogram.observer_coordinate.separation_3d(mdi_drawing.observer_coordinate) < 1 * u.km
    assert u.isclose(magnetogram.rsun_obs, mdi_drawing.rsun_obs)
    on_disk = sunpy.map.coordinate_is_on_solar_disk(sunpy.map.all_coordinates_from_map(magnetogram))
    finite = np.isfinite(magnetogram.data)
    assert np.mean(finite == on_disk) > 0.9999  # NaN off the disk (up to a few limb pixels)
    assert magnetogram.meta["dlmodel"] == "bipole"
    for source in ("Tlatov & Pevtsov", "Hale", "Joy", "not an observation"):
        assert source in magnetogram.meta["history"]
    # The radial flux of each sign is the bipoles' flux, and the map is balanced (groups away from
    # the limb, where pixels sample the sphere coarsely).
    central = mdi_spots[np.abs(mdi_spots["lon"]) < 50 * u.deg]
    magnetogram = drawings.drawing_to_magnetogram(mdi_drawing, spots=central)
    bipoles = drawings.sunspot_bipoles(central, date=mdi_drawing.date)
    _, disk, mu = _on_disk_vectors(magnetogram)
    radial = np.nan_to_num(magnetogram.data[disk]) / mu  # NaN: a pixel on the limb
    area = pixel_area_on_sphere(magnetogram).to_value(u.cm**2)[disk]
    positive = np.sum(np.clip(radial, 0, None) * area)
    negative = -np.sum(np.clip(radial, None, 0) * area)
    assert positive == pytest.approx(bipoles["flux"].sum().to_value(u.Mx), rel=0.03)
    assert negative == pytest.approx(positive, rel=0.01)
    # The user's grid: a shape, or a pixel size (the whole disk in view).
    small = drawings.drawing_to_magnetogram(mdi_drawing, spots=central, shape=(256, 256))
    assert small.data.shape == (256, 256)
    coarse = drawings.drawing_to_magnetogram(mdi_drawing, spots=central, scale=8 * u.arcsec / u.pix)
    assert coarse.scale.axis1 == 8 * u.arcsec / u.pix
    assert coarse.data.shape[0] * 8 > 2 * coarse.rsun_obs.to_value(u.arcsec)
    for grid in (small, coarse):
        assert np.nansum(np.clip(grid.data, 0, None)) > 0
        assert np.nansum(np.clip(grid.data, None, 0)) < 0


# --------------------------------------------------------------------------- the network


def _drawing_network(tmp_path):
    """A fixed smoothing network with a drawing spec in a small model frame (256 px, radius 100 px)."""
    path = tmp_path / "tiny-drawing.onnx"
    radius = gaussian_filter_network(path, sigma=0.7)
    spec = ModelSpec(
        name="tiny-drawing",
        task="drawing",
        architecture="fixed Gaussian filter",
        inputs=(Channel("drawing", None, "", Normalization("linear", 0.0, 255.0)),),
        output=Channel("HMI", None, "G", Normalization("linear", -3000.0, 3000.0)),
        geometry=Geometry(image_size=256, rsun_px=100.0, receptive_radius=radius),
    )
    registry.write_spec_to_onnx(path, spec)
    return path


def test_model_runs_through_the_model_frame_and_back(tmp_path, mdi_drawing, mdi_spots):
    net = load_model(_drawing_network(tmp_path), device="cpu")
    magnetogram = drawings.drawing_to_magnetogram(mdi_drawing, method="model", model=net)
    assert magnetogram.unit == u.G
    assert magnetogram.meta["dlmodel"] == "tiny-drawing"
    assert magnetogram.meta["dlsha256"] == net.sha256
    assert magnetogram.wcs.wcs.compare(mdi_drawing.wcs.wcs)
    # Grey g becomes (g / 127.5 - 1) x 3000 G through the two normalisations of the spec: the
    # paper keeps its level, and the largest spot, dark ink, stays lower where it was drawn.
    spot = mdi_spots[np.argmax(mdi_spots["area"])]
    x, y = round(spot["x"].value), round(spot["y"].value)
    on_disk = np.isfinite(magnetogram.data)
    paper = np.median(mdi_drawing.data[on_disk])
    assert np.median(magnetogram.data[on_disk]) == pytest.approx((paper / 127.5 - 1) * 3000, rel=0.02)
    assert magnetogram.data[y, x] < (paper / 127.5 - 1) * 3000 - 300
    corner = magnetogram.data[:5, :5]
    assert np.isnan(corner).all()


def test_model_without_weights_says_how_to_train(mdi_drawing):
    with pytest.raises(WeightsNotInstalledError, match=r"sunpy-dlmag train drawing"):
        drawings.drawing_to_magnetogram(mdi_drawing, method="model")
    assert get_model("drawing").task == "drawing"


def test_model_of_another_task_is_refused(mdi_drawing):
    with pytest.raises(InputMapError, match="'denoise' model"):
        drawings.drawing_to_magnetogram(mdi_drawing, method="model", model="denoise-m2", device="cpu")


# --------------------------------------------------------------------------- bad input


def test_empty_drawing_warns_and_gives_an_empty_table_and_a_zero_map():
    drawing = drawings.read_drawing(_circle_image(), date="2011-02-15")
    with pytest.warns(DlmagUserWarning, match="No sunspots found"):
        spots = drawings.detect_sunspots(drawing)
    assert len(spots) == 0
    assert spots["area"].unit == drawings.MSH
    assert len(drawings.sunspot_groups(spots)) == 0
    assert len(drawings.sunspot_bipoles(spots, date="2011-02-15")) == 0
    with pytest.warns(DlmagUserWarning, match="No sunspots found"):
        magnetogram = drawings.drawing_to_magnetogram(drawing)
    finite = magnetogram.data[np.isfinite(magnetogram.data)]
    assert finite.size > 0.7 * np.pi * 150**2
    assert np.all(finite == 0)


def test_image_without_a_disk_is_refused(tmp_path):
    with pytest.raises(InputMapError, match=r"No solar disk found.*has no ink"):
        drawings.read_drawing(np.full((300, 300), 240, np.uint8), date="2011-02-15")
    # Handwriting and a signature, no disk.
    text = synthetic._annotations(
        (400, 600),
        label="Macchie solari, 2 giugno",
        centre=(300, 150),
        radius=100,
        north_angle=0 * u.deg,
        rng=np.random.default_rng(1),
        annotate=True,
    )
    page = (240 - 220 * text).astype(np.uint8)
    Image.fromarray(page).save(tmp_path / "text.png")
    with pytest.raises(InputMapError, match=r"No solar disk found.*disk=\(x, y, radius\)"):
        drawings.read_drawing(tmp_path / "text.png", date="2011-02-15")
    # Half of an outline is too little.
    half = _circle_image()
    half[:, :230] = 240
    with pytest.raises(InputMapError, match="No solar disk found"):
        drawings.read_drawing(half, date="2011-02-15")


def test_dates_outside_the_known_cycles(mdi_drawing):
    # Galileo's drawings (1612) come before cycle 1: Hale's law cannot give the polarity.
    image = _circle_image(dots=[(260, 140), (230, 260)])
    galileo = drawings.read_drawing(image, date="1612-06-02T10:00")
    with pytest.raises(CyclePhaseUnknownError, match=r"1612-06-02.*leading_polarity=\+1 or -1"):
        drawings.drawing_to_magnetogram(galileo)
    magnetogram = drawings.drawing_to_magnetogram(galileo, leading_polarity=1)
    assert "leading polarity +1 in the north (given)" in magnetogram.meta["history"]
    assert np.nanmax(np.abs(magnetogram.data)) > 0
    with pytest.raises(CyclePhaseUnknownError, match="2040-01-01"):
        drawings.sunspot_bipoles(drawings.detect_sunspots(mdi_drawing), date="2040-01-01")


def test_historical_dates_give_no_erfa_warnings():
    # UTC is not defined before 1960: erfa's "dubious year" says nothing a user of a 1941 drawing needs.
    import warnings

    from erfa import ErfaWarning

    from sunpy_dlmag.plotting import plot_map

    with warnings.catch_warnings():
        warnings.simplefilter("error", ErfaWarning)
        drawing = drawings.read_drawing(_circle_image(dots=[(260, 140), (230, 260)]), date="1941-07-11T08:35")
        magnetogram = drawings.drawing_to_magnetogram(drawing)
        drawings.plot_candidates(drawing)
        plot_map(magnetogram)
    assert np.nanmax(np.abs(magnetogram.data)) > 0


def test_bad_arguments_are_refused(mdi, mdi_drawing, mdi_spots, tmp_path):
    image = _circle_image()
    with pytest.raises(InputMapError, match="shape \\(10,\\)"):
        drawings.read_drawing(np.zeros(10), date="2011-02-15")
    with pytest.raises(InputMapError, match="too small"):
        drawings.read_drawing(np.zeros((10, 10)), date="2011-02-15")
    with pytest.raises(FileNotFoundError, match="No drawing image"):
        drawings.read_drawing(tmp_path / "missing.png", date="2011-02-15")
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(InputMapError, match="not an image file"):
        drawings.read_drawing(tmp_path / "notes.png", date="2011-02-15")
    with pytest.raises(ValueError, match="north must be 'solar' or 'celestial'"):
        drawings.read_drawing(image, date="2011-02-15", north="magnetic")
    with pytest.raises(TypeError):
        drawings.read_drawing(image, date="2011-02-15", north_angle=30)
    with pytest.raises(InputMapError, match="disk must be"):
        drawings.read_drawing(image, date="2011-02-15", disk=(200, 200))
    with pytest.raises(InputMapError, match="outside the image"):
        drawings.read_drawing(image, date="2011-02-15", disk=(900, 200, 100))
    with pytest.raises(InputMapError, match="an observation of MDI"):
        drawings.detect_sunspots(mdi)
    with pytest.raises(InputMapError, match="got ndarray"):
        drawings.detect_sunspots(mdi_drawing.data)
    with pytest.raises(ValueError, match="threshold"):
        drawings.detect_sunspots(mdi_drawing, threshold=2)
    with pytest.raises(ValueError, match="method must be"):
        drawings.drawing_to_magnetogram(mdi_drawing, method="cnn")
    with pytest.raises(ValueError, match="only apply to method='bipole'"):
        drawings.drawing_to_magnetogram(mdi_drawing, method="model", leading_polarity=1)
    with pytest.raises(ValueError, match="only apply to method='bipole'"):
        drawings.drawing_to_magnetogram(mdi_drawing, method="model", shape=(512, 512))
    with pytest.raises(TypeError, match="shape must be a pair"):
        drawings.drawing_to_magnetogram(mdi_drawing, spots=mdi_spots, shape=1024)
    with pytest.raises(TypeError, match=r"scale must be a Quantity in arcsec / pix"):
        drawings.drawing_to_magnetogram(mdi_drawing, spots=mdi_spots, scale=2)
    with pytest.raises(ValueError, match="leading_polarity"):
        drawings.sunspot_bipoles(mdi_spots, date="2011-02-15", leading_polarity=2)
    with pytest.raises(InputMapError, match="lacks the columns"):
        drawings.sunspot_groups(QTable({"group": [1]}))
    carrington = sunpy.map.Map(SHARP.format("continuum"))
    with pytest.raises(InputMapError, match="helioprojective"):
        synthetic.render_drawing(carrington)


def test_render_does_not_modify_its_input(mdi):
    before = mdi.data.copy()
    image = synthetic.render_drawing(mdi, shape=(300, 300), threshold=THRESHOLD, label="", annotate=False)
    np.testing.assert_array_equal(mdi.data, before)
    assert image.shape == (300, 300, 3)
    assert image.dtype == np.uint8


# --------------------------------------------------------------------------- training pairs


def test_training_pairs_for_the_drawing_preset(tmp_path, mdi):
    from sunpy_dlmag.data.fetch import pairs_from_manifest

    manifest = synthetic.drawing_training_pairs([MDI_MAGNETOGRAM], tmp_path, shape=(600, 600), threshold=THRESHOLD)
    (pair,) = pairs_from_manifest(manifest)
    assert Path(pair.target).resolve() == Path(MDI_MAGNETOGRAM).resolve()
    assert abs((pair.time - mdi.date).to_value(u.s)) < 1
    drawing = sunpy.map.Map(pair.inputs[0])
    groups = drawings.sunspot_groups(drawings.detect_sunspots(drawing))
    largest = groups[np.argmax(groups["area"])]
    # The reference from the magnetogram itself, by sunpy's coordinates: the area-weighted
    # latitude of the pixels above the drawing threshold in the largest active region (-18.6 deg).
    strong = np.abs(np.nan_to_num(mdi.data)) > THRESHOLD.to_value(u.G)
    regions, _ = ndimage.label(ndimage.binary_dilation(strong, iterations=3))
    area = np.nan_to_num(pixel_area(mdi).to_value(u.cm**2))
    biggest = np.argmax(ndimage.sum(strong * area, regions, range(1, regions.max() + 1))) + 1
    ys, xs = np.nonzero((regions == biggest) & strong)
    lat = mdi.pixel_to_world(xs * u.pix, ys * u.pix).transform_to(HeliographicStonyhurst(obstime=mdi.date)).lat
    reference = np.average(lat.to_value(u.deg), weights=area[ys, xs])
    # Drawn spots are rendered blobs of the umbrae, not the pixels themselves: within 1.5 deg.
    assert largest["lat"].to_value(u.deg) == pytest.approx(reference, abs=1.5)
    with pytest.raises(FileExistsError):
        synthetic.drawing_training_pairs([MDI_MAGNETOGRAM], tmp_path, shape=(600, 600))
    with pytest.raises(TypeError, match="chooses north_angle"):
        synthetic.drawing_training_pairs([MDI_MAGNETOGRAM], tmp_path, north_angle=3 * u.deg)
    # The trainer's data preparation accepts the pair with the drawing preset's spec.
    pytest.importorskip("torch")
    from sunpy_dlmag.training.datasets import prepare

    prepared = prepare([pair], get_model("drawing"), tmp_path / "cache")[0]
    assert prepared.inputs.shape == (1, 1024, 1024)
    assert prepared.target.shape == (1024, 1024)
    # The paper of the drawing in the network's units (0..255 -> -1..1); the spots darker.
    disk = (prepared.mask & 1).astype(bool)
    paper = np.median(drawing.data[sunpy.map.coordinate_is_on_solar_disk(sunpy.map.all_coordinates_from_map(drawing))])
    assert np.median(prepared.inputs[0][disk]) == pytest.approx(paper / 127.5 - 1, abs=0.02)
    assert prepared.inputs[0][disk].min() < 0.3


def test_marks_are_judged_by_shape_and_the_limits_are_tunable():
    # Disk radius 300 px: a drawn spot (8 px across), a pencil dot (2 px), a printed centre
    # cross and a handwritten-like stroke (1.5 px wide, 30 px long). The shape rules alone
    # (mark_classifier=False): their limits are what is tested.
    yy, xx = np.indices((800, 800))
    image = np.full((800, 800), 240, dtype=np.uint8)
    image[np.abs(np.hypot(xx - 400, yy - 400) - 300) < 1.5] = 10
    image[np.hypot(xx - 300, yy - 300) < 4] = 10  # spot
    image[np.hypot(xx - 500, yy - 320) < 1.2] = 10  # pencil dot
    image[398:401, 385:416] = 10  # cross
    image[385:416, 398:401] = 10
    image[480:510, 300:302] = 10  # stroke
    drawing = drawings.read_drawing(image, date="2011-02-15")
    marks = drawings.spot_candidates(drawing, mark_classifier=False)
    assert near_verdict(marks, 300, 300) == "blob"
    assert near_verdict(marks, 500, 320) == "dot"
    assert near_verdict(marks, 400, 400) == "centre line"
    assert near_verdict(marks, 301, 495) == "stroke"
    spots = drawings.detect_sunspots(drawing, mark_classifier=False)
    assert len(spots) == 2
    assert np.all(marks["spot"][np.isin(marks["verdict"], ["centre line", "stroke"])] == 0)
    # A longer dot size takes the stroke for a dot; a wider pen takes the spot for a stroke.
    assert near_verdict(drawings.spot_candidates(drawing, mark_classifier=False, dot_size=0.2), 301, 495) == "dot"
    assert near_verdict(drawings.spot_candidates(drawing, mark_classifier=False, pen_width=0.05), 300, 300) != "blob"
    with pytest.raises(ValueError, match="dot_size is a fraction of the disk radius"):
        drawings.detect_sunspots(drawing, mark_classifier=False, dot_size=2)
    # With label_distance, a group counts only with handwriting near it: the stroke is 0.65
    # radius from the spot and 0.88 from the pencil dot.
    labelled = drawings.detect_sunspots(drawing, mark_classifier=False, label_distance=0.7)
    assert len(labelled) == 1
    assert abs(labelled["x"][0].value - 300) < 2
    marks = drawings.spot_candidates(drawing, mark_classifier=False, label_distance=0.7)
    assert near_verdict(marks, 500, 320) == "unlabelled"
    with pytest.warns(DlmagUserWarning, match="No sunspots found"):
        assert len(drawings.detect_sunspots(drawing, mark_classifier=False, label_distance=0.5)) == 0
    with pytest.raises(ValueError, match="label_distance is a fraction of the disk radius"):
        drawings.detect_sunspots(drawing, mark_classifier=False, label_distance=-1)


def test_touching_spots_are_told_apart_by_their_dark_cores():
    # Disk radius 300 px: two spots drawn touching (dark cores 8 px apart, joined by lighter ink)
    # and one spot with a lighter penumbra around its umbra.
    yy, xx = np.indices((800, 800))
    image = np.full((800, 800), 240, dtype=np.uint8)
    image[np.abs(np.hypot(xx - 400, yy - 400) - 300) < 1.5] = 10
    image[(np.abs(xx - 304) <= 4) & (np.abs(yy - 300) <= 1)] = 150  # the lighter ink between them
    for x in (300, 308):
        image[np.hypot(xx - x, yy - 300) < 2.5] = 10
    image[np.hypot(xx - 500, yy - 500) < 7] = 120  # penumbra
    image[np.hypot(xx - 500, yy - 500) < 3] = 10  # umbra
    drawing = drawings.read_drawing(image, date="2011-02-15")
    spots = drawings.detect_sunspots(drawing)
    assert len(spots) == 3
    image_x = np.sort(spots["x"].value)
    assert np.allclose(image_x, [300, 308, 500], atol=1)
    assert len(set(spots["group"][np.abs(spots["x"].value - 304) < 10])) == 1  # one group
    # core_contrast=1 never splits: the touching pair is one spot, as drawn in one stroke.
    assert len(drawings.detect_sunspots(drawing, core_contrast=1)) == 2
    marks = drawings.spot_candidates(drawing)
    assert len(marks) == 2  # one mark, two spots: the candidate names the first
    assert sorted(marks["n_spots"]) == [1, 2]
    assert "3 spot(s)" in drawings.plot_candidates(drawing, marks).get_title()
    with pytest.raises(ValueError, match="core_contrast is a fraction of the paper level"):
        drawings.detect_sunspots(drawing, core_contrast=0)


def test_umbrae_in_one_penumbra_and_a_dot_touching_it_are_three_spots():
    # Disk radius 300 px, paper 240: a penumbra (depth 0.38) holding two umbrae, and a pencil
    # dot (depth 0.42) joined to it by faint ink: the dot stands out above the faint ink, the
    # umbrae above the penumbra, at different depths.
    yy, xx = np.indices((800, 800))
    image = np.full((800, 800), 240, dtype=np.uint8)
    image[np.abs(np.hypot(xx - 400, yy - 400) - 300) < 1.5] = 10
    image[(yy >= 499) & (yy <= 501) & (xx >= 486) & (xx <= 494)] = 200  # faint ink, depth 0.17
    image[np.hypot(xx - 500, yy - 500) < 8] = 150
    for x in (496, 504):
        image[np.hypot(xx - x, yy - 500) < 2] = 10
    image[np.hypot(xx - 485, yy - 500) < 2] = 139
    drawing = drawings.read_drawing(image, date="2011-02-15")
    spots = drawings.detect_sunspots(drawing)
    assert np.allclose(np.sort(spots["x"].value), [485, 496, 504], atol=1.5)
    assert len(np.unique(spots["group"])) == 1
    assert len(drawings.detect_sunspots(drawing, core_contrast=1)) == 1


def _context_drawing(label="A1"):
    """Disk radius 300 px: a labelled spot, faint dots, a broken stroke and a lone pencil dot."""
    yy, xx = np.indices((800, 800))
    image = np.full((800, 800), 240, dtype=np.uint8)
    image[np.abs(np.hypot(xx - 400, yy - 400) - 300) < 1.5] = 10
    image[np.hypot(xx - 300, yy - 300) < 4] = 10  # spot
    image[299:301, 311:313] = 178  # a faint dot (depth 0.26, under the ink threshold) beside it
    image[249:251, 519:521] = 178  # the same dot far from any spot: dust
    if label:
        image[320:350, 280:282] = 10  # the spot's label, 0.13 radius from it: one stroke ...
    if label == "A1":
        image[320:350, 287:289] = 10  # ... or two, written characters
    image[450:452, 200:230] = 10  # a stroke ...
    image[450:452, 231:233] = 10  # ... and its end, broken off by a pixel
    image[419:421, 479:481] = 10  # a lone pencil dot, no handwriting within 0.25 radius
    return drawings.read_drawing(image, date="2011-02-15")


def test_faint_dots_broken_strokes_and_unlabelled_dots_are_judged_by_their_neighbours():
    drawing = _context_drawing()  # the shape rules and their use of neighbours (mark_classifier=False)
    marks = drawings.spot_candidates(drawing, mark_classifier=False)
    assert near_verdict(marks, 300, 300) == "blob"
    assert near_verdict(marks, 312, 300) == "faint dot"
    assert np.hypot(marks["x"].value - 520, 799 - marks["y"].value - 250).min() > 10  # not a candidate
    assert near_verdict(marks, 233, 451) == "stroke piece"
    # The observer labels groups here: the lone dot without a label is not counted ...
    assert near_verdict(marks, 480, 420) == "unlabelled"
    spots = drawings.detect_sunspots(drawing, mark_classifier=False)
    assert len(spots) == 2
    assert len(np.unique(spots["group"])) == 1
    # ... unless every group is kept, or on a drawing without labels.
    assert len(np.unique(drawings.detect_sunspots(drawing, mark_classifier=False, label_distance=None)["group"])) == 2
    # A single stroke is not taken for a label (it may be a spot drawn thin, as on drawings traced
    # from magnetograms): only marks of two characters or more make the form a labelling one.
    for label in (None, "stroke"):
        candidates = drawings.spot_candidates(_context_drawing(label=label), mark_classifier=False)
        assert near_verdict(candidates, 480, 420) == "dot", label
    with pytest.raises(ValueError, match='label_distance is "auto", None or a fraction'):
        drawings.detect_sunspots(drawing, mark_classifier=False, label_distance="near")


def near_verdict(marks, x, y):
    """Verdict of the mark nearest to image pixel (x, y) of the 800 px test drawing."""
    distance = np.hypot(marks["x"].value - x, 799 - marks["y"].value - y)
    return str(marks["verdict"][int(np.argmin(distance))])


def test_drawings_traced_from_magnetograms_keep_every_group(mdi):
    # No handwriting on the disk (a thin spot is drawn as one stroke): label_distance="auto"
    # keeps every group, the lone pores too (the demo's drawing: 23 spots in 6 groups).
    image = synthetic.render_drawing(mdi, shape=(900, 1000), centre=(520.0, 440.0), radius=380.0,
                                     north_angle=25 * u.deg, threshold=300 * u.G)  # fmt: skip
    drawing = drawings.read_drawing(image, date=mdi.date, north_angle=25 * u.deg)
    # The shape rules take the thin spot for a stroke; the mark classifier, for the spot it is.
    assert "stroke" in set(drawings.spot_candidates(drawing, mark_classifier=False)["verdict"])
    marks = drawings.spot_candidates(drawing)
    assert "learned spot" in set(marks["verdict"])
    assert "unlabelled" not in set(marks["verdict"])
    every = drawings.detect_sunspots(drawing, label_distance=None)
    assert len(drawings.detect_sunspots(drawing)) == len(every)
    assert len(np.unique(every["group"])) > 1


def test_pores_of_a_few_pixels_on_a_fine_scan_are_spots_beside_their_group_and_dust_alone_is_not():
    # Disk radius 1500 px: marks are found on a working image three times coarser, on which a
    # 2x2-pixel pore averages to depth 0.26, under the threshold.
    size, c = 3400, 1700
    yy, xx = np.indices((size, size))
    image = np.full((size, size), 240, dtype=np.uint8)
    image[np.abs(np.hypot(xx - c, yy - c) - 1500) < 3] = 10
    image[np.hypot(xx - 1400, yy - 1400) < 12] = 10  # a spot
    for x in (1450, 1500, 1550, 1600):  # its pores, a chain 50 px (0.033 radius) apart
        image[1400:1402, x : x + 2] = 100
    image[2200:2202, 2000:2002] = 100  # dust, 0.5 radius from any spot
    image[2200:2202, 2030:2032] = 100  # and beside it
    drawing = drawings.read_drawing(image, date="2011-02-15")
    marks = drawings.spot_candidates(drawing, mark_classifier=False, label_distance=None)

    def verdict(x, y):
        distance = np.hypot(marks["x"].value - x, size - 1 - marks["y"].value - y)
        assert distance.min() < 5, (x, y)
        return str(marks["verdict"][int(np.argmin(distance))])

    assert all(drawings.VERDICTS[verdict(x + 0.5, 1400.5)][0] for x in (1450, 1500, 1550, 1600))
    assert verdict(2000.5, 2200.5) == verdict(2030.5, 2200.5) == "speck"
    spots = drawings.detect_sunspots(drawing, label_distance=None)
    assert len(spots) == 5
    assert len(np.unique(spots["group"])) == 1
    # The same dust on a form with no spot: nothing.
    image[1380:1420, 1380:1620] = 240
    with pytest.warns(DlmagUserWarning, match="No sunspots found"):
        assert len(drawings.detect_sunspots(drawings.read_drawing(image, date="2011-02-15"))) == 0
