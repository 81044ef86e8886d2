"""
Spots in one mark of ink: its pixels on the full-resolution image, shared out among its dark
cores when spots were drawn touching (two dots, two umbrae in one penumbra) or among the
umbrae that a penumbra outline holds apart from it.
"""

import numpy as np
from scipy import ndimage

__all__ = []


def _full_resolution(grey, paper, filled, sl, f):
    """A mark's region on the full-resolution image, the grey there and its ink depth (0 off the mark)."""
    y0, x0 = sl[0].start * f, sl[1].start * f
    region = np.repeat(np.repeat(filled, f, axis=0), f, axis=1)
    level = np.repeat(np.repeat(paper[sl], f, axis=0), f, axis=1)
    full = grey[y0 : y0 + region.shape[0], x0 : x0 + region.shape[1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        depth = np.where(region & (level > 0), 1 - full / level, 0.0)
    return region, full, depth


def spot_pixels(grey, paper, filled, sl, f, threshold, core_contrast):
    """
    Map pixels (y, x) of each spot in a mark: its ink on the full image, holes filled (a
    penumbra outline is spot), shared out among its dark cores (touching spots), or among the
    umbrae that its outline holds apart from it.
    """
    y0, x0 = sl[0].start * f, sl[1].start * f
    region, full, depth = _full_resolution(grey, paper, filled, sl, f)
    spot = ndimage.binary_fill_holes(depth > threshold)
    if not spot.any():  # a dot that only the averaging made deep enough
        spot = region & (full <= full[region].min())
    # A penumbra outline is shared out among the umbrae it holds, not among its own dark bits.
    umbrae = _umbrae(depth, threshold)
    cores = _dark_cores(np.where(spot if umbrae is None else umbrae > 0, depth, 0.0), threshold, core_contrast)
    if umbrae is not None:
        # Touching umbrae are its dark cores; an umbra too light for one is a spot of its own.
        cores = np.zeros_like(umbrae) if cores is None else cores
        lone = np.setdiff1d(np.unique(umbrae[umbrae > 0]), umbrae[cores > 0])
        cores = np.where(np.isin(umbrae, lone), umbrae + cores.max(), cores)
    if cores is None:
        ys, xs = np.nonzero(spot)
        return [(ys + y0, xs + x0)]
    # Each pixel of the mark goes to its nearest core.
    _, (iy, ix) = ndimage.distance_transform_edt(cores == 0, return_indices=True)
    owner = np.where(spot, cores[iy, ix], 0)
    return [(ys + y0, xs + x0) for ys, xs in (np.nonzero(owner == k) for k in np.unique(owner[owner > 0]))]


def holds_umbra(grey, paper, filled, sl, f, threshold):
    """Whether the mark's outline holds an umbra apart from it (see ``_umbrae``)."""
    return _umbrae(_full_resolution(grey, paper, filled, sl, f)[2], threshold) is not None


def _umbrae(depth, threshold):
    """
    Labels of the umbrae that a mark's outlines hold apart from them (None if they hold none):
    the pieces of ink deeper than ``threshold`` that lie inside a loop of the mark's other ink
    (deeper than ``threshold / 2``) and do not touch it, on the full-resolution image (a
    block's darkest pixel closes the gap). A penumbra drawn around its umbrae; a letter's loop
    holds paper.
    """
    ink = depth > threshold / 2
    pieces, n = ndimage.label(ink, structure=np.ones((3, 3)))
    if n < 2:
        return None
    held = [k for k in np.unique(pieces[depth > threshold]) if k > 0
            and ndimage.binary_fill_holes(ink & (pieces != k))[pieces == k].all()]  # fmt: skip
    return np.where(np.isin(pieces, held), pieces, 0) if held else None


def _dark_cores(depth, threshold, contrast):
    """
    Labels of the dark cores of one mark (None if it has one): its peaks of ink at least
    ``threshold`` deep that stand out by ``contrast`` (the depth of the peak above the
    lightest ink on the darkest path to a deeper peak, or above ``threshold``), each the
    pixels within ``contrast / 2`` of its peak. Two pencil dots drawn touching are two cores,
    as are two umbrae in one penumbra and a dot touching a drawn outline; the grain of one
    dot is not.
    """
    padded = np.pad(depth, 1)  # the border is paper: no neighbour wraps around
    width = padded.shape[1]
    flat = padded.ravel()
    inked = np.flatnonzero(flat > threshold)
    if inked.size < 2:
        return None
    # Python lists: the flood visits each pixel once, and numpy's scalar indexing is slow.
    level = flat.tolist()
    parent = [-1] * flat.size
    steps = (-width - 1, -width, -width + 1, -1, 1, width - 1, width, width + 1)

    def root(p):
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    peaks = []  # pixels of the peaks that stand out
    for p in inked[np.argsort(-flat[inked], kind="stable")].tolist():
        parent[p] = p
        for q in (p + step for step in steps):
            if parent[q] < 0:
                continue
            a, b = root(p), root(q)
            if a == b:
                continue
            # Flooding from the darkest ink down: ``p`` is the saddle where two parts meet,
            # and the one with the lighter peak ends there.
            low, high = (a, b) if level[a] < level[b] else (b, a)
            if level[low] - level[p] >= contrast:
                peaks.append(low)
            parent[low] = high
    peaks += [r for r in {root(p) for p in inked.tolist()} if level[r] - threshold >= contrast]
    if len(peaks) < 2:
        return None
    cores = np.zeros(flat.size, dtype=int)
    for k, peak in enumerate(peaks, start=1):
        near, _ = ndimage.label((flat > flat[peak] - contrast / 2).reshape(padded.shape), structure=np.ones((3, 3)))
        cores[near.ravel() == near.flat[peak]] = k
    return cores.reshape(padded.shape)[1:-1, 1:-1]
