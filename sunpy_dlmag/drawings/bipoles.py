"""
Magnetograms from sunspot drawings: one bipole per spot group from physical relations (flux
from the spot areas, Hale's and Joy's laws), or a trained ``drawing`` network.
"""

import inspect
import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord

import sunpy.map
import sunpy.sun.constants
from sunpy.coordinates import HeliographicStonyhurst
from sunpy.map.header_helper import make_fitswcs_header
from sunpy.time import parse_time

from sunpy_dlmag import _cycles, checks, disk
from sunpy_dlmag.drawings.read import drawing_data
from sunpy_dlmag.drawings.spots import (
    MSH,
    check_spots,
    detect_sunspots,
    lon_lat,
    spot_table,
    spot_weights,
    unit_vectors,
    weighted_centre,
)
from sunpy_dlmag.exceptions import ArgumentTypeError, InvalidArgumentError
from sunpy_dlmag.maps import derived_meta
from sunpy_dlmag.models import load_model

__all__ = ["JOY_COEFFICIENT", "drawing_to_magnetogram", "spot_mean_field", "sunspot_bipoles"]

_RSUN = sunpy.sun.constants.radius
#: Joy's law: mean tilt = JOY_COEFFICIENT x sin(latitude) (Stenflo & Kosovichev 2012, ApJ 745, 129).
JOY_COEFFICIENT = 32.1 * u.deg

# Mean flux density of sunspots against their area, from SDO/HMI (Tlatov & Pevtsov 2014, Sol. Phys.
# 289, 1143): about 800 G up to 20 MSH, about 600 G from 100 MSH, linear in between.
_SPOT_FIELD_AREAS = (20.0, 100.0)
_SPOT_FIELD_G = (800.0, 600.0)

#: Pixels (rows, columns) of a drawing's bipole magnetogram unless given: a full-disk magnetogram's.
DEFAULT_SHAPE = (1024, 1024)
# Field of view of that magnetogram in solar diameters, as MDI's and HMI's full disks.
_FOV_DIAMETERS = 1.075

# Smallest width of a bipole's polarity patch: a few Mm, about a small spot with its plage.
_MIN_SIGMA = 0.25 * u.deg
# The following polarity of a group lies at least this many widths behind the leading one.
_MIN_SEPARATION_SIGMAS = 4.0

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


@checks.quantity_input
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
    check_spots(spots)
    if leading_polarity not in (None, 1, -1):
        raise InvalidArgumentError(f"leading_polarity must be +1, -1 or None (Hale's law), got {leading_polarity!r}.")
    flux_factor = checks.check_number(flux_factor, "flux_factor", minimum=0, inclusive=(False, True))
    with _cycles.historical_dates():
        time = parse_time(date)
        rows = []
        for g in np.unique(np.asarray(spots["group"], dtype=int)):
            rows.append(_bipole(spots[np.asarray(spots["group"]) == g], time, leading_polarity, flux_factor,
                                joy_coefficient))  # fmt: skip
    return spot_table(rows, _BIPOLE_COLUMNS)


_BIPOLE_COLUMNS = {
    "group": None, "cycle": None, "lat": u.deg, "lon": u.deg, "area": MSH, "tilt": u.deg, "polarity": None,
    "flux": u.Mx, "peak": u.G, "sigma": u.deg, "lead_lat": u.deg, "lead_lon": u.deg, "follow_lat": u.deg,
    "follow_lon": u.deg,
}  # fmt: skip


