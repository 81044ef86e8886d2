"""
A form template: the pixel-wise median of many scans of one form layout. It holds what most
forms show at the same place (the printed form, dust on the scanner) and nothing that was
drawn, since the spots move from day to day; marks on it are not spots (batch digitisation).
"""

import hashlib
import os
from pathlib import Path

import numpy as np
from scipy import ndimage

from sunpy_dlmag.drawings.read import block_depths, grey_image, to_image_orientation
from sunpy_dlmag.drawings.shapes import thin_lines
from sunpy_dlmag.exceptions import DlmagError, InputMapError, InvalidArgumentError, MissingFileError

__all__ = ["form_template"]

# The median of fewer forms can keep a spot drawn near the limb (it moves little) on consecutive days.
MIN_FORMS = 5
# The median of this many forms (spread over the batch) is as good as of all: it bounds time and memory.
MAX_FORMS = 15
# Rows of the median at a time: the stack stays uint8, only a slice of it is sorted.
_ROWS = 256
# A mark is on the template if this fraction of its ink is.
ON_TEMPLATE = 0.5
# The ink depths of the last templates used (a grey closing of a scan each), by content: the
# drawings of a batch share one per layout.
_DEPTHS = {}
_KEPT_DEPTHS = 4


def form_template(images, *, max_forms=MAX_FORMS):
    """
    The template of a form layout: the pixel-wise median of scans of that layout.

    What most forms show at the same pixel (the printed form, a table, dust or a hair on the
    scanner's glass) is in it; spots, which move with the Sun's rotation, are not. Passed as
    ``template`` to `~sunpy_dlmag.drawings.detect_sunspots`, it rejects such marks (verdict
    ``"template"``). `~sunpy_dlmag.drawings.count_drawings` makes one for each image size of
    a batch.

    Parameters
    ----------
    images : sequence of str, `os.PathLike` or `numpy.ndarray`
        At least 5 scans of one layout, all of one size (as `~sunpy_dlmag.drawings.read_drawing`
        reads them); where there are more than ``max_forms``, that many spread over the sequence.
    max_forms : int
        The most scans the median takes.

    Returns
    -------
    `numpy.ndarray`
        Grey levels (0 black .. 255 white, uint8), first row at the top, as the scans.

    Raises
    ------
    InvalidArgumentError
        Fewer than 5 images, or images of different sizes.
    """
    images = list(images)
    if not (isinstance(max_forms, int | np.integer) and max_forms >= MIN_FORMS):
        raise InvalidArgumentError(f"max_forms is an integer of at least {MIN_FORMS}, got {max_forms!r}.")
    if len(images) < MIN_FORMS:
        raise InvalidArgumentError(f"A form template needs {MIN_FORMS} scans of one layout or more, got {len(images)}.")
    return _median(_stack(_spread(images, max_forms), skip_bad=False))


def _spread(items, n):
    """``n`` of ``items`` spread evenly over them (all if fewer)."""
    return [items[k] for k in np.unique(np.linspace(0, len(items) - 1, min(len(items), n)).round().astype(int))]


def _stack(images, shape=None, *, skip_bad):
    """
    The scans as one uint8 stack (height x width, as ``shape`` or the first scan's). A scan that
    cannot be read or has another size is refused or, with ``skip_bad`` (a batch goes on: it
    fails on its own when counted), left out.
    """
    stack, first, n = None, None, 0
    for image in images:
        try:
            grey, source = grey_image(image)
        except (DlmagError, OSError, ValueError):
            if skip_bad:
                continue
            raise
        if stack is None:
            stack, first = np.empty((len(images), *(shape or grey.shape)), dtype=np.uint8), source
        if grey.shape != stack.shape[1:]:  # another layout, or turned by its EXIF orientation
            if skip_bad:
                continue
            raise InvalidArgumentError(
                f"A form template needs scans of one size: {source} is {grey.shape[1]}x{grey.shape[0]} px, "
                f"{first} {stack.shape[2]}x{stack.shape[1]} px."
            )
        stack[n], n = np.clip(np.rint(grey), 0, 255).astype(np.uint8), n + 1
    return stack[:n] if stack is not None else np.empty((0, *(shape or (0, 0))), dtype=np.uint8)


def _median(stack):
    """The pixel-wise median of a stack of scans (uint8), a slice of rows at a time."""
    template = np.empty(stack.shape[1:], dtype=np.uint8)
    for start in range(0, template.shape[0], _ROWS):
        rows = slice(start, start + _ROWS)
        template[rows] = np.rint(np.median(stack[:, rows], axis=0))
    return template


def read_template(template):
    """A form template (an image file or an array, see `form_template`) as a 2-D array of grey levels, checked."""
    if isinstance(template, str | os.PathLike):
        if not Path(template).expanduser().is_file():
            raise MissingFileError(
                f"No form template image at {template} (form_template or `sunpy-dlmag form-template` makes one)."
            )
        return grey_image(template)[0]
    template = np.asarray(template)
    if template.ndim != 2 or not np.issubdtype(template.dtype, np.number):
        raise InputMapError(
            f"The form template is an image file or a 2-D array of grey levels (see form_template), got "
            f"{type(template).__name__} of shape {template.shape} and dtype {template.dtype}."
        )
    return template


def template_ink(template, shape, block, threshold, paper_size, radius, pen_width):
    """
    Where the template has ink, on the working image of `spot_candidates` (blocks of ``block``
    map pixels, map orientation; disk ``radius`` in its pixels), widened by a working pixel for
    scans shifted by a pixel. Long thin lines (the printed limb, rules) are left out: each form
    shows its own, and those of forms of another layout of the same size would cross its disk.
    """
    template = read_template(template)
    if template.shape != tuple(shape):
        got = "x".join(str(n) for n in template.shape[::-1])
        raise InputMapError(
            f"The form template is {got} px; it must have the drawing's size, {shape[1]}x{shape[0]} px (the template "
            "of scans of this layout, see form_template)."
        )
    ink = _template_depth(template, block, paper_size) > threshold / 2
    ink &= ~thin_lines(ink, np.ones_like(ink), radius, pen_width)
    return ndimage.binary_dilation(ink, structure=np.ones((3, 3), dtype=bool))


def _template_depth(template, block, paper_size):
    """The template's ink depth on the working image; kept for the next drawings of a batch, which share it."""
    digest = hashlib.blake2b(np.ascontiguousarray(template), digest_size=16).hexdigest()
    key = (digest, template.shape, template.dtype.str, block, paper_size)
    if key not in _DEPTHS:
        if len(_DEPTHS) >= _KEPT_DEPTHS:
            _DEPTHS.pop(next(iter(_DEPTHS)))
        _DEPTHS[key] = block_depths(to_image_orientation(template.astype(np.float32)), block, paper_size)[2]
    return _DEPTHS[key]


def batch_templates(files):
    """
    The form template of each image size of a batch that has `MIN_FORMS` scans of it or more:
    ``{size: template}``, size as ``(width, height)``; files that cannot be opened are left out
    (they fail on their own when counted).
    """
    from PIL import Image, UnidentifiedImageError

    by_size = {}
    for path in files:
        try:
            with Image.open(path) as image:
                by_size.setdefault(image.size, []).append(path)
        except (OSError, UnidentifiedImageError):
            continue
    templates = {}
    for (width, height), paths in by_size.items():
        if len(paths) < MIN_FORMS:
            continue
        stack = _stack(_spread(paths, MAX_FORMS), (height, width), skip_bad=True)
        if len(stack) >= MIN_FORMS:
            templates[(width, height)] = _median(stack)
    return templates
