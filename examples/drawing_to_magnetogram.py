"""
=========================================
A magnetogram from a sunspot drawing
=========================================

Trace the sunspots of a real SOHO/MDI magnetogram as a sunspot drawing (ink on paper, turned
and with handwriting, as an observer would have drawn it), read the drawing back as a map,
detect its spots and spot groups, and rebuild a magnetogram from the drawing alone: one
bipole per group, with Hale's polarity law and Joy's law. The reconstruction is set beside
the real magnetogram of that day. Then the same on a real observatory drawing, a scanned
Uccle (Royal Observatory of Belgium) form of 2009, downloaded once and cached by sunpy's data
manager.
"""

import tempfile
import warnings
from pathlib import Path

import astropy.units as u
import matplotlib.pyplot as plt
from astropy.coordinates import SkyCoord
from PIL import Image

import sunpy.map
from sunpy.data import manager

from sunpy_dlmag import drawings
from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
from sunpy_dlmag.plotting import label_panels, noise_plot_settings, plot_map
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
# the MDI magnetogram, both north up in grey at +-300 G. The reconstruction is on a grid fit
# for a magnetogram (1024 px, the disk as in MDI), not the scan's pixels.

field = noise_plot_settings(300 * u.G)
fig = plt.figure(figsize=(12, 11), layout="constrained")
ax = fig.add_subplot(2, 2, 1)
ax.imshow(image)
ax.set_title("the drawing (north 25 deg left of up)")
ax.set_axis_off()
axes = [ax]

axes.append(plot_map(drawing, figure=fig, position=(2, 2, 2), title="read back, north up, detected groups",
                     colorbar=False))  # fmt: skip
for row in groups:
    where = SkyCoord(row["Tx"], row["Ty"], frame=drawing.coordinate_frame)
    axes[-1].plot_coord(where, "o", mfc="none", mec="tab:red", ms=14)
    axes[-1].text(row["Tx"].to_value(u.deg) + 0.015, row["Ty"].to_value(u.deg) + 0.015, str(row["group"]),
                  color="tab:red", transform=axes[-1].get_transform("world"))  # fmt: skip
axes.append(plot_map(reconstruction, figure=fig, position=(2, 2, 3), settings=field,
                     title="bipoles from the drawing"))  # fmt: skip
axes.append(plot_map(mdi, figure=fig, position=(2, 2, 4), settings=field, title="SOHO/MDI 2010-10-15 (observed)"))
label_panels(axes)

###############################################################################
# A real drawing: the Uccle form of 2009-06-22 06:15 UT (from the DigiSun repository, GPL-3.0;
# the drawing is the Royal Observatory of Belgium's), downloaded once by sunpy's data manager
# and cached (checked by its sha256); without internet access this part is skipped. The
# observer counted 6 spots
# in 2 groups, labelled "A2" and "B4" on the disk, as pencil dots a few pixels across. The form's
# printed centre cross and the handwritten labels are ink too: `~sunpy_dlmag.drawings.spot_candidates`
# gives each mark a verdict from its shape, and `~sunpy_dlmag.drawings.plot_candidates` shows them.

USET_2009 = (
    "https://raw.githubusercontent.com/SabrinaBechet/DigiSun/2740e431322809b161d097ed49fac9ea2ff96766/"
    "from_vincent/DrawingType_USET.jpg"
)


@manager.require("uccle_20090622", [USET_2009], "af973ca0dbb838cd826695da93e79d979e0074ba4fe30ba7c8194fa8d2a7660f")
def uccle_drawing():
    return manager.get("uccle_20090622")


try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sunpy's note on the failed download, said below
        scan = uccle_drawing()
except RuntimeError as err:
    scan = None
    print(f"The Uccle drawing could not be downloaded ({err}); only the traced drawing above is shown.")
if scan is not None:
    real = drawings.read_drawing(scan, date="2009-06-22T06:15", observatory="Uccle")
    marks = drawings.spot_candidates(real)
    real_spots = drawings.detect_sunspots(real)
    for column in ("rho", "width", "length"):
        marks[column].info.format = ".3f"
    print(marks["candidate", "spot", "verdict", "rho", "width", "length"])
    print(drawings.sunspot_bipoles(real_spots, date=real.date)["group", "cycle", "lat", "lon", "polarity", "flux"])
    real_magnetogram = drawings.drawing_to_magnetogram(real, spots=real_spots)

    fig = plt.figure(figsize=(12, 7), layout="constrained")
    axes = [drawings.plot_candidates(real, marks, axes=fig.add_subplot(1, 2, 1))]
    axes.append(plot_map(real_magnetogram, figure=fig, position=(1, 2, 2), settings=noise_plot_settings(),
                         title="bipoles of the 2 groups"))  # fmt: skip
    label_panels(axes)

plt.show()
