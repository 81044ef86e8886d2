"""
Orientation of a drawing read from what its form shows outside the limb.

Forms print (or observers write) the cardinal letters N, S, E, W just outside the limb, and
position-angle arcs carry a "-" and a "+" on either side of their 0 at the north point (positive
towards east). The marks found there are compared with glyphs rendered from the fonts matplotlib
ships (no form-specific rule), and each of the eight orientations (north up, left, down or
right; mirrored or not) is scored by the marks that sit where it puts them.
"""

import functools
from pathlib import Path

import numpy as np
from scipy import ndimage

from sunpy_dlmag import geometry
from sunpy_dlmag.exceptions import DlmagUserWarning

__all__ = ["OrientationWarning", "form_orientation"]


class OrientationWarning(DlmagUserWarning):
    """A drawing's orientation not given and not read from its form with confidence: the defaults are used."""


# The marks that tell the orientation, and look-alikes that must not be taken for them.
_MARKS = "NSEW+-"
_DISTRACTORS = "0123456789|/()?.xX°"
_LINES = "|/"
_GLYPH = 24
# Ring outside the limb where cardinal letters and the arc's signs sit (limb radii).
_RING = (1.012, 1.22)
# Size of a letter (limb radii): larger is a table or a line, smaller is a speck.
_LETTER = (0.008, 0.09)
# How far (deg of position angle) a letter may sit from its cardinal point, and a sign from the north point.
_LETTER_SLACK = 10.0
_SIGN_SLACK = 10.0
# A mark counts when its best glyph correlates at least this well and better than any other kind.
_MIN_MATCH = 0.55
_MIN_MARGIN = 0.04
# Votes (sum of mark weights, one for a clear mark) a reading needs over the alternative to be sure.
_SURE = 1.5


def _fonts():
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    names = ("DejaVuSans", "DejaVuSans-Oblique", "DejaVuSerif", "DejaVuSerif-Italic", "DejaVuSansMono")
    names = [f"{n}.ttf" for n in names]
    return [folder / n for n in names if (folder / n).is_file()]


