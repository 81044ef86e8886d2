"""
Synchronic maps: full-disk magnetograms, observed and AI-generated, merged into one full-Sun
Carrington map of the radial field (Jeong et al. 2020).

- `synchronic_map`: reproject each disk map with its own observer onto a Carrington CEA grid,
  turn the line-of-sight field into radial field (``B_r = B_los / mu``), average where views
  overlap with weights ``mu`` (pixels with ``mu < limb_cutoff`` dropped), fill what no view
  covers from a background synoptic map; optionally rotate every view to a common time with
  differential rotation. A companion map of integer codes says where each pixel came from.
- `source_legend`: the meaning of those codes.
- `disk_view`: the other direction: what an observer sees of a global radial-field map, as a
  full-disk line-of-sight magnetogram (``B_los = B_r mu``); for tests, round trips and planning.
"""

import contextlib
import copy
import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS
from reproject import reproject_interp

import sunpy.map
from sunpy.coordinates import HeliographicStonyhurst, Helioprojective, get_earth, propagate_with_solar_surface
from sunpy.map.header_helper import get_observer_meta, make_fitswcs_header, make_heliographic_header
from sunpy.time import parse_time

from sunpy_dlmag import checks, disk, geometry, io
from sunpy_dlmag.exceptions import DlmagUserWarning, InputMapError, InvalidArgumentError
from sunpy_dlmag.maps import derived_meta, is_ai_generated

__all__ = ["disk_view", "source_legend", "synchronic_map"]

#: Code of pixels that no input covers (NaN in the synchronic map).
CODE_NONE = 0
#: Code of pixels filled from the background map.
CODE_BACKGROUND = -1

#: Largest time between the inputs of one synchronic map before it warns (one Carrington rotation).
MAX_SPAN = 27.2753 * u.day

_KINDS = {"observed": "observed", "ai": "AI-generated", "background": "background", "none": "none"}


def _as_map_list(maps, name):
    if maps is None:
        return []
    if isinstance(maps, sunpy.map.GenericMap):
        return [maps]
    if isinstance(maps, sunpy.map.MapSequence):
        return list(maps.maps)
    if isinstance(maps, list | tuple):
        return list(maps)
    raise InputMapError(f"{name} must be a map or a sequence of maps, got {type(maps).__name__}.")


def _check_disk_map(smap, name, bad_values="raise"):
    """Field values (G) of a full-disk helioprojective magnetogram; raises for anything else."""
    try:
        checks.check_observer(smap)  # before anything reads the frame, which warns without an observer
        checks.is_disk_image(
            smap,
            error=True,
            name="full-disk magnetogram",
            hint="Pass full-Sun synoptic or synchronic maps as background=",
        )
        return checks.check_magnetogram(smap, bad_values=bad_values)
    except InputMapError as error:
        raise type(error)(f"{name}: {error}") from None


def _kind(smap):
    """'ai' for maps a network made, as their header states (``DLAI``); else 'observed'."""
    return "ai" if is_ai_generated(smap) else "observed"


def _label(smap):
    """One line saying what a map is: instrument, time, observer longitude."""
    what = checks.describe_map(smap, wavelength=False, date=False)
    if "dlmodel" in smap.meta:
        what = f"model {smap.meta['dlmodel']} from {smap.meta.get('dlinput', smap.observatory or 'unknown')}"
    elif "dlinput" in smap.meta:
        what = f"{what} from {smap.meta['dlinput']}"
    observer = smap.observer_coordinate.transform_to(HeliographicStonyhurst(obstime=smap.reference_date))
    return f"{what}, {smap.date.isot[:19]}, observer at Stonyhurst longitude {observer.lon.to_value(u.deg):.1f} deg"


def _carrington_header(date, shape):
    """Carrington CEA header, longitude 0 at the left edge, observer at Earth at ``date``."""
    return make_heliographic_header(
        date, get_earth(date), shape, frame="carrington", projection_code="CEA", map_center_longitude=180 * u.deg
    )


