"""
Sunspot drawings to maps, sunspot tables and magnetograms (Lee et al. 2021, ApJ 907, 118).

- `read_drawing`: a scanned or photographed drawing (PNG, JPEG, TIFF, or an array) becomes a
  helioprojective map for an Earth observer at the drawing's date: the disk outline is found by
  a robust circle fit, the orientation (angle of solar north, mirroring) comes from the user.
- `detect_sunspots`, `sunspot_groups`: spots and spot groups with heliographic positions and
  foreshortening-corrected areas in millionths of the solar hemisphere (`MSH`).
- `sunspot_bipoles`, `drawing_to_magnetogram`: a line-of-sight magnetogram from a drawing,
  either with a trained ``drawing`` network or as one bipole per spot group (flux from the
  spot areas, Hale's polarity law, Joy's law), with no training.
- `render_drawing`, `drawing_training_pairs`: drawings traced from observations (magnetograms
  or continuum images), to test the chain and to build training pairs for the ``drawing``
  preset.

The relations, their sources and the measured accuracy are in the user guide (drawings).
"""

import contextlib
import copy
import os
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable
from astropy.visualization import ImageNormalize
from erfa import ErfaWarning
from scipy import ndimage, optimize
from scipy.cluster.hierarchy import fcluster, linkage

import sunpy.map
import sunpy.sun.constants
from sunpy.coordinates import HeliographicCarrington, HeliographicStonyhurst, Helioprojective, get_earth, sun
from sunpy.map.header_helper import make_fitswcs_header
from sunpy.time import parse_time

from sunpy_dlmag import _cycles, calibration, geometry
from sunpy_dlmag.exceptions import DlmagUserWarning, InputMapError
from sunpy_dlmag.maps import append_history, magnetogram_plot_settings, provenance_meta
from sunpy_dlmag.metrics import pixel_area_on_sphere
from sunpy_dlmag.models import load_model
from sunpy_dlmag.models.runtime import Model

__all__ = [
    "MSH",
    "detect_sunspots",
    "drawing_to_magnetogram",
    "drawing_training_pairs",
    "read_drawing",
    "render_drawing",
    "spot_mean_field",
    "sunspot_bipoles",
    "sunspot_groups",
]

_RSUN = sunpy.sun.constants.radius

#: Millionths of the solar hemisphere, the unit of sunspot areas: 1 MSH = 1e-6 x 2 pi R_sun**2.
MSH = u.def_unit("MSH", 2e-6 * np.pi * _RSUN.to(u.km) ** 2, doc="millionths of the solar hemisphere")

#: Joy's law: mean tilt = JOY_COEFFICIENT x sin(latitude) (Stenflo & Kosovichev 2012, ApJ 745, 129).
JOY_COEFFICIENT = 32.1 * u.deg

# Mean flux density of sunspots against their area, from SDO/HMI (Tlatov & Pevtsov 2014, Sol. Phys.
# 289, 1143): about 800 G up to 20 MSH, about 600 G from 100 MSH, linear in between.
_SPOT_FIELD_AREAS = (20.0, 100.0)
_SPOT_FIELD_G = (800.0, 600.0)

# Smallest width of a bipole's polarity patch: a few Mm, about a small spot with its plage.
_MIN_SIGMA = 0.25 * u.deg
# The following polarity of a group lies at least this many widths behind the leading one.
_MIN_SEPARATION_SIGMAS = 4.0


