"""
The drawn limb: found on every real form past punched holes, corner marks and gaps, and required
(a blank page with paper texture is not a drawing); the date and orientation arguments checked.

The real forms (Royal Observatory of Belgium, Uccle; see tests/drawings/test_drawings_real.py) are read
in place from the shared data folder and these tests skip when it is absent.
"""

import csv
import re

import astropy.units as u
import numpy as np
import pytest
from scipy import ndimage
from test_drawings_real import REAL, TRUTH

from sunpy_dlmag import drawings
from sunpy_dlmag.drawings import read
from sunpy_dlmag.exceptions import ArgumentTypeError, InvalidArgumentError, NoDiskError

# The limb tests read the forms as scanned (their orientation has its own tests), so that the map's
# data is the scan flipped upside down only.
AS_SCANNED = {"mirrored": False, "north_angle": 0 * u.deg}

real = pytest.mark.skipif(REAL is None, reason="the real drawings (shared/data/drawings) are not here")


def _forms():
    if REAL is None:
        return []
    return sorted(
        [*REAL.glob("*.jpg"), *REAL.glob("uccle_2013-09/*.jpg"), *REAL.glob("uccle_1940-2024/*.[jb][pm][gp]")]
    )


def _date(path):
    # usdYYYYMMDDHHMM: the date and time written on the form.
    stamp = re.search(r"(\d{12})", path.name)
    if stamp is None:
        return TRUTH[path.name]["date"]
    s = stamp.group(1)
    return f"{s[:4]}-{s[4:6]}-{s[6:8]}T{s[8:10]}:{s[10:12]}"


def _spots(name):
    with (REAL / "uccle_1940-2024" / "spot_positions.csv").open() as table:
        return np.array([(float(r["x_px"]), float(r["y_px"])) for r in csv.DictReader(table) if r["file"] == name])


def _circle_page(shape=(900, 700), centre=(350, 430), radius=300, width=3.0):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    ring = np.abs(np.hypot(xx - centre[0], yy - centre[1]) - radius) < width / 2
    return np.where(ring, 40, 235).astype(np.uint8), (yy, xx)


@real
@pytest.mark.parametrize("path", _forms(), ids=lambda p: p.name)
def test_every_real_form_has_its_limb(path):
    drawing = drawings.read_drawing(path, date=_date(path), **AS_SCANNED)
    meta = drawing.meta
    w = drawing.data.shape[1]
    # The printed or drawn circle fills most of the form's width, traced over most of its length
    # by a thin line.
    assert 0.6 * w < 2 * meta["drawr"] < w
    assert meta["drawcov"] > 0.85
    assert meta["drawrms"] < 0.005 * meta["drawr"]
    if (REAL / "uccle_1940-2024" / path.name).exists():
        # Every spot the annotators marked lies on the fitted disk.
        spots = _spots(path.name)
        distance = np.hypot(spots[:, 0] - meta["drawx"], spots[:, 1] - meta["drawy"])
        assert distance.max() < meta["drawr"]


@real
@pytest.mark.parametrize("name", ["DrawingType_USET.jpg", "uccle_1940-2024/usd195403221535.jpg"])
def test_limb_is_found_past_holes_corner_marks_and_gaps(name):
    path = REAL / name
    reference = drawings.read_drawing(path, date=_date(path), **AS_SCANNED).meta
    x, y, r = reference["drawx"], reference["drawy"], reference["drawr"]
    grey = np.asarray(drawings.read_drawing(path, date=_date(path), **AS_SCANNED).data[::-1])  # image orientation
    h, w = grey.shape
    yy, xx = np.mgrid[:h, :w]
    angle = np.degrees(np.arctan2(yy - y, xx - x)) % 360
    ring = np.abs(np.hypot(xx - x, yy - y) - r) < 0.02 * r
    paper = float(np.median(grey))

    # A limb drawn in dashes (6 degrees of every 10), two large punched holes (dark: the scanner's
    # lid behind them) and a corner mark (a ring with a cross): every one of them a whole circle,
    # the limb only 60 % of one.
    page = grey.copy()
    page[ring & (angle % 10 >= 6)] = paper
    hole = 0.06 * min(h, w)
    for cy in (0.25 * h, 0.75 * h):
        page[np.hypot(xx - 0.02 * w - hole, yy - cy) < hole] = 20
    mark_x, mark_y = w - 1.5 * hole, h - 1.5 * hole
    page[np.abs(np.hypot(xx - mark_x, yy - mark_y) - hole) < 2] = 30
    page[(np.abs(xx - mark_x) < 2) & (np.abs(yy - mark_y) < 1.3 * hole)] = 30
    page[(np.abs(yy - mark_y) < 2) & (np.abs(xx - mark_x) < 1.3 * hole)] = 30
    # A limb with 140 degrees missing (torn or faded).
    torn = grey.copy()
    torn[ring & (angle > 200) & (angle < 340)] = paper
    # Scanned circles are not perfect (rms 1-3 px about the fit): an arc of 220 degrees moves
    # the centre by a few pixels.
    for image, tolerance in ((page, 0.005), (torn, 0.01)):
        meta = drawings.read_drawing(image.astype(np.uint8), date=_date(path), **AS_SCANNED).meta
        assert np.hypot(meta["drawx"] - x, meta["drawy"] - y) < tolerance * r
        assert abs(meta["drawr"] - r) < tolerance * r


