"""
Sunspots on a drawing map: candidates (connected ink), their verdicts (spot, or a printed or
handwritten mark and why), positions, foreshortening-corrected areas and groups.
"""

import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable
from scipy import ndimage
from scipy.cluster.hierarchy import fcluster, linkage

import sunpy.map
import sunpy.sun.constants
from sunpy.coordinates import HeliographicCarrington, HeliographicStonyhurst

from sunpy_dlmag import checks, disk
from sunpy_dlmag._cycles import historical_dates
from sunpy_dlmag.drawings.cores import holds_umbra, spot_pixels
from sunpy_dlmag.drawings.labels import split_by_labels, unlabelled_spots, written_labels
from sunpy_dlmag.drawings.marks import mark_features, spot_probability
from sunpy_dlmag.drawings.read import (
    block_depths,
    drawing_data,
    ink_gain,
    levelled,
    odd_size,
)
from sunpy_dlmag.drawings.shapes import (
    LOOP_FILL,
    deprojected,
    enclosed_contrast,
    main_axis_distance,
    mark_shape,
    thin_lines,
    touches,
)
from sunpy_dlmag.drawings.specks import fine_specks, lone_specks
from sunpy_dlmag.drawings.template import ON_TEMPLATE, template_ink
from sunpy_dlmag.exceptions import DlmagUserWarning, InputMapError, InvalidArgumentError

__all__ = ["MSH", "OVERRULE", "VERDICTS", "detect_sunspots", "spot_candidates", "sunspot_groups"]

_RSUN = sunpy.sun.constants.radius

#: Millionths of the solar hemisphere, the unit of sunspot areas: 1 MSH = 1e-6 x 2 pi R_sun**2.
MSH = u.def_unit("MSH", 2e-6 * np.pi * _RSUN.to(u.km) ** 2, doc="millionths of the solar hemisphere")


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


def unit_vectors(lon, lat):
    lon, lat = np.deg2rad(lon), np.deg2rad(lat)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def weighted_centre(vectors, weights):
    """Unit vector of the weighted mean direction of ``vectors``."""
    centre = (weights[:, np.newaxis] * vectors).sum(axis=0)
    return centre / np.linalg.norm(centre)


def spot_weights(spots):
    """Areas (MSH) of a group's spots as weights, equal weights if none has an area."""
    areas = spots["area"].to_value(MSH)
    return areas if areas.sum() > 0 else np.ones(len(spots))


def lon_lat(vectors):
    v = vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.rad2deg(np.arctan2(v[..., 1], v[..., 0])), np.rad2deg(np.arcsin(np.clip(v[..., 2], -1, 1)))


def spot_table(rows, columns):
    """A QTable from row dicts; ``columns`` maps each name to its unit (None: plain numbers)."""
    data = {}
    for name, unit in columns.items():
        values = [row[name] for row in rows]
        if unit is None:
            data[name] = np.array(values, dtype=_KINDS.get(name, float))
        else:
            data[name] = u.Quantity([u.Quantity(v, unit) for v in values], unit) if values else np.zeros(0) * unit
    return QTable(data)


# The dtype of each unitless column that is not float.
_KINDS = {
    **dict.fromkeys(("spot", "group", "n_spots", "n_pixels", "cycle", "polarity", "candidate"), int),
    **dict.fromkeys(("verdict", "reason"), str),
    "umbra": bool,
}
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


# Disk radius (px) of the image on which candidates are found and measured: finer scans are
# taken down to it in blocks (a pencil dot stays a pixel or more wide), coarser ones used as they are.
_WORK_RADIUS = 500.0
# Lines through the disk centre (the printed cross, a drawn axis) pass this close to it (x radius).
_CENTRE_LINE = 0.02
# ... and are at least this many times longer than wide.
_LINE_ELONGATION = 4.0
# Marks whose ink is only this fraction of ``threshold`` deep are candidates only as dots this
# close (x radius) to a spot: a pore drawn lightly beside its group (dust elsewhere is ignored).
_FAINT = 0.8
_FAINT_DOT_REACH = 0.05
# A pencil dot within this many pen widths of a thin stroke is a piece of it, broken off (a
# photograph's blur thins a pencil line into pieces).
_STROKE_GAP = 2.0
# Lines are looked for this far outside the limb (x radius), so that the whole printed circle is one line.
_LINE_REACH = 0.05
# A mark wider than a pen stroke but longer than this many widths (on the Sun) is a spot only if
# it holds several dark cores (touching spots); with one it is shading (faculae) or a thick stroke.
_BLOB_ELONGATION = 4.0
# ... told by the dark cores that the default ``core_contrast`` finds.
_STREAK_CONTRAST = 0.1
# Filled ink covers at most its length times its width; ink wider than a pen stroke whose area
# over width runs this much longer than the mark is a curved stroke (a letter of a wide pen).
_CURVED_STROKE = 1.2
# A loop whose inner ink is this much deeper (fraction of the paper level) than the loop holds an umbra.
_UMBRA_CONTRAST = 0.2