def _binned(smap, data, out_pixel_arcsec):
    """
    Data and WCS of ``smap`` averaged over blocks of whole pixels, at most half an output pixel
    wide at disk centre, so that the bilinear interpolation that follows samples an area mean.
    """
    scale = float(np.mean(np.abs(u.Quantity(smap.scale).to_value(u.arcsec / u.pix))))
    block = int(np.floor(0.5 * out_pixel_arcsec / scale))
    if block < 2:
        return data, smap.wcs
    ny, nx = (s // block * block for s in data.shape)
    wcs = smap.wcs.slice((slice(0, ny, block), slice(0, nx, block)))  # block-centre pixels
    return geometry.block_mean(data, block), wcs


def _check_background(background, shape, bad_values="raise"):
    """
    The background in standard form (`sunpy_dlmag.io.global_field_map`) and its data reprojected
    onto the Carrington CEA grid of ``shape`` (at the background's own time).
    """
    background, values = io.global_field_map(background, name="background", bad_values=bad_values)
    # Same time as the background: Carrington coordinates then map one to one (a change of obstime
    # would rotate the Sun under a synoptic map).
    header = _carrington_header(background.reference_date, shape)
    source = geometry.wrapped_in_longitude(background, values)
    data, _ = reproject_interp(source, WCS(header), shape_out=shape)
    return background, data


def synchronic_map(
    frontside,
    farside=(),
    *,
    shape=(180, 360),
    background=None,
    time=None,
    limb_cutoff=0.2,
    return_sources=False,
    bad_values="raise",
):
    """
    Merge full-disk line-of-sight magnetograms into a full-Sun Carrington map of the radial field.

    Each disk map is reprojected with its own observer and time onto a Carrington
    cylindrical-equal-area (CEA) grid (``reproject``), its line-of-sight field turned into
    radial field as ``B_r = B_los / mu`` (``mu``: cosine of the heliocentric angle seen from
    that observer), and the maps are averaged with weights ``mu``; pixels with
    ``mu < limb_cutoff`` are dropped. Pixels that no map covers are taken from ``background``
    if given, else left NaN with a `~sunpy_dlmag.exceptions.DlmagUserWarning`.

    Maps whose header says a network made them (``DLAI``, see `sunpy_dlmag.maps`: the outputs
    of ``farside_magnetogram`` and published AISFM products read with `sunpy_dlmag.io.read_aisfm`)
    are marked AI-generated in the sources map; all others observed.

    Parameters
    ----------
    frontside : `~sunpy.map.GenericMap` or sequence of them
        Full-disk magnetograms (HMI, MDI, ...) in G, helioprojective, with observer keys.
    farside : `~sunpy.map.GenericMap` or sequence of them, optional
        More disk maps, typically AI farside magnetograms seen from STEREO.
    shape : tuple of int
        ``(n_latitude, n_longitude)`` of the output grid; longitude 0 at the left edge.
    background : `~sunpy.map.GenericMap`, optional
        A full-Sun heliographic map of radial field in G (GONG or HMI synoptic, ADAPT; CEA or
        CAR, Carrington or Stonyhurst) for the pixels no disk map covers. It is reprojected at
        its own time (Carrington coordinates unchanged) and not rotated.
    time : str or `~astropy.time.Time`, optional
        Time of the result. If given, every disk map is rotated to it with differential
        rotation (Howard model, `sunpy.coordinates.propagate_with_solar_surface`). If not,
        the result has the time of the first map and each map is placed at the Carrington
        coordinates of its own time (rigid Carrington rotation).
    limb_cutoff : float
        Smallest ``mu`` used (0.2: 78 degrees from disk centre); noise grows as ``1/mu``.
    return_sources : bool
        Also return the map of where each pixel came from.
    bad_values : {"raise", "mask"}
        Field values beyond what the Sun produces (``|B|`` above 10 kG in a disk map, 5 kG in
        the background; `sunpy_dlmag.checks.FIELD_LIMITS`): refused (default), or set to NaN
        with a warning. Fill values the headers declare (``BLANK``, ``MISSING``, ...) are NaN
        either way.

    Returns
    -------
    `~sunpy.map.GenericMap`
        Radial field in G on a Carrington CEA grid, a valid input of `sunkit_magex.pfss.Input`
        (once NaNs are filled: see `~sunpy_dlmag.pfss.pfss_extrapolate`). Its history lists
        the inputs.
    sources : `~sunpy.map.GenericMap`, only if ``return_sources``
        Integer codes on the same grid: ``k = 1, 2, ...`` the k-th input map (``frontside``
        first, then ``farside``) had the largest weight there, ``-1`` background, ``0`` no
        data. Its header holds the legend (`~sunpy_dlmag.synchronic.source_legend`).

    Raises
    ------
    InputMapError
        No map given; a map that is not a full-disk helioprojective magnetogram in G with an
        observer and a date; a background that is not a full-Sun heliographic map in G (see
        `sunpy_dlmag.io.global_field_map` for the ADAPT, GONG and HMI maps it takes as read
        with sunpy).
    InvalidArgumentError
        A bad ``shape``, ``limb_cutoff``, ``time``, ``return_sources`` or ``bad_values``.
    ImplausibleValueError
        Field values beyond the limits with ``bad_values="raise"``.

    Warns
    -----
    DlmagUserWarning
        Pixels that no input covers; inputs more than a solar rotation (``MAX_SPAN``) apart.

    See Also
    --------
    sunpy_dlmag.farside_magnetogram
        the farside input.
    sunpy_dlmag.pfss_extrapolate
        the next step.
    sunpy_dlmag.synchronic.disk_view
        a global map as seen by an observer.

    References
    ----------
    .. [1] Jeong, H.-J., Moon, Y.-J., Park, E., Lee, H. 2020, ApJL 903, L25: solar coronal magnetic field
       extrapolation from synchronic data with AI-generated farside.

    Examples
    --------
    >>> import astropy.units as u
    >>> from sunpy.coordinates import HeliographicStonyhurst
    >>> from astropy.coordinates import SkyCoord
    >>> from sunpy_dlmag.data.sample import GONG_SYNOPTIC, HMI_SYNCHRONIC
    >>> from sunpy_dlmag.io import read_gong_synoptic, read_hmi_synchronic
    >>> from sunpy_dlmag.synchronic import disk_view, source_legend, synchronic_map
    >>> hmi = read_hmi_synchronic(HMI_SYNCHRONIC)
    >>> earth = SkyCoord(0 * u.deg, 4 * u.deg, 1 * u.AU, frame=HeliographicStonyhurst(obstime=hmi.date))
    >>> view = disk_view(hmi, earth, shape=(256, 256))
    >>> smap, sources = synchronic_map(view, background=read_gong_synoptic(GONG_SYNOPTIC), return_sources=True)
    >>> smap.data.shape, sorted(source_legend(sources))
    ((180, 360), [-1, 0, 1])
    """
    shape = checks.check_shape(shape, minimum=4)
    limb_cutoff = checks.check_number(
        limb_cutoff, "limb_cutoff (smallest mu used)", minimum=0, maximum=1, inclusive=(False, False)
    )
    return_sources = checks.check_bool(return_sources, "return_sources")
    checks.check_bad_values(bad_values)
    maps = _as_map_list(frontside, "frontside") + _as_map_list(farside, "farside")
    if not maps:
        raise InputMapError("synchronic_map needs at least one disk map; got none.")
    values = [_check_disk_map(m, f"input map {i}", bad_values) for i, m in enumerate(maps, start=1)]
    background_data = None
    if background is not None:
        background, background_data = _check_background(background, shape, bad_values)

    rotate = time is not None
    out_time = _parse_time(time) if rotate else maps[0].reference_date
    _warn_if_far_apart(maps, background, out_time if rotate else None)
    out_header = _carrington_header(out_time, shape)
    out_pixel_deg = 360.0 / shape[1]

    sum_w = np.zeros(shape, dtype=np.float64)
    sum_wb = np.zeros(shape, dtype=np.float64)
    best_w = np.zeros(shape, dtype=np.float64)
    codes = np.zeros(shape, dtype=np.int16)
    ys, xs = np.indices(shape)
    for code, (smap, data) in enumerate(zip(maps, values, strict=True), start=1):
        obstime = smap.reference_date
        # Without rotation the grid is taken at the map's own time: a Carrington longitude then
        # names the same point of the Sun whatever the time.
        header = out_header if rotate else _carrington_header(obstime, shape)
        target = WCS(header)
        rsun_arcsec = smap.rsun_obs.to_value(u.arcsec)
        source_data, source_wcs = _binned(smap, data, np.deg2rad(out_pixel_deg) * rsun_arcsec)
        context = propagate_with_solar_surface() if rotate else contextlib.nullcontext()
        with context:
            los, _ = reproject_interp((source_data, source_wcs), target, shape_out=shape)
            coords = target.pixel_to_world(xs, ys).make_3d()
            mu = disk.mu_towards(disk.surface_points(coords, obstime), smap.observer_coordinate)
        weight = np.where(np.isfinite(los) & (mu >= limb_cutoff), mu, 0.0)
        used = weight > 0
        sum_w += weight
        sum_wb[used] += weight[used] * los[used] / mu[used]
        better = weight > best_w
        best_w[better] = weight[better]
        codes[better] = code

    with np.errstate(invalid="ignore", divide="ignore"):
        result = np.where(sum_w > 0, sum_wb / sum_w, np.nan).astype(np.float32)
    if background_data is not None:
        fill = ~np.isfinite(result) & np.isfinite(background_data)
        result[fill] = background_data[fill]
        codes[fill] = CODE_BACKGROUND
    missing = ~np.isfinite(result)
    if missing.any():
        empty_columns = int(missing.all(axis=0).sum())
        warnings.warn(
            f"{missing.mean():.1%} of the solar surface is covered by no input map"
            + (f", including {empty_columns} of {shape[1]} longitude columns entirely" if empty_columns else "")
            + "; those pixels are NaN. Pass background= (a synoptic or ADAPT map) to fill them.",
            DlmagUserWarning,
            stacklevel=2,
        )

    kinds = [_kind(m) for m in maps]
    legend = {code: f"{_KINDS[kind]}: {_label(m)}" for code, (kind, m) in enumerate(zip(kinds, maps, strict=True), 1)}
    if background is not None:
        legend[CODE_BACKGROUND] = f"background: {_label_background(background)}"
    legend[CODE_NONE] = "none: no data"

    meta = derived_meta(
        out_header,
        product="synchronic",
        measurement="radial field",
        ai_generated="ai" in kinds,
        instrument="synchronic map",
        inputs="; ".join(text for code, text in sorted(legend.items()) if code != CODE_NONE),
        history="\n".join(
            [
                f"synchronic map of the radial field (B_los / mu, weights mu, mu >= {limb_cutoff}), "
                + ("differentially rotated to this time" if rotate else "no rotation"),
                *(f"source {code}: {text}" for code, text in sorted(legend.items()) if code != CODE_NONE),
            ]
        ),
    )
    smap = sunpy.map.Map(result, meta)
    if not return_sources:
        return smap

    source_meta = derived_meta(
        out_header,
        product="synchronic-sources",
        measurement="source code",
        ai_generated=False,
        bunit="",
        instrument="synchronic map sources",
        history="where each pixel of the synchronic map came from (codes: see the SRC keys)",
    )
    for code, text in legend.items():
        source_meta[_legend_key(code)] = text
    sources = sunpy.map.Map(codes, source_meta)
    return smap, sources


def _parse_time(time):
    try:
        return parse_time(time)
    except (ValueError, TypeError) as err:
        raise InvalidArgumentError(f"time must be a date (str or astropy Time), got {time!r}: {err}") from err


def _warn_if_far_apart(maps, background, time):
    """Warn when the inputs (and ``time``) span more than a solar rotation: a merge of different Suns."""
    dates = [(m.date, f"input map {i}") for i, m in enumerate(maps, start=1)]
    if background is not None:
        dates.append((background.date, "the background"))
    if time is not None:
        dates.append((time, "time="))
    first, last = min(dates, key=lambda d: d[0]), max(dates, key=lambda d: d[0])
    span = (last[0] - first[0]).to(u.day)
    if span > MAX_SPAN:
        warnings.warn(
            f"synchronic_map merges data {span.to_value(u.day):.0f} days apart ({first[1]}: {first[0].isot[:19]}, "
            f"{last[1]}: {last[0].isot[:19]}), more than a solar rotation ({MAX_SPAN:g}); the Sun changed in between. "
            "Use maps of one time, and a background near it.",
            DlmagUserWarning,
            stacklevel=3,
        )


def _label_background(background):
    what = checks.describe_map(background, wavelength=False, date=False)
    return f"{what}, {background.date.isot[:19]}"


def _legend_key(code):
    return "srcbg" if code == CODE_BACKGROUND else f"src{code}"


def source_legend(sources):
    """
    The legend of a sources map from `synchronic_map`: code -> description.

    Descriptions start with the kind of data: ``"observed: ..."``, ``"AI-generated: ..."``,
    ``"background: ..."`` or ``"none: no data"``.

    Parameters
    ----------
    sources : `~sunpy.map.GenericMap`
        The second map ``synchronic_map(..., return_sources=True)`` returns.

    Returns
    -------
    dict
        ``{code: description}`` for every code the header describes.

    Raises
    ------
    InputMapError
        The map carries no legend.

    Examples
    --------
    ``ai = np.isin(sources.data, [c for c, d in source_legend(sources).items() if d.startswith("AI")])``
    is the mask of AI-generated pixels.
    """
    if not isinstance(sources, sunpy.map.GenericMap) or "src0" not in sources.meta:
        raise InputMapError("Expected the sources map returned by synchronic_map(..., return_sources=True).")
    legend = {}
    for key, value in sources.meta.items():
        if key == "srcbg":
            legend[CODE_BACKGROUND] = value
        elif key.startswith("src") and key[3:].isdigit():
            legend[int(key[3:])] = value
    return dict(sorted(legend.items()))


def disk_view(global_map, observer, *, shape=(1024, 1024), fov=None, los=True):
    """
    What ``observer`` sees of a full-Sun radial-field map: a full-disk magnetogram.

    The global map is taken to rotate rigidly with the Carrington frame, so the view shows
    its Carrington coordinates as seen at ``observer.obstime``.

    Parameters
    ----------
    global_map : `~sunpy.map.GenericMap`
        Full-Sun heliographic map of the radial field in G (e.g. from `synchronic_map` or
        `sunpy_dlmag.io.read_hmi_synchronic`).
    observer : `~astropy.coordinates.SkyCoord`
        Position of the observer, with an ``obstime`` (the time of the view).
    shape : tuple of int
        Image size in pixels, ``(ny, nx)``.
    fov : `~astropy.units.Quantity`, optional
        Full width of the field of view; default 2.2 solar radii as seen by the observer.
    los : bool
        ``True``: the line-of-sight component ``B_r mu`` (what a magnetograph measures, if the
        field is radial); ``False``: ``B_r``.

    Returns
    -------
    `~sunpy.map.GenericMap`
        Helioprojective map in G with the observer's position and time; NaN off the disk and
        where the global map has no data.

    Raises
    ------
    InputMapError
        ``global_map`` is not a full-Sun heliographic map in G (see
        `sunpy_dlmag.io.global_field_map` for the maps it takes as read with sunpy).
    InvalidArgumentError
        ``observer`` is not one SkyCoord with an ``obstime`` outside the Sun; a bad ``shape``,
        ``fov`` or ``los``.
    """
    global_map, values = io.global_field_map(global_map, name="global_map")
    observer = checks.check_observer_coordinate(observer)
    ny, nx = checks.check_shape(shape, minimum=2)
    fov = checks.check_quantity(fov, u.arcsec, "fov", positive=True, allow_none=True)
    los = checks.check_bool(los, "los")
    obstime = observer.obstime
    observer = observer.transform_to(HeliographicStonyhurst(obstime=obstime))
    rsun = global_map.rsun_meters
    if not observer.radius > rsun:
        raise InvalidArgumentError(
            f"observer must be outside the Sun (distance from its centre > {rsun.to(u.R_sun):.3f}); got "
            f"{observer.radius.to(u.R_sun):.4g} ({observer.radius.to(u.AU):.4g})."
        )
    frame = Helioprojective(observer=observer, obstime=obstime, rsun=rsun)
    rsun_angle = np.arcsin((rsun / observer.radius).decompose().value) * u.rad
    fov = 2.2 * rsun_angle if fov is None else fov
    scale = (fov / nx).to(u.arcsec) / u.pix
    header = make_fitswcs_header(
        (ny, nx), SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=frame), scale=u.Quantity([scale, scale]), unit=u.G
    )
    header.update(get_observer_meta(observer, rsun))
    header["rsun_ref"] = rsun.to_value(u.m)
    # Global map at the view's time (same Carrington coordinates): rigid Carrington rotation.
    source_meta = copy.deepcopy(global_map.meta)
    source_meta["date-obs"] = obstime.utc.isot
    for key in ("t_obs", "date-avg", "date_obs", "time-obs"):
        source_meta.pop(key, None)
    source_meta["bunit"] = "G"
    source = sunpy.map.Map(values, source_meta)
    target = WCS(header)
    br, _ = reproject_interp(geometry.wrapped_in_longitude(source, source.data), target, shape_out=(ny, nx))
    mu = disk.mu(sunpy.map.Map(np.empty((ny, nx), dtype=np.float32), header))
    data = np.where(mu > 0, br * mu if los else br, np.nan).astype(np.float32)
    header = derived_meta(
        header,
        product="disk-view",
        measurement="magnetogram" if los else "radial field",
        ai_generated=is_ai_generated(global_map),
        instrument="disk view",
        inputs=checks.describe_map(global_map),
        history=f"{'line-of-sight (B_r mu)' if los else 'radial'} field of {global_map.name} "
        f"({global_map.date.isot[:19]}) as seen by this observer; not an observation",
    )
    view = sunpy.map.Map(data, header)
    return view
