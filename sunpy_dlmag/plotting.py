"""
Figures of magnetic maps a paper can use: north up, colorbars that name the quantity, marks on
what a network or a model made, panel letters.

Every figure of the package (the CLI's ``--png`` quick-looks, the demo, the gallery) is drawn
here. Turning a map north up is for display only: the saved data keep their grid.
"""

import string
import warnings

import astropy.units as u
import numpy as np
from astropy.visualization import ImageNormalize

from sunpy.coordinates import HeliographicCarrington, HeliographicStonyhurst, Helioprojective

from sunpy_dlmag._cycles import historical_dates
from sunpy_dlmag.exceptions import InvalidArgumentError
from sunpy_dlmag.maps import is_ai_generated, magnetogram_plot_settings

__all__ = [
    "DPI",
    "NOISE_LIMIT",
    "display_map",
    "field_label",
    "label_panels",
    "noise_plot_settings",
    "plot_map",
    "quicklook_figure",
    "save_quicklook",
]

#: Resolution of the PNG figures (dots per inch).
DPI = 150
#: Limit of the grey scale for noise work (`noise_plot_settings`): the quiet-Sun noise of 5-20 G
#: shows, active regions saturate.
NOISE_LIMIT = 100 * u.G
# Pixels along the longer side of a quick-look's map: more than a 6-inch panel at `DPI` shows.
_DISPLAY_PX = 1024

_LABELS = {"magnetogram": r"$B_\mathrm{LOS}$ [G]", "radial field": r"$B_r$ [G]", "uncertainty": r"$\sigma$ [G]"}


def noise_plot_settings(limit=NOISE_LIMIT):
    """Plot settings for noise work: grey, symmetric about 0 G at ``limit`` (default +-100 G)."""
    limit = u.Quantity(limit, u.G).to_value(u.G)
    if not np.isfinite(limit) or limit <= 0:
        raise InvalidArgumentError(f"limit must be a positive field strength, got {limit!r} G.")
    return {"cmap": "gray", "norm": ImageNormalize(vmin=-limit, vmax=limit)}


def field_label(smap):
    """
    The colorbar label of a map: ``B_LOS [G]``, ``B_r [G]`` or ``σ [G]``.

    A product of this package says what it measures (``DLMEAS``); another map in G is taken
    as radial on a heliographic grid (synoptic maps) and as line-of-sight otherwise. Maps in
    other units get their unit, maps of categories (open field, sources) no label.
    """
    measurement = smap.meta.get("dlmeas", "")
    if measurement in _LABELS:
        return _LABELS[measurement]
    if smap.unit is None:
        return ""
    if smap.unit.is_equivalent(u.G) and not measurement:
        radial = isinstance(smap.coordinate_frame, HeliographicCarrington | HeliographicStonyhurst)
        return _LABELS["radial field" if radial else "magnetogram"]
    return "" if measurement else f"[{smap.unit.to_string()}]"


def display_map(smap, *, max_px=_DISPLAY_PX):
    """
    A copy of ``smap`` to show: binned to at most ``max_px`` pixels a side and, for a disk
    image, turned north up (``rotate(order=3)``), as HMI's files are stored north down.

    For display only: the data of ``smap`` are not changed, and no saved product passes here.
    """
    step = int(np.ceil(max(smap.data.shape) / max_px))
    if step > 1:
        ny, nx = (n - n % step for n in smap.data.shape)
        smap = smap.submap([0, 0] * u.pix, top_right=[nx - 1, ny - 1] * u.pix).superpixel(
            [step, step] * u.pix, func=np.mean
        )
    if isinstance(smap.coordinate_frame, Helioprojective) and not np.allclose(
        smap.rotation_matrix, np.eye(2), atol=1e-6
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NaN off the disk
            smap = smap.rotate(order=3, missing=np.nan)
    return smap


@historical_dates()  # drawings of 1612 or the 1940s: no erfa "dubious year" warnings
def plot_map(smap, *, figure=None, position=(1, 1, 1), title=None, noise=False, settings=None, label=None,
             colorbar=True, limb=True, mark=True):  # fmt: skip
    """
    Plot a map north up in new axes, with a labelled colorbar and what made it in the title.

    Parameters
    ----------
    smap : `~sunpy.map.GenericMap`
    figure : `matplotlib.figure.Figure`, optional
        Where to add the axes (default: a new figure, without pyplot).
    position : tuple
        Where on ``figure``, as `matplotlib.figure.Figure.add_subplot` takes it, e.g. ``(2, 3, 1)``.
    title : str, optional
        Default: the map's instrument and time.
    noise : bool
        Grey at +-100 G (`noise_plot_settings`) instead of the map's own colour map.
    settings : dict, optional
        Plot settings (``cmap``, ``norm``) instead of the map's own or the noise ones.
    label : str, optional
        The colorbar's label instead of `field_label` (e.g. for a difference of two maps).
    colorbar, limb : bool
        Draw the colorbar and, on disk images, the limb.
    mark : bool
        Add "AI-GENERATED" to the title of a map a network made and "model from a drawing, not
        an observation" to that of bipoles from a drawing.

    Returns
    -------
    `~astropy.visualization.wcsaxes.WCSAxes`
    """
    shown = display_map(smap)
    if figure is None:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(6, 5), layout="constrained")
    axes = figure.add_subplot(*position, projection=shown)
    if title is None:
        title = f"{smap.instrument or smap.name} {smap.date.strftime('%Y-%m-%d %H:%M:%S')}"
    if mark and is_ai_generated(smap):
        title += "\nAI-GENERATED, not an observation"
    elif mark and smap.meta.get("dlprod") == "drawing":  # bipoles from physical relations
        title += "\nmodel from a drawing, not an observation"
    settings = _settings(smap, noise) if settings is None else settings
    image = shown.plot(axes=axes, title=title, **settings)
    axes.coords.grid(False)
    if isinstance(shown.coordinate_frame, Helioprojective):
        if limb:
            shown.draw_limb(axes=axes, color="0.5", lw=0.6)
    elif isinstance(shown.coordinate_frame, HeliographicCarrington | HeliographicStonyhurst):
        _global_axes(axes)
    if colorbar:
        _colorbar(axes, image, shown, label)
    return axes