_CANDIDATE_COLUMNS = {
    "candidate": None, "spot": None, "n_spots": None, "verdict": None, "reason": None, "x": u.pix, "y": u.pix,
    "rho": None, "width": None, "length": None, "stroke": None, "fill": None, "depth": None, "n_pixels": None,
    "p_spot": None, "umbra": None,
}  # fmt: skip

#: Verdicts of `spot_candidates`: whether each is a spot, and what it means.
VERDICTS = {
    "blob": (True, "spot: ink wider than a pen stroke"),
    "streak": (True, "spot: a row of touching spots (a long mark with several dark cores)"),
    "dot": (True, "spot: a pencil dot (pore)"),
    "faint dot": (True, "spot: a faint pencil dot beside a spot (pore)"),
    "outlined": (True, "spot: a closed outline (penumbra), small or around a darker umbra"),
    "centre line": (False, "rejected: a line through the disk centre (printed cross, drawn axis)"),
    "stroke": (False, "rejected: a thin stroke (handwriting, printed line)"),
    "stroke piece": (False, "rejected: a dot on a pencil stroke (the darkest bit of handwriting)"),
    "shading": (False, "rejected: a long mark with one dark core (shading such as faculae, a thick stroke)"),
    "unlabelled": (False, "rejected: a group without a handwritten label near it (label_distance)"),
    "speck": (False, "rejected: a dot of a few pixels with no spot near it (dust as likely as a pore)"),
    "learned spot": (True, "spot: by the mark classifier (shape and neighbours), against the shape rules"),
    "learned mark": (False, "rejected: by the mark classifier (writing, print or a speck), against the shape rules"),
    "template": (False, "rejected: ink at this place on most forms of the layout (form_template: print, scanner dust)"),
}
#: The mark classifier overrules the shape rules where its probability of a spot is this far from 0.5
#: (mark_classifier.rst): where it hesitates, the rules decide.
OVERRULE = 0.2
# ... but a streak (a long wide mark with two dark cores or more) it keeps only at 0.5 or more: 8 of the
# 12 streaks of the tuned forms are not spots (letters of a pressing pencil, "C2", "J1" in 2024).
_UNSURE_SPOTS = ("streak",)


def _check_detection_args(threshold, dot_size, pen_width, outline_size, label_distance=None, core_contrast=0.1,
                          mark_classifier=True):  # fmt: skip
    checks.check_bool(mark_classifier, "mark_classifier")
    if not 0 < threshold < 1:
        raise InvalidArgumentError(f"threshold is a fraction of the paper level between 0 and 1, got {threshold}.")
    if not (np.isfinite(core_contrast) and 0 < core_contrast <= 1):
        raise InvalidArgumentError(
            f"core_contrast is a fraction of the paper level, above 0 and at most 1, got {core_contrast!r}."
        )
    limits = (("dot_size", dot_size), ("pen_width", pen_width), ("outline_size", outline_size))
    if isinstance(label_distance, str) and label_distance != "auto":
        raise InvalidArgumentError(
            f'label_distance is "auto", None or a fraction of the disk radius, got {label_distance!r}.'
        )
    numeric = label_distance is not None and label_distance != "auto"
    for name, value in limits + ((("label_distance", label_distance),) if numeric else ()):
        if not (np.isfinite(value) and 0 <= value < 1):
            raise InvalidArgumentError(f"{name} is a fraction of the disk radius between 0 and 1, got {value!r}.")


def _verdict(rho, width, length, stroke, fill, line_distance, dot, pen, outline, elongation=1.0, has_umbra=None):
    """The shape verdict; ``has_umbra()`` (a loop around a darker core?) is asked only where it decides."""
    if (
        line_distance < _CENTRE_LINE
        and length >= _LINE_ELONGATION * width
        and length > dot
        and (rho < 0.1 or length > 0.1)
    ):
        return "centre line"
    if width > pen and elongation > _BLOB_ELONGATION:
        return "streak"
    if width > pen and (fill >= LOOP_FILL or stroke < _CURVED_STROKE * length):
        return "blob"
    if length <= dot and stroke <= dot:
        return "dot"
    if (fill >= LOOP_FILL and length <= outline) or (has_umbra is not None and has_umbra()):
        return "outlined"
    return "stroke"