@contextlib.contextmanager
def _old_dates():
    """
    UTC is not defined before 1960 and the planetary ephemeris erfa uses is approximate before
    1900: astropy warns for the dates of historical drawings, at a precision that does not matter here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ErfaWarning)
        yield


# --------------------------------------------------------------------------- images


def _grey_image(image):
    """Grey levels (0 black .. 255 white, float64, first row at the top) and a name for the source."""
    if isinstance(image, str | os.PathLike):
        path = Path(image).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"No drawing image at {path}.")
        from PIL import Image, ImageOps, UnidentifiedImageError

        try:
            with Image.open(path) as img:
                # Phone photos store their orientation in EXIF; the pixels are not rotated.
                img = ImageOps.exif_transpose(img)
                array = _pil_array(img)
        except UnidentifiedImageError as err:
            raise InputMapError(f"{path} is not an image file that PIL can read (PNG, JPEG, TIFF, ...).") from err
        return _to_grey(array), path.name
    if isinstance(image, sunpy.map.GenericMap):
        raise InputMapError("read_drawing takes an image file or array; this is already a map.")
    return _to_grey(np.asarray(image)), "array"


def _pil_array(img):
    if img.mode.startswith("I;16"):
        return np.asarray(img).astype(np.uint16)
    if img.mode in ("I", "F"):
        return np.asarray(img)
    return np.asarray(img.convert("RGBA"))


def _to_grey(array):
    a = array
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    if not np.issubdtype(a.dtype, np.number):
        raise InputMapError(f"Expected an image of numbers, got dtype {a.dtype}.")
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise InputMapError(f"Expected an image of shape (H, W), (H, W, 3) or (H, W, 4); got shape {a.shape}.")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise InputMapError("The image has non-finite values (NaN or inf).")
    if array.dtype.kind in "ui":
        full = np.iinfo(array.dtype).max if array.dtype.itemsize <= 2 else (255 if a.max() <= 255 else 65535)
    else:
        full = 1.0 if a.max() <= 1.0 else (255.0 if a.max() <= 255.0 else a.max())
    a *= 255.0 / full
    if a.ndim == 3:
        alpha = a[..., 3] / 255.0 if a.shape[2] == 4 else 1.0
        luminance = 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]
        # Transparent pixels are paper.
        a = luminance * alpha + 255.0 * (1 - alpha)
    if min(a.shape) < 32:
        raise InputMapError(f"The image is too small to hold a drawing of the Sun: {a.shape[1]}x{a.shape[0]} px.")
    return a


def _odd(value):
    n = max(3, int(np.rint(value)))
    return n if n % 2 else n + 1


def _paper_and_depth(grey, size):
    """Local paper level (a grey closing removes ink features narrower than ``size``) and ink depth."""
    paper = ndimage.grey_closing(grey, size=(size, size))
    paper = ndimage.uniform_filter(paper, size)
    with np.errstate(invalid="ignore", divide="ignore"):
        depth = np.where(paper > 0, 1 - grey / paper, 0.0)
    return depth


def _block_min(grey, factor):
    """Darkest pixel of each ``factor x factor`` block: keeps thin ink lines when shrinking."""
    if factor == 1:
        return grey
    ny, nx = (-(-s // factor) * factor for s in grey.shape)
    padded = np.pad(grey, ((0, ny - grey.shape[0]), (0, nx - grey.shape[1])), mode="edge")
    return padded.reshape(ny // factor, factor, nx // factor, factor).min(axis=(1, 3))


# --------------------------------------------------------------------------- disk fit

# Fraction of the local paper level by which ink is darker.
_DISK_INK_DEPTH = 0.25
# Fraction of the circumference that must be traced for a circle to count as the disk.
_MIN_COVERAGE = 0.5


def _circumcircles(xs, ys):
    x1, x2, x3 = xs.T
    y1, y2, y3 = ys.T
    d = 2 * (x1 * (y2 - y3) + x2 * (y3 - y1) + x3 * (y1 - y2))
    with np.errstate(invalid="ignore", divide="ignore"):
        s1, s2, s3 = x1**2 + y1**2, x2**2 + y2**2, x3**2 + y3**2
        ux = (s1 * (y2 - y3) + s2 * (y3 - y1) + s3 * (y1 - y2)) / d
        uy = (s1 * (x3 - x2) + s2 * (x1 - x3) + s3 * (x2 - x1)) / d
    return ux, uy, np.hypot(x1 - ux, y1 - uy)


def _coverage(xs, ys, cx, cy, r, tol, n_bins):
    dist = np.hypot(xs - cx, ys - cy)
    inliers = np.abs(dist - r) < tol
    if not inliers.any():
        return 0.0, inliers
    angles = np.arctan2(ys[inliers] - cy, xs[inliers] - cx)
    bins = ((angles + np.pi) / (2 * np.pi) * n_bins).astype(int) % n_bins
    return np.count_nonzero(np.bincount(bins, minlength=n_bins)) / n_bins, inliers


def _kasa(xs, ys):
    """Algebraic least-squares circle (Kasa 1976) through points."""
    design = np.column_stack([xs, ys, np.ones_like(xs)])
    (d, e, f), *_ = np.linalg.lstsq(design, -(xs**2 + ys**2), rcond=None)
    cx, cy = -d / 2, -e / 2
    return cx, cy, np.sqrt(max(cx**2 + cy**2 - f, 0.0))


def _ransac_circle(xs, ys, strokes, shape, rng, trials=500):
    """
    The candidate circle that traces most of its circumference (angular coverage).

    Candidates: a circle fitted to each long stroke (the outline is often one stroke), and
    circles through three random points of one stroke or of any strokes.
    """
    ids, starts, counts = np.unique(strokes, return_index=True, return_counts=True)
    candidates = [_kasa(xs[strokes == i], ys[strokes == i]) for i, c in zip(ids, counts, strict=True) if c >= 10]
    pick = rng.choice(ids.size, size=trials, p=counts / counts.sum())
    within = starts[pick, None] + (rng.random((trials, 3)) * counts[pick, None]).astype(int)
    anywhere = rng.integers(0, xs.size, size=(trials, 3))
    for idx in (within, anywhere):
        candidates.extend(zip(*_circumcircles(xs[idx], ys[idx]), strict=True))
    h, w = shape
    best, best_score = None, 0.0
    for cx, cy, radius in candidates:
        if not (np.isfinite(radius) and 0.05 * min(h, w) <= radius <= max(h, w) and 0 <= cx < w and 0 <= cy < h):
            continue
        cover, inliers = _coverage(xs, ys, cx, cy, radius, max(1.5, 0.01 * radius), 72)
        # Coverage first (a full circle beats blobs and text on a partial one), then support.
        score = cover + 1e-3 * inliers.mean()
        if score > best_score:
            best, best_score = (cx, cy, radius), score
    return best


def _no_disk(detail):
    return InputMapError(
        f"No solar disk found in the drawing: {detail} Expected a drawn disk outline (a circle) of which at "
        "least half is visible. Give the disk by hand with disk=(x, y, radius) in pixels of the image "
        "(x from the left, y from the top)."
    )


def _fit_disk(grey):
    """
    Centre (x from the left, y from the top) and radius of the drawn disk outline, in pixels.

    The ink is found against the local paper level; a RANSAC search on a reduced image picks
    the circle that traces most of its circumference among the long ink strokes (handwriting,
    spots and page edges do not), then a robust geometric least-squares fit on the
    full-resolution ink pixels near it refines it.
    """
    h, w = grey.shape
    factor = max(1, int(np.ceil(max(h, w) / 512)))
    coarse = _block_min(grey, factor)
    ink = _paper_and_depth(coarse, _odd(0.03 * min(coarse.shape))) > _DISK_INK_DEPTH
    labels, n = ndimage.label(ink, structure=np.ones((3, 3)))
    if n == 0:
        raise _no_disk("the image has no ink.")
    extents = [np.hypot(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start) for sl in ndimage.find_objects(labels)]
    long_strokes = 1 + np.flatnonzero(np.asarray(extents) >= 0.08 * min(coarse.shape))
    points = np.argwhere(np.isin(labels, long_strokes)) if long_strokes.size else np.argwhere(ink)
    if len(points) < 10:
        raise _no_disk("too little ink to trace a circle.")
    rng = np.random.default_rng(0)
    if len(points) > 6000:
        points = points[np.sort(rng.choice(len(points), 6000, replace=False))]
    # Points sorted by stroke, so that each stroke's points are contiguous.
    strokes = labels[points[:, 0], points[:, 1]]
    order = np.argsort(strokes, kind="stable")
    points, strokes = points[order], strokes[order]
    found = _ransac_circle(points[:, 1].astype(float), points[:, 0].astype(float), strokes, coarse.shape, rng)
    if found is None:
        raise _no_disk("no circle of a plausible size fits the ink.")
    cx, cy, r = (found[0] * factor + (factor - 1) / 2, found[1] * factor + (factor - 1) / 2, found[2] * factor)

    full_ink = _paper_and_depth(grey, _odd(max(9, 0.02 * min(h, w)))) > _DISK_INK_DEPTH
    ys, xs = np.nonzero(full_ink)
    xs, ys = xs.astype(float), ys.astype(float)
    band = max(3.0, 0.03 * r) + factor
    for _ in range(3):
        near = np.abs(np.hypot(xs - cx, ys - cy) - r) < band
        if near.sum() < 20:
            raise _no_disk(f"the best circle (centre {cx:.0f}, {cy:.0f}, radius {r:.0f} px) has no ink along it.")
        px, py = xs[near], ys[near]
        fit = optimize.least_squares(
            lambda p, px=px, py=py: np.hypot(px - p[0], py - p[1]) - p[2], [cx, cy, r], loss="soft_l1", f_scale=1.0
        )
        cx, cy, r = fit.x
        residual = np.hypot(px - cx, py - cy) - r
        # A stroke of width w spreads the residuals over +-w/2; keep the whole stroke.
        band = max(2.0, 4 * 1.4826 * np.median(np.abs(residual)) + 1.0)
    cover, inliers = _coverage(xs, ys, cx, cy, r, band, 360)
    if cover < _MIN_COVERAGE or r < 8:
        raise _no_disk(
            f"the best circle (centre {cx:.0f}, {cy:.0f}, radius {r:.0f} px) is traced over only {cover:.0%} of "
            "its circumference."
        )
    residual = np.hypot(xs[inliers] - cx, ys[inliers] - cy) - r
    return {"x": cx, "y": cy, "radius": r, "rms": float(np.sqrt(np.mean(residual**2))), "coverage": cover}


# --------------------------------------------------------------------------- geometry


def _check_angle(value, name):
    if not isinstance(value, u.Quantity) or not value.unit.is_equivalent(u.deg) or not value.isscalar:
        raise TypeError(f"{name} must be an angle Quantity such as 30 * u.deg, got {value!r}.")
    return value.to(u.deg)


def _map_north_angle(north_angle, mirrored):
    """Angle of solar north in the un-mirrored image, counterclockwise from up."""
    return -north_angle if mirrored else north_angle


def _map_centre(centre, shape, mirrored):
    """Disk centre from image pixels (x from the left, y from the top) to map pixels (y up, un-mirrored)."""
    h, w = shape
    x, y = centre
    return ((w - 1 - x) if mirrored else x, h - 1 - y)


def _drawing_header(shape, *, centre, radius, date, north_angle, mirrored, observatory=None):
    """
    FITS header of a drawing in map orientation for an Earth observer at ``date``.

    ``centre`` (image pixels, y from the top) and ``radius`` (pixels) are the disk's;
    ``north_angle`` is the direction of solar north on the image as given, counterclockwise
    from up, and ``mirrored`` says whether east and west are swapped on it.
    """
    observer = get_earth(date)
    frame = Helioprojective(observer=observer, obstime=date)
    scale = (sun.angular_radius(date) / (radius * u.pix)).to(u.arcsec / u.pix)
    angle = _map_north_angle(north_angle, mirrored)
    header = make_fitswcs_header(
        tuple(shape),
        SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=frame),
        reference_pixel=u.Quantity(_map_centre(centre, shape, mirrored), u.pix),
        scale=u.Quantity([scale, scale]),
        # A PC rotation by -angle puts solar north at `angle` counterclockwise from the image's up.
        rotation_angle=-angle,
        instrument="sunspot drawing",
        observatory=observatory,
    )
    return header


def _wcs_of(header):
    return sunpy.map.Map(np.zeros((1, 1), dtype=np.float32), header).wcs


# --------------------------------------------------------------------------- read_drawing


@u.quantity_input
def read_drawing(image, *, date, north_angle: u.deg = 0 * u.deg, mirrored=False, north="solar", disk=None,
                 observatory=None):  # fmt: skip
    """
    Read a scanned or photographed sunspot drawing as a map.

    The disk outline is found with a robust circle fit (see the drawings guide), and the
    drawing gets a helioprojective WCS for an observer at Earth at ``date``: the disk's radius
    in pixels spans the Sun's apparent radius that day, solar north points where the user
    says. The map then overlays on any other map of that day.

    Parameters
    ----------
    image : str, `os.PathLike` or `numpy.ndarray`
        An image file (PNG, JPEG, TIFF, ... anything PIL reads; EXIF orientation is applied)
        or an array ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` whose first row is the top of
        the picture (as image readers return it). Integers are scaled by their type's range,
        floats up to 1 are taken as 0..1.
    date : `~astropy.time.Time`, str or `datetime.datetime`
        When the drawing was made.
    north_angle : `~astropy.units.Quantity`
        Direction of solar north on the image as given (as you see it), counterclockwise
        from the image's up direction: ``90 * u.deg`` if north points left.
    mirrored : bool
        Whether east and west are swapped on the image (with north up, east on the right),
        e.g. a projection drawn from behind the screen. The map is flipped left-right first.
    north : {"solar", "celestial"}
        What ``north_angle`` points to: the solar rotation axis, or celestial north (the
        drawing's N-S line); for the latter the position angle P of the solar axis at
        ``date`` is added.
    disk : tuple of float, optional
        ``(x, y, radius)`` of the disk in pixels of the image (x from the left, y from the
        top), to skip the automatic fit.
    observatory : str, optional
        Where the drawing was made, for the header (e.g. ``"Mount Wilson"``).

    Returns
    -------
    `~sunpy.map.GenericMap`
        Grey levels 0 (ink) .. 255 (paper) in map orientation (first row at the bottom),
        with the disk fit in the header (``drawx``, ``drawy``, ``drawr`` in image pixels,
        ``drawrms`` the rms distance of the outline's ink from the circle, ``drawcov`` the
        traced fraction of the circumference) and the orientation (``drawnang``,
        ``drawmirr``).

    Raises
    ------
    InputMapError
        No disk outline found, or an image that is not one.
    FileNotFoundError
        No file at ``image``.

    Examples
    --------
    >>> import numpy as np
    >>> import astropy.units as u
    >>> from sunpy_dlmag import drawings
    >>> yy, xx = np.mgrid[:300, :300]
    >>> paper = np.where(np.abs(np.hypot(xx - 150, yy - 140) - 100) < 1.5, 0, 255).astype(np.uint8)
    >>> drawing = drawings.read_drawing(paper, date="2011-02-15", north_angle=10 * u.deg)
    >>> round(drawing.meta["drawx"]), round(drawing.meta["drawy"]), round(drawing.meta["drawr"])
    (150, 140, 100)
    """
    if north not in ("solar", "celestial"):
        raise ValueError(f"north must be 'solar' or 'celestial', got {north!r}.")
    with _old_dates():
        time = parse_time(date)
        north_angle = _check_angle(north_angle, "north_angle")
        if north == "celestial":
            north_angle = north_angle + sun.P(time).to(u.deg)
        grey, source = _grey_image(image)
        fit = _fit_disk(grey) if disk is None else _disk_by_hand(disk, grey.shape)
        data = _to_image_orientation(grey, mirrored)  # its own inverse: image to map orientation
        header = _drawing_header(
            data.shape,
            centre=(fit["x"], fit["y"]),
            radius=fit["radius"],
            date=time,
            north_angle=north_angle,
            mirrored=bool(mirrored),
            observatory=observatory,
        )
    header.update(
        {
            "drawx": round(float(fit["x"]), 3),
            "drawy": round(float(fit["y"]), 3),
            "drawr": round(float(fit["radius"]), 3),
            "drawrms": round(float(fit["rms"]), 3),
            "drawcov": round(float(fit["coverage"]), 3),
            "drawnang": round(float(north_angle.to_value(u.deg)), 4),
            "drawmirr": bool(mirrored),
            "drawfile": source,
        }
    )
    header["keycomments"] = {
        **dict(header.get("keycomments", {})),
        **{
            "drawx": "disk centre, image px from the left",
            "drawy": "disk centre, image px from the top",
            "drawr": "disk radius, image px",
            "drawrms": "rms of the outline ink about the circle, px",
            "drawcov": "traced fraction of the disk outline",
            "drawnang": "solar north, deg counterclockwise from up",
            "drawmirr": "east and west swapped on the image",
        },
    }
    how = "given by hand" if disk is not None else f"fitted, rms {fit['rms']:.2f} px, {fit['coverage']:.0%} traced"
    header["history"] = (
        f"sunpy-dlmag: sunspot drawing read from {source}; disk centre ({fit['x']:.1f}, {fit['y']:.1f}) px, radius "
        f"{fit['radius']:.1f} px ({how}); solar north at {north_angle.to_value(u.deg):.2f} deg; "
        f"mirrored {bool(mirrored)}"
    )
    plot_settings = {"cmap": "gray", "norm": ImageNormalize(vmin=0, vmax=255)}
    with _old_dates():
        return sunpy.map.Map(np.ascontiguousarray(data, dtype=np.float32), header, plot_settings=plot_settings)


def _disk_by_hand(disk, shape):
    try:
        x, y, r = (float(u.Quantity(v, u.pix).value) if isinstance(v, u.Quantity) else float(v) for v in disk)
    except (TypeError, ValueError) as err:
        raise InputMapError(f"disk must be (x, y, radius) in pixels, got {disk!r}.") from err
    if not (np.isfinite([x, y, r]).all() and r > 0):
        raise InputMapError(f"disk must be (x, y, radius) with a positive radius, got {disk!r}.")
    if not (0 <= x < shape[1] and 0 <= y < shape[0]):
        raise InputMapError(f"The disk centre ({x}, {y}) lies outside the image of {shape[1]}x{shape[0]} px.")
    return {"x": x, "y": y, "radius": r, "rms": 0.0, "coverage": 1.0}


# --------------------------------------------------------------------------- sunspots


def _drawing_data(drawing_map):
    if not isinstance(drawing_map, sunpy.map.GenericMap):
        raise InputMapError(f"Expected a drawing as a sunpy map (see read_drawing), got {type(drawing_map).__name__}.")
    if drawing_map.unit is not None and drawing_map.unit.is_equivalent(u.G):
        raise InputMapError(
            f"Expected a drawing (grey levels, ink dark on paper), got a magnetogram ({drawing_map.name}) in "
            f"{drawing_map.unit}."
        )
    if not isinstance(drawing_map.coordinate_frame, Helioprojective):
        raise InputMapError(
            f"Expected a drawing in helioprojective coordinates (read_drawing makes one), got a map in the "
            f"{drawing_map.coordinate_frame.name} frame."
        )
    geometry.check_observer(drawing_map)
    data = np.asarray(drawing_map.data, dtype=np.float64)
    if not np.isfinite(data).any():
        raise InputMapError(f"The drawing ({drawing_map.name}) has no finite pixel.")
    return data


def _disk_pixels(smap):
    """Disk centre (map pixels) and radius (pixels) from the map's WCS."""
    centre = SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=smap.coordinate_frame)
    cx, cy = smap.wcs.world_to_pixel(centre)
    radius = (smap.rsun_obs / smap.scale.axis1).to_value(u.pix)
    return float(cx), float(cy), float(radius)


def _limb_margin(ink, r, radius):
    """Pixels inside the limb covered by the drawn outline (its inner half-width plus a pixel or two)."""
    step = 0.5
    band = (r > 0.9 * radius) & (r < 1.05 * radius)
    bins = ((r[band] - 0.9 * radius) / step).astype(int)
    n = int(0.15 * radius / step) + 2
    frac = np.bincount(bins, weights=ink[band], minlength=n) / np.maximum(np.bincount(bins, minlength=n), 1)
    k = int(0.1 * radius / step)
    window = frac[max(k - 4, 0) : k + 5]
    if window.max() < 0.3:
        return 2.0  # no drawn outline (disk given by hand, or a photograph of the Sun)
    j = max(k - 4, 0) + int(np.argmax(window))
    while j > 0 and frac[j - 1] >= 0.3:
        j -= 1
    inner = 0.9 * radius + j * step
    return float(min(radius - inner + 1.5, 0.1 * radius))


def _unit_vectors(lon, lat):
    lon, lat = np.deg2rad(lon), np.deg2rad(lat)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def _weighted_centre(vectors, weights):
    """Unit vector of the weighted mean direction of ``vectors``."""
    centre = (weights[:, np.newaxis] * vectors).sum(axis=0)
    return centre / np.linalg.norm(centre)


def _spot_weights(spots):
    """Areas (MSH) of a group's spots as weights, equal weights if none has an area."""
    areas = spots["area"].to_value(MSH)
    return areas if areas.sum() > 0 else np.ones(len(spots))


def _lon_lat(vectors):
    v = vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.rad2deg(np.arctan2(v[..., 1], v[..., 0])), np.rad2deg(np.arcsin(np.clip(v[..., 2], -1, 1)))


def _table(rows, columns):
    """A QTable from row dicts; ``columns`` maps each name to its unit (None: plain numbers)."""
    data = {}
    for name, unit in columns.items():
        values = [row[name] for row in rows]
        if unit is None:
            data[name] = np.array(values, dtype=int if name in _INT_COLUMNS else float)
        else:
            data[name] = u.Quantity([u.Quantity(v, unit) for v in values], unit) if values else np.zeros(0) * unit
    return QTable(data)


_INT_COLUMNS = ("spot", "group", "n_spots", "n_pixels", "cycle", "polarity")
_SPOT_COLUMNS = {
    "spot": None, "group": None, "x": u.pix, "y": u.pix, "Tx": u.arcsec, "Ty": u.arcsec, "lat": u.deg,
    "lon": u.deg, "carrington_lon": u.deg, "mu": None, "area": MSH, "n_pixels": None,
}  # fmt: skip


def _single_linkage(vectors, distance):
    """Group ids (1..) of points on the sphere joined by chains of steps shorter than ``distance`` (rad)."""
    if len(vectors) == 1:
        return np.array([1])
    iu = np.triu_indices(len(vectors), 1)
    separations = np.arccos(np.clip(vectors @ vectors.T, -1.0, 1.0))[iu]
    return fcluster(linkage(separations, method="single"), t=distance, criterion="distance")


@u.quantity_input
def detect_sunspots(drawing_map, *, threshold=0.3, min_pixels=5, stroke_width=1, group_distance: u.deg = 10 * u.deg,
                    limb_margin=None):  # fmt: skip
    """
    Sunspots drawn on a drawing map: positions, areas and groups.

    Ink is every pixel darker than the local paper level by more than ``threshold`` (the
    paper level is a grey closing of the image, so uneven lighting of a photograph does not
    matter); pen strokes up to ``stroke_width`` pixels wide (hatching, handwriting, grid lines)
    are removed by a morphological opening, and the drawn disk outline by leaving out a ring
    inside the limb. Spots near the limb are thin (foreshortened), so the opening is kept
    narrow by default.
    Each remaining connected ink region is a spot. Spots are grouped by single linkage: two
    spots closer than ``group_distance`` on the sphere, or joined by a chain of such spots,
    belong to one group.

    Parameters
    ----------
    drawing_map : `~sunpy.map.GenericMap`
        A drawing read with `~sunpy_dlmag.drawings.read_drawing` (or any helioprojective map of grey levels with
        dark spots).
    threshold : float
        Ink depth, as a fraction of the local paper level (0..1).
    min_pixels : int
        Smallest spot kept, in pixels.
    stroke_width : int
        Width of the pen strokes to remove, pixels (0: keep all ink).
    group_distance : `~astropy.units.Quantity`
        Largest heliographic distance between neighbouring spots of one group.
    limb_margin : float, optional
        Pixels inside the limb to leave out (default: measured from the drawn outline, at
        least 2).

    Returns
    -------
    `~astropy.table.QTable`
        One row per spot, sorted by group and longitude: ``spot``, ``group`` (numbered from
        east to west), ``x``, ``y`` (map pixels of the centroid), ``Tx``, ``Ty``
        (helioprojective), ``lat``, ``lon`` (heliographic Stonyhurst), ``carrington_lon``,
        ``mu`` (cosine of the heliocentric angle), ``area`` (in `~sunpy_dlmag.drawings.MSH`, corrected for
        foreshortening: the sum of each pixel's area on the sphere) and ``n_pixels``.
        Positions are area-weighted means on the sphere. Empty, with a warning, when no
        spot is found.

    Raises
    ------
    InputMapError
        Not a helioprojective drawing map, or one without an observer.
    """
    if not 0 < threshold < 1:
        raise ValueError(f"threshold is a fraction of the paper level between 0 and 1, got {threshold}.")
    if int(min_pixels) < 1:
        raise ValueError(f"min_pixels must be at least 1, got {min_pixels}.")
    if int(stroke_width) < 0:
        raise ValueError(f"stroke_width must be 0 or more pixels, got {stroke_width}.")
    with _old_dates():
        return _detect_sunspots(drawing_map, threshold, int(min_pixels), int(stroke_width), group_distance, limb_margin)


def _detect_sunspots(drawing_map, threshold, min_pixels, stroke_width, group_distance, limb_margin):
    data = _drawing_data(drawing_map)
    cx, cy, radius = _disk_pixels(drawing_map)
    grey = np.where(np.isfinite(data), data, np.nanmax(data))  # NaN is paper
    depth = _paper_and_depth(grey, _odd(max(15, 0.2 * radius)))
    ink = depth > threshold
    yy, xx = np.ogrid[: data.shape[0], : data.shape[1]]
    r = np.hypot(xx - cx, yy - cy)
    margin = _limb_margin(ink, r, radius) if limb_margin is None else float(limb_margin)
    spots = ink & (r < radius - margin)
    if stroke_width:
        # Opening with a square one pixel wider than the strokes removes them and keeps spots.
        spots = ndimage.binary_opening(spots, structure=np.ones((stroke_width + 1, stroke_width + 1), dtype=bool))
    labels, n = ndimage.label(spots, structure=np.ones((3, 3)))
    if n:
        sizes = np.bincount(labels.ravel(), minlength=n + 1)
        keep = sizes >= min_pixels
        keep[0] = False
        relabel = np.zeros(n + 1, dtype=int)
        relabel[keep] = np.arange(1, keep.sum() + 1)
        labels = relabel[labels]
        n = int(keep.sum())
    if n == 0:
        warnings.warn(
            f"No sunspots found on the drawing ({drawing_map.name}, ink threshold {threshold}); "
            "returning an empty table.",
            DlmagUserWarning,
            stacklevel=3,
        )
        return _table([], _SPOT_COLUMNS)

    ys, xs = np.nonzero(labels)
    ids = labels[ys, xs]
    frame = HeliographicStonyhurst(obstime=drawing_map.date)
    surface = drawing_map.pixel_to_world(xs * u.pix, ys * u.pix).transform_to(frame)
    vectors = _unit_vectors(surface.lon.to_value(u.deg), surface.lat.to_value(u.deg))
    area = pixel_area_on_sphere(drawing_map).to_value(u.cm**2)[ys, xs]
    good = np.isfinite(vectors).all(axis=1) & np.isfinite(area)
    ids, vectors, area = ids[good], vectors[good], area[good]

    sums = np.stack([np.bincount(ids, weights=area * vectors[:, k], minlength=n + 1) for k in range(3)], axis=1)[1:]
    total_area = np.bincount(ids, weights=area, minlength=n + 1)[1:]
    n_pixels = np.bincount(ids, minlength=n + 1)[1:]
    found = total_area > 0
    sums, total_area, n_pixels = sums[found], total_area[found], n_pixels[found]
    centres = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    lon, lat = _lon_lat(centres)

    rsun_m = drawing_map.rsun_meters.to_value(u.m)
    mu = geometry.mu_towards(rsun_m * centres, drawing_map.observer_coordinate)
    points = SkyCoord(lon * u.deg, lat * u.deg, rsun_m * u.m, frame=frame)
    seen = points.transform_to(drawing_map.coordinate_frame)
    px, py = drawing_map.wcs.world_to_pixel(seen)
    carrington = points.transform_to(
        HeliographicCarrington(observer=drawing_map.observer_coordinate, obstime=drawing_map.date)
    )
    groups = _single_linkage(centres, group_distance.to_value(u.rad))
    groups = _number_groups_east_to_west(groups, centres, total_area)

    table = QTable(
        {
            "spot": np.zeros(len(lon), dtype=int),
            "group": groups,
            "x": px * u.pix,
            "y": py * u.pix,
            "Tx": seen.Tx.to(u.arcsec),
            "Ty": seen.Ty.to(u.arcsec),
            "lat": lat * u.deg,
            "lon": lon * u.deg,
            "carrington_lon": carrington.lon.to(u.deg),
            "mu": mu,
            "area": (total_area * u.cm**2).to(MSH),
            "n_pixels": n_pixels,
        }
    )
    table.sort(["group", "lon"])
    table["spot"] = np.arange(1, len(table) + 1)
    table.meta.update(
        {
            "date": drawing_map.date.isot,
            "drawing": drawing_map.name,
            "threshold": threshold,
            "group_distance": group_distance.to(u.deg),
            "limb_margin_px": margin,
        }
    )
    return table


def _number_groups_east_to_west(groups, centres, areas):
    ids = np.unique(groups)
    lons = []
    for g in ids:
        member = groups == g
        lons.append(_lon_lat(_weighted_centre(centres[member], areas[member]))[0])
    order = ids[np.argsort(lons, kind="stable")]
    mapping = {g: i + 1 for i, g in enumerate(order)}
    return np.array([mapping[g] for g in groups], dtype=int)


def _check_spots(spots, columns=("group", "lat", "lon", "area")):
    if not isinstance(spots, QTable):
        raise InputMapError(f"Expected a sunspot table (a QTable from detect_sunspots), got {type(spots).__name__}.")
    missing = [c for c in columns if c not in spots.colnames]
    if missing:
        raise InputMapError(f"The sunspot table lacks the columns {missing}; detect_sunspots makes them all.")


def sunspot_groups(spots):
    """
    One row per spot group of a `~sunpy_dlmag.drawings.detect_sunspots` table.

    Parameters
    ----------
    spots : `~astropy.table.QTable`
        The spot table.

    Returns
    -------
    `~astropy.table.QTable`
        ``group``, ``n_spots``, ``lat``, ``lon`` (Stonyhurst) and ``carrington_lon`` of the
        area-weighted centre, ``Tx``, ``Ty``, ``x``, ``y``, ``mu`` (area-weighted means),
        ``area`` (sum, `~sunpy_dlmag.drawings.MSH`) and ``extent`` (largest distance between two of its spots).
    """
    _check_spots(spots, ("group", "lat", "lon", "carrington_lon", "area", "Tx", "Ty", "x", "y", "mu"))
    rows = []
    for g in np.unique(np.asarray(spots["group"])):
        member = spots[np.asarray(spots["group"]) == g]
        w = _spot_weights(member)
        vectors = _unit_vectors(member["lon"].to_value(u.deg), member["lat"].to_value(u.deg))
        lon, lat = _lon_lat(_weighted_centre(vectors, w))
        # Carrington and Stonyhurst longitudes differ by one offset at a given time.
        offset = np.median((member["carrington_lon"] - member["lon"]).to_value(u.deg))
        extent = np.arccos(np.clip(vectors @ vectors.T, -1, 1)).max() if len(member) > 1 else 0.0
        rows.append(
            {
                "group": int(g),
                "n_spots": len(member),
                "lat": lat * u.deg,
                "lon": lon * u.deg,
                "carrington_lon": ((lon + offset) % 360) * u.deg,
                "Tx": np.average(member["Tx"], weights=w),
                "Ty": np.average(member["Ty"], weights=w),
                "x": np.average(member["x"], weights=w),
                "y": np.average(member["y"], weights=w),
                "mu": float(np.average(member["mu"], weights=w)),
                "area": member["area"].sum(),
                "extent": np.rad2deg(extent) * u.deg,
            }
        )
    return _table(rows, _GROUP_COLUMNS)


_GROUP_COLUMNS = {
    "group": None, "n_spots": None, "lat": u.deg, "lon": u.deg, "carrington_lon": u.deg, "Tx": u.arcsec,
    "Ty": u.arcsec, "x": u.pix, "y": u.pix, "mu": None, "area": MSH, "extent": u.deg,
}  # fmt: skip


# --------------------------------------------------------------------------- bipoles


def spot_mean_field(area):
    """
    Mean flux density of a sunspot of ``area`` (Tlatov & Pevtsov 2014, Sol. Phys. 289, 1143).

    About 800 G for spots and pores up to 20 MSH, about 600 G from 100 MSH, and linear in
    between (SDO/HMI).

    Parameters
    ----------
    area : `~astropy.units.Quantity` or float
        Area of the spot (umbra and penumbra), in `~sunpy_dlmag.drawings.MSH` or any area
        unit; plain numbers are taken as MSH.

    Returns
    -------
    `~astropy.units.Quantity`
        Mean flux density, G.
    """
    a = u.Quantity(area, MSH).to_value(MSH)
    return np.interp(a, _SPOT_FIELD_AREAS, _SPOT_FIELD_G) * u.G


@u.quantity_input
def sunspot_bipoles(spots, *, date, leading_polarity=None, flux_factor=1.0,
                    joy_coefficient: u.deg = JOY_COEFFICIENT):  # fmt: skip
    """
    One magnetic bipole per sunspot group, from physical relations alone.

    - Flux: each spot carries its area times the mean sunspot field for its area
      (`~sunpy_dlmag.drawings.spot_mean_field`, Tlatov & Pevtsov 2014); a group's bipole carries half the sum in
      each polarity, times ``flux_factor`` (1: sunspot flux only; plage adds about as much
      again in active regions, see the drawings guide).
    - Leading polarity: Hale's law for the group's hemisphere and solar cycle, the cycle from
      the date (and, within 1.5 years of a minimum, from the latitude; SILSO minima).
    - Tilt: Joy's law, ``joy_coefficient * sin(|latitude|)`` with the leading polarity closer
      to the equator (Stenflo & Kosovichev 2012, ApJ 745, 129: 32.1 deg).
    - Geometry: each polarity is a Gaussian patch of radial field whose peak equals the
      spots' mean field (width ``sqrt(A / (2 pi))`` of the polarity's share ``A`` of the
      spot area, at least 0.25 deg). The leading polarity sits on the group's most western
      spot and the following one on its most eastern spot, both projected on the tilted axis
      through the group's centre, and at least 4 widths behind the leading one: a lone spot
      becomes its group's leading polarity with the following one behind it.

    Parameters
    ----------
    spots : `~astropy.table.QTable`
        A `~sunpy_dlmag.drawings.detect_sunspots` table (``group``, ``lat``, ``lon``, ``area``).
    date : `~astropy.time.Time` or str
        Date of the drawing, for the solar cycle.
    leading_polarity : {+1, -1}, optional
        Polarity of the leading spots in the northern hemisphere (the southern one is the
        opposite), instead of Hale's law for the date's cycle; needed for dates outside
        the known cycles (before 1755).
    flux_factor : float
        Ratio of a group's total flux to its sunspot flux.
    joy_coefficient : `~astropy.units.Quantity`

    Returns
    -------
    `~astropy.table.QTable`
        ``group``, ``cycle`` (0 when ``leading_polarity`` was given), ``lat``, ``lon`` of the
        group centre, ``area``, ``tilt``, ``polarity`` (of the leading patch), ``flux`` (of
        each patch, Mx), ``peak`` (G), ``sigma`` (patch width), ``lead_lat``, ``lead_lon``,
        ``follow_lat``, ``follow_lon``.

    Raises
    ------
    CyclePhaseUnknownError
        A date outside the known solar cycles and no ``leading_polarity``.
    """
    _check_spots(spots)
    if leading_polarity not in (None, 1, -1):
        raise ValueError(f"leading_polarity must be +1, -1 or None (Hale's law), got {leading_polarity!r}.")
    if not (np.isfinite(flux_factor) and flux_factor > 0):
        raise ValueError(f"flux_factor must be a positive number, got {flux_factor!r}.")
    with _old_dates():
        time = parse_time(date)
        rows = []
        for g in np.unique(np.asarray(spots["group"], dtype=int)):
            rows.append(_bipole(spots[np.asarray(spots["group"]) == g], time, leading_polarity, flux_factor,
                                joy_coefficient))  # fmt: skip
    return _table(rows, _BIPOLE_COLUMNS)


_BIPOLE_COLUMNS = {
    "group": None, "cycle": None, "lat": u.deg, "lon": u.deg, "area": MSH, "tilt": u.deg, "polarity": None,
    "flux": u.Mx, "peak": u.G, "sigma": u.deg, "lead_lat": u.deg, "lead_lon": u.deg, "follow_lat": u.deg,
    "follow_lon": u.deg,
}  # fmt: skip


def _bipole(member, time, leading_polarity, flux_factor, joy_coefficient):
    areas = member["area"].to(MSH)
    vectors = _unit_vectors(member["lon"].to_value(u.deg), member["lat"].to_value(u.deg))
    centre = _weighted_centre(vectors, _spot_weights(member))
    lon, lat = _lon_lat(centre)
    if leading_polarity is None:
        cycle = _cycles.cycle_number(time, lat * u.deg)
        north = _cycles.north_leading_polarity(cycle)
    else:
        cycle, north = 0, leading_polarity
    polarity = north if lat >= 0 else -north

    spot_flux = (spot_mean_field(areas) * areas.to(u.cm**2)).to(u.Mx).sum()
    flux = 0.5 * flux_factor * spot_flux
    share = 0.5 * areas.sum().to_value(MSH) * 1e-6 * 2 * np.pi  # steradians of the polarity's spots
    sigma = max(np.sqrt(share / (2 * np.pi)), _MIN_SIGMA.to_value(u.rad))
    rsun_cm = _RSUN.to_value(u.cm)
    peak = (flux / (2 * np.pi * sigma**2 * rsun_cm**2 * u.cm**2)).to(u.G)

    tilt = joy_coefficient.to_value(u.rad) * np.sin(np.deg2rad(abs(lat)))
    west = np.cross([0.0, 0.0, 1.0], centre)
    west /= np.linalg.norm(west)
    north_dir = np.cross(centre, west)
    axis = np.cos(tilt) * west - np.sign(lat if lat != 0 else 1.0) * np.sin(tilt) * north_dir
    along = np.arcsin(np.clip(vectors @ axis, -1, 1))
    lead = along.max()
    follow = min(along.min(), lead - _MIN_SEPARATION_SIGMAS * sigma)
    lead_lon, lead_lat = _lon_lat(np.cos(lead) * centre + np.sin(lead) * axis)
    follow_lon, follow_lat = _lon_lat(np.cos(follow) * centre + np.sin(follow) * axis)
    return {
        "group": int(member["group"][0]),
        "cycle": int(cycle),
        "lat": lat * u.deg,
        "lon": lon * u.deg,
        "area": areas.sum(),
        "tilt": np.rad2deg(tilt) * u.deg,
        "polarity": int(polarity),
        "flux": flux,
        "peak": peak,
        "sigma": np.rad2deg(sigma) * u.deg,
        "lead_lat": lead_lat * u.deg,
        "lead_lon": lead_lon * u.deg,
        "follow_lat": follow_lat * u.deg,
        "follow_lon": follow_lon * u.deg,
    }


# --------------------------------------------------------------------------- magnetograms


def drawing_to_magnetogram(drawing_map, *, method="bipole", model=None, device="auto", spots=None,
                           leading_polarity=None, flux_factor=1.0, num_threads=None):  # fmt: skip
    """
    A line-of-sight magnetogram from a sunspot drawing.

    Parameters
    ----------
    drawing_map : `~sunpy.map.GenericMap`
        A drawing read with `~sunpy_dlmag.drawings.read_drawing`.
    method : {"bipole", "model"}
        ``"bipole"``: one bipole per spot group (`~sunpy_dlmag.drawings.sunspot_bipoles`: flux from the spot areas,
        Hale's law, Joy's law), rendered as Gaussian patches of radial field seen along the
        line of sight (``B_los = B_r mu``). ``"model"``: the ``drawing`` network (Lee et al.
        2021, pix2pixHD), which needs weights you train (see the drawings guide) or a file
        given as ``model``.
    model : str, path or `~sunpy_dlmag.models.Model`, optional
        ``"model"`` only: a registered model of task ``"drawing"`` or an ONNX file you
        trained and exported (default: ``"drawing"``).
    device : {"auto", "cpu", "cuda"}
        ``"model"`` only.
    num_threads : int, optional
        ``"model"`` only: threads of onnxruntime when the model is loaded here.
    spots : `~astropy.table.QTable`, optional
        ``"bipole"`` only: the sunspot table to use (default: `~sunpy_dlmag.drawings.detect_sunspots` with its
        defaults); edit it to correct the detection.
    leading_polarity : {+1, -1}, optional
        ``"bipole"`` only: leading polarity in the northern hemisphere, instead of Hale's law
        (needed before 1755).
    flux_factor : float
        ``"bipole"`` only: ratio of a group's total flux to its sunspot flux.

    Returns
    -------
    `~sunpy.map.GenericMap`
        A new map on the drawing's grid (same WCS, observer and time) in G, NaN off the
        disk, with magnetogram plot settings; its header says how it was made (``dlmodel``
        and a history line; for ``"model"`` also the model's version and weights sha256).

    Raises
    ------
    WeightsNotInstalledError
        ``"model"`` without trained weights; the message says how to make them.
    CyclePhaseUnknownError
        ``"bipole"`` for a date outside the known solar cycles without ``leading_polarity``.
    InputMapError
        Not a drawing map, or a model for another task.
    """
    if method not in ("bipole", "model"):
        raise ValueError(f"method must be 'bipole' (physical bipoles) or 'model' (trained network), got {method!r}.")
    if method == "model" and (spots is not None or leading_polarity is not None or flux_factor != 1.0):
        raise ValueError("spots, leading_polarity and flux_factor only apply to method='bipole'.")
    if method == "bipole" and model is not None:
        raise ValueError("model only applies to method='model'.")
    with _old_dates():
        data = _drawing_data(drawing_map)
        if method == "model":
            return _model_magnetogram(drawing_map, data, model, device, num_threads)
        return _bipole_magnetogram(drawing_map, spots, leading_polarity, flux_factor)


def _on_disk_vectors(smap):
    """Unit vectors (Stonyhurst) of the on-disk pixels, their mask and mu."""
    coords = sunpy.map.all_coordinates_from_map(smap)
    on_disk = sunpy.map.coordinate_is_on_solar_disk(coords)
    surface = coords[on_disk].transform_to(HeliographicStonyhurst(obstime=smap.date))
    vectors = _unit_vectors(surface.lon.to_value(u.deg), surface.lat.to_value(u.deg))
    good = np.isfinite(vectors).all(axis=1)
    on_disk[on_disk] = good
    vectors = vectors[good]
    mu = geometry.mu_towards(smap.rsun_meters.to_value(u.m) * vectors, smap.observer_coordinate)
    return vectors, on_disk, mu


def _bipole_magnetogram(drawing_map, spots, leading_polarity, flux_factor):
    if spots is None:
        spots = detect_sunspots(drawing_map)
    bipoles = sunspot_bipoles(spots, date=drawing_map.date, leading_polarity=leading_polarity, flux_factor=flux_factor)
    vectors, on_disk, mu = _on_disk_vectors(drawing_map)
    radial = np.zeros(len(vectors))
    for row in bipoles:
        sigma = row["sigma"].to_value(u.rad)
        peak = row["peak"].to_value(u.G)
        for lat, lon, sign in (
            (row["lead_lat"], row["lead_lon"], row["polarity"]),
            (row["follow_lat"], row["follow_lon"], -row["polarity"]),
        ):
            centre = _unit_vectors(lon.to_value(u.deg), lat.to_value(u.deg))
            cos_angle = vectors @ centre
            near = cos_angle > np.cos(6 * sigma)
            angle = np.arccos(np.clip(cos_angle[near], -1, 1))
            radial[near] += sign * peak * np.exp(-0.5 * (angle / sigma) ** 2)
    out = np.full(drawing_map.data.shape, np.nan, dtype=np.float32)
    out[on_disk] = radial * mu  # a radial field seen along the line of sight
    if len(bipoles) == 0:
        cycle_note = "no spot groups"
    elif leading_polarity is None:
        cycles = sorted(set(int(c) for c in bipoles["cycle"]))
        cycle_note = f"Hale's law for cycle(s) {', '.join(map(str, cycles))} (SILSO minima)"
    else:
        cycle_note = f"leading polarity {leading_polarity:+d} in the north (given)"
    meta = _bipole_meta(drawing_map, len(bipoles), cycle_note, flux_factor)
    return sunpy.map.Map(out, meta, plot_settings=magnetogram_plot_settings())


def _bipole_meta(drawing_map, n_groups, cycle_note, flux_factor):
    from sunpy_dlmag import __version__

    meta = copy.deepcopy(drawing_map.meta)
    meta["bunit"] = "G"
    meta["instrume"] = "sunpy-dlmag bipoles"
    meta["dlmodel"] = "bipole"
    meta["dlinput"] = f"sunspot drawing {drawing_map.meta.get('drawfile', '')} {drawing_map.date.isot}".replace(
        "  ", " "
    )
    line = (
        f"sunpy-dlmag {__version__}: bipole reconstruction of {n_groups} spot group(s) from a sunspot drawing; "
        f"flux = {flux_factor:g} x mean spot field (Tlatov & Pevtsov 2014) x spot area; {cycle_note}; "
        f"tilt {JOY_COEFFICIENT.to_value(u.deg):g} deg x sin(lat) (Joy's law, Stenflo & Kosovichev 2012); "
        "Gaussian patches of radial field, B_los = B_r mu; not an observation."
    )
    append_history(meta, line)
    return meta


def _model_magnetogram(drawing_map, data, model, device, num_threads):
    name = "drawing" if model is None else model
    net = model if isinstance(model, Model) else load_model(name, device=device, num_threads=num_threads)
    if net.spec.task != "drawing":
        raise InputMapError(
            f"Model {net.spec.name!r} is a {net.spec.task!r} model; drawing_to_magnetogram needs a 'drawing' model."
        )
    g = net.spec.geometry
    if g.native:
        out = net.predict_array(data)
    else:
        frame = geometry.to_model_frame(drawing_map, image_size=g.image_size, rsun_px=g.rsun_px)
        out = geometry.to_map_grid(net.predict_array(frame.data), source=frame, target=drawing_map)
    on_disk = sunpy.map.coordinate_is_on_solar_disk(sunpy.map.all_coordinates_from_map(drawing_map))
    out = np.where(on_disk, out, np.nan).astype(np.float32)
    meta = provenance_meta(drawing_map, net, note="Input: a sunspot drawing.")
    return sunpy.map.Map(out, meta, plot_settings=magnetogram_plot_settings())


# --------------------------------------------------------------------------- rendering

_PAPER = np.array([244.0, 238.0, 222.0])
_INK = np.array([28.0, 24.0, 22.0])
_PENUMBRA_INK = np.array([120.0, 112.0, 104.0])


def _spot_masks(smap, threshold, umbra_threshold, min_pixels):
    """Penumbra and umbra masks of an observation on its own grid (see `~sunpy_dlmag.drawings.render_drawing`)."""
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
    rho, _ = calibration.disk_radius_fraction(smap)
    rings = np.clip((rho * 50).astype(int), 0, 60)
    level = np.full(61, np.nan)
    for k in np.unique(rings[finite & (rho < 1)]):
        values = data[finite & (rings == k)]
        level[k] = np.median(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite & (rho < 1), data / level[rings], np.nan)


def _annotations(shape, *, label, centre, radius, north_angle, rng, annotate):
    """Ink coverage (0..1) of handwriting: the label, an N at solar north, a signature."""
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
    size_pt = 0.028 * min(h, w) * 72 / 100
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
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    coverage = np.zeros(shape)
    hh, ww = min(h, rgba.shape[0]), min(w, rgba.shape[1])
    coverage[:hh, :ww] = rgba[:hh, :ww, 3] / 255.0
    return coverage


# Diameter (px) of the smallest dot a pen makes: smaller spots are drawn as such dots.
_PEN_DOT = 3.5


def _to_image_orientation(drawn, mirrored):
    """Map orientation (first row at the bottom, un-mirrored) to the image as drawn."""
    drawn = drawn[:, ::-1] if mirrored else drawn
    return drawn[::-1]


def _pen_dots(smap, penumbra, umbra, target, radius, shape, mirrored):
    """
    Small spots as round dots: an observer draws no spot thinner than the pen.

    Spots whose drawn area would be under three pen dots are taken out of the masks and
    returned as dots (centre in image pixels, diameter, whether they have an umbra) of their
    own drawn area, but no smaller than the pen.
    """
    labels, n = ndimage.label(penumbra, structure=np.ones((3, 3)))
    if n == 0:
        return penumbra, umbra, []
    source_radius = _disk_pixels(smap)[2]
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:] * (radius / source_radius) ** 2
    small = 1 + np.flatnonzero(sizes < 3 * np.pi * (_PEN_DOT / 2) ** 2)
    if small.size == 0:
        return penumbra, umbra, []
    centres = np.array(ndimage.center_of_mass(penumbra, labels, small))
    dark = np.asarray(ndimage.maximum(umbra, labels, small), dtype=bool)
    diameters = np.maximum(_PEN_DOT, 2 * np.sqrt(sizes[small - 1] / np.pi))
    x, y = target.world_to_pixel(smap.pixel_to_world(centres[:, 1] * u.pix, centres[:, 0] * u.pix))
    x, y = _map_centre((x, y), shape, mirrored)  # its own inverse: map pixels to image pixels
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


@u.quantity_input
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
    ``drawing`` network (`~sunpy_dlmag.drawings.drawing_training_pairs`) and tests of the whole chain.

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
    if not isinstance(smap, sunpy.map.GenericMap):
        raise InputMapError(f"Expected an observation as a sunpy map, got {type(smap).__name__}.")
    if not isinstance(smap.coordinate_frame, Helioprojective):
        raise InputMapError(
            f"render_drawing needs a helioprojective full-disk map, got the {smap.coordinate_frame.name} frame."
        )
    geometry.check_observer(smap)
    h, w = (int(s) for s in shape)
    if min(h, w) < 64:
        raise ValueError(f"shape must be at least 64 px on each side, got {shape}.")
    radius = 0.4 * min(h, w) if radius is None else float(radius)
    centre = ((w - 1) / 2, (h - 1) / 2) if centre is None else tuple(float(c) for c in centre)
    north_angle = _check_angle(north_angle, "north_angle")
    rng = np.random.default_rng(seed)

    with _old_dates():
        penumbra, umbra = _spot_masks(smap, threshold, umbra_threshold, int(min_pixels))
        header = _drawing_header((h, w), centre=centre, radius=radius, date=smap.date, north_angle=north_angle,
                                 mirrored=bool(mirrored))  # fmt: skip
        target = _wcs_of(header)
        penumbra, umbra, dots = _pen_dots(smap, penumbra, umbra, target, radius, (h, w), bool(mirrored))
        layers = []
        for mask in (penumbra, umbra):
            drawn = np.nan_to_num(geometry.resample(mask.astype(np.float32), smap.wcs, target, (h, w)))
            drawn = _to_image_orientation(drawn, bool(mirrored))
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

    Each magnetogram is drawn with `~sunpy_dlmag.drawings.render_drawing` at a random orientation (north angle,
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
        Passed to `~sunpy_dlmag.drawings.render_drawing` (e.g. ``threshold``).

    Returns
    -------
    `pathlib.Path`
        The manifest.
    """
    from sunpy_dlmag.data.fetch import Pair, write_manifest
    from sunpy_dlmag.io import save_map

    for key in ("north_angle", "mirrored", "seed", "shape"):
        if key in render_kwargs:
            raise TypeError(f"drawing_training_pairs chooses {key} itself; do not pass it.")
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
