"""
The orientation of a drawing read from its form (N/S/E/W letters outside the limb, the "-" and
"+" beside the 0 of a position-angle arc), and the positions it gives on real Uccle forms whose
tables list the observers' L and B (tests/data/uccle_1941_group_tables.csv says where each
number was read). The real forms are read in place from the shared data folder; the tests skip
when it is absent.
"""

import csv
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from conftest import shared_path
from erfa import ErfaWarning

from sunpy.coordinates import HeliographicStonyhurst

from sunpy_dlmag import drawings
from sunpy_dlmag.exceptions import DlmagUserWarning

DATA = Path(__file__).parents[1] / "data"


REAL = shared_path("drawings")
real = pytest.mark.skipif(REAL is None, reason="the real drawings (shared/data/drawings) are not here")


def _date(name):
    stamp = name[3:15]
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[8:10]}:{stamp[10:12]}"


@real
@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("", "usd201806060752.jpg"),  # W and E printed beside the limb, "-" 0 "+" on the arc
        ("uccle_2013-09", "usd201309010850.jpg"),  # "-" 0 "+" on the arc only
        ("uccle_2013-09", "usd201309110745.jpg"),
        ("uccle_1940-2024", "usd195403141440.jpg"),  # 1954 arc "-" 0 "+"
    ],
)
def test_uccle_forms_are_read_as_mirrored_with_north_up(folder, name):
    # Uccle forms print W on the left and E on the right: without being told, the reader sees it.
    drawing = drawings.read_drawing(REAL / folder / name, date=_date(name))
    assert drawing.meta["drawmirr"] is True
    assert drawing.meta["drawnang"] == 0
    assert drawing.meta["drawmsrc"] == drawing.meta["drawnsrc"] == "form"
    assert 0.5 <= drawing.meta["drawmcnf"] <= 1
    counts = drawings.sunspot_counts(drawing)
    assert counts.orientation["mirrored"] is True
    assert counts.orientation["mirrored_from"] == "form"


@real
def test_a_mirrored_form_keeps_the_scans_columns():
    # The map holds the scan's columns and the mirror is in its WCS: a spot's x is its column
    # in the scan (as the hand-marked positions, and any script reading the table, take it).
    name = "usd195403141440.jpg"
    folder = REAL / "uccle_1940-2024"
    drawing = drawings.read_drawing(folder / name, date=_date(name))
    assert drawing.meta["drawmirr"] is True
    spots = drawings.detect_sunspots(drawing)
    with (folder / "spot_positions.csv").open() as f:
        marked = np.array([[float(r["x_px"]), float(r["y_px"])] for r in csv.DictReader(f) if r["file"] == name])
    found = np.column_stack([spots["x"].value, drawing.data.shape[0] - 1 - spots["y"].value])
    distance = np.hypot(*(found[:, None, :] - marked[None, :, :]).transpose(2, 0, 1)).min(axis=1)
    assert len(found) >= 10
    assert np.all(distance < 0.02 * drawing.meta["drawr"] + 5)
    # East on the right of a mirrored form: longitude falls from left to right, and rotate()
    # gives the Sun un-mirrored (east on the left).
    assert np.corrcoef(spots["x"].value, spots["lon"].to_value(u.deg))[0, 1] < -0.9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ErfaWarning)  # UTC is not defined in 1954
        upright = drawing.rotate(order=0)
        frame = HeliographicStonyhurst(obstime=drawing.date)
        spot = SkyCoord(spots["lon"][0], spots["lat"][0], drawing.rsun_meters, frame=frame)
        disk_centre = SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=upright.coordinate_frame)
        assert upright.wcs.world_to_pixel(spot)[0] < upright.wcs.world_to_pixel(disk_centre)[0]


@real
def test_given_orientation_wins_over_the_form():
    name = "usd201806060752.jpg"
    drawing = drawings.read_drawing(REAL / name, date=_date(name), mirrored=False, north_angle=0 * u.deg)
    assert drawing.meta["drawmirr"] is False
    assert drawing.meta["drawmsrc"] == "user"
    assert drawing.meta["drawmcnf"] == 1


@real
def test_a_form_without_cardinal_marks_warns_and_keeps_the_defaults():
    # The 1941 forms carry a handwritten N only: the mirroring cannot be read from them.
    name = "usd194107110835.jpg"
    with pytest.warns(drawings.OrientationWarning, match="mirrored"):
        drawing = drawings.read_drawing(REAL / "uccle_1940-2024" / name, date=_date(name))
    assert drawing.meta["drawmirr"] is False
    assert drawing.meta["drawmsrc"] == "default"
    assert drawing.meta["drawmcnf"] < 0.5


def test_a_bare_circle_reads_as_default_without_a_warning():
    yy, xx = np.mgrid[:400, :400]
    paper = np.where(np.abs(np.hypot(xx - 200, yy - 200) - 150) < 1.5, 0, 255).astype(np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drawing = drawings.read_drawing(paper, date="2011-02-15")
    assert drawing.meta["drawmsrc"] == drawing.meta["drawnsrc"] == "default"
    assert drawing.meta["drawmcnf"] == drawing.meta["drawncnf"] == 0
    assert drawing.meta["drawmirr"] is False
    assert drawing.meta["drawnang"] == 0


def spot_table():
    with (DATA / "uccle_1941_group_tables.csv").open() as f:
        rows = [r for r in csv.DictReader(line for line in f if not line.startswith("#"))]
    forms = {}
    for r in rows:
        cmd = (float(r["L"]) - float(r["L0"]) + 180) % 360 - 180
        forms.setdefault((r["file"], r["date"]), []).append((cmd, float(r["B"])))
    return forms


def _errors(mirrored):
    """Angular distance (deg) from each observer's group position to the nearest detected spot."""
    errors = {}
    for (name, date), groups in spot_table().items():
        drawing = drawings.read_drawing(
            REAL / "uccle_1940-2024" / name, date=date, mirrored=mirrored, north_angle=0 * u.deg, north="celestial"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DlmagUserWarning)
            spots = drawings.detect_sunspots(drawing)
        lon, lat = np.radians(spots["lon"].to_value(u.deg)), np.radians(spots["lat"].to_value(u.deg))
        for cmd, b in groups:
            c, bb = np.radians(cmd), np.radians(b)
            cos = np.sin(bb) * np.sin(lat) + np.cos(bb) * np.cos(lat) * np.cos(lon - c)
            errors.setdefault(name, []).append(float(np.degrees(np.arccos(np.clip(cos, -1, 1))).min()))
    return errors


@real
def test_positions_on_1941_forms_match_the_observers_tables():
    # The forms' N-S line is celestial north (P is written on them) and E is on the right.
    errors = _errors(mirrored=True)
    every = np.concatenate(list(errors.values()))
    # The observers' L and B against the nearest detected spot (the detector's groups merge some
    # of the observers' neighbouring groups, so their centres are not compared).
    assert np.median(every) < 2.0
    assert np.mean(every < 2.0) >= 0.75
    # 5 Sept 1941 has P = +22 deg: its positions hold only with P turned clockwise on a mirrored form.
    assert np.max(errors["usd194109050805.jpg"]) < 3.0
    # Without the mirroring the positions are far off (east and west swapped).
    assert np.median(np.concatenate(list(_errors(mirrored=False).values()))) > 5.0
