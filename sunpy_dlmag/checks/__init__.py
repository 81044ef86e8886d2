"""
What the package's functions check of their inputs: map predicates and argument validators.

Predicates follow sunkit-magex's ``is_cea_map(m, error=False)``: they return a bool, or with
``error=True`` raise a specific `~sunpy_dlmag.exceptions.DlmagError` subclass whose message
names what was expected and what was given. Validators return the cleaned value or raise.
Instruments are recognised by sunpy's map classes (`~sunpy.map.sources.HMIMap`,
`~sunpy.map.sources.AIAMap`, `~sunpy.map.sources.EUVIMap`, ...), not by searching strings.
"""

import numbers
import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.time import Time

import sunpy.map
from sunpy.coordinates import Helioprojective
from sunpy.coordinates.frames import BaseHeliographic
from sunpy.map import sources

from sunpy_dlmag.checks.arguments import (
    check_bool,
    check_choice,
    check_date,
    check_int,
    check_number,
    check_quantity,
    check_shape,
    quantity_input,
)
from sunpy_dlmag.exceptions import (
    ArgumentTypeError,
    AssumedUnitWarning,
    DlmagUserWarning,
    ImplausibleValueError,
    InputMapError,
    InvalidArgumentError,
    MissingDateError,
    MissingObserverError,
    NonFiniteDataError,
    UnitError,
)

__all__ = [
    "BAD_VALUES",
    "FIELD_LIMITS",
    "check_bad_values",
    "check_bool",
    "check_choice",
    "check_date",
    "check_int",
    "check_magnetogram",
    "check_number",
    "check_observer",
    "check_observer_coordinate",
    "check_quantity",
    "check_shape",
    "date_as_written",
    "describe_map",
    "euv_data",
    "euv_instrument",
    "field_data",
    "fill_values",
    "finite_data",
    "has_date",
    "is_disk_image",
    "is_euv_map",
    "is_euv_observation",
    "is_full_sun_cea",
    "is_full_sun_heliographic",
    "is_magnetogram",
    "is_map",
    "map_data",
    "map_or_array",
    "map_unit",
    "plausible_field",
    "quantity_input",
    "wavelength_aa",
]

# Largest magnitude kept: beyond it float32 overflows (and any field or intensity is absurd).
_FLOAT32_MAX = float(np.finfo(np.float32).max)
# Elements checked at once by `finite_data`.
_CHUNK = 1 << 20

#: Map classes of magnetographs and of the global magnetic maps built from them (all in G).
MAGNETOGRAM_CLASSES = (sources.HMIMap, sources.MDIMap, sources.GONGSynopticMap, sources.ADAPTMap)
#: Map classes of EUV imagers.
EUV_CLASSES = (sources.AIAMap, sources.EUVIMap, sources.EITMap, sources.SWAPMap, sources.TRACEMap, sources.SUVIMap)
#: EUV passbands span about 50 .. 1700 Angstrom (soft X-rays below, UV above are other imagers).
_EUV_RANGE_AA = (50, 1700)

#: Largest ``|B|`` (G) the Sun produces in each product; beyond it a value is a fill value or an
#: error. Full-disk and cutout magnetograms: the strongest umbrae reach 4-6 kG (the HMI 720-s
#: full-disk samples here peak at 4.9 kG, MDI at 3.0 kG). Global maps (synoptic, synchronic,
#: ADAPT) average over a degree or more of the surface (the ADAPT maps here peak at 1.3 kG).
FIELD_LIMITS = {"magnetogram": 10_000 * u.G, "global": 5_000 * u.G}
_PRODUCTS = {"magnetogram": "a magnetogram", "global": "a global (synoptic, synchronic or ADAPT) map"}
#: What to do with implausible values: refuse the data, or set them to NaN with a warning.
BAD_VALUES = ("raise", "mask")
# Header keys that declare a fill value: FITS BLANK (integer images; sunpy does not apply it),
# MISSING (ADAPT), MISSVAL and FILLVAL (other archives). HMI's MISSVALS is a count, not a value.
_FILL_KEYS = ("blank", "missing", "missval", "fillval")
# Pixels listed in a refusal.
_LISTED = 3


def _fail(error, exception, message):
    if error:
        raise exception(message)
    return False