def _find_candidates(drawing_map, threshold, dot_size, pen_width, outline_size, limb_margin, core_contrast,
                     mark_classifier=True, template=None):  # fmt: skip
    """
    Candidates (connected ink on the disk) with their measures and verdicts, the map pixels
    of each spot among them, the limb margin (map pixels) and the map-pixel centres of the
    marks that can label a group (``writing``: centre x, y and the shorter side of the box, map pixels).

    Ink is found against the local paper level on a working image of disk radius about 500 px,
    each pixel the darkest of its block of the scan (``fine_specks`` judges dots only that shows);
    a candidate is a connected region of ink deeper than ``threshold / 2`` that holds ink
    deeper than ``threshold`` (a faint pencil stroke stays one stroke), with its holes filled
    (a drawn penumbra outline holds its umbra), or a faint dot beside a spot. Shapes are
    measured in fractions of the disk radius, the width with the foreshortening undone
    (stretched by 1/mu along the radius).
    """
    data = drawing_data(drawing_map)
    (cx, cy), radius = disk.centre_pixel(drawing_map), disk.radius_pixels(drawing_map)[0]
    grey = np.where(np.isfinite(data), data, np.nanmax(data))  # NaN is paper
    f = max(1, int(radius / _WORK_RADIUS + 0.5))

    def to_map(working):
        """Map pixel of a working pixel (each holds f x f map pixels)."""
        return f * working + (f - 1) / 2

    cxw, cyw, rw = (cx - (f - 1) / 2) / f, (cy - (f - 1) / 2) / f, radius / f
    paper_size = odd_size(max(15, 0.15 * rw))
    # Once averaged, a pore of a few pixels on a fine scan is lighter than the threshold: ink
    # is found on each block's darkest pixel; what only that shows is a fine dot (see fine_specks).
    paper, averaged, depth = block_depths(grey, f, paper_size)
    yy, xx = np.ogrid[: depth.shape[0], : depth.shape[1]]
    r = np.hypot(xx - cxw, yy - cyw)
    near_disk = r < rw * (1 + _LINE_REACH)  # the disk and its drawn limb
    if (gain := ink_gain(depth[near_disk], rw)) > 1:  # a faded or light scan: ink as deep as on the tuned forms
        depth, averaged, grey = gain * depth, gain * averaged, levelled(grey, paper, f, gain)
    strong = depth > threshold
    margin = _limb_margin(strong, r, rw) if limb_margin is None else float(limb_margin) / f
    inside = r < rw - margin
    lines = thin_lines(depth > threshold / 2, near_disk, rw, pen_width)
    ink = (depth > threshold / 2) & inside & ~lines
    labels, _ = ndimage.label(ndimage.binary_fill_holes(ink), structure=np.ones((3, 3)))
    slices = ndimage.find_objects(labels)
    held = np.unique(labels[strong & inside])
    held = held[held > 0]
    faint = np.setdiff1d(np.unique(labels[(depth > _FAINT * threshold) & inside]), np.append(held, 0))

    def measure(k):
        sl = slices[k - 1]
        filled = labels[sl] == k
        own_ink = filled & ink[sl]
        ys, xs = np.nonzero(own_ink)
        ys, xs = ys + sl[0].start, xs + sl[1].start
        xc, yc = xs.mean(), ys.mean()
        offset = np.array([yc - cyw, xc - cxw])
        rho = min(np.hypot(*offset) / rw, 1.0)
        direction = offset / max(np.hypot(*offset), 1e-9)
        # Shapes as drawn (observers draw pores as round dots anywhere), but the width as on the Sun:
        # a spot near the limb is drawn foreshortened, thinner than a pen stroke.
        _, length, stroke, fill = mark_shape(own_ink, filled)
        # The width at half the mark's own depth: a blurred pen stroke (a photograph) keeps it.
        deepest = float(depth[sl][filled].max())
        core = own_ink & (depth[sl] > deepest / 2)
        width, on_sun = mark_shape(deprojected(core, rho, direction), filled)[:2]
        # Elongated both as drawn and on the Sun: a foreshortened spot is round on the Sun, a
        # dot at the limb drawn no thinner than the pen is round as drawn.
        elongation = min(on_sun / width, np.divide(*mark_shape(core, filled)[1::-1]))
        line = main_axis_distance(xs, ys, cxw, cyw) / rw

        def has_umbra():  # a loop of any size around a dark core is a penumbra drawn around its umbra
            return enclosed_contrast(own_ink, depth[sl], pen_width * rw) > _UMBRA_CONTRAST

        verdict = _verdict(rho, width / rw, length / rw, stroke / rw, fill, line, dot_size, pen_width, outline_size,
                           elongation, has_umbra)  # fmt: skip
        width, length, stroke = width / rw, length / rw, stroke / rw
        umbra = VERDICTS[verdict][0] and holds_umbra(grey, paper, filled, sl, f, threshold)
        return {
            "label": k, "verdict": verdict, "umbra": umbra, "x": to_map(xc), "y": to_map(yc), "rho": rho,
            "width": width, "length": length, "stroke": stroke, "fill": fill, "depth": deepest,
            "n_pixels": int(filled.sum()) * f * f,
        }  # fmt: skip

    rows = [measure(k) for k in held]
    # Strokes: candidates that are, and marks drawn too lightly to be candidates that are longer
    # than a dot (pencil handwriting whose darkest bits alone pass the threshold).
    light = [k for k, sl in enumerate(slices, start=1)
             if max(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start) > dot_size * rw]  # fmt: skip
    light = np.setdiff1d(light, held)
    strokes = np.concatenate([[row["label"] for row in rows if row["verdict"] in ("stroke", "centre line")], light])
    strokes = strokes.astype(int)
    gap = _STROKE_GAP * pen_width * rw
    for row in rows:
        if row["verdict"] == "dot" and touches(labels, slices[row["label"] - 1], row["label"], strokes, gap):
            row["verdict"] = "stroke piece"
    spots_xy = np.array([(row["x"], row["y"]) for row in rows if VERDICTS[row["verdict"]][0]]).reshape(-1, 2)
    for k in faint:
        row = measure(k)
        beside = np.hypot(*(spots_xy - (row["x"], row["y"])).T).min(initial=np.inf) <= _FAINT_DOT_REACH * radius
        if row["verdict"] == "dot" and beside:
            rows.append(dict(row, verdict="faint dot"))
    for row in rows:
        row["p_spot"] = np.nan
    if mark_classifier and rows:
        _classify(rows, radius)
    if template is not None:
        on_form = template_ink(template, data.shape, f, threshold, paper_size, rw, pen_width)
        for row in rows:
            sl = slices[row["label"] - 1]
            if on_form[sl][(labels[sl] == row["label"]) & ink[sl]].mean() >= ON_TEMPLATE:
                row["verdict"] = "template"
    spots = [row for row in rows if VERDICTS[row["verdict"]][0]]
    # Only a mark of a few pixels fades so (dust or a pore); a larger one was drawn lightly.
    fine = [not (averaged[slices[row["label"] - 1]] > threshold).any() and row["n_pixels"] < (pen_width * radius) ** 2
            for row in spots]  # fmt: skip
    specks = fine_specks([(row["x"], row["y"]) for row in spots], fine, _FAINT_DOT_REACH * radius)
    for row in (row for row, speck in zip(spots, specks, strict=True) if speck):
        row["verdict"] = "speck"
    # What can label a group: any mark longer than a dot that is not a spot or a printed centre
    # line, also one drawn too lightly to be a candidate (handwriting fades first in a photograph).
    not_writing = {row["label"] for row in rows
                   if VERDICTS[row["verdict"]][0] or row["verdict"] in ("centre line", "template")}  # fmt: skip
    writing = [
        (to_map((sl[1].start + sl[1].stop - 1) / 2), to_map((sl[0].start + sl[0].stop - 1) / 2),
         f * min(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start))
        for k, sl in enumerate(slices, start=1)
        if k not in not_writing and max(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start) > dot_size * rw
    ]  # fmt: skip
    pixels = {}
    for number, row in enumerate(rows, start=1):
        k = row.pop("label")
        row.update(candidate=number, spot=0, n_spots=0, reason=VERDICTS[row["verdict"]][1])
        if VERDICTS[row["verdict"]][0]:
            level = threshold if row["depth"] > threshold else _FAINT * threshold  # a faint dot's own level
            mark, sl = labels[slices[k - 1]] == k, slices[k - 1]
            pixels[number] = spot_pixels(grey, paper, mark, sl, f, level, core_contrast)
            if row["verdict"] == "streak":
                # Whether a streak holds touching spots does not hang on the caller's wish to split them.
                same = core_contrast == _STREAK_CONTRAST
                cores = pixels[number] if same else spot_pixels(grey, paper, mark, sl, f, level, _STREAK_CONTRAST)
                if len(cores) < 2 and not row["umbra"]:  # one core and no penumbra: shading
                    del pixels[number]
                    row.update(verdict="shading", reason=VERDICTS["shading"][1])
    return rows, pixels, margin * f, np.array(writing, dtype=float).reshape(-1, 3)