@pytest.mark.parametrize("tick_step", [None, 5, 1])
def test_limb_is_not_a_graduated_circle_around_it(tick_step):
    # Forms of other observatories print a degree circle around the limb: a thinner, paler line,
    # with ticks every few degrees. The limb is the drawn circle inside it, a whole circle too.
    page, (yy, xx) = _circle_page()
    distance = np.hypot(xx - 350, yy - 430)
    angle = np.degrees(np.arctan2(yy - 430, xx - 350)) % 360
    page[np.abs(distance - 340) < 1.2] = 80
    if tick_step:
        page[(distance > 340) & (distance < 352) & (angle % tick_step < 0.3)] = 80
        page[(distance > 340) & (distance < 360) & (angle % 10 < 0.3)] = 80
    meta = drawings.read_drawing(page, date="2013-09-01").meta
    assert abs(meta["drawr"] - 300) < 1.0
    assert np.hypot(meta["drawx"] - 350, meta["drawy"] - 430) < 1.0


@pytest.mark.parametrize(("sigma", "amplitude"), [(1, 15), (1, 30), (2, 30)])
def test_blank_page_with_paper_texture_is_refused(sigma, amplitude):
    # A smooth random field about a paper level: grain and fibres, no drawn line. Before, a
    # "disk" of 200-400 px was fitted to it, "99 % traced", and read as a spotless day.
    field = ndimage.gaussian_filter(np.random.default_rng(1).standard_normal((1000, 800)), sigma)
    page = np.clip(215 + field / field.std() * amplitude, 0, 255).astype(np.uint8)
    before = page.copy()
    with pytest.raises(NoDiskError, match="no drawn limb") as info:
        drawings.read_drawing(page, date="2013-09-01")
    # The message says what was measured: the traced fraction and the ink on and beside the circle.
    assert re.search(r"over only \d+% of its circumference", str(info.value))
    assert re.search(r"ink covers \d+% of that band and \d+% of the rings beside it", str(info.value))
    assert "disk=(x, y, radius)" in str(info.value)
    assert np.array_equal(page, before)


def test_a_drawn_circle_on_textured_paper_is_found():
    page, _ = _circle_page()
    field = ndimage.gaussian_filter(np.random.default_rng(2).standard_normal(page.shape), 1)
    page = np.clip(page + field / field.std() * 15, 0, 255).astype(np.uint8)
    meta = drawings.read_drawing(page, date="2013-09-01").meta
    assert np.hypot(meta["drawx"] - 350, meta["drawy"] - 430) < 1.0
    assert abs(meta["drawr"] - 300) < 1.0
    assert meta["drawcov"] > 0.9


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_north_angle_must_be_finite(value):
    page, _ = _circle_page()
    with pytest.raises(InvalidArgumentError, match="north_angle must be one finite value"):
        drawings.read_drawing(page, date="2013-09-01", north_angle=value * u.deg)
    with pytest.raises(ArgumentTypeError, match="north_angle must be a Quantity"):
        drawings.read_drawing(page, date="2013-09-01", north_angle=30)


@pytest.mark.parametrize(
    ("date", "error"), [("yesterday-ish", InvalidArgumentError), (None, ArgumentTypeError), (2013, ArgumentTypeError)]
)
def test_date_must_be_a_date(date, error):
    page, _ = _circle_page()
    with pytest.raises(error, match=r"date must be a date \(an astropy Time, a datetime or an ISO string") as info:
        drawings.read_drawing(page, date=date)
    assert repr(date) in str(info.value)


def test_mirrored_must_be_a_bool():
    # "no" is truthy: it would have mirrored the drawing.
    page, _ = _circle_page()
    with pytest.raises(ArgumentTypeError, match="mirrored must be True or False, got 'no'"):
        drawings.read_drawing(page, date="2013-09-01", mirrored="no")


@pytest.mark.parametrize(
    ("shape", "cx", "cy", "r", "band"),
    [((4248, 3330), 1665.3, 2124.8, 1480.2, 47.5), ((300, 500), -40.0, 120.5, 200.0, 6.0), ((64, 64), 30, 30, 3, 5)],
)
def test_the_ring_of_pixels_near_a_circle_is_every_pixel_near_it(shape, cx, cy, r, band):
    # The limb fit looks at the ring row by row; it must be the brute-force ring, in the same order.
    yy, xx = np.indices(shape)
    near = np.abs(np.hypot(np.float32(xx - cx), np.float32(yy - cy)) - np.float32(r)) < band
    ys, xs = read._ring_pixels(shape, cx, cy, r, band)
    np.testing.assert_array_equal(ys, yy[near])
    np.testing.assert_array_equal(xs, xx[near])