def describe_map(smap, *, wavelength=True, date=True):
    """
    What ``smap`` is, for messages and for ``DLINPUT``: observatory, instrument, detector, and
    (optionally) wavelength and time, e.g. ``"SOHO MDI 6768 Angstrom 2010-10-15T00:00:26.000"``;
    ``"unknown instrument"`` where the header names none. The time is DATE-OBS as written where
    that is the map's time (``12.20`` stays ``12.20``).
    """
    parts = []
    for part in (smap.observatory, smap.instrument, smap.detector):
        text = str(part).strip() if part is not None else ""
        if text and text not in parts:
            parts.append(text)
    if not parts:
        parts.append("unknown instrument")
    angstrom = wavelength_aa(smap) if wavelength else None
    if angstrom is not None:
        parts.append(f"{angstrom:g} Angstrom")
    if date:
        parts.append(date_as_written(smap))
    return " ".join(parts)


def date_as_written(smap):
    """``smap.date`` in ISO format, as DATE-OBS writes it where that is the same time (``12.20`` stays ``12.20``)."""
    written = str(smap.meta.get("date-obs", "")).strip()
    try:
        same = written and abs((Time(written.rstrip("Z"), scale="utc") - smap.date).to_value(u.s)) < 1e-6
    except ValueError:
        same = False
    if same and "T" in written:
        return written.rstrip("Z")
    return smap.date.utc.isot


def _describe(smap):
    return f"{describe_map(smap, wavelength=False, date=False)} map"


# --------------------------------------------------------------------------- data
def finite_data(data, name="data", *, dtype=np.float32, allow_all_nan=False, fill=()):
    """
    A new float array of ``data``: masked pixels (numpy masked arrays) and the values in
    ``fill`` (the fill values a header declares, `fill_values`) become NaN; infinite values and
    magnitudes beyond float32's range are refused; NaN stays (missing data).

    Raises
    ------
    NonFiniteDataError
        An infinite or too large value, or (unless ``allow_all_nan``) no finite value.
    InputMapError
        Not numeric data.
    """
    mask = np.ma.getmaskarray(data) if np.ma.isMaskedArray(data) else None
    raw = np.ma.getdata(data)
    raw = np.asarray(raw)
    if not (np.issubdtype(raw.dtype, np.number) or raw.dtype == bool) or np.iscomplexobj(raw):
        raise InputMapError(f"{name} must hold real numbers, got dtype {raw.dtype}.")
    fill = _in_dtype(fill, raw.dtype)
    if fill.size:
        filled = np.isin(raw, fill)
        if filled.any():
            mask = filled if mask is None else mask | filled
    # Checked a chunk at a time: a float64 copy of a 4096-px image would cost 134 MB.
    count, first = 0, None
    if np.issubdtype(raw.dtype, np.floating):  # integers always fit in float32's range
        flat = raw.reshape(-1)
        flat_mask = None if mask is None else mask.reshape(-1)
        for start in range(0, flat.size, _CHUNK):
            chunk = flat[start : start + _CHUNK]
            bad = np.isinf(chunk) | (np.abs(chunk) > _FLOAT32_MAX)
            if flat_mask is not None:
                bad &= ~flat_mask[start : start + _CHUNK]
            n = int(np.count_nonzero(bad))
            if n and first is None:
                first = start + int(np.flatnonzero(bad)[0])
            count += n
    if count:
        where = tuple(int(i) for i in np.unravel_index(first, raw.shape))
        raise NonFiniteDataError(
            f"{name} holds {count} infinite or out-of-range value(s) (first at index {where}: "
            f"{np.float64(raw[where])!r}); expected finite values (NaN marks missing data), at most "
            f"{_FLOAT32_MAX:.3g} in magnitude."
        )
    with np.errstate(invalid="ignore", over="ignore"):  # masked values beyond float32's range
        out = raw.astype(dtype)
    if mask is not None:
        out[mask] = np.nan
    if not allow_all_nan and not np.isfinite(out).any():
        raise NonFiniteDataError(f"{name} has no finite pixel (all NaN or masked).")
    return out


def map_data(smap):
    """The map's data with its mask (``smap.mask``) applied: masked pixels NaN."""
    if smap.mask is None or not np.any(smap.mask):
        return smap.data
    return np.ma.MaskedArray(smap.data, mask=np.broadcast_to(smap.mask, smap.data.shape))


