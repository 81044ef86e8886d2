"""
=====================================================
A synchronic map, its PFSS corona and coronal holes
=====================================================

Merge full-disk magnetograms seen from several observers into one full-Sun Carrington map
with `sunpy_dlmag.synchronic_map`, see where each pixel came from, extrapolate the corona with
`sunpy_dlmag.pfss_extrapolate` (sunkit-magex inside), and map where its field lines are open:
the coronal holes.

In practice the frontside map is an HMI magnetogram and the farside maps are AI magnetograms
made from STEREO/EUVI images (``farside_magnetogram``); their headers name the model, and the
sources map marks their pixels *AI-generated*. To run offline on the data bundled with the
package, this example takes its disk maps from the real HMI daily synchronic frame of
2018-11-06: it shows that frame to an observer at Earth and to two observers on the far side,
as line-of-sight magnetograms, and merges those three views back, with the real GONG synoptic
map of the same day for what none of them sees (the poles).
"""

import astropy.units as u
import matplotlib.pyplot as plt
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.visualization import ImageNormalize

from sunpy.coordinates import HeliographicStonyhurst, get_earth

from sunpy_dlmag.data.sample import GONG_SYNOPTIC, HMI_SYNCHRONIC
from sunpy_dlmag.io import read_gong_synoptic, read_hmi_synchronic
from sunpy_dlmag.pfss import (
    open_field_fraction,
    open_field_map,
    pfss_extrapolate,
    source_surface_pil,
    trace_field_lines,
)
from sunpy_dlmag.synchronic import disk_view, source_legend, synchronic_map

###############################################################################
# The two global maps of 2018-11-06 bundled with the package: the HMI daily synchronic
# frame (720 x 360, radial field) and the GONG synoptic map (360 x 180).

hmi = read_hmi_synchronic(HMI_SYNCHRONIC)
gong = read_gong_synoptic(GONG_SYNOPTIC)

###############################################################################
# Three full-disk line-of-sight magnetograms (``B_los = B_r mu``): from Earth, and from
# 120 degrees east and west of it. Each map carries its observer, as a real one would.

date = hmi.date
b0 = get_earth(date).lat
observers = {
    lon: SkyCoord(lon * u.deg, b0, 1 * u.AU, frame=HeliographicStonyhurst(obstime=date)) for lon in (0, 120, -120)
}
earth_view, *far_views = (disk_view(hmi, observer, shape=(512, 512)) for observer in observers.values())

###############################################################################
# Merge them. Each view is reprojected with its own observer, divided by mu, and averaged
# with weights mu (pixels with mu < 0.2 are dropped); the GONG map fills the rest. The
# second map says which input each pixel came from.

smap, sources = synchronic_map(earth_view, far_views, background=gong, return_sources=True)
for code, text in source_legend(sources).items():
    print(f"{code:>2}: {text}  ({np.mean(sources.data == code):.0%} of the surface)")

###############################################################################
# The corona: a potential field with a source surface at 2.5 solar radii, and the map of
# open field lines traced from a 90 x 180 grid of footpoints (+1 open and positive,
# -1 open and negative, 0 closed).

output = pfss_extrapolate(smap, nrho=35, rss=2.5)
open_map = open_field_map(output, shape=(90, 180))
fraction = open_field_fraction(open_map)
print(f"open field: {fraction:.1%} of the surface")

###############################################################################
# A few field lines, from footpoints on the hemisphere that faces Earth.

earth_lon = earth_view.observer_coordinate.transform_to(output.coordinate_frame).lon
lat = np.concatenate([np.linspace(-35, 35, 8), [-70, -60, 60, 70]]) * u.deg
lon = earth_lon + np.linspace(-60, 60, 5) * u.deg
lon, lat = (a.ravel() for a in np.meshgrid(lon, lat))
seeds = SkyCoord(lon, lat, 1.05 * u.R_sun, frame=output.coordinate_frame)
field_lines = trace_field_lines(output, seeds)

###############################################################################
# The synchronic map with the outline of each input, the open-field map with the
# source-surface polarity inversion line, and the field lines over the Earth view (red:
# open, positive; blue: open, negative; black: closed).

norm = ImageNormalize(vmin=-50, vmax=50)
fig = plt.figure(figsize=(12, 10), layout="constrained")
grid = fig.add_gridspec(2, 2, width_ratios=(1.6, 1))
ax = fig.add_subplot(grid[0, :], projection=smap)
smap.plot(axes=ax, norm=norm, cmap="gray")
outlines = {1: "tab:green", 2: "tab:orange", 3: "tab:purple", -1: "yellow"}
for code, colour in outlines.items():
    ax.contour((sources.data == code).astype(float), levels=[0.5], colors=colour, linewidths=1.5)
ax.coords.grid(False)
ax.set_title("Synchronic B_r; outlines: Earth view (green), far-side views (orange, purple), GONG (yellow)")

ax = fig.add_subplot(grid[1, 0], projection=open_map)
open_map.plot(axes=ax, title="Open field (red +, blue -), source-surface PIL (black)")
for pil in source_surface_pil(output):
    ax.plot_coord(pil, color="black", linewidth=1.5)
ax.coords.grid(False)

ax = fig.add_subplot(grid[1, 1], projection=earth_view)
earth_view.plot(axes=ax, norm=norm, cmap="gray", title="Field lines over the Earth view")
for line in field_lines:
    if len(line.coords) > 1:
        colour = {1: "tab:red", -1: "tab:blue", 0: "black"}[int(line.polarity)]
        ax.plot_coord(line.coords, color=colour, linewidth=0.8)
ny, nx = earth_view.data.shape
ax.set_xlim(-0.25 * nx, 1.25 * nx)
ax.set_ylim(-0.25 * ny, 1.25 * ny)
plt.show()
