"""
The corona above a global magnetic map: PFSS extrapolation, open-field (coronal hole) maps and
their comparison with dark regions in EUV (Jeong et al. 2020), with sunkit-magex inside.

- `pfss_extrapolate`: checks a full-Sun Carrington CEA map, fills its NaNs (zonal means,
  with a warning), brings it to a grid the solver handles quickly and runs
  `sunkit_magex.pfss.pfss`; returns its `~sunkit_magex.pfss.Output`.
- `open_field_map`: traces field lines from a grid of footpoints and maps where they are open
  (+1 / -1: open with positive / negative polarity at the surface, 0 closed).
- `open_field_area`, `source_surface_pil`, `trace_field_lines`: area of the open regions; the
  polarity inversion lines on the source surface; field lines for plots.
- `coronal_hole_overlap`: Dice / Jaccard agreement of open regions with dark EUV regions.
"""

import copy
import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS
from reproject import reproject_interp

import sunpy.map
import sunpy.sun.constants
from sunpy.coordinates import HeliographicCarrington, Helioprojective, get_earth
from sunpy.coordinates.frames import BaseHeliographic
from sunpy.map.header_helper import get_observer_meta, make_heliographic_header

from sunpy_dlmag import checks, disk, geometry, io
from sunpy_dlmag.exceptions import ArgumentTypeError, DlmagUserWarning, InputMapError, InvalidArgumentError
from sunpy_dlmag.maps import derived_meta, is_ai_generated

__all__ = [
    "coronal_hole_overlap",
    "open_field_area",
    "open_field_fraction",
    "open_field_map",
    "pfss_extrapolate",
    "source_surface_pil",
    "trace_field_lines",
]

#: Largest grid `pfss_extrapolate` uses unless told otherwise (latitude, longitude): the grid
#: of Jeong et al. (2020) and of GONG/ADAPT maps; about a second for the solver.
DEFAULT_SHAPE = (180, 360)

_FILL_POLICIES = ("zonal", "zero", "raise")
_STEPS_PER_RADIAL_CELL = 8


# --------------------------------------------------------------------------- checks
def _check_global_map(smap, what="map", bad_values="raise"):
    """
    The standard form of a full-Sun heliographic CEA map in G (`sunpy_dlmag.io.global_field_map`:
    ADAPT, GONG and HMI maps read the ecosystem's ways too) and its field values (G, float64).
    """
    smap, data = io.global_field_map(smap, name=what, dtype=np.float64, bad_values=bad_values)
    checks.is_full_sun_cea(smap, error=True, name=what)
    return smap, data


def _fill_zonal(data):
    """NaNs replaced by the mean of the finite pixels of their latitude row (nearest such row if none)."""
    data = data.copy()
    finite = np.isfinite(data)
    counts = finite.sum(axis=1)
    with np.errstate(invalid="ignore"):
        row_mean = np.where(counts > 0, np.where(finite, data, 0).sum(axis=1) / np.maximum(counts, 1), np.nan)
    rows_with = np.flatnonzero(counts > 0)
    nearest = rows_with[np.abs(np.arange(data.shape[0])[:, None] - rows_with[None, :]).argmin(axis=1)]
    row_mean = row_mean[nearest]
    rows, cols = np.nonzero(~finite)
    data[rows, cols] = row_mean[rows]
    return data


def _rebin_matrix(n_in, n_out):
    """(n_out, n_in) weights: the fraction of each new bin covered by each old bin, on a common range."""
    edges_in = np.linspace(0, 1, n_in + 1)
    edges_out = np.linspace(0, 1, n_out + 1)
    low = np.maximum(edges_out[:-1, None], edges_in[None, :-1])
    high = np.minimum(edges_out[1:, None], edges_in[None, 1:])
    return np.clip(high - low, 0, None) * n_out


def _heliographic_frame_name(frame):
    return "carrington" if isinstance(frame, HeliographicCarrington) else "stonyhurst"


