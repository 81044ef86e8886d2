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

from sunpy_dlmag import geometry
from sunpy_dlmag.drawings.read import _disk_pixels, _drawing_data, _odd, _old_dates, _paper_and_depth
from sunpy_dlmag.exceptions import DlmagUserWarning, InputMapError
from sunpy_dlmag.metrics import pixel_area_on_sphere

__all__ = ["MSH", "detect_sunspots", "sunspot_groups"]

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