def _classify(rows, radius):
    """Verdicts of the mark classifier where it disagrees with the shape rules; every row gets its ``p_spot``."""
    columns = {name: [row[name] for row in rows] for name in ("x", "y", "rho", "width", "length", "stroke", "fill",
                                                              "depth", "n_pixels", "verdict")}  # fmt: skip
    probability = spot_probability(mark_features(columns, radius))
    for row, p in zip(rows, probability, strict=True):
        row["p_spot"] = float(p)
        row["verdict"] = learned_verdict(row["verdict"], p, row["umbra"])


def learned_verdict(verdict, p_spot, umbra=False):
    """
    A mark's verdict once the classifier, sure by ``p_spot``, has overruled the shape rules or
    not. It keeps a printed centre line and a spot whose outline holds its ``umbra`` apart
    from it (``holds_umbra``): the trees read a mark's outer shape, not what lies inside it.
    """
    if verdict == "centre line" or umbra:
        return verdict
    if p_spot >= 0.5 + OVERRULE and not VERDICTS[verdict][0]:
        return "learned spot"
    if p_spot < 0.5 - (0 if verdict in _UNSURE_SPOTS else OVERRULE) and VERDICTS[verdict][0]:
        return "learned mark"
    return verdict


_DETECTION_PARAMETERS = """threshold : float
        Ink depth, as a fraction of the local paper level (0..1). Candidates are connected
        regions of ink deeper than half of it that hold some ink deeper than it. On a scan
        whose darkest ink is lighter than 0.61 (faded, scanned light), depths are of its ink
        deepened to that first.
    dot_size : float
        Longest pencil dot (pore), fraction of the disk radius: thin ink up to this long
        (along its main axis, and as ink area over stroke width) is a spot, longer is a stroke.
    pen_width : float
        Widest pen stroke (handwriting, printed lines), fraction of the disk radius: ink
        wider than this is a spot, unless it runs along a curve (its area over width 1.2
        times its length or more: a letter of a wider pen).
    outline_size : float
        Largest closed outline taken as a spot with its penumbra (e.g. a circle drawn around
        an umbra), fraction of the disk radius; larger loops are handwriting unless they
        hold ink darker than their own (an umbra): then a spot of any size.
    limb_margin : float, optional
        Pixels inside the limb to leave out (default: measured from the drawn outline, at
        least 2).
    label_distance : float, "auto" or None
        Keep only the groups the observer labelled. With a distance (fraction of the disk
        radius, e.g. 0.2), a group is kept if a mark that can be a label (ink on the disk longer
        than a dot that is not a spot or the centre line, also ink too faint to be a candidate)
        is centred within it of one of its spots; its spots are rejected as ``"unlabelled"``
        otherwise. For forms on which every counted group gets its letter or number beside it
        (as at Uccle); a label written off the disk is not seen. ``"auto"`` (default): only on
        a drawing where some group has a label of two marks or more (e.g. "A1") within 0.25
        radius, a lone pencil dot with no mark that near is rejected (a speck or a mark the
        observer did not count); groups of several spots or with a wider spot are always
        kept, and drawings without such labels keep every group. None: keep every group.
    core_contrast : float
        Spots drawn touching are told apart by their dark cores: parts of one mark separated
        by ink lighter by at least this fraction of the paper level are spots of their own
        (umbrae in one penumbra too; 1: never split a mark).
    mark_classifier : bool
        Let the learned mark classifier (shape, shape verdict and neighbouring marks; trained on
        real forms labelled by eye, see ``mark_classifier.rst``) overrule the shape rules
        (verdicts ``"learned spot"`` and ``"learned mark"``; ``p_spot`` in the candidate table).
        False: the shape rules alone.
    template : `numpy.ndarray`, str or `os.PathLike`, optional
        The template of the drawing's form layout (`~sunpy_dlmag.drawings.form_template` or
        ``sunpy-dlmag form-template``: the median of scans of that layout, of the drawing's
        size), or its image file: a mark with half its ink or more where the template has ink
        (its long thin lines left out) is rejected (``"template"``: printed, or dust on the
        scanner). None (default): no template."""


