"""
Reading a sunspot drawing: the image, the drawn limb (a robust circle fit) and the WCS.

`read_drawing` turns a scanned or photographed drawing into a helioprojective map for an
Earth observer at the drawing's date; the orientation (angle of solar north, mirroring)
comes from the user or, where not given, from the marks the form shows outside the limb
(`~sunpy_dlmag.drawings.orientation`).
"""

import os
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.visualization import ImageNormalize
from scipy import fft, ndimage, optimize

import sunpy.map
import sunpy.sun.constants
from sunpy.coordinates import Helioprojective, get_earth, sun
from sunpy.map.header_helper import make_fitswcs_header

from sunpy_dlmag import checks, geometry
from sunpy_dlmag._cycles import historical_dates
from sunpy_dlmag.drawings.orientation import OrientationWarning, form_orientation
from sunpy_dlmag.exceptions import InputMapError, InvalidArgumentError, MissingFileError, NoDiskError

__all__ = ["read_drawing"]


# --------------------------------------------------------------------------- images


def grey_image(image):
    """Grey levels (0 black .. 255 white, float32, first row at the top) and a name for the source."""
    if isinstance(image, str | os.PathLike):
        path = Path(image).expanduser()
        if not path.is_file():
            raise MissingFileError(f"No drawing image at {path}.")
        from PIL import Image, ImageOps, UnidentifiedImageError

        try:
            with Image.open(path) as img:
                # Phone photos store their orientation in EXIF; the pixels are not rotated.
                img = ImageOps.exif_transpose(img)
                if img.mode in _OPAQUE_MODES:
                    # PIL's own conversion (ITU-R 601 luma, as _to_grey), in C and in 8 bits.
                    return _to_grey(np.asarray(img.convert("L"))), path.name
                array = _pil_array(img)
        except UnidentifiedImageError as err:
            raise InputMapError(f"{path} is not an image file that PIL can read (PNG, JPEG, TIFF, ...).") from err
        return _to_grey(array), path.name
    if isinstance(image, sunpy.map.GenericMap):
        raise InputMapError("read_drawing takes an image file or array; this is already a map.")
    return _to_grey(np.asarray(image)), "array"


_OPAQUE_MODES = ("1", "L", "RGB", "CMYK", "YCbCr")


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
    if a.dtype == np.uint8 and a.ndim == 2:  # the common case (scans), without float64 copies
        return _check_size(a.astype(np.float32))
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
    return _check_size(a.astype(np.float32))


def _check_size(a):
    if min(a.shape) < 32:
        raise InputMapError(f"The image is too small to hold a drawing of the Sun: {a.shape[1]}x{a.shape[0]} px.")
    return a


def odd_size(value):
    n = max(3, int(np.rint(value)))
    return n if n % 2 else n + 1


def paper_level(grey, size):
    """Local paper level: a grey closing removes ink features narrower than ``size``, then a smoothing."""
    return ndimage.uniform_filter(ndimage.grey_closing(grey, size=(size, size)), size)


def block_depths(grey, block, size):
    """
    Ink depth (the fraction of the local paper level by which ink is darker) on ``grey`` taken
    down in ``block`` x ``block`` blocks: the paper level of the block means (a closing of
    ``size``), the depth of each block's mean and that of its darkest pixel.
    """
    work = geometry.block_mean(grey, block, dtype=None)
    paper = paper_level(work, size)
    with np.errstate(invalid="ignore", divide="ignore"):
        averaged = np.where(paper > 0, 1 - work / paper, 0.0)
        darkest = averaged if block == 1 else np.where(paper > 0, 1 - geometry.block_min(grey, block) / paper, 0.0)
    return paper, averaged, darkest


# The black (`ink_gain`) of the lightest scan the detection's defaults were set on (5 Sept 1941:
# 0.615; the other tuned forms 0.67-0.76): the ink of a lighter scan (faded, scanned light) is
# deepened to it, so that the depth thresholds mean on it what they meant there. Darker scans
# are left as they are: drawings in bold ink (renderings of magnetograms) are read well.
LIGHTEST_BLACK = 0.61