def _settings(smap, noise):
    in_gauss = smap.unit is not None and smap.unit.is_equivalent(u.G)
    if noise and in_gauss and smap.meta.get("dlmeas", "") != "uncertainty":
        return noise_plot_settings()
    if in_gauss and not smap.meta.get("dlprod"):
        # An observation: the package's fixed limits (products have them already), not its own.
        radial = isinstance(smap.coordinate_frame, HeliographicCarrington | HeliographicStonyhurst)
        return magnetogram_plot_settings("global" if radial else "magnetogram")
    return {}


def _colorbar(axes, image, smap, label=None):
    measurement = smap.meta.get("dlmeas", "")
    if measurement == "open-field polarity":  # three categories, one tick each
        bar = axes.figure.colorbar(image, ax=axes, shrink=0.75, ticks=[-1, 0, 1])
        bar.ax.set_yticklabels(["open,\n$B_r$ < 0", "closed", "open,\n$B_r$ > 0"])
        return bar
    signed = smap.unit is not None and smap.unit.is_equivalent(u.G) and measurement != "uncertainty"
    extend = "both" if signed else "max"
    return axes.figure.colorbar(image, ax=axes, shrink=0.75, label=label or field_label(smap), extend=extend)


def _global_axes(axes):
    """Longitude ticks that do not read 0 deg at both ends, latitude ticks apart near the poles."""
    lon, lat = axes.coords[0], axes.coords[1]
    lon.set_ticks([60, 120, 180, 240, 300] * u.deg)  # 0 and 360 at the edges would both read 0
    lon.set_major_formatter("d")
    lat.set_ticks([-60, -30, 0, 30, 60] * u.deg)
    lat.set_major_formatter("d")


def label_panels(axes, *, start=0):
    """Letter the panels of a composite figure (a), (b), ... in the upper left corner of each."""
    for i, ax in enumerate(axes):
        ax.text(0.02, 0.98, f"({string.ascii_lowercase[start + i]})", transform=ax.transAxes, ha="left", va="top",
                fontsize="large", fontweight="bold", color="k",
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
                )  # fmt: skip


def quicklook_figure(smap, *, noise=False, title=None):
    """A figure of one map (`plot_map`), without pyplot: safe in worker threads."""
    return plot_map(smap, noise=noise, title=title).figure


def save_quicklook(smap, path, *, overwrite=False, noise=False, title=None):
    """
    Write a PNG quick-look of a map: north up, labelled colorbar, AI mark, `DPI` dots per inch.

    Parameters
    ----------
    smap : `~sunpy.map.GenericMap`
    path : str or `os.PathLike`
        The PNG file, written atomically.
    overwrite : bool
        Replace an existing file instead of raising `~sunpy_dlmag.exceptions.OutputExistsError`.
    noise : bool
        Grey at +-100 G, to see the noise (`noise_plot_settings`).
    title : str, optional

    Returns
    -------
    `~pathlib.Path`
    """
    from sunpy_dlmag.io import write_atomic

    fig = quicklook_figure(smap, noise=noise, title=title)
    return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI), overwrite=overwrite)