@checks.quantity_input
def spot_candidates(drawing_map, *, threshold=0.3, dot_size=0.018, pen_width=0.007, outline_size=0.03,
                    limb_margin=None, label_distance="auto", core_contrast=0.1, mark_classifier=True,
                    group_distance: u.deg = 10 * u.deg, template=None):  # fmt: skip
    """
    Every ink mark on the disk of a drawing, with its shape and its verdict: spot or not, and why.

    A mark is a spot if it is wider than a pen stroke (``"blob"``), a short dot
    (``"dot"``: a pore), or a closed outline, small or around a darker core (``"outlined"``:
    a penumbra drawn around its umbra). It is rejected if it is a line through the disk
    centre (``"centre line"``: the printed cross, a drawn rotation axis) or a thin stroke
    longer than a dot (``"stroke"``: handwriting such as group labels and counts, printed lines). With
    ``label_distance``, the spots of a group without a label are rejected (``"unlabelled"``).
    `VERDICTS` lists them. Marks off the disk and the drawn limb are not candidates.

    Parameters
    ----------
    drawing_map : `~sunpy.map.GenericMap`
        A drawing read with `~sunpy_dlmag.drawings.read_drawing`.
    {parameters}
    group_distance : `~astropy.units.Quantity`
        As for `~sunpy_dlmag.drawings.detect_sunspots` (the groups ``label_distance`` looks at).

    Returns
    -------
    `~astropy.table.QTable`
        One row per candidate: ``candidate``, ``spot`` (its number in the
        `~sunpy_dlmag.drawings.detect_sunspots` table with the same arguments, 0 if
        rejected; the first of them if the mark holds touching spots), ``n_spots`` (how many
        spots the mark holds), ``verdict``, ``reason``, ``x``, ``y`` (map pixels), ``rho`` (distance from
        the disk centre over the radius), ``width`` (stroke width, with the foreshortening
        undone), ``length`` (along the main axis), ``stroke`` (ink area over width), all
        three in fractions of the disk radius, ``fill`` (area with holes filled over ink
        area), ``depth`` (deepest ink, deepened on a light scan), ``n_pixels``,
        ``p_spot`` (the mark classifier's probability of a spot; NaN without it) and
        ``umbra`` (whether the outline of a mark the shape rules call a spot holds an umbra
        apart from it: ink inside its loop that does not touch it; the classifier, which
        reads a mark's outer shape, keeps such a spot, and its spots are the umbrae).
    """
    _check_detection_args(threshold, dot_size, pen_width, outline_size, label_distance, core_contrast, mark_classifier)
    with historical_dates():
        return _detect(drawing_map, threshold, dot_size, pen_width, outline_size, group_distance, limb_margin,
                       label_distance, core_contrast, mark_classifier, template, warn=False)[1]  # fmt: skip


