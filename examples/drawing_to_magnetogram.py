"""
=========================================
A magnetogram from a sunspot drawing
=========================================

Trace the sunspots of a real SOHO/MDI magnetogram as a sunspot drawing (ink on paper, turned
and with handwriting, as an observer would have drawn it), read the drawing back as a map,
detect its spots and spot groups, and rebuild a magnetogram from the drawing alone: one
bipole per group, with Hale's polarity law and Joy's law. The reconstruction is set beside
the real magnetogram of that day. Then the same on a real observatory drawing, a scanned
Uccle (Royal Observatory of Belgium) form of 2009, when the project's shared data are here.
"""

import os
import tempfile
import warnings
from pathlib import Path

import astropy.units as u
import matplotlib.pyplot as plt
from astropy.coordinates import SkyCoord
from astropy.visualization import ImageNormalize
from PIL import Image

import sunpy.map

from sunpy_dlmag import drawings
from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
from sunpy_dlmag.training.drawings import render_drawing

###############################################################################
# The full-disk MDI magnetogram of 2010-10-15, bundled with the package. Its spots are the
# places where the field reaches 300 G; `~sunpy_dlmag.training.drawings.render_drawing` draws them as
# seen from Earth, here with solar north 25 degrees to the left of "up" on the paper.

mdi = sunpy.map.Map(MDI_MAGNETOGRAM)
image = render_drawing(mdi, shape=(900, 1000), centre=(520, 440), radius=380, north_angle=25 * u.deg,
                                threshold=300 * u.G)  # fmt: skip
path = Path(tempfile.mkdtemp()) / "drawing_2010-10-15.png"
Image.fromarray(image).save(path)

###############################################################################
# Read the drawing as an observer's scan: the disk outline is found by a robust circle fit,
# the orientation comes from us, and the date gives the Earth observer and the solar radius.

drawing = drawings.read_drawing(path, date=mdi.date, north_angle=25 * u.deg)
print(
    f"disk centre ({drawing.meta['drawx']:.1f}, {drawing.meta['drawy']:.1f}) px, radius {drawing.meta['drawr']:.1f} px"
)

###############################################################################
# Spots and spot groups, with heliographic positions and areas in millionths of the
# hemisphere (corrected for foreshortening).

spots = drawings.detect_sunspots(drawing)
groups = drawings.sunspot_groups(spots)
for column in ("lat", "lon", "carrington_lon", "area"):
    groups[column].info.format = ".1f"
print(groups["group", "n_spots", "lat", "lon", "carrington_lon", "area"])

###############################################################################
# One bipole per group: flux from the spot areas (Tlatov & Pevtsov 2014), the leading
# polarity from Hale's law for cycle 24, the tilt from Joy's law.

bipoles = drawings.sunspot_bipoles(spots, date=drawing.date)
print(bipoles["group", "cycle", "polarity", "tilt", "flux"])
reconstruction = drawings.drawing_to_magnetogram(drawing, spots=spots)

###############################################################################
# The drawing as scanned, the drawing map with the detected groups, the reconstruction, and
# the MDI magnetogram. The reconstruction is put on MDI's grid to compare them (MDI and this
# package use radii of the Sun that differ by 0.04 %, which sunpy notes).

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    on_mdi_grid = reconstruction.reproject_to(mdi.wcs)
field = ImageNormalize(vmin=-300, vmax=300)

fig = plt.figure(figsize=(12, 11), layout="constrained")
ax = fig.add_subplot(2, 2, 1)
ax.imshow(image)
ax.set_title("the drawing (north 25 deg left of up)")
ax.set_axis_off()

north_up = drawing.rotate(order=1)  # for display; the map itself needs no rotation
ax = fig.add_subplot(2, 2, 2, projection=north_up)
north_up.plot(axes=ax, title="read back, north up, detected groups")
north_up.draw_grid(axes=ax, grid_spacing=15 * u.deg, alpha=0.4)
for row in groups:
    ax.plot_coord(SkyCoord(row["Tx"], row["Ty"], frame=drawing.coordinate_frame), "o", mfc="none", mec="tab:red", ms=14)
    ax.text(row["Tx"].to_value(u.deg) + 0.015, row["Ty"].to_value(u.deg) + 0.015, str(row["group"]),
            color="tab:red", transform=ax.get_transform("world"))  # fmt: skip

ax = fig.add_subplot(2, 2, 3, projection=mdi)
on_mdi_grid.plot(axes=ax, cmap="gray", norm=field, title="bipoles from the drawing")
ax = fig.add_subplot(2, 2, 4, projection=mdi)
mdi.plot(axes=ax, cmap="gray", norm=field, title="SOHO/MDI 2010-10-15")

###############################################################################
# A real drawing: the Uccle form of 2009-06-22 06:15 UT (DigiSun, GPL-3.0; the drawing is the
# Royal Observatory of Belgium's), read in place from the project's shared data (set
# ``SUNPY_DLMAG_REAL_DATA`` to the folder holding ``drawings/``). The observer counted 6 spots
# in 2 groups, labelled "A2" and "B4" on the disk, as pencil dots a few pixels across. The form's
# printed centre cross and the handwritten labels are ink too: `~sunpy_dlmag.drawings.spot_candidates`
# gives each mark a verdict from its shape, and `~sunpy_dlmag.drawings.plot_candidates` shows them.

places = [os.environ.get("SUNPY_DLMAG_REAL_DATA", ""), "../shared/data", "../../shared/data", "../../../shared/data"]
scans = [Path(p) / "drawings" / "DrawingType_USET.jpg" for p in places if p]
scan = next((p for p in scans if p.is_file()), None)
if scan is None:
    print("The real Uccle drawings (shared/data/drawings) are not here; only the traced drawing above is shown.")
else:
    real = drawings.read_drawing(scan, date="2009-06-22T06:15", observatory="Uccle")
    marks = drawings.spot_candidates(real)
    real_spots = drawings.detect_sunspots(real)
    for column in ("rho", "width", "length"):
        marks[column].info.format = ".3f"
    print(marks["candidate", "spot", "verdict", "rho", "width", "length"])
    print(drawings.sunspot_bipoles(real_spots, date=real.date)["group", "cycle", "lat", "lon", "polarity", "flux"])
    real_magnetogram = drawings.drawing_to_magnetogram(real, spots=real_spots)

    fig = plt.figure(figsize=(12, 7), layout="constrained")
    drawings.plot_candidates(real, marks, axes=fig.add_subplot(1, 2, 1))
    ax = fig.add_subplot(1, 2, 2, projection=real_magnetogram)
    real_magnetogram.plot(axes=ax, norm=ImageNormalize(vmin=-100, vmax=100), title="bipoles of the 2 groups")

plt.show()