def _observer(frame, date):
    observer = getattr(frame, "observer", None)
    return observer if isinstance(observer, SkyCoord | BaseHeliographic) else get_earth(date)


def _resampled(smap, data, shape):
    """``data`` on a CEA grid of ``shape`` with the same frame, time and central longitude."""
    ny, nx = data.shape
    centre = smap.pixel_to_world((nx - 1) / 2 * u.pix, (ny - 1) / 2 * u.pix)
    header = make_heliographic_header(
        smap.reference_date,
        _observer(smap.coordinate_frame, smap.reference_date),
        shape,
        frame=_heliographic_frame_name(smap.coordinate_frame),
        projection_code="CEA",
        map_center_longitude=centre.lon.wrap_at(360 * u.deg).to(u.deg),
    )
    if smap.scale.axis1 < 0:  # longitude decreasing to the right: keep the orientation of the input
        header["cdelt1"] = -header["cdelt1"]
    by, bx = ny / shape[0], nx / shape[1]
    if by == int(by) and bx == int(bx) and by >= 1 and bx >= 1:
        # Whole blocks of a CEA grid are equal areas: the block mean is the area mean.
        out = data.reshape(shape[0], int(by), shape[1], int(bx)).mean(axis=(1, 3))
    else:
        # Both grids span the whole Sun, equally spaced in sin(latitude) and longitude: the area
        # mean over each new pixel is separable, one overlap matrix per axis.
        out = _rebin_matrix(ny, shape[0]) @ data @ _rebin_matrix(nx, shape[1]).T
    # A plain header: instrument-specific map classes (GONG's reads CDELT2 in sine latitude) must
    # not reinterpret the new grid.
    meta = dict(header)
    meta["rsun_ref"] = smap.rsun_meters.to_value(u.m)
    meta["history"] = f"{smap.name} resampled from {nx}x{ny} to {shape[1]}x{shape[0]} pixels by sunpy-dlmag"
    meta["dlai"] = is_ai_generated(smap)  # what the PFSS solution is made from
    return out, meta


# --------------------------------------------------------------------------- PFSS
#: Source-surface radii (solar radii) accepted: 2.5 is usual; fits to observations range
#: from about 1.3 to 4, and beyond 10 the corona is no longer potential at all.
RSS_RANGE = (1.1, 10.0)