def _in_dtype(values, dtype):
    """The fill ``values`` that ``dtype`` can hold, in that dtype (a float64 1e30 is compared as float32)."""
    kept = []
    for value in values:
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            if float(value).is_integer() and info.min <= value <= info.max:
                kept.append(int(value))
        elif np.issubdtype(dtype, np.floating) and abs(value) <= np.finfo(dtype).max:
            kept.append(value)
    return np.asarray(kept, dtype=dtype)


def fill_values(meta):
    """
    The fill values a header declares (``BLANK``, ``MISSING``, ``MISSVAL``, ``FILLVAL``), as floats.

    sunpy applies none of them; pixels holding one are missing data (NaN) for this package.
    """
    values = []
    for key in _FILL_KEYS:
        value = meta.get(key)
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value):
            values.append(float(value))
    return tuple(values)


def check_bad_values(bad_values):
    """``bad_values`` if it is one of `BAD_VALUES` (``"raise"`` or ``"mask"``)."""
    return check_choice(bad_values, BAD_VALUES, "bad_values")


def _listed(flat_indices, shape):
    return ", ".join(str(tuple(int(i) for i in np.unravel_index(k, shape))) for k in flat_indices[:_LISTED])


def plausible_field(data, *, product="magnetogram", name="magnetogram", bad_values="raise", unit=u.G):
    """
    ``data`` (field values in ``unit``) checked against what the Sun produces in ``product``.

    Values with ``|B|`` above ``FIELD_LIMITS[product]`` (10 kG for a magnetogram, 5 kG for a
    global map: synoptic, synchronic, ADAPT) are fill values or errors: they are refused, or
    with ``bad_values="mask"`` set to NaN in a new array, with a warning.

    Parameters
    ----------
    data : `numpy.ndarray`
        Float values (NaN where missing); not modified.
    product : {"magnetogram", "global"}
    name : str
        What the data are called in messages.
    bad_values : {"raise", "mask"}
    unit : `~astropy.units.Unit`
        Of ``data``.

    Raises
    ------
    ImplausibleValueError
        With ``bad_values="raise"``, any value beyond the limit; the message gives their number
        and the (row, column) of the first few.
    """
    bad_values = check_bad_values(bad_values)
    limit = FIELD_LIMITS[check_choice(product, tuple(FIELD_LIMITS), "product")].to_value(unit)
    with np.errstate(invalid="ignore"):
        beyond = np.flatnonzero((data > limit) | (data < -limit))
    if not beyond.size:
        return data
    where = _listed(beyond, data.shape)
    text = (
        f"{name} holds {beyond.size} value(s) beyond +-{limit:g} {unit}, more than the Sun produces in "
        f"{_PRODUCTS[product]} (pixels (row, column) {where}{', ...' if beyond.size > _LISTED else ''}; "
        f"largest |value| {np.nanmax(np.abs(data.reshape(-1)[beyond])):.3g})"
    )
    if bad_values == "raise":
        raise ImplausibleValueError(
            f"{text}. Undeclared fill values? Declare them in the header (e.g. meta['missing'] = value) or pass "
            "bad_values='mask' to set them to NaN."
        )
    warnings.warn(f"{text}; set to NaN (bad_values='mask').", DlmagUserWarning, stacklevel=3)
    out = data.copy()
    out.reshape(-1)[beyond] = np.nan
    return out


def euv_data(smap, *, name="EUV map", dtype=np.float32, intensities=True):
    """
    The data of an EUV map as a new float array (masked pixels and declared fill values NaN),
    refusing frames that cannot be an EUV observation.

    ``intensities=False`` for maps of ``log10`` intensities, where negative values are normal.

    Raises
    ------
    ImplausibleValueError
        All finite pixels equal (e.g. an all-zero frame), or (for intensities) more than half
        of them negative.
    NonFiniteDataError
        Infinite values, or no finite pixel.
    """
    is_map(smap, error=True, name=name)
    data = finite_data(map_data(smap), f"The {name}'s data", dtype=dtype, fill=fill_values(smap.meta))
    finite = data[np.isfinite(data)]
    low, high = float(finite.min()), float(finite.max())
    if low == high:
        raise ImplausibleValueError(
            f"The {name} ({_describe(smap)}) holds one value ({low:g}) in all {finite.size} finite pixels; "
            "expected an EUV image (an empty or unread frame?)."
        )
    negative = float(np.mean(finite < 0))
    if intensities and negative > 0.5:
        raise ImplausibleValueError(
            f"{negative:.0%} of the {name}'s finite pixels ({_describe(smap)}) are negative; expected EUV "
            "intensities, which are positive on the disk (wrong sign, or a difference image?)."
        )
    return data