@checks.quantity_input
def detect_sunspots(drawing_map, *, threshold=0.3, dot_size=0.018, pen_width=0.007, outline_size=0.03,
                    group_distance: u.deg = 10 * u.deg, limb_margin=None, label_distance="auto",
                    core_contrast=0.1, mark_classifier=True, template=None, return_candidates=False):  # fmt: skip
    """
    Sunspots drawn on a drawing map: positions, areas and groups.

    Ink is every pixel darker than the local paper level by more than ``threshold`` (the
    paper level is a grey closing of the image, so uneven lighting of a photograph does not
    matter); the drawn limb is left out. Each connected mark on the disk is a candidate, told
    apart by its shape (`~sunpy_dlmag.drawings.spot_candidates`): drawn spots (blobs, pencil
    dots, penumbra outlines) are kept, printed form lines through the centre and thin strokes
    (handwriting, labels) are not. `~sunpy_dlmag.drawings.plot_candidates` shows each
    verdict. Spots are grouped by single linkage: two spots closer than ``group_distance``
    on the sphere, or joined by a chain of such spots, belong to one group; a group beside
    which the observer wrote two labels or more is split, each spot going to its nearest label
    (see the drawings guide).

    Parameters
    ----------
    drawing_map : `~sunpy.map.GenericMap`
        A drawing read with `~sunpy_dlmag.drawings.read_drawing` (or any helioprojective map of grey levels with
        dark spots).
    {parameters}
    group_distance : `~astropy.units.Quantity`
        Largest heliographic distance between neighbouring spots of one group.
    return_candidates : bool
        Also return the table of every mark with its verdict (`~sunpy_dlmag.drawings.spot_candidates`)
        from the same search.

    Returns
    -------
    `~astropy.table.QTable`
        One row per spot, sorted by group and longitude: ``spot``, ``group`` (numbered from
        east to west), ``x``, ``y`` (map pixels of the centroid), ``Tx``, ``Ty``
        (helioprojective), ``lat``, ``lon`` (heliographic Stonyhurst), ``carrington_lon``,
        ``mu`` (cosine of the heliocentric angle), ``area`` (in `~sunpy_dlmag.drawings.MSH`, corrected for
        foreshortening: the sum of each pixel's area on the sphere) and ``n_pixels``.
        Positions are area-weighted means on the sphere. The meta says how many candidates
        were rejected. Empty, with a warning, when no spot is found.
    candidates : `~astropy.table.QTable`
        With ``return_candidates``: every mark and its verdict, as `~sunpy_dlmag.drawings.spot_candidates` gives.

    Raises
    ------
    InputMapError
        Not a helioprojective drawing map, or one without an observer.

    See Also
    --------
    sunpy_dlmag.read_drawing
        its input.
    sunpy_dlmag.sunspot_counts
        groups and the day's counts.
    sunpy_dlmag.drawing_to_magnetogram
        bipoles from the spots.

    References
    ----------
    .. [1] Lee, H., Park, E., Moon, Y.-J. 2021, ApJ 907, 118: generation of modern satellite data from Galileo
       sunspot drawings in 1612 by deep learning.
    .. [2] Clette, F., Svalgaard, L., Vaquero, J. M., Cliver, E. W. 2014, Space Sci. Rev. 186, 35: revisiting the
       sunspot number (R = 10 g + f).

    Examples
    --------
    >>> import numpy as np
    >>> import sunpy_dlmag
    >>> yy, xx = np.mgrid[:400, :400]
    >>> paper = np.where(np.abs(np.hypot(xx - 200, yy - 200) - 150) < 1.5, 0, 255).astype(np.uint8)
    >>> paper[np.hypot(xx - 240, yy - 180) < 5] = 0  # two spots drawn in ink
    >>> paper[np.hypot(xx - 262, yy - 184) < 4] = 0
    >>> spots = sunpy_dlmag.detect_sunspots(sunpy_dlmag.read_drawing(paper, date="2011-02-15"))
    >>> len(spots), spots["group"].tolist()
    (2, [1, 1])
    """
    _check_detection_args(threshold, dot_size, pen_width, outline_size, label_distance, core_contrast, mark_classifier)
    return_candidates = checks.check_bool(return_candidates, "return_candidates")
    with historical_dates():
        spots, candidates = _detect(drawing_map, threshold, dot_size, pen_width, outline_size, group_distance,
                                    limb_margin, label_distance, core_contrast, mark_classifier, template)  # fmt: skip
    return (spots, candidates) if return_candidates else spots