def ink_gain(depth, radius):
    """
    The factor (1 or more) by which to deepen the ink of a scan lighter than ``LIGHTEST_BLACK``.

    The scan's black is the depth that its ``radius / 5`` darkest pixels of ``depth`` reach
    (the disk and its drawn limb, on an image of disk ``radius`` pixels): more than a dot's
    worth, far fewer than the limb's.
    """
    values = np.ravel(depth)
    darkest = max(1, int(radius / 5))
    if values.size <= darkest:
        return 1.0
    black = float(np.partition(values, values.size - darkest)[values.size - darkest])
    return max(1.0, LIGHTEST_BLACK / black) if black > 0 else 1.0


def levelled(grey, paper, block, gain):
    """``grey`` with its ink ``gain`` times as deep against ``paper`` (the paper level of its blocks)."""
    h, w = paper.shape[0] * block, paper.shape[1] * block
    level = np.repeat(np.repeat(paper, block, axis=0), block, axis=1)
    out = np.array(grey, dtype=np.float32)
    out[:h, :w] = level + gain * (out[:h, :w] - level)
    return out


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


def _angle_bins(xs, ys, cx, cy, n_bins):
    """Which of ``n_bins`` equal sectors round ``(cx, cy)`` each point ``xs, ys`` lies in."""
    return ((np.arctan2(ys - cy, xs - cx) + np.pi) / (2 * np.pi) * n_bins).astype(int) % n_bins


def _coverage(xs, ys, cx, cy, r, tol, n_bins):
    dist = np.hypot(xs - cx, ys - cy)
    inliers = np.abs(dist - r) < tol
    if not inliers.any():
        return 0.0, inliers
    bins = _angle_bins(xs[inliers], ys[inliers], cx, cy, n_bins)
    return np.count_nonzero(np.bincount(bins, minlength=n_bins)) / n_bins, inliers


def _line_coverage(xs, ys, cx, cy, r, tol, n_bins):
    """
    Fraction of the circumference along which ink draws a line on the circle: angle bins with
    at least as much ink within ``tol`` of it as in the rings ``tol .. 3 tol`` beside it (twice
    as wide), i.e. ink at least twice as dense on the circle as next to it. Paper texture,
    filled blobs, text and lines that cross the circle have as much ink beside it as on it.
    Also returns the ink fraction of the band and of the rings beside it over the traced bins,
    for the messages.
    """
    dist = np.abs(np.hypot(xs - cx, ys - cy) - r)
    near = dist < 3 * tol
    bins = _angle_bins(xs[near], ys[near], cx, cy, n_bins)
    on = dist[near] < tol
    n_on = np.bincount(bins[on], minlength=n_bins)
    n_side = np.bincount(bins[~on], minlength=n_bins)
    traced = (n_on > 0) & (n_on >= n_side)
    return np.count_nonzero(traced) / n_bins, n_on, n_side


def _ring_candidates(ink, r_min, r_max):
    """
    For each radius from ``r_min`` to ``r_max`` (pixels of ``ink``), the centre whose ring of ink
    stands out most from the rings beside it: a circular Hough transform by FFT, with a ring
    kernel minus its neighbours, so that a limb broken into dashes or faint in places is still
    found where no stroke of it is long. Returns ``(cx, cy, r)`` in pixels of ``ink``.
    """
    factor = max(1, int(np.ceil(max(ink.shape) / 160)))
    small = geometry.block_min(~ink, factor, keep_edges=True) == 0  # any ink in the block
    h, w = small.shape
    r_lo, r_hi = max(3.0, r_min / factor), r_max / factor
    # Steps of 5 % in radius: the refinement that follows starts within 3 % of the circle.
    radii = r_lo * 1.05 ** np.arange(int(np.log(r_hi / r_lo) / np.log(1.05)) + 1)
    pad = int(np.ceil(r_hi * 1.1 + 4))
    shape = tuple(fft.next_fast_len(n + 2 * pad, real=True) for n in (h, w))
    image = fft.rfft2(small.astype(np.float32), shape)
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    dist = np.hypot(np.minimum(yy, shape[0] - yy), np.minimum(xx, shape[1] - xx)).astype(np.float32)
    found = []
    for radius in radii:
        half = max(1.0, 0.02 * radius)
        offset = np.abs(dist - radius)
        band, side = offset < half, (offset >= half) & (offset < 3 * half)
        kernel = band / max(band.sum(), 1) - side / max(side.sum(), 1)
        response = fft.irfft2(image * fft.rfft2(kernel.astype(np.float32)), shape)[:h, :w]
        y, x = np.unravel_index(np.argmax(response), response.shape)
        found.append(((x + 0.5) * factor - 0.5, (y + 0.5) * factor - 0.5, radius * factor))
    return found