# --------------------------------------------------------------------------- units
def map_unit(smap, *, name="map"):
    """
    The unit of a map's data (BUNIT), parsed more widely than sunpy does (``Mx/cm2``, ``Gauss``).

    Returns
    -------
    `~astropy.units.UnitBase` or None
        `None` when there is no BUNIT.

    Raises
    ------
    UnitError
        A BUNIT no parser can read; the message quotes it as written.
    """
    raw = smap.meta.get("bunit")
    if raw is None or not str(raw).strip():
        return None
    text = str(raw).strip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unit = smap.unit
    if unit is not None and not isinstance(unit, u.UnrecognizedUnit):
        return unit
    for candidate in (text, text.replace("^", "").replace("**", ""), {"gauss": "G"}.get(text.lower(), text)):
        for fmt in ("fits", "generic", "cds"):
            try:
                unit = u.Unit(candidate, format=fmt)
            except ValueError:
                continue
            if not isinstance(unit, u.UnrecognizedUnit):
                return unit
    raise UnitError(f"The {name}'s unit BUNIT = {text!r} cannot be parsed as a unit; set meta['bunit'], e.g. to 'G'.")


def _known_gauss_source(smap):
    """A name for maps whose source is known to give the field in G, else None."""
    if isinstance(smap, sources.ADAPTMap) or str(smap.meta.get("model", "")).strip() == "ADAPT":
        return "an ADAPT map"
    if isinstance(smap, sources.GONGSynopticMap) or "GONG" in type(smap).__name__:
        return "a GONG map"
    if isinstance(smap, sources.HMISynopticMap | sources.MDISynopticMap):
        return f"an {smap.instrument} synoptic map"
    return None


def field_data(
    smap, *, name="magnetogram", assume_gauss=False, dtype=np.float32, product="magnetogram", bad_values="raise"
):
    """
    Field values (G, ``dtype``, NaN where missing or masked) of a map in units of magnetic field.

    Fill values its header declares (`fill_values`) become NaN; values beyond what the Sun
    produces in ``product`` (`plausible_field`: 10 kG for a magnetogram, 5 kG for a global map)
    are refused, or set to NaN with ``bad_values="mask"``.

    Parameters
    ----------
    smap : `~sunpy.map.GenericMap`
    name : str
        What the map is called in messages.
    assume_gauss : bool
        For global radial-field maps: a map without BUNIT whose source is known to be in G
        (ADAPT, GONG, HMI/MDI synoptic), or any full-Sun heliographic map without BUNIT (what
        ``sunkit_magex.pfss.utils.car_to_cea`` returns), is taken as G with an
        `~sunpy_dlmag.exceptions.AssumedUnitWarning`, as sunkit-magex itself does.
    product : {"magnetogram", "global"}
        Which limit of `FIELD_LIMITS` applies.
    bad_values : {"raise", "mask"}
        Values beyond the limit: refused, or set to NaN with a warning.

    Raises
    ------
    UnitError
        No or an unparsable BUNIT, or one that is not a magnetic field.
    NonFiniteDataError
        Infinite values, or no finite pixel.
    ImplausibleValueError
        Values beyond the product's limit (with ``bad_values="raise"``).
    InputMapError
        A map that sunpy identifies as EUV (an EUV imager's map class, or WAVELNTH in the EUV).
    """
    is_map(smap, error=True, name=name)
    check_bad_values(bad_values)
    if is_euv_observation(smap):
        raise InputMapError(
            f"Expected a {name} of the magnetic field; got an EUV map ({_describe(smap)}, {type(smap).__name__}, "
            f"wavelength {smap.meta.get('wavelnth')} {smap.meta.get('waveunit') or ''}): EUV intensities are not "
            "a field, whatever the header's BUNIT says."
        )
    unit = map_unit(smap, name=name)
    if unit is None:
        source = _known_gauss_source(smap)
        if assume_gauss and (source or is_full_sun_heliographic(smap)):
            warnings.warn(
                f"The {name} ({source or _describe(smap)}) has no BUNIT; its values are taken to be in G"
                + (", the unit of its source" if source else ", as sunkit-magex does")
                + ". Set meta['bunit'] = 'G' to say so.",
                AssumedUnitWarning,
                stacklevel=3,
            )
            unit = u.G
        else:
            raise UnitError(
                f"Expected a {name} with data in G (or Mx/cm^2); the {_describe(smap)} has no unit (no BUNIT). "
                "If it is a magnetogram, set smap.meta['bunit'] = 'G'."
            )
    if not unit.is_equivalent(u.G):
        raise UnitError(
            f"Expected a {name} with data in G (or Mx/cm^2); the {_describe(smap)} has data in "
            f"{smap.meta.get('bunit')!r} ({unit})."
        )
    data = finite_data(map_data(smap), f"The {name}'s data", dtype=dtype, fill=fill_values(smap.meta))
    factor = unit.to(u.G)
    data = data if factor == 1 else data * data.dtype.type(factor)
    return plausible_field(data, product=product, name=f"The {name}'s data", bad_values=bad_values)


