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
as line-of-sight magnetograms, and merges those three views back, with the ADAPT-GONG
synchronic map of the same day (the mean of its 12 realisations) for what none of them sees:
the poles. The disk maps are real observations; none of them is AI-generated here.
"""

import astropy.units as u
import matplotlib.pyplot as plt
import numpy as np
from astropy.coordinates import SkyCoord
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.lines import Line2D

from sunpy.coordinates import HeliographicStonyhurst, get_earth

from sunpy_dlmag.data.sample import ADAPT_SYNCHRONIC, HMI_SYNCHRONIC
from sunpy_dlmag.io import read_adapt, read_hmi_synchronic
from sunpy_dlmag.pfss import (
    open_field_fraction,
    open_field_map,
    pfss_extrapolate,
    source_surface_pil,
    trace_field_lines,
)
from sunpy_dlmag.plotting import label_panels
from sunpy_dlmag.synchronic import disk_view, source_legend, synchronic_map

###############################################################################
# The two global maps of 2018-11-06 bundled with the package: the HMI daily synchronic
# frame (720 x 360, radial field) and the ADAPT-GONG map (360 x 180, mean of its 12
# flux-transport realisations, reprojected to CEA).

hmi = read_hmi_synchronic(HMI_SYNCHRONIC)
adapt = read_adapt(ADAPT_SYNCHRONIC)

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
# with weights mu (pixels with mu < 0.2 are dropped); the ADAPT map fills the rest. The
# second map says which input each pixel came from.

smap, sources = synchronic_map(earth_view, far_views, background=adapt, return_sources=True)
legend = source_legend(sources)
for code, text in legend.items():
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
# The synchronic map, with the outline of what the Earth view contributed, and the map of
# where each pixel came from. Both are on the same Carrington grid; the colour limits are
# the package's fixed ones for global maps (+-50 G, `~sunpy_dlmag.maps.MAGNETOGRAM_PLOT`).

when = smap.date.strftime("%Y-%m-%d %H:%M UT")


def carrington_axes(ax):
    """Ticks of a Carrington CEA map that do not run into each other near the poles (nor read 0 at both ends)."""
    ax.coords[0].set_ticks([60, 120, 180, 240, 300] * u.deg)
    ax.coords[0].set_major_formatter("d")
    ax.coords[1].set_ticks([-60, -30, 0, 30, 60] * u.deg)
    ax.coords[1].set_major_formatter("d")
    ax.coords.grid(False)


fig = plt.figure(figsize=(13, 9), layout="constrained")
ax = fig.add_subplot(2, 1, 1, projection=smap)
image = smap.plot(
    axes=ax,
    title=f"Synchronic map of $B_r$, {when}\nviews from Earth and from $\\pm$120° (all three made from the "
    "HMI synchronic frame), ADAPT-GONG elsewhere",
)
ax.contour((sources.data == 1).astype(float), levels=[0.5], colors="tab:green", linewidths=2.5)
carrington_axes(ax)
fig.colorbar(image, ax=ax, shrink=0.8, extend="both", label="$B_r$ [G]")
ax.legend(
    handles=[Line2D([], [], color="tab:green", lw=2.5, label="from the Earth view")], loc="lower left", fontsize=9
)

first = ax
codes = sorted(legend)
colours = {-1: "0.75", 0: "white", 1: "tab:green", 2: "tab:orange", 3: "tab:purple"}
ax = fig.add_subplot(2, 1, 2, projection=sources)
# A colour for each code that this map has, instead of the map's own ten-colour default.
image = sources.plot(
    axes=ax,
    cmap=ListedColormap([colours.get(code, "tab:gray") for code in codes]),
    norm=BoundaryNorm(np.arange(len(codes) + 1) - 0.5 + codes[0], len(codes)),
    title=f"Where each pixel of the synchronic map came from, {when}",
)
carrington_axes(ax)
bar = fig.colorbar(image, ax=ax, shrink=0.8, ticks=codes)
labels = {-1: "ADAPT-GONG\n(background)", 0: "no data"}
labels.update(
    {code: f"view from Stonyhurst\nlon {lon:+d}° (made from\nthe HMI synchronic frame)"
     for code, lon in enumerate(observers, start=1)}
)  # fmt: skip
bar.ax.set_yticklabels([labels[code] for code in codes], fontsize=8)
label_panels([first, ax])

###############################################################################
# The open-field map with the source-surface polarity inversion line (the base of the
# heliospheric current sheet), and the field lines over the Earth view.

fig = plt.figure(figsize=(13, 5.2), layout="constrained")
grid = fig.add_gridspec(1, 2, width_ratios=(1.7, 1))
ax = fig.add_subplot(grid[0], projection=open_map)
image = open_map.plot(axes=ax, title=f"PFSS open field (source surface 2.5 $R_\\odot$), {when}")
for pil in source_surface_pil(output):
    ax.plot_coord(pil, color="black", linewidth=1.5)
carrington_axes(ax)
bar = fig.colorbar(image, ax=ax, shrink=0.7, ticks=[-1, 0, 1])
bar.ax.set_yticklabels(["open,\n$B_r$ < 0", "closed", "open,\n$B_r$ > 0"])
ax.legend(handles=[Line2D([], [], color="black", lw=1.5, label="source-surface PIL")], loc="lower left", fontsize=9)

first = ax
line_colours = {1: "tab:red", -1: "tab:blue", 0: "black"}
ax = fig.add_subplot(grid[1], projection=earth_view)
image = earth_view.plot(
    axes=ax, title=f"PFSS field lines over the Earth view\n(made from the HMI synchronic frame), {when}"
)
fig.colorbar(image, ax=ax, shrink=0.7, extend="both", label=r"$B_\mathrm{LOS}$ [G]")
for line in field_lines:
    if len(line.coords) > 1:
        ax.plot_coord(line.coords, color=line_colours[int(line.polarity)], linewidth=0.8)
ny, nx = earth_view.data.shape
ax.set_xlim(-0.25 * nx, 1.25 * nx)
ax.set_ylim(-0.25 * ny, 1.25 * ny)
ax.coords.grid(False)
ax.legend(
    handles=[
        Line2D([], [], color=line_colours[1], label="open, $B_r$ > 0"),
        Line2D([], [], color=line_colours[-1], label="open, $B_r$ < 0"),
        Line2D([], [], color=line_colours[0], label="closed"),
    ],
    loc="upper right",
    fontsize=8,
)
label_panels([first, ax], start=2)
plt.show()
