"""
Heliographic positions of drawn spots against a reference that does not share the reader's code.

The drawings are made here from sunpy's coordinates alone: each spot's Stonyhurst position is
turned into helioprojective (Tx, Ty) as seen from Earth on the day, and (Tx, Ty) into image
pixels by the plain drawing rule (the disk's centre and radius in pixels, solar north up, east
on the left or, mirrored, on the right). `read_drawing` and `detect_sunspots` must give back
the latitudes and longitudes that were drawn. A wrong observer (B0, the Sun's distance), a
swapped axis or a mirrored east-west shows here as degrees, not as a changed pixel count.
"""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from PIL import Image, ImageDraw

from sunpy.coordinates import HeliographicStonyhurst, Helioprojective, get_earth, sun

import sunpy_dlmag

SIZE, CENTRE, RADIUS = 1400, (700.0, 700.0), 600.0  # image pixels, x from the left, y from the top
# Dates with B0 near its extremes (+7.2 deg, -7.2 deg) and one near zero.
DATES = ["2023-09-08T09:00", "2023-03-06T09:00", "2023-06-06T09:00"]
# (lon, lat) in degrees: one group north-east, one south-west, one near the centre.
SPOTS = [(-32.0, 18.0), (-29.5, 17.0), (25.0, -21.0), (27.0, -22.5), (3.0, 9.0)]


def _pixels(lon, lat, date, mirrored):
    """Image pixels of Stonyhurst (lon, lat) on a drawing of ``date`` (north up)."""
    earth = get_earth(date)
    surface = SkyCoord(lon * u.deg, lat * u.deg, 1 * u.R_sun, frame=HeliographicStonyhurst(obstime=date))
    seen = surface.transform_to(Helioprojective(observer=earth, obstime=date))
    scale = RADIUS / sun.angular_radius(date).to_value(u.arcsec)  # pixels per arcsec
    east_sign = -1 if mirrored else 1
    x = CENTRE[0] + east_sign * seen.Tx.to_value(u.arcsec) * scale
    y = CENTRE[1] - seen.Ty.to_value(u.arcsec) * scale
    return x, y


def _drawing(date, mirrored):
    image = Image.new("L", (SIZE, SIZE), 245)
    pen = ImageDraw.Draw(image)
    cx, cy = CENTRE
    pen.ellipse([cx - RADIUS, cy - RADIUS, cx + RADIUS, cy + RADIUS], outline=30, width=4)
    for lon, lat in SPOTS:
        x, y = _pixels(lon, lat, date, mirrored)
        pen.ellipse([x - 7, y - 7, x + 7, y + 7], fill=20)
    return np.asarray(image)


@pytest.mark.parametrize("mirrored", [False, True])
@pytest.mark.parametrize("date", DATES)
def test_drawn_positions_come_back_in_heliographic_degrees(date, mirrored):
    drawing = sunpy_dlmag.read_drawing(_drawing(date, mirrored), date=date, mirrored=mirrored)
    spots = sunpy_dlmag.detect_sunspots(drawing)
    assert len(spots) == len(SPOTS)
    found = np.column_stack([spots["lon"].to_value(u.deg), spots["lat"].to_value(u.deg)])
    for lon, lat in SPOTS:
        distance = np.hypot(found[:, 0] - lon, found[:, 1] - lat)
        # A 14-px dot on a 600-px disk: its centroid lies within a few tenths of a degree.
        assert distance.min() < 0.5, (lon, lat, found[np.argmin(distance)])
    assert len(set(spots["group"])) == 3
