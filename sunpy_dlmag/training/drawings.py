"""
Synthetic sunspot drawings traced from observations, and training pairs for the ``drawing``
preset (no torch here: the drawings are images, the pairs a manifest).
"""

from pathlib import Path

import astropy.units as u
import numpy as np
from scipy import ndimage

import sunpy.map
import sunpy.sun.constants

from sunpy_dlmag import checks, disk, geometry
from sunpy_dlmag._cycles import historical_dates
from sunpy_dlmag.drawings.read import (
    check_angle,
    drawing_header,
    map_centre,
    read_drawing,
    to_image_orientation,
    wcs_of,
)
from sunpy_dlmag.exceptions import ArgumentTypeError, InputMapError, InvalidArgumentError

__all__ = ["drawing_training_pairs", "render_drawing"]

# --------------------------------------------------------------------------- rendering

_PAPER = np.array([244.0, 238.0, 222.0])
_INK = np.array([28.0, 24.0, 22.0])
_PENUMBRA_INK = np.array([120.0, 112.0, 104.0])


def _spot_masks(smap, threshold, umbra_threshold, min_pixels):
    """Penumbra and umbra masks of an observation on its own grid (see `render_drawing`)."""
    data = np.asarray(smap.data, dtype=np.float64)
    finite = np.isfinite(data)
    if smap.unit is not None and smap.unit.is_equivalent(u.G):
        field = np.abs(np.where(finite, smap.quantity.to_value(u.G), 0.0))
        # A 1-px smoothing keeps single noisy pixels from being drawn as spots.
        level = ndimage.gaussian_filter(field, 1.0)
        threshold = 400.0 if threshold is None else u.Quantity(threshold, u.G).to_value(u.G)
        umbra_threshold = 2.5 * threshold if umbra_threshold is None else u.Quantity(umbra_threshold, u.G).value
        penumbra, umbra = level >= threshold, level >= umbra_threshold
    else:
        contrast = _relative_intensity(smap, data, finite)
        threshold = 0.9 if threshold is None else float(threshold)
        umbra_threshold = 0.6 if umbra_threshold is None else float(umbra_threshold)
        with np.errstate(invalid="ignore"):
            penumbra, umbra = contrast <= threshold, contrast <= umbra_threshold
    labels, n = ndimage.label(penumbra, structure=np.ones((3, 3)))
    if n:
        small = np.bincount(labels.ravel(), minlength=n + 1) < min_pixels
        small[0] = False
        penumbra &= ~small[labels]
    return penumbra, umbra & penumbra


def _relative_intensity(smap, data, finite):
    """Intensity over the quiet-Sun level at the same distance from disk centre (removes limb darkening)."""
    rho, _ = disk.disk_radius_fraction(smap)
    rings = np.clip((rho * 50).astype(int), 0, 60)
    level = np.full(61, np.nan)
    for k in np.unique(rings[finite & (rho < 1)]):
        values = data[finite & (rings == k)]
        level[k] = np.median(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite & (rho < 1), data / level[rings], np.nan)


