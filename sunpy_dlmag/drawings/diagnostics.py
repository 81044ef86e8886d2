"""
A diagnostic figure of a drawing: the fitted limb and every candidate mark with its verdict,
so that a user checks the reading of a drawing at a glance.
"""

import numpy as np

from sunpy_dlmag import disk
from sunpy_dlmag._cycles import historical_dates
from sunpy_dlmag.drawings.read import drawing_data
from sunpy_dlmag.drawings.spots import VERDICTS, spot_candidates

__all__ = ["plot_candidates"]

_COLOURS = {
    "blob": "tab:green",
    "streak": "tab:green",
    "shading": "tab:brown",
    "dot": "tab:cyan",
    "faint dot": "tab:gray",
    "outlined": "tab:olive",
    "centre line": "tab:blue",
    "stroke": "tab:red",
    "stroke piece": "tab:pink",
    "unlabelled": "tab:purple",
    "learned spot": "darkgreen",
    "learned mark": "magenta",
    "speck": "tab:orange",
    "template": "goldenrod",
}


@historical_dates()  # drawings of the 1940s: no erfa "dubious year" warnings
def plot_candidates(drawing_map, candidates=None, *, axes=None, **detect_kwargs):
    """
    Plot a drawing with its fitted limb and every candidate mark, coloured by its verdict.

    Spots are numbered as in `~sunpy_dlmag.drawings.detect_sunspots`; the legend says what
    each colour means (spot, or rejected and why) and how many marks have it; the title gives
    the limb fit (radius, rms distance of the outline's ink, traced fraction). Map pixels, as
    the spot table's ``x`` and ``y``.

    Parameters
    ----------
    drawing_map : `~sunpy.map.GenericMap`
        A drawing read with `~sunpy_dlmag.drawings.read_drawing`.
    candidates : `~astropy.table.QTable`, optional
        The table of `~sunpy_dlmag.drawings.spot_candidates` (default: computed here with
        ``detect_kwargs``).
    axes : `matplotlib.axes.Axes`, optional
        Where to draw (default: a new figure, without pyplot).
    **detect_kwargs
        Passed to `~sunpy_dlmag.drawings.spot_candidates` (``threshold``, ``dot_size``, ...).

    Returns
    -------
    `matplotlib.axes.Axes`
        The axes; save with ``axes.figure.savefig("check.png")``.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle

    data = drawing_data(drawing_map)
    if candidates is None:
        candidates = spot_candidates(drawing_map, **detect_kwargs)
    if axes is None:
        axes = Figure(figsize=(8, 8.5), layout="constrained").add_subplot()
    ny, nx = data.shape
    step = max(1, int(max(ny, nx) / 1600))  # enough pixels for the figure, fast to draw
    axes.imshow(data[::step, ::step], origin="lower", cmap="gray", vmin=0, vmax=255,
                extent=(-0.5, nx - 0.5, -0.5, ny - 0.5), interpolation="antialiased")  # fmt: skip
    (cx, cy), radius = disk.centre_pixel(drawing_map), disk.radius_pixels(drawing_map)[0]
    axes.add_patch(Circle((cx, cy), radius, fill=False, color="tab:orange", lw=1.0))
    axes.plot([cx], [cy], "+", color="tab:orange", ms=8)
    handles = [Line2D([], [], color="tab:orange", lw=1.0, label=_limb_label(drawing_map, radius))]
    for verdict, (is_spot, reason) in VERDICTS.items():
        rows = candidates[np.asarray(candidates["verdict"]) == verdict]
        colour = _COLOURS[verdict]
        for row in rows:
            size = max(0.025 * radius, 0.6 * row["length"] * radius)
            axes.add_patch(Circle((row["x"].value, row["y"].value), size, fill=False, color=colour,
                                  lw=1.4 if is_spot else 0.9, ls="-" if is_spot else "--"))  # fmt: skip
            if is_spot:
                first, n = int(row["spot"]), int(row["n_spots"])
                text = str(first) if n <= 1 else f"{first}-{first + n - 1}"  # touching spots: one mark
                axes.annotate(text, (row["x"].value + size, row["y"].value + size), color=colour,
                              fontsize=8, fontweight="bold")  # fmt: skip
        label = _count_label(reason, rows, is_spot)
        handles.append(Line2D([], [], marker="o", ls="", mfc="none", mec=colour, label=label))
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.06), fontsize="small", frameon=False)
    n_spots = int(np.sum(candidates["n_spots"]))
    kept = np.asarray(candidates["spot"]) > 0
    when = drawing_map.date.strftime("%Y-%m-%d %H:%M")
    axes.set_title(
        f"{drawing_map.meta.get('drawfile', drawing_map.name)} {when}: {n_spots} spot(s) in "
        f"{np.count_nonzero(kept)} mark(s), {np.count_nonzero(~kept)} mark(s) rejected",
        fontsize="medium",
    )
    axes.set_xlim(-0.5, nx - 0.5)
    axes.set_ylim(-0.5, ny - 0.5)
    axes.set_xlabel("x (map pixels)")
    axes.set_ylabel("y (map pixels)")
    return axes


def _count_label(reason, rows, is_spot):
    """A legend entry: marks of a verdict and, for spots, how many spots they hold (touching spots share a mark)."""
    if not is_spot:
        return f"{reason} ({len(rows)})"
    n_spots = int(np.sum(rows["n_spots"])) if len(rows) else 0
    return f"{reason} ({n_spots})" if n_spots == len(rows) else f"{reason} ({n_spots} in {len(rows)} marks)"


def _limb_label(drawing_map, radius):
    meta = drawing_map.meta
    if "drawrms" in meta and "drawcov" in meta:
        return (
            f"fitted limb: radius {radius:.0f} px, rms {float(meta['drawrms']):.1f} px, "
            f"{float(meta['drawcov']):.0%} traced"
        )
    return f"limb from the WCS: radius {radius:.0f} px"