spot_candidates.__doc__ = spot_candidates.__doc__.replace("{parameters}", _DETECTION_PARAMETERS)
detect_sunspots.__doc__ = detect_sunspots.__doc__.replace("{parameters}", _DETECTION_PARAMETERS)


def _detect(drawing_map, threshold, dot_size, pen_width, outline_size, group_distance, limb_margin,
            label_distance="auto", core_contrast=0.1, mark_classifier=True, template=None, warn=True):  # fmt: skip
    """The spot table and the candidate table."""
    checks.check_quantity(group_distance, u.deg, "group_distance", positive=True)
    checks.check_number(limb_margin, "limb_margin", minimum=0, allow_none=True)
    rows, pixels, margin, writing = _find_candidates(
        drawing_map, threshold, dot_size, pen_width, outline_size, limb_margin, core_contrast, mark_classifier, template
    )
    radius = disk.radius_pixels(drawing_map)[0]
    labels = written_labels(writing, radius, pen_width)

    def grouped():
        return _spot_table(drawing_map, pixels, group_distance, labels) if pixels else (None, None)

    table, ids = grouped()
    # Unlabelled groups go first: a spot they leave alone in its group may then be dust.
    if pixels and label_distance is not None:
        unlabelled = unlabelled_spots(rows, writing, table, ids, label_distance, radius)
        table, ids = grouped() if _reject(rows, pixels, unlabelled, "unlabelled") else (table, ids)
    if pixels and _reject(rows, pixels, lone_specks(rows, table, ids, radius), "speck"):
        table, ids = grouped()
    candidates = spot_table(rows, _CANDIDATE_COLUMNS)
    rejected = len(rows) - len(pixels)
    meta = {"date": drawing_map.date.isot, "drawing": checks.describe_map(drawing_map), "threshold": threshold,
            "group_distance": group_distance.to(u.deg), "limb_margin_px": margin, "rejected": rejected}  # fmt: skip
    candidates.meta.update(meta)
    if not pixels and warn:
        warnings.warn(
            f"No sunspots found on the drawing ({drawing_map.name}, ink threshold {threshold}, {rejected} mark(s) "
            "rejected); returning an empty table.",
            DlmagUserWarning,
            stacklevel=3,
        )
    if not pixels:
        empty = spot_table([], _SPOT_COLUMNS)
        empty.meta.update(meta)
        return empty, candidates
    candidates["spot"][ids[::-1] - 1] = table["spot"][::-1]  # a split mark: its first spot
    candidates["n_spots"] = np.bincount(ids, minlength=len(rows) + 1)[1:]
    table.meta.update(meta)
    return table, candidates


