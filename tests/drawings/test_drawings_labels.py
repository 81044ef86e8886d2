"""
Groups as the observer labelled them: two small groups drawn closer than the linkage distance
are two groups when each has its own written label beside it, and a group labelled by its
count and number (two lines of writing) stays one.
"""

import astropy.units as u
import matplotlib
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from conftest import shared_path
from PIL import Image, ImageDraw, ImageFont

from sunpy.coordinates import HeliographicStonyhurst, Helioprojective, get_earth, sun

from sunpy_dlmag import drawings

SIZE, CENTRE, RADIUS = 1400, (700.0, 700.0), 600.0  # image pixels, x from the left, y from the top
DATE = "2023-06-06T09:00"
# Two groups of two pores 5 degrees apart (single linkage at 10 degrees joins them), and a third.
PORES = {"A2": [(-3.0, 12.0), (-1.0, 12.5)], "B2": [(4.0, 12.0), (6.5, 11.5)], "n°7": [(20.0, -15.0), (22.0, -15.5)]}


def _pixels(lon, lat):
    surface = SkyCoord(lon * u.deg, lat * u.deg, 1 * u.R_sun, frame=HeliographicStonyhurst(obstime=DATE))
    seen = surface.transform_to(Helioprojective(observer=get_earth(DATE), obstime=DATE))
    scale = RADIUS / sun.angular_radius(DATE).to_value(u.arcsec)
    return CENTRE[0] + seen.Tx.to_value(u.arcsec) * scale, CENTRE[1] - seen.Ty.to_value(u.arcsec) * scale


def _drawing(labelled):
    image = Image.new("L", (SIZE, SIZE), 245)
    pen = ImageDraw.Draw(image)
    pen.ellipse([CENTRE[0] - RADIUS, CENTRE[1] - RADIUS, CENTRE[0] + RADIUS, CENTRE[1] + RADIUS], outline=30, width=4)
    font = ImageFont.truetype(f"{matplotlib.get_data_path()}/fonts/ttf/DejaVuSans.ttf", 26)
    for label, spots in PORES.items():
        for lon, lat in spots:
            x, y = _pixels(lon, lat)
            pen.ellipse([x - 5, y - 5, x + 5, y + 5], fill=20)
        if labelled:
            x, y = _pixels(*np.mean(spots, axis=0))
            if label == "n°7":  # the count above the group's number, as on the Uccle forms of 1941
                pen.text((x - 10, y + 0.05 * RADIUS), "2", fill=40, font=font)
            pen.text((x - 20, y + 0.1 * RADIUS if label == "n°7" else y + 0.06 * RADIUS), label, fill=40, font=font)
    return np.asarray(image)


def _groups(image):
    drawing = drawings.read_drawing(image, date=DATE, mirrored=False, north_angle=0 * u.deg)
    return np.unique(np.asarray(drawings.detect_sunspots(drawing)["group"]), return_counts=True)[1]


def test_groups_drawn_close_are_split_by_their_labels():
    # Unlabelled, the two close groups are one (10 degrees single linkage) ...
    assert sorted(_groups(_drawing(labelled=False))) == [2, 4]
    # ... labelled "A2" and "B2", they are the observer's two; "2" over "n°7" is one label.
    assert sorted(_groups(_drawing(labelled=True))) == [2, 2, 2]


REAL = shared_path("drawings")


@pytest.mark.skipif(REAL is None, reason="the real drawings (shared/data/drawings) are not here")
@pytest.mark.parametrize("name", ["usd201309020800.jpg", "usd201309110745.jpg"])
def test_labelled_groups_on_real_forms(name):
    # The observers count 5 groups; two of them, labelled apart ("H5" and "B2" on 2 Sept), are
    # drawn within 10 degrees of each other.
    stamp = name[3:15]
    date = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[8:10]}:{stamp[10:12]}"
    drawing = drawings.read_drawing(REAL / "uccle_2013-09" / name, date=date)
    assert len(np.unique(np.asarray(drawings.detect_sunspots(drawing)["group"]))) == 5