def pfss_extrapolate(smap, *, nrho=35, rss=2.5, shape=None, fill_nan="zonal", bad_values="raise"):
    """
    Potential-field source-surface extrapolation of a full-Sun radial-field map (sunkit-magex).

    Parameters
    ----------
    smap : `~sunpy.map.GenericMap`
        Full-Sun heliographic (Carrington or Stonyhurst) cylindrical-equal-area map of the
        radial field in G: a `~sunpy_dlmag.synchronic.synchronic_map`, or a GONG, HMI or ADAPT
        map from `sunpy_dlmag.io`.
    nrho : int
        Number of radial grid cells (equally spaced in ``ln r``) between the photosphere and
        the source surface.
    rss : float
        Source-surface radius in solar radii, from 1.1 to 10 (``RSS_RANGE``); 2.5 is the usual
        choice.
    shape : tuple of int, optional
        ``(n_latitude, n_longitude)`` of the grid the solver uses. By default maps larger than
        180x360 (``DEFAULT_SHAPE``) are brought to that size and smaller maps are used as they
        are. The resampling is an exact area mean (on a CEA grid pixels of one map have equal
        areas): block means for whole blocks, overlap-weighted means otherwise.
    fill_nan : {"zonal", "zero", "raise"}
        What to do with NaN pixels (the solver needs finite values): ``"zonal"`` (default)
        replaces each by the mean of the finite pixels at its latitude (rows with none take
        the mean of the nearest row that has some, e.g. unobserved polar caps get the mean
        field of the highest observed latitude); ``"zero"`` sets them to 0 G; ``"raise"``
        raises. Filling warns with the fraction of pixels filled.
    bad_values : {"raise", "mask"}
        Values with ``|B|`` above 5 kG, more than the Sun produces in a global map
        (`sunpy_dlmag.checks.FIELD_LIMITS`; fill values the header does not declare): refused
        (default), or set to NaN with a warning, then filled as ``fill_nan`` says. Declared
        fill values (``BLANK``, ``MISSING``, ...) are NaN either way.

    Returns
    -------
    `sunkit_magex.pfss.Output`
        The solution; ``output.input_map`` is the map the solver used.

    Raises
    ------
    InputMapError
        Not a full-Sun heliographic CEA map in G, no finite pixel, or NaNs with
        ``fill_nan="raise"``; `~sunpy_dlmag.exceptions.ImplausibleValueError` for ``|B|``
        above 5 kG with ``bad_values="raise"``.
    ValueError
        Bad ``nrho``, ``rss``, ``shape``, ``fill_nan`` or ``bad_values``.

    See Also
    --------
    sunpy_dlmag.synchronic_map
        its usual input.
    sunpy_dlmag.open_field_map
        where the field is open.
    sunpy_dlmag.coronal_hole_overlap
        the open field against EUV coronal holes.

    References
    ----------
    .. [1] Schatten, K. H., Wilcox, J. M., Ness, N. F. 1969, Sol. Phys. 6, 442; Altschuler, M. D., Newkirk, G. 1969,
       Sol. Phys. 9, 131: the potential field source surface model.
    .. [2] Stansby, D., Yeates, A., Badman, S. T. 2020, JOSS 5, 2732: pfsspy, a Python package for potential field
       source surface modelling (now sunkit-magex).
    .. [3] Jeong, H.-J., Moon, Y.-J., Park, E., Lee, H. 2020, ApJL 903, L25: solar coronal magnetic field
       extrapolation from synchronic data with AI-generated farside.

    Examples
    --------
    >>> from sunpy_dlmag.data.sample import GONG_SYNOPTIC
    >>> from sunpy_dlmag.io import read_gong_synoptic
    >>> from sunpy_dlmag.pfss import pfss_extrapolate
    >>> output = pfss_extrapolate(read_gong_synoptic(GONG_SYNOPTIC), nrho=20, shape=(90, 180))
    >>> output.grid.ns, output.grid.nphi, output.grid.nr
    (90, 180, 20)
    """
    import sunkit_magex.pfss

    nrho = checks.check_int(nrho, "nrho", minimum=2)
    if isinstance(rss, u.Quantity):
        rss = checks.check_quantity(rss, u.R_sun, "rss").to_value(u.R_sun)
    rss = checks.check_number(
        rss, "rss (source-surface radius in solar radii)", minimum=RSS_RANGE[0], maximum=RSS_RANGE[1]
    )
    checks.check_choice(fill_nan, _FILL_POLICIES, "fill_nan")
    if shape is not None:
        shape = checks.check_shape(shape, minimum=8)
    smap, data = _check_global_map(smap, bad_values=bad_values)
    bad = ~np.isfinite(data)
    if bad.any():
        if fill_nan == "raise":
            raise InputMapError(f"The map has {bad.sum()} NaN pixels ({bad.mean():.1%}) and fill_nan='raise'.")
        data = _fill_zonal(data) if fill_nan == "zonal" else np.where(bad, 0.0, data)
        warnings.warn(
            f"{bad.mean():.1%} of the map's pixels are NaN; filled with "
            + ("the mean field of their latitude row" if fill_nan == "zonal" else "0 G")
            + " for the PFSS solver.",
            DlmagUserWarning,
            stacklevel=2,
        )
    if shape is None:
        shape = data.shape if data.shape[0] <= DEFAULT_SHAPE[0] and data.shape[1] <= DEFAULT_SHAPE[1] else DEFAULT_SHAPE
    if shape != data.shape:
        data, meta = _resampled(smap, data, shape)
    else:
        meta = copy.deepcopy(smap.meta)
    meta["bunit"] = "G"
    br = sunpy.map.Map(data, meta)
    return sunkit_magex.pfss.pfss(sunkit_magex.pfss.Input(br, int(nrho), float(rss)))