def _reject(rows, pixels, numbers, verdict):
    """Give the candidates ``numbers`` the ``verdict`` and drop their spots; whether there were any."""
    for k in numbers:
        rows[k - 1].update(verdict=verdict, reason=VERDICTS[verdict][1])
        del pixels[k]
    return len(numbers) > 0


def _spot_table(drawing_map, pixels, group_distance, labels=()):
    """
    The spot table of the spots ``pixels`` (candidate number: the map pixels (y, x) of each
    of its spots), sorted by group and longitude, and the candidate number of each of its rows;
    groups are split where the observer's ``labels`` (`written_labels`) say so.
    """
    pieces = [(k, piece) for k, spots in pixels.items() for piece in spots]
    ids = np.array([k for k, _ in pieces])
    ys = np.concatenate([piece[0] for _, piece in pieces])
    xs = np.concatenate([piece[1] for _, piece in pieces])
    which = np.concatenate([np.full(len(piece[0]), i) for i, (_, piece) in enumerate(pieces)])
    frame = HeliographicStonyhurst(obstime=drawing_map.date)
    seen_px = drawing_map.pixel_to_world(xs * u.pix, ys * u.pix)
    surface = seen_px.transform_to(frame)
    vectors = unit_vectors(surface.lon.to_value(u.deg), surface.lat.to_value(u.deg))
    area, _ = disk.area_and_mu_at(drawing_map, np.hypot(seen_px.Tx, seen_px.Ty).to_value(u.rad))
    good = np.isfinite(vectors).all(axis=1) & np.isfinite(area)
    which, vectors, area = which[good], vectors[good], area[good]
    n = len(ids)
    sums = np.stack([np.bincount(which, weights=area * vectors[:, k], minlength=n) for k in range(3)], axis=1)
    total_area = np.bincount(which, weights=area, minlength=n)
    n_pixels = np.bincount(which, minlength=n)
    found = total_area > 0
    ids, sums, total_area, n_pixels = ids[found], sums[found], total_area[found], n_pixels[found]
    centres = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    lon, lat = lon_lat(centres)

    rsun_m = drawing_map.rsun_meters.to_value(u.m)
    mu = disk.mu_towards(rsun_m * centres, drawing_map.observer_coordinate)
    points = SkyCoord(lon * u.deg, lat * u.deg, rsun_m * u.m, frame=frame)
    seen = points.transform_to(drawing_map.coordinate_frame)
    px, py = drawing_map.wcs.world_to_pixel(seen)
    carrington = points.transform_to(
        HeliographicCarrington(observer=drawing_map.observer_coordinate, obstime=drawing_map.date)
    )
    groups = _single_linkage(centres, group_distance.to_value(u.rad))
    groups = split_by_labels(groups, np.column_stack([px, py]), labels, disk.radius_pixels(drawing_map)[0])
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
    order = np.lexsort((lon, groups))
    table = table[order]
    table["spot"] = np.arange(1, len(table) + 1)
    return table, ids[order]


def _number_groups_east_to_west(groups, centres, areas):
    ids = np.unique(groups)
    lons = []
    for g in ids:
        member = groups == g
        lons.append(lon_lat(weighted_centre(centres[member], areas[member]))[0])
    order = ids[np.argsort(lons, kind="stable")]
    mapping = {g: i + 1 for i, g in enumerate(order)}
    return np.array([mapping[g] for g in groups], dtype=int)


def check_spots(spots, columns=("group", "lat", "lon", "area")):
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
    check_spots(spots, ("group", "lat", "lon", "carrington_lon", "area", "Tx", "Ty", "x", "y", "mu"))
    rows = []
    for g in np.unique(np.asarray(spots["group"])):
        member = spots[np.asarray(spots["group"]) == g]
        w = spot_weights(member)
        vectors = unit_vectors(member["lon"].to_value(u.deg), member["lat"].to_value(u.deg))
        lon, lat = lon_lat(weighted_centre(vectors, w))
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
    return spot_table(rows, _GROUP_COLUMNS)


_GROUP_COLUMNS = {
    "group": None, "n_spots": None, "lat": u.deg, "lon": u.deg, "carrington_lon": u.deg, "Tx": u.arcsec,
    "Ty": u.arcsec, "x": u.pix, "y": u.pix, "mu": None, "area": MSH, "extent": u.deg,
}  # fmt: skip