def _refine(xs, ys, cx, cy, r, tol):
    """Algebraic fits to the ink within a narrowing band around a circle."""
    for band in (4 * tol, 2 * tol, tol):
        near = np.abs(np.hypot(xs - cx, ys - cy) - r) < band
        if near.sum() < 10:
            break
        cx, cy, r = _kasa(xs[near], ys[near])
    return cx, cy, r


def _kasa(xs, ys):
    """Algebraic least-squares circle (Kasa 1976) through points."""
    design = np.column_stack([xs, ys, np.ones_like(xs)])
    (d, e, f), *_ = np.linalg.lstsq(design, -(xs**2 + ys**2), rcond=None)
    cx, cy = -d / 2, -e / 2
    return cx, cy, np.sqrt(max(cx**2 + cy**2 - f, 0.0))


def _ransac_circle(xs, ys, strokes, shape, rng, trials=500, keep=5):
    """
    The ``keep`` candidate circles that trace most of their circumference (angular coverage).

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
    scored = []
    for cx, cy, radius in candidates:
        if not _plausible(cx, cy, radius, shape):
            continue
        cover, inliers = _coverage(xs, ys, cx, cy, radius, max(1.5, 0.01 * radius), 72)
        # Coverage first (a full circle beats blobs and text on a partial one), then support.
        scored.append((cover + 1e-3 * inliers.mean(), (cx, cy, radius)))
    scored.sort(key=lambda item: -item[0])
    return [circle for _, circle in scored[:keep]]


def _plausible(cx, cy, radius, shape):
    h, w = shape
    return bool(np.isfinite(radius) and 0.05 * min(h, w) <= radius <= max(h, w) and 0 <= cx < w and 0 <= cy < h)


def _no_disk(detail):
    return NoDiskError(
        f"No solar disk found in the drawing: {detail} Expected a drawn disk outline (a circle) of which at "
        "least half is visible. Give the disk by hand with disk=(x, y, radius) in pixels of the image "
        "(x from the left, y from the top)."
    )


def _ink_near_circle(grey, cx, cy, r, band):
    """
    Full-resolution ink pixels (x, y) within ``band`` of a circle; the paper level comes from
    a reduced image, so only the ring is looked at in full.
    """
    h, w = grey.shape
    step = max(1, int(np.ceil(max(h, w) / 1024)))
    paper = paper_level(geometry.block_mean(grey, step, dtype=None), odd_size(max(9, 0.02 * min(h, w) / step)))
    ys, xs = _ring_pixels(grey.shape, cx, cy, r, band)
    level = paper[np.minimum(ys // step, paper.shape[0] - 1), np.minimum(xs // step, paper.shape[1] - 1)]
    with np.errstate(invalid="ignore", divide="ignore"):
        depth = np.where(level > 0, 1 - grey[ys, xs] / level, 0.0)
    # A faded or soft limb line is ink down to half its own depth (its deepest pixel across the
    # ring, the median round the circle), but never fainter than half the ink depth.
    deepest = np.full(360, -np.inf)
    np.maximum.at(deepest, _angle_bins(xs, ys, cx, cy, 360), depth)
    line = float(np.median(deepest[np.isfinite(deepest)])) if np.isfinite(deepest).any() else 0.0
    dark = depth > np.clip(line / 2, _DISK_INK_DEPTH / 2, _DISK_INK_DEPTH)
    return xs[dark].astype(float), ys[dark].astype(float)


def _ring_pixels(shape, cx, cy, r, band):
    """
    Pixels (y, x) of an image of ``shape`` within ``band`` of a circle: each row's one or two
    runs, a pixel wider, then tested exactly (the whole square around the circle costs 10x more).
    """
    h, w = shape
    rows = np.arange(max(int(cy - r - band), 0), min(int(cy + r + band) + 1, h))
    dy2 = (rows - cy) ** 2
    outer = np.sqrt(np.maximum((r + band) ** 2 - dy2, 0))
    inner = np.sqrt(np.maximum((r - band) ** 2 - dy2, 0)) if r > band else np.zeros(len(rows))
    first = np.clip(np.floor(cx - outer) - 1, 0, w).astype(int)
    last = np.clip(np.ceil(cx + outer) + 2, 0, w).astype(int)
    gap_from = np.clip(np.ceil(cx - inner) + 1, 0, w).astype(int)
    gap_to = np.clip(np.floor(cx + inner) - 1, 0, w).astype(int)
    runs = [(y, a, b) for y, a, b, g0, g1 in zip(rows, first, last, gap_from, gap_to, strict=True)
            for a, b in (((a, g0), (g1, b)) if g1 > g0 else ((a, b),))]  # fmt: skip
    ys = np.concatenate([np.full(max(b - a, 0), y) for y, a, b in runs]) if runs else np.zeros(0, int)
    xs = np.concatenate([np.arange(a, b) for _, a, b in runs]) if runs else np.zeros(0, int)
    dist = np.hypot(np.float32(xs - cx), np.float32(ys - cy))
    keep = np.abs(dist - np.float32(r)) < band
    return ys[keep], xs[keep]


def _fit_disk(grey):
    """
    Centre (x from the left, y from the top) and radius of the drawn disk outline, in pixels.

    The ink is found against the local paper level on a reduced image. Candidate circles come
    from the long ink strokes (RANSAC) and from a circular Hough transform of all the ink; the
    disk is the candidate with the most ink drawing a line along it (a punched hole or a corner
    mark is a whole circle, but a small one; a printed degree circle around the limb is a thinner
    line). A robust geometric least-squares fit on the full-resolution ink pixels near it refines it, and it
    must be a drawn line (ink on the circle, paper beside it) over half its circumference:
    paper texture, text and blobs are refused.
    """
    h, w = grey.shape
    factor = max(1, int(np.ceil(max(h, w) / 512)))
    coarse = geometry.block_min(grey, factor, keep_edges=True)  # keeps thin ink lines
    ink = block_depths(coarse, 1, odd_size(0.03 * min(coarse.shape)))[1] > _DISK_INK_DEPTH
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
    candidates = _ransac_circle(points[:, 1].astype(float), points[:, 0].astype(float), strokes, coarse.shape, rng)
    # All the ink (a sample of it) judges the candidates: a dashed limb has no long stroke.
    ys, xs = np.nonzero(ink)
    if xs.size > 40000:
        keep = np.sort(rng.choice(xs.size, 40000, replace=False))
        ys, xs = ys[keep], xs[keep]
    xs, ys = xs.astype(float), ys.astype(float)
    for cx, cy, radius in _ring_candidates(ink, 0.05 * min(coarse.shape), 0.6 * max(coarse.shape)):
        candidates.append(_refine(xs, ys, cx, cy, radius, max(1.5, 0.01 * radius)))
    best, best_score = None, 0.0
    for cx, cy, radius in candidates:
        if not _plausible(cx, cy, radius, coarse.shape):
            continue
        _, n_on, n_side = _line_coverage(xs, ys, cx, cy, radius, max(1.5, 0.01 * radius), 72)
        # The ink of the line along the arc it traces, above what its surroundings hold.
        traced = (n_on > 0) & (n_on >= n_side)
        score = np.sum(n_on[traced] - n_side[traced] / 2)
        if score > best_score:
            best, best_score = (cx, cy, radius), score
    if best is None:
        raise _no_disk("no circle of a plausible size fits the ink.")
    cx, cy, r = (best[0] * factor + (factor - 1) / 2, best[1] * factor + (factor - 1) / 2, best[2] * factor)

    start = np.array([cx, cy, r])
    band = search = max(3.0, 0.03 * r) + factor
    xs, ys = _ink_near_circle(grey, cx, cy, r, search)
    for _ in range(3):
        near = np.abs(np.hypot(xs - cx, ys - cy) - r) < band
        if near.sum() < 20:
            raise _no_disk(f"the best circle (centre {cx:.0f}, {cy:.0f}, radius {r:.0f} px) has no ink along it.")
        # A few ten thousand points fix three parameters as well as all of them.
        px, py = xs[near][:: 1 + near.sum() // 20000], ys[near][:: 1 + near.sum() // 20000]
        fit = optimize.least_squares(
            lambda p, px=px, py=py: np.hypot(px - p[0], py - p[1]) - p[2], [cx, cy, r], loss="soft_l1", f_scale=1.0
        )
        cx, cy, r = fit.x
        residual = np.hypot(px - cx, py - cy) - r
        # A stroke of width w spreads the residuals over +-w/2; keep the whole stroke.
        band = max(2.0, 4 * 1.4826 * np.median(np.abs(residual)) + 1.0)
    # The line and the rings beside it; the ink gathered around the first circle holds them when
    # the refined circle has moved less than the margin (a full-resolution pass is costly).
    if 3 * band + np.abs(np.array([cx, cy, r]) - start).sum() > search:
        xs, ys = _ink_near_circle(grey, cx, cy, r, 3 * band)
    cover, n_on, n_side = _line_coverage(xs, ys, cx, cy, r, band, 360)
    if cover < _MIN_COVERAGE or r < 8:
        # Ink fractions of the band on the circle and of the rings beside it (twice as wide).
        area = 2 * np.pi * r * 2 * band
        raise _no_disk(
            f"no drawn limb: the best circle (centre {cx:.0f}, {cy:.0f}, radius {r:.0f} px) is traced by a line "
            f"over only {cover:.0%} of its circumference (ink at least twice as dense within {band:.1f} px of the "
            f"circle as beside it; ink covers {n_on.sum() / area:.0%} of that band and {n_side.sum() / (2 * area):.0%} "
            "of the rings beside it)."
        )
    inliers = np.abs(np.hypot(xs - cx, ys - cy) - r) < band
    residual = np.hypot(xs[inliers] - cx, ys[inliers] - cy) - r
    return {"x": cx, "y": cy, "radius": r, "rms": float(np.sqrt(np.mean(residual**2))), "coverage": cover}


# --------------------------------------------------------------------------- geometry


def check_angle(value, name):
    """One finite angle (NaN or inf would give a map with a NaN rotation matrix)."""
    return checks.check_quantity(value, u.deg, name)


def map_centre(centre, shape):
    """Image pixels (x from the left, y from the top) to map pixels (y up); its own inverse."""
    x, y = centre
    return (x, shape[0] - 1 - y)


def drawing_header(shape, *, centre, radius, date, north_angle, mirrored, observatory=None):
    """
    FITS header of a drawing in map orientation for an Earth observer at ``date``.

    ``centre`` (image pixels, y from the top) and ``radius`` (pixels) are the disk's;
    ``north_angle`` is the direction of solar north on the image as given, counterclockwise
    from up, and ``mirrored`` says whether east and west are swapped on it. The map keeps the
    image's columns (a pixel's x is its column in the scan); a mirror is in the WCS (its PC
    matrix reflects), so coordinates come out right and plots show the drawing as drawn.
    """
    observer = get_earth(date)
    frame = Helioprojective(observer=observer, obstime=date)
    scale = (sun.angular_radius(date) / (radius * u.pix)).to(u.arcsec / u.pix)
    # A rotation by p puts solar north at -p counterclockwise from up; on a mirrored image
    # north at +p, as the reflection of the columns comes first.
    p = (north_angle if mirrored else -north_angle).to_value(u.rad)
    matrix = np.array([[np.cos(p), -np.sin(p)], [np.sin(p), np.cos(p)]])
    if mirrored:
        matrix = matrix @ np.diag([-1.0, 1.0])
    header = make_fitswcs_header(
        tuple(shape),
        SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=frame),
        reference_pixel=u.Quantity(map_centre(centre, shape), u.pix),
        scale=u.Quantity([scale, scale]),
        rotation_matrix=matrix,
        instrument="sunspot drawing",
        observatory=observatory,
    )
    return header


def wcs_of(header):
    return sunpy.map.Map(np.zeros((1, 1), dtype=np.float32), header).wcs


# --------------------------------------------------------------------------- read_drawing


@checks.quantity_input
def read_drawing(image, *, date, north_angle: u.deg = None, mirrored=None, north="solar", disk=None,
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
    north_angle : `~astropy.units.Quantity`, optional
        Direction of solar north on the image as given (as you see it), counterclockwise
        from the image's up direction: ``90 * u.deg`` if north points left. By default it is
        read from the form (the N, S, E, W letters outside the limb, the "-" and "+" beside
        the 0 of a position-angle arc), in steps of 90 degrees; 0 where the form does not tell.
    mirrored : bool, optional
        Whether east and west are swapped on the image (with north up, east on the right),
        e.g. a projection drawn from behind the screen, as on the Uccle forms (W left, E
        right). The map is flipped left-right first. By default it is read from the form as
        ``north_angle``; `False` where the form does not tell, with an `~sunpy_dlmag.drawings.OrientationWarning`
        when marks on the form fit an orientation but not with confidence.
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
        Grey levels 0 (ink) .. 255 (paper), the image's rows from the bottom up and its
        columns as scanned (a mirror is in the WCS: a reflecting PC matrix), with the disk fit
        in the header (``drawx``, ``drawy``, ``drawr`` in image pixels, ``drawrms`` the rms
        distance of the outline's ink from the circle, ``drawcov`` the traced fraction of the
        circumference) and the orientation (``drawnang``, ``drawmirr``), where each came from
        (``drawnsrc``, ``drawmsrc``: ``user``, ``form`` or ``default``) and how sure the reading
        of the form is (``drawncnf``, ``drawmcnf``: 0 nothing on the form tells .. 1 many marks
        agree).

    Raises
    ------
    NoDiskError
        No drawn disk outline found (no circle traced by a line, ink on the circle and paper
        beside it, over half its circumference), e.g. a blank page.
    InputMapError
        An image that is not one.
    InvalidArgumentError
        A ``date`` that is not a date, a ``north_angle`` that is not finite.
    FileNotFoundError
        No file at ``image``.

    See Also
    --------
    sunpy_dlmag.detect_sunspots
        the spots on it.
    sunpy_dlmag.sunspot_counts
        the day's counts.
    sunpy_dlmag.drawing_to_magnetogram
        a magnetogram-like map from it.

    References
    ----------
    .. [1] Lee, H., Park, E., Moon, Y.-J. 2021, ApJ 907, 118: generation of modern satellite data from Galileo
       sunspot drawings in 1612 by deep learning.

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
        raise InvalidArgumentError(f"north must be 'solar' or 'celestial', got {north!r}.")
    with historical_dates():
        time = checks.check_date(date, "date")
        north_angle = None if north_angle is None else check_angle(north_angle, "north_angle")
        mirrored = None if mirrored is None else checks.check_bool(mirrored, "mirrored")
        grey, source = grey_image(image)
        fit = _fit_disk(grey) if disk is None else _disk_by_hand(disk, grey.shape)
        north_angle, mirrored, read = _orientation(grey, fit, north_angle, mirrored, source)
        if north == "celestial":
            # P turns solar north towards east: counterclockwise on the sky, clockwise on a mirrored image.
            north_angle = north_angle + (-1 if mirrored else 1) * sun.P(time).to(u.deg)
        data = to_image_orientation(grey)  # its own inverse: image to map orientation
        header = drawing_header(
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
            **read,
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
            "drawnsrc": "drawnang from user, form or default",
            "drawmsrc": "drawmirr from user, form or default",
            "drawncnf": "north read from the form: confidence",
            "drawmcnf": "mirroring read from the form: confidence",
        },
    }
    how = "given by hand" if disk is not None else f"fitted, rms {fit['rms']:.2f} px, {fit['coverage']:.0%} traced"
    header["history"] = (
        f"sunpy-dlmag: sunspot drawing read from {source}; disk centre ({fit['x']:.1f}, {fit['y']:.1f}) px, radius "
        f"{fit['radius']:.1f} px ({how}); solar north at {north_angle.to_value(u.deg):.2f} deg; "
        f"mirrored {bool(mirrored)} ({read['drawnsrc']}, {read['drawmsrc']})"
    )
    plot_settings = {"cmap": "gray", "norm": ImageNormalize(vmin=0, vmax=255)}
    with historical_dates():
        return sunpy.map.Map(np.ascontiguousarray(data, dtype=np.float32), header, plot_settings=plot_settings)


def _orientation(grey, fit, north_angle, mirrored, source):
    """
    ``north_angle`` and ``mirrored`` as given, or read from the form where not given (the
    defaults 0 and False where the form does not tell), and the header cards that say so.
    """
    read = {"drawnsrc": "user", "drawmsrc": "user", "drawncnf": 1.0, "drawmcnf": 1.0}
    if north_angle is not None and mirrored is not None:
        return north_angle, mirrored, read
    form = form_orientation(grey, fit)
    unsure = []
    if north_angle is None:
        read["drawncnf"] = form["north_confidence"]
        read["drawnsrc"] = "form" if form["sure_north"] else "default"
        north_angle = (form["north_angle"] if form["sure_north"] else 0.0) * u.deg
        unsure += [] if form["sure_north"] else ["north_angle (0 deg used)"]
    if mirrored is None:
        read["drawmcnf"] = form["mirrored_confidence"]
        read["drawmsrc"] = "form" if form["sure_mirrored"] else "default"
        mirrored = form["mirrored"] if form["sure_mirrored"] else False
        unsure += [] if form["sure_mirrored"] else ["mirrored (False used)"]
    if unsure and form["fitting"]:
        marks = ", ".join(f"{c!r} at {a:.0f} deg" for c, _, a in form["marks"][:6])
        warnings.warn(
            f"The form of {source} does not show its orientation clearly (marks outside the limb: {marks}); "
            f"pass {' and '.join(unsure)} if the defaults are wrong.",
            OrientationWarning,
            stacklevel=4,
        )
    return north_angle, mirrored, read


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


def to_image_orientation(drawn):
    """Map orientation (first row at the bottom) to the image as drawn (first row at the top); its own inverse."""
    return drawn[::-1]


def drawing_data(drawing_map):
    if not isinstance(drawing_map, sunpy.map.GenericMap):
        raise InputMapError(f"Expected a drawing as a sunpy map (see read_drawing), got {type(drawing_map).__name__}.")
    if isinstance(drawing_map, checks.EUV_CLASSES + checks.MAGNETOGRAM_CLASSES):
        what = "a magnetogram" if isinstance(drawing_map, checks.MAGNETOGRAM_CLASSES) else "an EUV image"
        raise InputMapError(
            f"Expected a drawing (grey levels, ink dark on paper; see read_drawing), got {what}: an observation of "
            f"{drawing_map.detector or drawing_map.instrument} ({type(drawing_map).__name__})."
        )
    if drawing_map.unit is not None and drawing_map.unit.is_equivalent(u.G):
        raise InputMapError(
            f"Expected a drawing (grey levels, ink dark on paper), got a magnetogram ({drawing_map.name}) in "
            f"{drawing_map.unit}."
        )
    checks.is_disk_image(drawing_map, error=True, name="drawing", hint="read_drawing makes one.")
    checks.check_observer(drawing_map)
    data = np.asarray(drawing_map.data)
    data = data if np.issubdtype(data.dtype, np.floating) else data.astype(np.float32)
    if not np.isfinite(data).any():
        raise InputMapError(f"The drawing ({drawing_map.name}) has no finite pixel.")
    return data