def _check_output(pfss_output):
    from sunkit_magex.pfss import Output

    if not isinstance(pfss_output, Output):
        raise InputMapError(
            f"Expected a sunkit_magex.pfss.Output (from pfss_extrapolate), got {type(pfss_output).__name__}."
        )


def _check_tracer(tracer):
    if tracer is not None and not callable(getattr(tracer, "trace", None)):
        raise ArgumentTypeError(
            f"tracer must be a sunkit_magex.pfss.tracing.Tracer (with a .trace method) or None, got {tracer!r}."
        )


def _grid_header(date, frame, shape, frame_name):
    return make_heliographic_header(
        date, _observer(frame, date), shape, frame=frame_name, projection_code="CEA", map_center_longitude=180 * u.deg
    )


# --------------------------------------------------------------------------- open field
# Seeds traced per call of the compiled tracer (about 0.1-0.5 s each).
_TRACE_CHUNK = 4000


def _trace(pfss_output, seeds, tracer, progress=True):
    """Field lines from ``seeds``, and how many reached the default tracer's step limit (-1: your tracer)."""
    from sunkit_magex.pfss.tracing import PerformanceTracer

    if tracer is not None:
        return tracer.trace(seeds, pfss_output), -1
    from sunkit_magex.pfss.fieldline import FieldLines

    from sunpy_dlmag._progress import progress_bar

    tracer = PerformanceTracer(max_steps=_STEPS_PER_RADIAL_CELL * int(pfss_output.grid.nr), step_size=1)
    # In chunks, so that a progress bar can follow many seeds.
    chunks = np.array_split(np.arange(len(seeds)), max(1, -(-len(seeds) // _TRACE_CHUNK)))
    lines, ran_out = [], 0
    with (
        warnings.catch_warnings(),
        progress_bar(total=len(seeds), desc="field lines", progress=progress and len(chunks) > 1, unit="line") as bar,
    ):
        # Low closed loops in weak field can graze the photosphere without crossing it and wander
        # along it until the step limit; both their ends are low, so they count as closed.
        warnings.filterwarnings("ignore", message="At least one field line ran out of steps", category=UserWarning)
        for chunk in chunks:
            lines.extend(tracer.trace(seeds[chunk], pfss_output).field_lines)
            ran_out += int(np.any(tracer.tracer.ROT == 1, axis=-1).sum())
            bar.update(len(chunk))
    return FieldLines(lines), ran_out


def trace_field_lines(pfss_output, seeds, *, tracer=None):
    """
    Trace field lines of a PFSS solution from ``seeds``, with the tracer `open_field_map` uses.

    Parameters
    ----------
    pfss_output : `sunkit_magex.pfss.Output`
    seeds : `~astropy.coordinates.SkyCoord`
        Start points (3D: with a radius between 1 and the source-surface radius).
    tracer : `sunkit_magex.pfss.tracing.Tracer`, optional
        See `open_field_map`.

    Returns
    -------
    `sunkit_magex.pfss.fieldline.FieldLines`
        ``.polarities``: +1 / -1 open with that footpoint polarity, 0 closed; each line's
        ``.coords`` for plotting (``ax.plot_coord``).

    Raises
    ------
    InputMapError
        ``pfss_output`` is not a sunkit-magex Output, or ``seeds`` not a SkyCoord.
    """
    _check_output(pfss_output)
    _check_tracer(tracer)
    if not isinstance(seeds, SkyCoord):
        raise ArgumentTypeError(f"seeds must be a SkyCoord, got {type(seeds).__name__}.")
    return _trace(pfss_output, seeds, tracer)[0]


def open_field_map(pfss_output, *, shape=(90, 180), seed_radius=1.01 * u.R_sun, tracer=None, progress=True):
    """
    Where the PFSS field is open: trace a field line from the centre of every pixel of a grid.

    Parameters
    ----------
    pfss_output : `sunkit_magex.pfss.Output`
        From `pfss_extrapolate` (or `sunkit_magex.pfss.pfss`).
    shape : tuple of int
        ``(n_latitude, n_longitude)`` of the CEA grid of footpoints (and of the result);
        longitude 0 at the left edge. 90x180 traces 16,200 field lines (about a second).
    seed_radius : `~astropy.units.Quantity`
        Height of the footpoints; just above the photosphere.
    tracer : `sunkit_magex.pfss.tracing.Tracer`, optional
        Default: the compiled `~sunkit_magex.pfss.tracing.PerformanceTracer` (streamtracer;
        what ``FortranTracer`` became in sunkit-magex 1.x) with steps of one radial cell and at
        most 8 steps per radial cell (sunkit-magex's default: 4); an open line needs about one
        per cell. Low closed loops that graze the photosphere wander along it until that limit
        (the header's ``nrunout`` counts them). With 5 times more steps, at most 5 of 16,200
        footpoints change class on the GONG, HMI and ADAPT maps of 2018-11-06 (with 4 per cell:
        up to 10).
    progress : bool
        A progress bar over the field lines of the default tracer (on a terminal only).

    Returns
    -------
    `~sunpy.map.GenericMap`
        int8 codes on a heliographic CEA grid in the frame of the PFSS input: ``+1`` open
        with positive radial field at the footpoint, ``-1`` open and negative, ``0`` closed.
        Coronal holes are the open regions. Header: ``rss``, ``nrho``, ``openfrac`` (open
        fraction of the surface), ``nrunout`` (field lines that
        reached the step limit; -1 with your own tracer).

    Raises
    ------
    InputMapError
        ``pfss_output`` is not a sunkit-magex Output.
    ValueError
        Bad ``shape`` or ``seed_radius``.

    See Also
    --------
    sunpy_dlmag.pfss_extrapolate
        its input.
    sunpy_dlmag.coronal_hole_overlap
        compare it with EUV coronal holes.

    References
    ----------
    .. [1] Jeong, H.-J., Moon, Y.-J., Park, E., Lee, H. 2020, ApJL 903, L25: solar coronal magnetic field
       extrapolation from synchronic data with AI-generated farside.
    .. [2] Stansby, D., Yeates, A., Badman, S. T. 2020, JOSS 5, 2732: pfsspy, a Python package for potential field
       source surface modelling (now sunkit-magex).

    Examples
    --------
    >>> import numpy as np
    >>> import sunpy_dlmag
    >>> from sunpy_dlmag.data.sample import GONG_SYNOPTIC
    >>> from sunpy_dlmag.io import read_gong_synoptic
    >>> output = sunpy_dlmag.pfss_extrapolate(read_gong_synoptic(GONG_SYNOPTIC), nrho=10, shape=(60, 120))
    >>> open_map = sunpy_dlmag.open_field_map(output, shape=(12, 24), progress=False)
    >>> open_map.data.shape, sorted(np.unique(open_map.data).tolist())
    ((12, 24), [-1, 0, 1])
    """
    _check_output(pfss_output)
    _check_tracer(tracer)
    progress = checks.check_bool(progress, "progress")
    shape = checks.check_shape(shape, minimum=2)
    seed_radius = checks.check_quantity(seed_radius, u.R_sun, "seed_radius")
    rss = pfss_output.grid.rss
    if not 1 <= seed_radius.to_value(u.R_sun) < rss:
        raise InvalidArgumentError(f"seed_radius must lie between 1 and rss = {rss} solar radii, got {seed_radius}.")
    frame = pfss_output.coordinate_frame
    header = _grid_header(pfss_output.dtime, frame, tuple(shape), _heliographic_frame_name(frame))
    ys, xs = np.indices(shape)
    grid = WCS(header).pixel_to_world(xs.ravel(), ys.ravel())
    seeds = SkyCoord(grid.lon, grid.lat, np.full(grid.lon.shape, seed_radius.to_value(u.m)) * u.m, frame=frame)
    field_lines, ran_out = _trace(pfss_output, seeds, tracer, progress)
    codes = field_lines.polarities.reshape(shape).astype(np.int8)

    meta = derived_meta(
        header,
        product="pfss-open-field",
        measurement="open-field polarity",
        ai_generated=is_ai_generated(pfss_output.input_map),
        bunit="",
        instrument="PFSS open field",
        inputs=checks.describe_map(pfss_output.input_map),
        history=f"field lines traced from {seed_radius.to_value(u.R_sun):g} R_sun through a PFSS "
        f"solution (rss {rss:g} R_sun, {pfss_output.grid.nr} radial cells, "
        f"input {checks.describe_map(pfss_output.input_map)}); "
        "+1/-1 open with positive/negative footpoint polarity, 0 closed",
    )
    meta["rss"] = float(rss)
    meta["nrho"] = int(pfss_output.grid.nr)
    meta["openfrac"] = float(np.mean(codes != 0))
    meta["nrunout"] = ran_out
    open_map = sunpy.map.Map(codes, meta)
    return open_map


def _check_open_map(open_map):
    checks.is_map(open_map, error=True, name="open-field map (from open_field_map)")
    checks.is_full_sun_cea(open_map, error=True, name="open-field map (from open_field_map)")
    values = np.unique(open_map.data)
    if not set(values.tolist()) <= {-1, 0, 1}:
        raise InputMapError(f"An open-field map holds only -1, 0 and +1; got values {values[:6].tolist()}.")
    return np.asarray(open_map.data)


def open_field_area(open_map, *, polarity=None):
    """
    Area of the open-field regions of an `open_field_map` on the solar surface.

    Parameters
    ----------
    open_map : `~sunpy.map.GenericMap`
    polarity : {None, 1, -1}
        Count only open regions of that polarity; `None`: both.

    Returns
    -------
    `~astropy.units.Quantity`
        Area in km^2: `open_field_fraction` times the solar surface, ``4 pi R_sun^2``.

    Raises
    ------
    InputMapError
        Not an open-field map.
    ValueError
        Bad ``polarity``.
    """
    surface = 4 * np.pi * sunpy.sun.constants.radius**2
    return (surface * open_field_fraction(open_map, polarity=polarity)).to(u.km**2)


def open_field_fraction(open_map, *, polarity=None):
    """
    Fraction of the solar surface covered by the open-field regions of an `open_field_map`.

    Parameters
    ----------
    open_map : `~sunpy.map.GenericMap`
    polarity : {None, 1, -1}
        Count only open regions of that polarity; `None`: both.

    Returns
    -------
    float
        Between 0 and 1 (on a CEA grid every pixel has the same area, so it is the fraction of
        open pixels).

    Raises
    ------
    InputMapError
        Not an open-field map.
    ValueError
        Bad ``polarity``.
    """
    codes = _check_open_map(open_map)
    checks.check_choice(polarity, (None, 1, -1), "polarity")
    selected = codes != 0 if polarity is None else codes == polarity
    return float(selected.mean())


def source_surface_pil(pfss_output):
    """
    Polarity inversion lines (``B_r = 0``) on the source surface of a PFSS solution.

    Parameters
    ----------
    pfss_output : `sunkit_magex.pfss.Output`

    Returns
    -------
    list of `~astropy.coordinates.SkyCoord`
        One contour per line, in the frame of the PFSS input (longest first). The
        source-surface field itself is ``pfss_output.source_surface_br``.
    """
    _check_output(pfss_output)
    return sorted(pfss_output.source_surface_pils, key=len, reverse=True)


# --------------------------------------------------------------------------- EUV comparison
def _euv_on_grid(euv_map, meta, shape, min_mu, intensities=True):
    """EUV data on the open map's grid (at the EUV map's own time), NaN where not usable."""
    checks.is_euv_map(euv_map, error=True, name="euv_map")
    checks.has_date(euv_map, error=True, name="euv_map")
    if euv_map.coordinate_system.axis1.startswith("HPLN"):  # before the frame, which warns without an observer
        checks.check_observer(euv_map)  # sunpy would put a STEREO image without one at Earth
    frame = euv_map.coordinate_frame
    if not isinstance(frame, BaseHeliographic | Helioprojective):
        raise InputMapError(
            f"Expected an EUV synoptic (heliographic) or full-disk (helioprojective) map, got {type(frame).__name__}."
        )
    # The open map's grid at the EUV map's time: the same Carrington coordinates, no rotation.
    meta = copy.deepcopy(meta)
    for key in ("date-obs", "date_obs", "date-avg", "date-beg", "date-end", "mjd-obs", "t_obs"):
        meta.pop(key, None)
    meta["date-obs"] = euv_map.reference_date.utc.isot
    meta.update(get_observer_meta(get_earth(euv_map.reference_date), euv_map.rsun_meters))
    target = sunpy.map.Map(np.zeros(shape, dtype=np.int8), meta).wcs
    data = checks.euv_data(euv_map, name="euv_map", dtype=np.float64, intensities=intensities)
    source = (
        geometry.wrapped_in_longitude(euv_map, data) if isinstance(frame, BaseHeliographic) else (data, euv_map.wcs)
    )
    values, _ = reproject_interp(source, target, shape_out=shape)
    if isinstance(frame, Helioprojective):
        ys, xs = np.indices(shape)
        points = disk.surface_points(target.pixel_to_world(xs, ys).make_3d(), frame.obstime)
        mu = disk.mu_towards(points, euv_map.observer_coordinate)
        values[~(mu >= min_mu)] = np.nan
    return values


def coronal_hole_overlap(open_map, euv_map, *, threshold=0.5, scale="linear", min_mu=0.3, max_latitude=None):
    """
    How well the open-field regions of a PFSS model match dark regions (coronal holes) in EUV.

    The EUV map is reprojected onto the grid of ``open_map`` (at its own time: a synoptic map
    keeps its Carrington coordinates). Dark pixels are those below ``threshold`` times the
    median of the usable pixels. Scores count pixels (equal areas on the CEA grid) where the
    EUV map is usable (finite; positive for linear data; ``mu >= min_mu`` for a disk image;
    ``|latitude| <= max_latitude`` if given).

    Parameters
    ----------
    open_map : `~sunpy.map.GenericMap`
        From `open_field_map`.
    euv_map : `~sunpy.map.GenericMap`
        EUV synoptic map (heliographic, CAR or CEA) or full-disk image (helioprojective), e.g.
        AIA 193 / EUVI 195.
    threshold : float
        Dark means below ``threshold x median`` (a fraction, for ``scale="linear"``).
    scale : {"linear", "log10"}
        ``"log10"`` for maps that hold ``log10`` of the intensity: dark means below
        ``median + log10(threshold)``.
    min_mu : float
        For disk images: the smallest cosine of the heliocentric angle used.
    max_latitude : `~astropy.units.Quantity`, optional
        Leave out higher latitudes (EUV synoptic maps see the poles badly).

    Returns
    -------
    dict
        ``dice`` = ``2 |O & D| / (|O| + |D|)``, ``jaccard`` = ``|O & D| / |O or D|`` (O open, D dark), ``precision``
        (fraction of the open area that is dark), ``recall`` (fraction of the dark area that
        is open), ``open_fraction`` and ``dark_fraction`` (of the usable area),
        ``valid_fraction`` (usable fraction of the surface), all floats; ``dark``: a map on the
        grid of ``open_map`` (1 dark, 0 not dark, NaN not usable).

    Raises
    ------
    InputMapError
        Not an open-field map; an EUV map that is neither heliographic nor helioprojective,
        or with no usable pixel; a disk image without its observer's position
        (`~sunpy_dlmag.exceptions.MissingObserverError`); a frame of one value or (linear
        scale) mostly negative (`~sunpy_dlmag.exceptions.ImplausibleValueError`).
    ValueError
        Bad ``threshold``, ``scale``, ``min_mu`` or ``max_latitude``.

    See Also
    --------
    sunpy_dlmag.open_field_map
        its first input.
    sunpy_dlmag.pfss_extrapolate
        the model it tests.

    References
    ----------
    .. [1] Jeong, H.-J., Moon, Y.-J., Park, E., Lee, H. 2020, ApJL 903, L25: solar coronal magnetic field
       extrapolation from synchronic data with AI-generated farside.

    Examples
    --------
    >>> import sunpy.map
    >>> import sunpy_dlmag
    >>> from sunpy_dlmag.data.sample import AIA_171, GONG_SYNOPTIC
    >>> from sunpy_dlmag.io import read_gong_synoptic
    >>> output = sunpy_dlmag.pfss_extrapolate(read_gong_synoptic(GONG_SYNOPTIC), nrho=10, shape=(60, 120))
    >>> open_map = sunpy_dlmag.open_field_map(output, shape=(12, 24), progress=False)
    >>> aia = sunpy.map.Map(AIA_171)  # doctest: +IGNORE_WARNINGS
    >>> scores = sunpy_dlmag.coronal_hole_overlap(open_map, aia)
    >>> sorted(k for k in scores if k != "dark")
    ['dark_fraction', 'dice', 'jaccard', 'open_fraction', 'precision', 'recall', 'valid_fraction']
    """
    codes = _check_open_map(open_map)
    checks.check_choice(scale, ("linear", "log10"), "scale")
    threshold = checks.check_number(
        threshold, "threshold (a fraction of the median)", minimum=0, inclusive=(False, True)
    )
    min_mu = checks.check_number(min_mu, "min_mu", minimum=0, maximum=1, inclusive=(True, False))
    if max_latitude is not None:
        max_latitude = checks.check_quantity(max_latitude, u.deg, "max_latitude", positive=True)
    shape = codes.shape
    header = dict(open_map.meta)
    values = _euv_on_grid(euv_map, open_map.meta, shape, min_mu, intensities=scale == "linear")
    usable = np.isfinite(values)
    if scale == "linear":
        usable &= values > 0
    if max_latitude is not None:
        ys, xs = np.indices(shape)
        lat = open_map.wcs.pixel_to_world(xs, ys).lat
        usable &= np.abs(lat) <= max_latitude
    if not usable.any():
        raise InputMapError("The EUV map has no usable pixel on the open-field map's grid.")
    median = np.median(values[usable])
    limit = threshold * median if scale == "linear" else median + np.log10(threshold)
    dark = usable & (values < limit)
    opened = usable & (codes != 0)
    both = np.sum(dark & opened)
    n_dark, n_open = int(dark.sum()), int(opened.sum())
    union = np.sum(dark | opened)
    dark_data = np.where(usable, dark.astype(np.float32), np.nan)
    meta = derived_meta(
        {key: value for key, value in header.items() if key not in ("rss", "nrho", "openfrac", "nrunout", "history")},
        product="euv-dark-regions",
        measurement="EUV dark region",
        ai_generated=False,
        bunit="",
        instrument="EUV dark regions",
        inputs=checks.describe_map(euv_map),
        history=f"EUV below {threshold} x median ({scale}) of {checks.describe_map(euv_map)}",
    )
    return {
        "dice": float(2 * both / (n_dark + n_open)) if n_dark + n_open else float("nan"),
        "jaccard": float(both / union) if union else float("nan"),
        "precision": float(both / n_open) if n_open else float("nan"),
        "recall": float(both / n_dark) if n_dark else float("nan"),
        "open_fraction": float(n_open / usable.sum()),
        "dark_fraction": float(n_dark / usable.sum()),
        "valid_fraction": float(usable.mean()),
        "dark": sunpy.map.Map(dark_data, meta),
    }