# --------------------------------------------------------------------------- map predicates
def is_map(obj, *, error=False, name="map"):
    """Whether ``obj`` is a single 2D sunpy map."""
    if not isinstance(obj, sunpy.map.GenericMap):
        return _fail(error, InputMapError, f"Expected the {name} as a sunpy map, got {type(obj).__name__}.")
    if obj.data.ndim != 2:
        return _fail(error, InputMapError, f"Expected a 2D {name}, got data of shape {obj.data.shape}.")
    return True


def has_date(smap, *, error=False, name="map"):
    """
    Whether the map's header gives its observation time.

    Without one sunpy uses the current time, which would move the observer and rotate the Sun.
    """
    is_map(smap, error=True, name=name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        smap.date  # noqa: B018 (sets _default_time when the header has no time)
    if getattr(smap, "_default_time", None) is None:
        return True
    return _fail(
        error,
        MissingDateError,
        f"The {name} ({_describe(smap)}) has no observation time: expected DATE-OBS (or DATE-BEG, DATE-AVG, "
        "T_OBS) in its header. Set it, e.g. smap.meta['date-obs'] = '2011-02-15T00:00:00'.",
    )


def euv_instrument(smap):
    """``"EUVI"`` or ``"AIA"`` for maps of those instruments (sunpy's map classes), else `None`."""
    if isinstance(smap, sources.EUVIMap):
        return "EUVI"
    if isinstance(smap, sources.AIAMap):
        return "AIA"
    return None


def wavelength_aa(smap):
    """The wavelength of ``smap`` in Angstrom (float), or `None` where its header gives none usable."""
    try:
        wavelength = smap.wavelength
    except (ValueError, TypeError):
        return None
    if wavelength is None:
        return None
    try:
        return float(wavelength.to_value(u.AA, equivalencies=u.spectral()))
    except u.UnitConversionError:
        return None


def is_euv_observation(smap):
    """Whether sunpy identifies ``smap`` as EUV: by its map class, else by a WAVELNTH (with its unit) in the EUV."""
    if isinstance(smap, EUV_CLASSES + MAGNETOGRAM_CLASSES):
        return isinstance(smap, EUV_CLASSES)
    wavelength = wavelength_aa(smap)
    return wavelength is not None and _EUV_RANGE_AA[0] <= wavelength <= _EUV_RANGE_AA[1]


def _magnetic_unit(smap):
    try:
        unit = map_unit(smap)
    except UnitError:
        return False
    return unit is not None and unit.is_equivalent(u.G)


def is_magnetogram(smap, *, error=False, name="magnetogram"):
    """
    Whether ``smap`` is a magnetogram: data in units of magnetic field and not an image of an
    EUV imager (an AIA map whose BUNIT says G is refused).
    """
    is_map(smap, error=True, name=name)
    if isinstance(smap, EUV_CLASSES):
        return _fail(
            error,
            InputMapError,
            f"Expected a {name} with data in G (or Mx/cm^2); got an image of the EUV imager "
            f"{smap.detector or smap.instrument} ({type(smap).__name__}) with unit {smap.meta.get('bunit')}: an EUV "
            "image is not a magnetogram, whatever its BUNIT says.",
        )
    if _magnetic_unit(smap) or (smap.meta.get("bunit") is None and _known_gauss_source(smap)):
        return True
    if error:
        field_data(smap, name=name)  # raises the unit error that says what is wrong
    return False


def is_euv_map(smap, *, error=False, name="EUV map"):
    """
    Whether ``smap`` can be an EUV image or EUV synoptic map: an EUV imager's map (AIA, EUVI,
    EIT, SWAP, TRACE, SUVI), or any map that is neither a magnetogram nor at a wavelength
    outside the EUV.
    """
    is_map(smap, error=True, name=name)
    if isinstance(smap, EUV_CLASSES):
        return True
    if isinstance(smap, MAGNETOGRAM_CLASSES) or _magnetic_unit(smap):
        return _fail(
            error,
            InputMapError,
            f"Expected an {name} (intensities); got a magnetogram ({_describe(smap)}, unit "
            f"{smap.meta.get('bunit')!r}).",
        )
    wavelength = wavelength_aa(smap)
    if wavelength is not None and not _EUV_RANGE_AA[0] <= wavelength <= _EUV_RANGE_AA[1]:
        return _fail(
            error,
            InputMapError,
            f"Expected an {name}; got a {_describe(smap)} at {wavelength:g} Angstrom, outside the EUV "
            f"({_EUV_RANGE_AA[0]}-{_EUV_RANGE_AA[1]} Angstrom).",
        )
    return True


def _longitude_span(smap):
    return abs((smap.data.shape[1] * u.pix * smap.scale.axis1).to_value(u.deg))


def is_full_sun_heliographic(smap, *, error=False, name="map"):
    """Whether ``smap`` is a heliographic (Carrington or Stonyhurst) map spanning 360 degrees of longitude."""
    is_map(smap, error=True, name=name)
    if not isinstance(smap.coordinate_frame, BaseHeliographic):
        return _fail(
            error,
            InputMapError,
            f"Expected a full-Sun heliographic {name} (Carrington or Stonyhurst; a synoptic, synchronic or "
            f"ADAPT map); got a map in {type(smap.coordinate_frame).__name__} ({smap.coordinate_system.axis1}).",
        )
    if not np.allclose(smap.rotation_matrix, np.eye(2), atol=1e-6):
        # sunkit-magex and the readers index pixels by longitude and latitude: a rotation would be ignored.
        return _fail(
            error,
            InputMapError,
            f"Expected a {name} whose axes are longitude and latitude; its header rotates them (CROTA2 = "
            f"{smap.meta.get('crota2')}, rotation matrix {smap.rotation_matrix.round(4).tolist()}). Remove the "
            "rotation from the header if the data are not rotated.",
        )
    span = _longitude_span(smap)
    if abs(span - 360) > 1:
        return _fail(
            error,
            InputMapError,
            f"Expected a {name} of the whole Sun (360 degrees of longitude), got {span:.1f} degrees.",
        )
    return True


def is_full_sun_cea(smap, *, error=False, name="map"):
    """Whether ``smap`` is a full-Sun heliographic cylindrical-equal-area map, as the PFSS solver needs."""
    from sunkit_magex.pfss.utils import is_cea_map, is_full_sun_synoptic_map

    if not is_full_sun_heliographic(smap, error=error, name=name):
        return False
    if not is_cea_map(smap):
        return _fail(
            error,
            InputMapError,
            f"Expected a cylindrical-equal-area (CEA) {name}, got projection {smap.coordinate_system.axis1}; "
            "convert a plate carree (CAR) map with sunkit_magex.pfss.utils.car_to_cea.",
        )
    if not is_full_sun_synoptic_map(smap):
        return _fail(
            error,
            InputMapError,
            f"Expected a {name} of the whole Sun (360 degrees of longitude, pole to pole); got "
            f"{smap.data.shape[1]}x{smap.data.shape[0]} pixels spanning {_longitude_span(smap):.1f} degrees of "
            "longitude.",
        )
    return True


def is_disk_image(smap, *, error=False, name="map", hint=""):
    """
    Whether ``smap`` is an image seen by an observer (helioprojective coordinates); ``hint`` ends
    the message of the error (what to do instead).
    """
    is_map(smap, error=True, name=name)
    if not isinstance(smap.coordinate_frame, Helioprojective):
        return _fail(
            error,
            InputMapError,
            f"Expected a {name} in helioprojective coordinates (an image as observed); got a map in "
            f"{type(smap.coordinate_frame).__name__} ({smap.coordinate_system.axis1}).{' ' + hint if hint else ''}",
        )
    return True


def check_magnetogram(magnetogram, *, bad_values="raise"):
    """
    Field values in G of a line-of-sight magnetogram map, after the checks every
    magnetogram function needs (`sunpy_dlmag.checks`): declared fill values NaN, and
    ``|B|`` above 10 kG refused or (``bad_values="mask"``) NaN (`field_data`).

    Raises
    ------
    InputMapError
        Not a map, or an EUV image.
    UnitError
        Data not in units of magnetic field (the message quotes BUNIT as written).
    NonFiniteDataError
        Infinite values, or no finite pixel; masked pixels become NaN.
    MissingDateError
        No observation time in the header.
    MissingObserverError
        No observer position in the header.
    ImplausibleValueError
        ``|B|`` above 10 kG with ``bad_values="raise"``.
    """
    is_magnetogram(magnetogram, error=True)
    has_date(magnetogram, error=True, name="magnetogram")
    check_observer(magnetogram)
    return field_data(magnetogram, bad_values=bad_values)


def map_or_array(value, name, *, magnetogram=False, dtype=np.float32):
    """
    The data of ``value``, a map or a 2D array, and the map (`None` for an array): the one check
    of functions that take either.

    A map is checked as a magnetogram (`check_magnetogram`) with ``magnetogram=True``, else as any
    map; an array must be 2D and numeric (`finite_data`: masked pixels NaN, infinities refused).

    Returns
    -------
    data : `numpy.ndarray`
        A new array of ``dtype``.
    smap : `~sunpy.map.GenericMap` or `None`

    Raises
    ------
    ArgumentTypeError
        Neither a map nor an array.
    InputMapError
        An array that is not 2D, or a map that fails its checks.
    """
    if isinstance(value, sunpy.map.GenericMap):
        if magnetogram:
            return check_magnetogram(value).astype(dtype, copy=False), value
        is_map(value, error=True, name=name)
        return finite_data(map_data(value), f"{name}'s data", dtype=dtype), value
    if not isinstance(value, np.ndarray | list | tuple):
        raise ArgumentTypeError(f"{name} must be a map or a 2D array, got {type(value).__name__}.")
    data = finite_data(value, name, dtype=dtype)
    if data.ndim != 2:
        raise InputMapError(f"Expected {name} as a map or a 2D array, got an array of shape {data.shape}.")
    return data, None


def check_observer(smap):
    """
    The observer of ``smap``, raising if its header does not say where the observer was.

    sunpy falls back to an observer at Earth when the keys are missing; for a STEREO
    image that would silently put the output on the wrong side of the Sun.

    Raises
    ------
    MissingObserverError
    """
    if not isinstance(smap, sunpy.map.GenericMap):
        raise InputMapError(f"Expected a sunpy map, got {type(smap).__name__}.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        observer = smap.observer_coordinate
    missing = [w for w in caught if "observer" in str(w.message).lower()]
    if observer is None or missing:
        raise MissingObserverError(
            f"The map ({smap.name}) has no observer position in its header: expected HGLN_OBS/HGLT_OBS/"
            "DSUN_OBS (or CRLN_OBS/CRLT_OBS, or HEEQ/HCI coordinates). Add them, e.g. with "
            "sunpy.coordinates.get_horizons_coord for the spacecraft, before using it."
        )
    return observer


def check_observer_coordinate(observer, name="observer"):
    """``observer`` if it is a `~astropy.coordinates.SkyCoord` of one position with an ``obstime``."""
    if not isinstance(observer, SkyCoord):
        raise ArgumentTypeError(f"{name} must be a SkyCoord, got {type(observer).__name__}.")
    if observer.obstime is None:
        raise InvalidArgumentError(f"{name} must have an obstime (the time of the view); got {observer}.")
    if not observer.isscalar:
        raise InvalidArgumentError(f"{name} must be one position, got {observer.shape} of them.")
    return observer