def _bipole(member, time, leading_polarity, flux_factor, joy_coefficient):
    areas = member["area"].to(MSH)
    vectors = unit_vectors(member["lon"].to_value(u.deg), member["lat"].to_value(u.deg))
    centre = weighted_centre(vectors, spot_weights(member))
    lon, lat = lon_lat(centre)
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
    lead_lon, lead_lat = lon_lat(np.cos(lead) * centre + np.sin(lead) * axis)
    follow_lon, follow_lat = lon_lat(np.cos(follow) * centre + np.sin(follow) * axis)
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
                           leading_polarity=None, flux_factor=1.0, shape=None, scale=None, num_threads=None,
                           **detect_kwargs):  # fmt: skip
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
    shape : tuple of int, optional
        ``"bipole"`` only: pixels (rows, columns) of the magnetogram (default: 1024x1024 px,
        or as many as ``scale`` needs).
    scale : `~astropy.units.Quantity`, optional
        ``"bipole"`` only: its pixel size, in arcsec per pixel (default: the disk's diameter
        spans 93 % of ``shape``, as in an MDI or HMI full disk: about 2 arcsec/px at 1024 px).
    **detect_kwargs
        ``"bipole"`` without ``spots`` only: how `~sunpy_dlmag.drawings.detect_sunspots`
        finds the spots (``threshold``, ``label_distance``, ``core_contrast``,
        ``group_distance``, ...).

    Returns
    -------
    `~sunpy.map.GenericMap`
        A new map in G, NaN off the disk, with magnetogram plot settings, seen by the
        drawing's observer at its time: for ``"bipole"`` on a north-up grid fit for a
        magnetogram (``shape`` and ``scale``), not the scan's pixels; for ``"model"`` on the
        drawing's grid, as the network sees it. Its header says how it was made (``dlmodel``
        and a history line; for ``"model"`` also the model's version and weights sha256).

    Raises
    ------
    WeightsNotInstalledError
        ``"model"`` without trained weights; the message says how to make them.
    CyclePhaseUnknownError
        ``"bipole"`` for a date outside the known solar cycles without ``leading_polarity``.
    InputMapError
        Not a drawing map, or a model for another task.

    See Also
    --------
    sunpy_dlmag.read_drawing
        its input.
    sunpy_dlmag.detect_sunspots
        the spots it turns into bipoles.

    References
    ----------
    .. [1] Lee, H., Park, E., Moon, Y.-J. 2021, ApJ 907, 118: generation of modern satellite data from Galileo
       sunspot drawings in 1612 by deep learning.

    Examples
    --------
    >>> import numpy as np
    >>> import sunpy_dlmag
    >>> yy, xx = np.mgrid[:400, :400]
    >>> paper = np.where(np.abs(np.hypot(xx - 200, yy - 200) - 150) < 1.5, 0, 255).astype(np.uint8)
    >>> paper[np.hypot(xx - 240, yy - 180) < 5] = 0
    >>> magnetogram = sunpy_dlmag.drawing_to_magnetogram(sunpy_dlmag.read_drawing(paper, date="2011-02-15"))
    >>> magnetogram.meta["dlprod"], str(magnetogram.unit)
    ('drawing', 'G')
    """
    if method not in ("bipole", "model"):
        raise InvalidArgumentError(
            f"method must be 'bipole' (physical bipoles) or 'model' (trained network), got {method!r}."
        )
    if method == "model" and (spots is not None or leading_polarity is not None or flux_factor != 1.0
                              or shape is not None or scale is not None):  # fmt: skip
        raise InvalidArgumentError(
            "spots, leading_polarity, flux_factor, shape and scale only apply to method='bipole'."
        )
    shape = None if shape is None else checks.check_shape(shape, minimum=16)
    scale = checks.check_quantity(scale, u.arcsec / u.pix, "scale", positive=True, allow_none=True)
    detection = inspect.signature(detect_sunspots).parameters
    unknown = sorted(set(detect_kwargs) - set(list(detection)[1:]))
    if unknown:
        raise ArgumentTypeError(
            f"drawing_to_magnetogram got unexpected keyword(s) {', '.join(unknown)}; besides its own, it takes "
            f"those of detect_sunspots: {', '.join(list(detection)[1:])}."
        )
    changed = sorted(k for k, v in detect_kwargs.items() if not _same(v, detection[k].default))
    if changed and (method == "model" or spots is not None):
        raise InvalidArgumentError(
            f"{', '.join(changed)} choose how detect_sunspots finds the spots: only for method='bipole' without "
            "spots (a spots table is used as it is)."
        )
    if method == "bipole" and model is not None:
        raise InvalidArgumentError("model only applies to method='model'.")
    with _cycles.historical_dates():
        data = drawing_data(drawing_map)
        if method == "model":
            return _model_magnetogram(drawing_map, data, model, device, num_threads)
        return _bipole_magnetogram(drawing_map, spots, leading_polarity, flux_factor, detect_kwargs, shape, scale)


def _magnetogram_grid(drawing_map, shape, scale):
    """
    An empty map seen by the drawing's observer, north up, centred on the disk: ``shape`` px of
    ``scale`` (defaults: `DEFAULT_SHAPE`, the disk spanning 93 % of it as in MDI and HMI full disks).
    """
    field_of_view = _FOV_DIAMETERS * 2 * drawing_map.rsun_obs
    if scale is None:
        shape = shape or DEFAULT_SHAPE
        scale = field_of_view / (min(shape) * u.pix)
    elif shape is None:
        n = int(np.ceil((field_of_view / (scale * u.pix)).to_value(u.one)))
        shape = (n, n)
    centre = SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=drawing_map.coordinate_frame)
    scale = scale.to_value(u.arcsec / u.pix)
    header = make_fitswcs_header(shape, centre, scale=[scale, scale] * u.arcsec / u.pix, rotation_angle=0 * u.deg,
                                 unit=u.G)  # fmt: skip
    return sunpy.map.Map(np.zeros(shape, dtype=np.float32), header)


def _disk_of_zeros(smap):
    """Zeros on the disk (a circle of the angular radius around disk centre), NaN off it."""
    (cx, cy), radius = disk.centre_pixel(smap), disk.radius_pixels(smap)[0]
    ny, nx = smap.data.shape
    yy, xx = np.ogrid[:ny, :nx]
    inside = (np.float32(xx - cx) ** 2 + np.float32(yy - cy) ** 2) < np.float32(radius) ** 2
    return np.where(inside, np.float32(0), np.float32(np.nan))


def _add_patch(out, smap, lat, lon, peak, sigma):
    """
    Add a Gaussian patch of radial field (``peak`` G, width ``sigma`` rad) seen along the line
    of sight; only the pixels within 6 widths are computed, so a large drawing costs little.
    """
    centre = unit_vectors(lon.to_value(u.deg), lat.to_value(u.deg))
    frame = HeliographicStonyhurst(obstime=smap.date)
    point = SkyCoord(lon, lat, smap.rsun_meters, frame=frame).transform_to(smap.coordinate_frame)
    x, y = (float(v) for v in smap.wcs.world_to_pixel(point))
    radius_px = disk.radius_pixels(smap)[0]
    reach = 6 * sigma * radius_px + 2  # 6 widths on the sphere span at most this many pixels
    if not (np.isfinite(x) and np.isfinite(y)):
        return
    ny, nx = out.shape
    y0, y1 = max(int(y - reach), 0), min(int(y + reach) + 2, ny)
    x0, x1 = max(int(x - reach), 0), min(int(x + reach) + 2, nx)
    if y0 >= y1 or x0 >= x1:
        return
    ys, xs = np.nonzero(np.isfinite(out[y0:y1, x0:x1]))
    ys, xs = ys + y0, xs + x0
    coords = smap.pixel_to_world(xs * u.pix, ys * u.pix)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pixels just off the limb have no surface point
        surface = coords.transform_to(frame)
    vectors = unit_vectors(surface.lon.to_value(u.deg), surface.lat.to_value(u.deg))
    good = np.isfinite(vectors).all(axis=1)
    cos_angle = vectors[good] @ centre
    near = cos_angle > np.cos(6 * sigma)
    ys, xs, vectors = ys[good][near], xs[good][near], vectors[good][near]
    angle = np.arccos(np.clip(cos_angle[near], -1, 1))
    mu = disk.mu_towards(smap.rsun_meters.to_value(u.m) * vectors, smap.observer_coordinate)
    out[ys, xs] += (peak * np.exp(-0.5 * (angle / sigma) ** 2) * mu).astype(np.float32)  # B_los = B_r mu


def _same(value, default):
    """Whether a detection keyword is given at its default (a Quantity, a number or a word)."""
    try:
        return bool(np.all(value == default))
    except (TypeError, ValueError, u.UnitsError):
        return False


def _bipole_magnetogram(drawing_map, spots, leading_polarity, flux_factor, detect_kwargs, shape, scale):
    if spots is None:
        spots = detect_sunspots(drawing_map, **detect_kwargs)
    bipoles = sunspot_bipoles(spots, date=drawing_map.date, leading_polarity=leading_polarity, flux_factor=flux_factor)
    grid = _magnetogram_grid(drawing_map, shape, scale)
    out = _disk_of_zeros(grid)
    for row in bipoles:
        for lat, lon, sign in (
            (row["lead_lat"], row["lead_lon"], row["polarity"]),
            (row["follow_lat"], row["follow_lon"], -row["polarity"]),
        ):
            _add_patch(out, grid, lat, lon, sign * row["peak"].to_value(u.G), row["sigma"].to_value(u.rad))
    if len(bipoles) == 0:
        cycle_note = "no spot groups"
    elif leading_polarity is None:
        cycles = sorted(set(int(c) for c in bipoles["cycle"]))
        cycle_note = f"Hale's law for cycle(s) {', '.join(map(str, cycles))} (SILSO minima)"
    else:
        cycle_note = f"leading polarity {leading_polarity:+d} in the north (given)"
    meta = _bipole_meta(drawing_map, grid, len(bipoles), cycle_note, flux_factor)
    return sunpy.map.Map(out, meta)


def _bipole_meta(drawing_map, grid, n_groups, cycle_note, flux_factor):
    return derived_meta(
        grid.meta,
        product="drawing",
        measurement="magnetogram",
        ai_generated=False,
        instrument="sunpy-dlmag bipoles",
        observatory=drawing_map.observatory or "unknown",
        inputs=f"sunspot drawing {drawing_map.meta.get('drawfile', '')} {drawing_map.date.isot}".replace("  ", " "),
        model="bipole",
        history=f"bipole reconstruction of {n_groups} spot group(s) from a sunspot drawing; "
        f"flux = {flux_factor:g} x mean spot field (Tlatov & Pevtsov 2014) x spot area; {cycle_note}; "
        f"tilt {JOY_COEFFICIENT.to_value(u.deg):g} deg x sin(lat) (Joy's law, Stenflo & Kosovichev 2012); "
        "Gaussian patches of radial field, B_los = B_r mu; not an observation.",
    )


def _model_magnetogram(drawing_map, data, model, device, num_threads):
    name = "drawing" if model is None else model
    net = load_model(name, device=device, num_threads=num_threads, task="drawing")
    return net.translate([data], drawing_map, note="Input: a sunspot drawing.")