def drawn_layer(shape, draw):
    """
    What ``draw(ax)`` puts with matplotlib on a transparent page of ``shape`` (rows, columns),
    its axes in image pixels (x from the left, y from the top): RGBA in 0..1, (rows, columns, 4).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    h, w = shape
    fig = Figure(figsize=(w / 100, h / 100), dpi=100)
    canvas = FigureCanvasAgg(fig)
    fig.patch.set_alpha(0)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_axis_off()
    draw(ax)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    layer = np.zeros((h, w, 4))
    hh, ww = min(h, rgba.shape[0]), min(w, rgba.shape[1])
    layer[:hh, :ww] = rgba[:hh, :ww] / 255.0
    return layer


def _annotations(shape, *, label, centre, radius, north_angle, rng, annotate):
    """Ink coverage (0..1) of handwriting: the label, an N at solar north, a signature."""
    h, w = shape
    size_pt = 0.028 * min(h, w) * 72 / 100

    def draw(ax):
        if label:
            ax.text(0.03 * w, 0.96 * h, label, fontsize=size_pt, style="italic", family="serif", rotation=3,
                    color="black", va="bottom", ha="left")  # fmt: skip
        if annotate:
            a = np.deg2rad(north_angle.to_value(u.deg))
            distance = radius + 0.04 * min(h, w)
            ax.text(centre[0] - distance * np.sin(a), centre[1] - distance * np.cos(a), "N", fontsize=size_pt,
                    family="serif", ha="center", va="center", color="black")  # fmt: skip
            # A signature: a prolate cycloid makes the loops of cursive writing.
            t = np.linspace(0, 2 * np.pi * (5 + rng.integers(4)), 600)
            size = 0.012 * min(h, w) * (1 + 0.3 * rng.random())
            x = 0.70 * w + size * (0.9 * t - 1.6 * np.sin(t))
            y = 0.95 * h - size * (1.6 * np.cos(t) + 0.3 * np.sin(0.37 * t))
            ax.plot(x, y, color="black", lw=1.2)

    return drawn_layer(shape, draw)[..., 3]


# Diameter (px) of the smallest dot a pen makes: smaller spots are drawn as such dots.
_PEN_DOT = 3.5


def _pen_dots(smap, penumbra, umbra, target, radius, shape):
    """
    Small spots as round dots: an observer draws no spot thinner than the pen.

    Spots whose drawn area would be under three pen dots are taken out of the masks and
    returned as dots (centre in image pixels, diameter, whether they have an umbra) of their
    own drawn area, but no smaller than the pen.
    """
    labels, n = ndimage.label(penumbra, structure=np.ones((3, 3)))
    if n == 0:
        return penumbra, umbra, []
    source_radius = disk.radius_pixels(smap)[0]
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:] * (radius / source_radius) ** 2
    small = 1 + np.flatnonzero(sizes < 3 * np.pi * (_PEN_DOT / 2) ** 2)
    if small.size == 0:
        return penumbra, umbra, []
    centres = np.array(ndimage.center_of_mass(penumbra, labels, small))
    dark = np.asarray(ndimage.maximum(umbra, labels, small), dtype=bool)
    diameters = np.maximum(_PEN_DOT, 2 * np.sqrt(sizes[small - 1] / np.pi))
    x, y = target.world_to_pixel(smap.pixel_to_world(centres[:, 1] * u.pix, centres[:, 0] * u.pix))
    x, y = map_centre((x, y), shape)  # its own inverse: map pixels to image pixels
    removed = np.isin(labels, small)
    dots = [
        ((xi, yi), di, d)
        for xi, yi, di, d in zip(x, y, diameters, dark, strict=True)
        if np.isfinite(xi) and np.isfinite(yi)
    ]
    return penumbra & ~removed, umbra & ~removed, dots


def _stamp_dot(layer, x, y, diameter):
    """Add an antialiased dot of ``diameter`` pixels at image pixel (x, y)."""
    r = diameter / 2
    x0, x1 = max(int(x - r - 1), 0), min(int(x + r + 2), layer.shape[1])
    y0, y1 = max(int(y - r - 1), 0), min(int(y + r + 2), layer.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    cover = np.clip(r + 0.5 - np.hypot(xx - x, yy - y), 0, 1)
    layer[y0:y1, x0:x1] = np.maximum(layer[y0:y1, x0:x1], cover)


@checks.quantity_input
def render_drawing(smap, *, shape=(1000, 1000), radius=None, centre=None, north_angle: u.deg = 0 * u.deg,
                   mirrored=False, threshold=None, umbra_threshold=None, min_pixels=4, label=None, annotate=True,
                   seed=0):  # fmt: skip
    """
    Trace the sunspots of an observation as a sunspot drawing: ink on paper.

    Spots are where a magnetogram's field (smoothed over 1 px) reaches ``threshold`` (umbrae:
    ``umbra_threshold``), or where a continuum image, divided by the quiet-Sun intensity at
    the same distance from disk centre, is at most ``threshold``. They are drawn as seen by
    an observer at Earth at the observation's date (the map is reprojected), with the disk
    outline, a handwritten-style label, an "N" at solar north and a signature, on cream
    paper with uneven lighting. Reading the result with `~sunpy_dlmag.drawings.read_drawing` (same ``north_angle``
    and ``mirrored``) gives the drawing back as a map; this makes training pairs for the
    ``drawing`` network (`~sunpy_dlmag.training.drawings.drawing_training_pairs`) and tests of the whole chain.

    Parameters
    ----------
    smap : `~sunpy.map.GenericMap`
        Helioprojective magnetogram (in G) or continuum image of the full disk.
    shape : tuple of int
        Image height and width, pixels.
    radius : float, optional
        Disk radius, pixels (default: 0.4 of the smaller side).
    centre : tuple of float, optional
        Disk centre ``(x, y)``, pixels from the left and from the top (default: the middle).
    north_angle : `~astropy.units.Quantity`
        Direction of solar north on the image, counterclockwise from up.
    mirrored : bool
        Swap east and west (a mirror image of the Sun, as a projection seen from behind).
    threshold, umbra_threshold : `~astropy.units.Quantity` or float, optional
        Magnetograms: field strengths (default 400 G and 2.5 times it); continuum images:
        intensity ratios (default 0.9 and 0.6).
    min_pixels : int
        Smallest spot drawn, in pixels of ``smap``.
    label : str, optional
        Handwritten label (default: the date and time); ``""`` for none.
    annotate : bool
        Add the "N" mark and the signature.
    seed : int
        Paper texture and handwriting.

    Returns
    -------
    `numpy.ndarray`
        RGB image ``(H, W, 3)``, uint8, first row at the top; save it with
        ``PIL.Image.fromarray(image).save("drawing.png")``.

    Raises
    ------
    InputMapError
        Not a helioprojective map with an observer.
    """
    checks.is_disk_image(smap, error=True, name="full-disk observation for render_drawing")
    checks.check_observer(smap)
    h, w = (int(s) for s in shape)
    if min(h, w) < 64:
        raise InvalidArgumentError(f"shape must be at least 64 px on each side, got {shape}.")
    radius = 0.4 * min(h, w) if radius is None else float(radius)
    centre = ((w - 1) / 2, (h - 1) / 2) if centre is None else tuple(float(c) for c in centre)
    north_angle = check_angle(north_angle, "north_angle")
    rng = np.random.default_rng(seed)

    with historical_dates():
        penumbra, umbra = _spot_masks(smap, threshold, umbra_threshold, int(min_pixels))
        header = drawing_header((h, w), centre=centre, radius=radius, date=smap.date, north_angle=north_angle,
                                 mirrored=bool(mirrored))  # fmt: skip
        target = wcs_of(header)
        penumbra, umbra, dots = _pen_dots(smap, penumbra, umbra, target, radius, (h, w))
        layers = []
        for mask in (penumbra, umbra):
            drawn = np.nan_to_num(geometry.resample(mask.astype(np.float32), smap.wcs, target, (h, w)))
            drawn = to_image_orientation(drawn)
            # Bilinear resampling softens the mask's edges: a pen's antialiased edge.
            layers.append(np.clip((drawn - 0.3) / 0.4, 0, 1))
        for (x, y), diameter, dark in dots:
            _stamp_dot(layers[0], x, y, diameter)
            if dark:
                _stamp_dot(layers[1], x, y, 0.6 * diameter)

    yy, xx = np.ogrid[:h, :w]
    ring = np.clip(1.25 - np.abs(np.hypot(xx - centre[0], yy - centre[1]) - radius), 0, 1)
    lighting = 1 - 0.08 * (xx / w) - 0.05 * (yy / h)
    image = _PAPER[None, None] * lighting[..., None] + rng.normal(0, 2.0, (h, w, 1))
    if label is None:
        label = f"{smap.date.strftime('%d %b %Y %H:%M')} UT"
    writing = _annotations((h, w), label=label, centre=centre, radius=radius, north_angle=north_angle, rng=rng,
                           annotate=annotate)  # fmt: skip
    for cover, ink in ((layers[0], _PENUMBRA_INK), (layers[1], _INK), (ring, _INK), (writing, _INK)):
        image = image * (1 - cover[..., None]) + ink[None, None] * cover[..., None]
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def drawing_training_pairs(observations, out_dir, *, shape=(1024, 1024), seed=0, overwrite=False, **render_kwargs):
    """
    Training pairs for the ``drawing`` network: drawings traced from magnetograms.

    Each magnetogram is drawn with `~sunpy_dlmag.training.drawings.render_drawing` at a random orientation (north angle,
    mirroring), read back with `~sunpy_dlmag.drawings.read_drawing` as a real drawing would be, and saved as a
    FITS map; the pairs (drawing -> magnetogram) are listed in a manifest that
    ``sunpy-dlmag train drawing --data MANIFEST`` reads. Drawings made by hand (Mount Wilson,
    2011-2015, as Lee et al. 2021) read with `~sunpy_dlmag.drawings.read_drawing`, saved with
    `sunpy_dlmag.io.save_map` and listed with `sunpy_dlmag.data.fetch.write_manifest` train
    the network the same way.

    Parameters
    ----------
    observations : sequence of str, path or `~sunpy.map.GenericMap`
        Full-disk magnetograms in G (the targets); files are listed as they are, maps are
        saved into ``out_dir/targets``.
    out_dir : str or path
        Where the drawings (``out_dir/drawings``) and ``manifest.csv`` go.
    shape : tuple of int
        Size of the drawings, pixels.
    seed : int
        Random orientations and paper.
    overwrite : bool
        Replace existing files.
    **render_kwargs
        Passed to `~sunpy_dlmag.training.drawings.render_drawing` (e.g. ``threshold``).

    Returns
    -------
    `pathlib.Path`
        The manifest.
    """
    from sunpy_dlmag.data.fetch import Pair, write_manifest
    from sunpy_dlmag.io import save_map

    for key in ("north_angle", "mirrored", "seed", "shape"):
        if key in render_kwargs:
            raise ArgumentTypeError(f"drawing_training_pairs chooses {key} itself; do not pass it.")
    out_dir = Path(out_dir)
    (out_dir / "drawings").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pairs = []
    for i, item in enumerate(observations):
        smap = item if isinstance(item, sunpy.map.GenericMap) else sunpy.map.Map(item)
        if not isinstance(smap, sunpy.map.GenericMap) or smap.unit is None or not smap.unit.is_equivalent(u.G):
            raise InputMapError(f"Observation {i} ({item}) is not a magnetogram map in G; the targets must be.")
        angle = rng.uniform(0, 360) * u.deg
        mirrored = bool(rng.random() < 0.5)
        image = render_drawing(smap, shape=shape, north_angle=angle, mirrored=mirrored, seed=int(rng.integers(2**31)),
                               **render_kwargs)  # fmt: skip
        drawing = read_drawing(image, date=smap.date, north_angle=angle, mirrored=mirrored)
        stem = f"{i:05d}_{smap.date.strftime('%Y%m%d_%H%M%S')}"
        drawing_path = save_map(drawing, out_dir / "drawings" / f"{stem}_drawing.fits", overwrite=overwrite)
        if isinstance(item, sunpy.map.GenericMap):
            (out_dir / "targets").mkdir(exist_ok=True)
            target = save_map(smap, out_dir / "targets" / f"{stem}_target.fits", overwrite=overwrite)
        else:
            target = Path(item)
        pairs.append(Pair(time=smap.date, inputs=(drawing_path,), target=target))
    return write_manifest(pairs, out_dir / "manifest.csv", overwrite=overwrite)