def _normalised(mask):
    """A mark's ink cropped, centred in a square (its aspect kept), resampled, blurred, zero mean, unit norm."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    crop = mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32)
    side = max(crop.shape) + 2
    square = np.zeros((side, side), np.float32)
    y0, x0 = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
    square[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] = crop
    # Thin strokes survive the shrink as grey; the blur lets a pen width differ from the font's.
    small = ndimage.zoom(ndimage.gaussian_filter(square, side / (2.5 * _GLYPH)), _GLYPH / side, order=1)
    small = ndimage.gaussian_filter(small[:_GLYPH, :_GLYPH], 1.0)
    small = small - small.mean()
    norm = np.linalg.norm(small)
    return small / norm if norm > 0 else None


@functools.lru_cache(maxsize=1)
def _glyphs():
    """Each character of each font, rendered once at 64 px and cropped to its ink."""
    from PIL import Image, ImageDraw, ImageFont

    glyphs = []
    for path in _fonts():
        font = ImageFont.truetype(str(path), 64)
        for char in _MARKS + _DISTRACTORS:
            img = Image.new("L", (128, 128), 0)
            ImageDraw.Draw(img).text((20, 10), char, fill=255, font=font)
            if img.getbbox() is not None:
                glyphs.append((char, img.crop(img.getbbox())))
    return glyphs


@functools.lru_cache(maxsize=128)
def _templates(side):
    """
    Glyph vectors and their characters at ``side`` pixels (the mark's size), so that a small
    "+" is compared with an equally coarse "+" and not with a dot.
    """
    from PIL import Image

    vectors, chars = [], []
    for char, glyph in _glyphs():
        scale = side / max(glyph.size)
        size = (max(1, round(glyph.size[0] * scale)), max(1, round(glyph.size[1] * scale)))
        vector = _normalised(np.asarray(glyph.resize(size, Image.Resampling.BOX)) > 100)
        if vector is not None:
            vectors.append(vector.ravel())
            chars.append(char)
    return np.array(vectors), np.array(chars)


def _classify(mask):
    """(character, match, margin): the best-matching glyph and its lead over the best glyph of another character."""
    vector = _normalised(mask)
    if vector is None:
        return "", 0.0, 0.0
    vectors, chars = _templates(int(max(mask.shape)))
    scores = vectors @ vector.ravel()
    best = int(np.argmax(scores))
    other = scores[chars != chars[best]].max()
    return str(chars[best]), float(scores[best]), float(scores[best] - other)


def _marks(grey, cx, cy, r):
    """The letter-sized marks in the ring outside the limb: (character, weight, position angle deg ccw from right)."""
    from sunpy_dlmag.drawings.read import odd_size, paper_level

    h, w = grey.shape
    reach = _RING[1] * r
    y0, y1 = max(int(cy - reach), 0), min(int(cy + reach) + 1, h)
    x0, x1 = max(int(cx - reach), 0), min(int(cx + reach) + 1, w)
    # Letters some 10 px high at a limb radius of ~500 px: a finer grid only costs time.
    factor = max(1, int(r // 500))
    box = geometry.block_mean(grey[y0:y1, x0:x1], factor, dtype=None)
    yy, xx = np.ogrid[: box.shape[0], : box.shape[1]]
    rho = np.hypot(np.float32((xx + 0.5) * factor + x0 - cx), np.float32((yy + 0.5) * factor + y0 - cy)) / np.float32(r)
    # The paper level varies slowly: a coarse estimate, looked up for the ring's pixels only.
    step = max(1, int(max(box.shape) // 256))
    paper = paper_level(geometry.block_mean(box, step, dtype=None), odd_size(0.1 * r / (factor * step)))
    ring = (rho < _RING[1]) & (rho > 1.0)
    ys, xs = np.nonzero(ring)
    level = paper[np.minimum(ys // step, paper.shape[0] - 1), np.minimum(xs // step, paper.shape[1] - 1)]
    ink = np.zeros(box.shape, bool)
    ink[ys, xs] = box[ys, xs] < 0.75 * level
    labels, _ = ndimage.label(ink, structure=np.ones((3, 3)))
    sized = []
    for k, sl in enumerate(ndimage.find_objects(labels), start=1):
        mask = labels[sl] == k
        size = max(mask.shape) * factor / r
        # Marks that touch the limb (ticks, the limb itself) or reach into the disk are no letters.
        if _LETTER[0] <= size <= _LETTER[1] and rho[sl][mask].min() >= _RING[0]:
            ys, xs = np.nonzero(mask)
            px = (xs.mean() + sl[1].start + 0.5) * factor + x0 - cx
            py = cy - ((ys.mean() + sl[0].start + 0.5) * factor + y0)
            sized.append((mask, size * r, px, py))
    # Only marks near a cardinal point can fit an orientation (a sign sits near the north point):
    # the others, and their neighbours beyond, need no classifying.
    window = max(_LETTER_SLACK, _SIGN_SLACK) + 5.0
    sized = [m for m in sized if abs(_wrapped(np.degrees(np.arctan2(m[3], m[2])) + 45.0) % 90.0 - 45.0) < window]
    if not sized:
        return []
    classes = [_classify(mask) for mask, _, _, _ in sized]
    # Neighbours that make a mark part of a word or a number; lines (ticks of a graduated arc) do not.
    letters = np.array([c not in _LINES for c, _, _ in classes])
    centres = np.array([(px, py) for _, _, px, py in sized])
    sizes = np.array([s for _, s, _, _ in sized])
    found = []
    for i, ((char, match, margin), (_, size, px, py)) in enumerate(zip(classes, sized, strict=True)):
        if char not in _MARKS or match < _MIN_MATCH or margin < _MIN_MARGIN:
            continue
        # A cardinal letter or a sign stands alone; a letter of a word or a number has neighbours
        # beside it on its line (forms print and people write horizontally).
        dx, dy = np.abs(centres[letters] - centres[i]).T
        reach = np.maximum(sizes[letters], size)
        close = (dx < 2.0 * reach) & (dy < 0.6 * reach)
        if close.sum() > (1 if letters[i] else 0):
            continue
        weight = min(1.0, (match - _MIN_MATCH) / 0.3) * min(1.0, margin / 0.15)
        found.append((char, float(weight), float(np.degrees(np.arctan2(py, px)) % 360)))
    return found


def _wrapped(a):
    return (a + 180.0) % 360.0 - 180.0


def _consistent(char, angle, north, mirrored):
    """Whether a mark at position ``angle`` fits solar north at ``north`` (deg ccw from up) and the mirroring."""
    up = 90.0 + north
    if char in "NSEW":
        east = up - 90.0 if mirrored else up + 90.0
        expected = {"N": up, "S": up + 180.0, "E": east, "W": east + 180.0}[char]
        return abs(_wrapped(angle - expected)) < _LETTER_SLACK
    offset = _wrapped(angle - up)  # "+" on the east side of the arc's 0, "-" on the west side
    east_side = offset < 0 if mirrored else offset > 0
    return 0.3 < abs(offset) < _SIGN_SLACK and east_side == (char == "+")


def form_orientation(grey, disk):
    """
    Read solar north and the mirroring from the marks a form shows just outside the limb.

    Parameters
    ----------
    grey : `numpy.ndarray`
        The image (0 ink .. 255 paper, first row at the top).
    disk : dict
        The disk fit (``x``, ``y``, ``radius`` in image pixels).

    Returns
    -------
    dict
        ``north_angle`` (deg counterclockwise from up, a multiple of 90) and ``mirrored`` as
        read, their confidences ``north_confidence`` and ``mirrored_confidence`` (0: nothing
        on the form tells, 1: several marks agree and none disagrees), ``sure_north`` and
        ``sure_mirrored`` (the confidence reaches one mark's worth of votes over the
        alternative), ``marks``: the marks found (character, weight, position angle), and
        ``fitting``: whether any of them sits where some orientation puts one.
    """
    marks = _marks(grey, disk["x"], disk["y"], disk["radius"])
    score = {}
    for north in (0.0, 90.0, 180.0, 270.0):
        for mirrored in (False, True):
            fits = [(c, w) for c, w, a in marks if _consistent(c, a, north, mirrored)]
            # A dash is common (ticks, handwriting): it counts beside the arc's "+" only.
            plus = any(c == "+" for c, _ in fits)
            score[(north, mirrored)] = sum(w for c, w in fits if c != "-" or plus)
    north, mirrored = max(score, key=score.get)
    best = score[(north, mirrored)]
    other_mirroring = score[(north, not mirrored)]
    other_north = max(v for (n, _), v in score.items() if n != north)
    # Votes over the alternative, as a fraction that tends to 1 with many agreeing marks.
    mirrored_lead = best - other_mirroring
    north_lead = best - other_north
    return {
        "north_angle": north,
        "mirrored": mirrored,
        "north_confidence": round(float(north_lead / (best + 1.0)), 3),
        "mirrored_confidence": round(float(mirrored_lead / (best + 1.0)), 3),
        "sure_north": bool(north_lead >= _SURE),
        "sure_mirrored": bool(mirrored_lead >= _SURE),
        "marks": marks,
        # Whether any mark sits where some orientation puts one: else the form tells nothing.
        "fitting": bool(best > 0),
    }
