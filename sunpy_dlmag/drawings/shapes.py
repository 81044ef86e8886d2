"""
Shape measures of one mark of ink on a drawing (width, length, its line through the centre, its
shape as on the Sun), the thin printed or drawn lines that are never spots, and chains of marks.
"""

import numpy as np
from scipy import ndimage
from scipy.cluster.hierarchy import fcluster, linkage

__all__ = []

# Foreshortening is undone down to this mu (a stretch of at most 5): nearer the limb, as if at it.
MIN_MU = 0.2
# Connected ink spanning more than this (x radius) is a line (the limb circle, a cross, an axis).
LINE_SPAN = 0.25
# A mark whose outline encloses this much more than its ink (area ratio) is a loop.
LOOP_FILL = 1.1


def deprojected(mask, rho, direction):
    """``mask`` stretched by 1/mu along the radial ``direction`` (row, col): the drawn shape as on the Sun."""
    mu = np.sqrt(max(1 - rho**2, MIN_MU**2))
    if mu > 0.95:
        return mask
    e = np.asarray(direction)
    to_input = np.eye(2) + (mu - 1) * np.outer(e, e)
    shape = np.ceil(np.asarray(mask.shape) / mu).astype(int) + 2
    offset = (np.asarray(mask.shape) - 1) / 2 - to_input @ ((shape - 1) / 2)
    out = ndimage.affine_transform(mask.astype(np.uint8), to_input, offset, output_shape=tuple(shape), order=0) > 0
    return out if out.any() else mask  # a dot of a pixel or two can fall between the samples


def mark_shape(ink, filled):
    """Stroke width, length along the main axis, ink area over width, filled over ink area; pixels."""
    n = max(int(ink.sum()), 1)
    width = max(2 * float(ndimage.distance_transform_edt(np.pad(ink, 1)).max()) - 1, 1.0)
    ys, xs = np.nonzero(ink)
    if len(xs) > 1:
        _, vectors = np.linalg.eigh(np.cov(np.vstack([xs, ys])))
        along = (xs - xs.mean()) * vectors[0, 1] + (ys - ys.mean()) * vectors[1, 1]
        length = float(along.max() - along.min() + 1)
    else:
        length = 1.0
    return width, length, n / width, filled.sum() / n


def main_axis_distance(xs, ys, cx, cy):
    """Distance of the line along the main axis of the pixels ``xs, ys`` from ``(cx, cy)``."""
    if len(xs) < 3:
        return np.inf
    _, vectors = np.linalg.eigh(np.cov(np.vstack([xs, ys])))
    ax, ay = vectors[0, 1], vectors[1, 1]
    return abs((cx - xs.mean()) * ay - (cy - ys.mean()) * ax)


def thin_lines(ink, near, radius, pen_width):
    """
    Ink of long thin lines (the printed limb circle, graduated arc and cross, a drawn axis, table
    rules): the thin parts of connected ink ``near`` the disk that spans over `LINE_SPAN` radius.
    What an opening as wide as a pen stroke keeps of it (a spot drawn on a line) is not line.
    """
    labels, _ = ndimage.label(ink & near, structure=np.ones((3, 3)))
    slices = ndimage.find_objects(labels)
    long = [k for k, sl in enumerate(slices, start=1)
            if max(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start) > LINE_SPAN * radius]  # fmt: skip
    lines = np.isin(labels, long)
    # A square opening: separable, so a fraction of the cost of a round one on a whole form.
    side = 2 * max(1, int(np.ceil(pen_width * radius / 2))) + 1
    wide = ndimage.maximum_filter(ndimage.minimum_filter(lines.view(np.uint8), size=side), size=side) > 0
    return (ndimage.maximum_filter((lines & ~wide).view(np.uint8), size=3) > 0) & ~wide


def touches(labels, sl, k, others, gap):
    """Whether ink of the labels ``others`` lies within ``gap`` pixels of the mark ``k``."""
    if not len(others):
        return False
    reach = int(np.ceil(gap)) + 1
    window = tuple(slice(max(s.start - reach, 0), s.stop + reach) for s in sl)
    near = labels[window]
    other = np.isin(near, others)
    if not other.any():
        return False
    return bool(ndimage.distance_transform_edt(near != k)[other].min() <= gap)


def chains(points, reach):
    """Chain ids (1..) of ``points`` (n, 2) joined by chains of steps shorter than ``reach`` (same units)."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    if len(points) < 2:
        return np.ones(len(points), dtype=int)
    return fcluster(linkage(points, method="single"), t=reach, criterion="distance")


def enclosed_contrast(ink, depth, reach):
    """
    How much deeper the ink inside the mark's outline is than the outline itself: the deepest
    ``depth`` of the ink farther than ``reach`` pixels inside the outline (closed over a gap of a
    pixel, then filled), less the median depth of the ink at its rim. An umbra drawn inside its
    penumbra outline is darker than the outline; a letter's loop holds no ink, or ink of its pen.
    """
    closed = ndimage.binary_fill_holes(ndimage.binary_closing(np.pad(ink, 2), structure=np.ones((3, 3))))
    inside = ndimage.distance_transform_edt(closed)[2:-2, 2:-2]
    core, rim = ink & (inside > reach), ink & (inside <= reach)
    # A loop, not a thick stroke (darker along its middle than at its blurred edges): paper inside.
    if not core.any() or not rim.any() or (inside > 0).sum() < LOOP_FILL * ink.sum():
        return 0.0
    return float(depth[core].max() - np.median(depth[rim]))
