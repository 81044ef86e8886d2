"""
STEREO/EUVI -> SDO/AIA intensity cross-calibration, and the checks every EUV input needs.

The farside networks were trained on SDO/AIA images; on the far side, STEREO/EUVI images
stand in for them (EUVI 304 -> AIA 304, 195 -> 193, 171 -> 171; SCIENCE.md section 1). The two
instruments record the same corona with different sensitivities, so EUVI intensities are first
scaled to what AIA would have recorded.

Method
======
1. **Exposure normalisation** (`normalize_exposure`): images in DN are divided by their
   exposure time (DN/s). EUVI level-0.5 images (``secchi_reduce`` output, the usual archive
   files, bias not subtracted: ``OFFSETCR = 0``) first have their ``BIASMEAN`` subtracted
   (scaled by ``(2**(IPSUM - 1))**2`` for on-board summed images), as ``secchi_prep`` does.
   Images already in DN/s are used as they are.
2. **On-disk intensity distributions** (`derive_calibration`): the pixels of each image on
   the solar disk with ``mu >= min_mu`` (mu: cosine of the heliocentric angle; 0.3 drops the
   blurred limb).
3. **Quantile matching**: the 5 %, 10 %, ..., 95 % quantiles of the two distributions are
   paired, and ``I_AIA = scale * I_EUVI ** exponent`` is fitted by least squares to their
   logarithms. By default ``exponent = 1``: a single scale factor, the geometric mean of the
   quantile ratios, which is robust when the two spacecraft see different hemispheres (the
   distributions then differ in their active-region tails). ``fit_exponent=True`` fits the
   power law as well; use it with many pairs, or pairs that see the same hemisphere.

The factors the package knows are in ``sunpy_dlmag/data/euvi_aia_calibration.ecsv``
(`calibration_table`), one row per (spacecraft, EUVI passband) with the date range and the
data they were derived from. Only STEREO-A 171 could be derived here (from the co-temporal
EUVI-A and AIA 171 images of 2011-02-15 that ship with the package); for the other rows the
table says ``not available``, and `get_calibration` raises
`~sunpy_dlmag.exceptions.CalibrationNotAvailableError` telling how to derive one from your own
co-temporal pair with `derive_calibration`.

Not corrected here: EUVI flat field and vignetting, and the degradation of both instruments
with time (AIA 304 lost most of its sensitivity over the mission): a factor derived on one date
applies near that date, and ``Calibration.check_date`` warns beyond a year from it.
"""

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import MaskedColumn, Table
from astropy.time import Time

import sunpy.map

from sunpy_dlmag import checks, disk
from sunpy_dlmag.exceptions import (
    CalibrationNotAvailableError,
    ChannelMismatchError,
    DlmagUserWarning,
    InconsistentObservationsError,
    InputMapError,
    InvalidArgumentError,
)
from sunpy_dlmag.maps import derived_meta, frame_meta

__all__ = [
    "EUVI_TO_AIA",
    "Calibration",
    "calibration_table",
    "cross_calibrate",
    "derive_calibration",
    "get_calibration",
    "intensity_unit",
    "normalize_exposure",
    "read_calibrations",
    "write_calibrations",
]

#: EUVI passband (Angstrom) -> the AIA passband it stands in for.
EUVI_TO_AIA = {171: 171, 195: 193, 304: 304}
AIA_TO_EUVI = {aia: euvi for euvi, aia in EUVI_TO_AIA.items()}

TABLE_PATH = Path(__file__).parent / "data" / "euvi_aia_calibration.ecsv"

DEFAULT_QUANTILES = tuple(np.round(np.linspace(0.05, 0.95, 19), 2))
# A factor is used without warning this long before or after the data it was derived from.
DATE_TOLERANCE = 365 * u.day


def observatory_key(smap_or_name):
    """Spacecraft name as the table spells it: ``'STEREO_A'``, ``'STEREO_B'``, ``'SDO'``."""
    name = smap_or_name.observatory if isinstance(smap_or_name, sunpy.map.GenericMap) else smap_or_name
    return str(name or "").strip().upper().replace(" ", "_").replace("-", "_")


def wavelength_aa(smap):
    """Wavelength of a map in Angstrom, rounded to an integer (the calibration table's key), or `None`."""
    wavelength = checks.wavelength_aa(smap)
    return None if wavelength is None else round(wavelength)


# --------------------------------------------------------------------------- exposure
def _euvi_bias(smap):
    """The bias ``secchi_prep`` would subtract from an EUVI image in DN (0 if already subtracted)."""
    meta = smap.meta
    if float(meta.get("offsetcr", 0) or 0) > 0:
        return 0.0
    bias = float(meta.get("biasmean", 0) or 0)
    ipsum = int(meta.get("ipsum", 1) or 1)
    if ipsum > 1:
        bias *= (2 ** (ipsum - 1)) ** 2
    return bias


_RATE_UNITS = (u.DN / u.s, u.ct / u.s)
_COUNT_UNITS = (u.DN, u.ct)
# Counts are the camera's data numbers.
COUNTS_ARE_DN = [(u.ct, u.DN, lambda x: x, lambda x: x)]


def intensity_unit(smap, unit=None):
    """
    The unit of an EUV image's values as intensities: per pixel dropped, and counts that were divided by the exposure.

    A value "per pixel" is the value of that pixel (SWAP ``DN/s/pixel``, EIT ``counts / pixel``).
    EIT level-1 images (``eit_prep``) keep ``BUNIT = 'counts / pixel'`` although their history
    says "Exposure normalized (per sec)": such counts are a rate.

    Parameters
    ----------
    smap : `~sunpy.map.GenericMap`
    unit : `~astropy.units.UnitBase`, optional
        The map's unit, if already read (default: `sunpy_dlmag.checks.map_unit`).

    Returns
    -------
    `~astropy.units.UnitBase` or None
    """
    unit = checks.map_unit(smap, name=checks.describe_map(smap)) if unit is None else unit
    if unit is None:
        return None
    if dict(zip(unit.bases, unit.powers, strict=True)).get(u.pix) == -1:
        unit = unit * u.pix
    history = str(smap.meta.get("history", "")).lower()
    is_count = any(unit.is_equivalent(c) for c in _COUNT_UNITS)
    if is_count and ("exposure normalized" in history or "exposure normalised" in history):
        unit = unit / u.s
    return unit


def _rate(smap):
    """(float32 data in DN/s, bias subtracted in DN, exposure in s) of an EUV map."""
    checks.is_euv_map(smap, error=True)
    unit = intensity_unit(smap)
    # A new array (the input stays untouched): masked pixels and fill values NaN, infinite values,
    # frames of one value and mostly negative frames refused.
    data = checks.euv_data(smap, name=f"EUV map {checks.describe_map(smap)}")
    if unit is not None and any(unit.is_equivalent(r) for r in _RATE_UNITS):
        factor = next(unit.to(r) for r in _RATE_UNITS if unit.is_equivalent(r))
        return data * np.float32(factor), 0.0, None
    if unit is not None and not any(unit.is_equivalent(c) for c in _COUNT_UNITS):
        raise InputMapError(
            "Expected EUV intensities in DN (or DN/s, counts, per pixel or not); the map "
            f"{checks.describe_map(smap)} has data in {unit}. "
            "Is it an EUV image?"
        )
    exposure = smap.exposure_time
    if exposure is None or not exposure.to_value(u.s) > 0:
        raise InputMapError(
            f"The map {checks.describe_map(smap)} is in DN but its header gives no positive exposure time (EXPTIME); "
            "set meta['exptime'] in seconds, or give data in DN/s."
        )
    bias = _euvi_bias(smap) if checks.euv_instrument(smap) == "EUVI" else 0.0
    seconds = exposure.to_value(u.s)
    return (data - np.float32(bias)) / np.float32(seconds), bias, seconds


def normalize_exposure(smap):
    """
    A new map of an EUV image in DN/s.

    Images in DN are divided by their exposure time; EUVI level-0.5 images (bias not
    subtracted, ``OFFSETCR = 0``) have ``BIASMEAN`` subtracted first. Images already in
    DN/s are returned as a copy.

    Parameters
    ----------
    smap : `~sunpy.map.GenericMap`
        An EUV image (EUVI, AIA, or any map in DN with an exposure time).

    Returns
    -------
    `~sunpy_dlmag.maps.DlmagMap`
        New map with ``BUNIT = 'DN/s'``, same WCS, observer, time and wavelength; a product
        of this package (``DLPROD = 'exposure-normalised'``) whose history names the division.

    Raises
    ------
    InputMapError
        Data not in DN or DN/s, or in DN without an exposure time.
    """
    data, bias, seconds = _rate(smap)
    return _euv_product(smap, data, "exposure-normalised", _exposure_line(bias, seconds))


def _exposure_line(bias, seconds):
    if seconds is None:
        return "EUV intensities in DN/s (already exposure-normalised)"
    line = f"exposure-normalised to DN/s (divided by {seconds:g} s"
    return line + (f", bias {bias:g} DN subtracted first)" if bias else ")")


def _euv_product(smap, data, product, line):
    """A product map of EUV intensities ``data`` (DN/s) made from ``smap``: its grid, observer and line."""
    name = checks.euv_instrument(smap) or str(smap.instrument or "EUV")
    meta = derived_meta(
        smap.meta,
        product=product,
        measurement="EUV intensity",
        ai_generated=False,
        history=line,
        bunit="DN/s",
        instrument=name if name.startswith("sunpy-dlmag") else f"{product} {name}",
        observatory=smap.observatory or "unknown",
        inputs=getattr(smap, "inputs", None) or checks.describe_map(smap),
        wavelength=smap.wavelength,
    )
    meta.update(frame_meta(smap))
    # The instrument's colour map still suits its intensities.
    return sunpy.map.Map(data, meta, plot_settings=smap.plot_settings)


# --------------------------------------------------------------------------- calibration
@dataclass(frozen=True)
class Calibration:
    """
    EUVI -> AIA intensity relation of one spacecraft and passband: ``I_AIA = scale * I_EUVI ** exponent``.

    Intensities are exposure-normalised, in DN/s (see `normalize_exposure`).

    Parameters
    ----------
    observatory : str
        ``"STEREO_A"`` or ``"STEREO_B"``.
    wavelength : `~astropy.units.Quantity`
        The EUVI passband.
    aia_wavelength : `~astropy.units.Quantity`
        The AIA passband it stands in for.
    scale : float or None
        `None` when no calibration is available.
    exponent : float
    scatter : float
        RMS of the log10 residuals of the quantile fit (dex), a measure of how well one relation
        describes the two distributions.
    date_start, date_end : str
        ISO dates of the data the relation was derived from.
    method : str
    source : str
        The data (and where they came from) or the publication.
    """

    observatory: str
    wavelength: u.Quantity
    aia_wavelength: u.Quantity
    scale: float | None = None
    exponent: float = 1.0
    scatter: float | None = None
    date_start: str = ""
    date_end: str = ""
    method: str = ""
    source: str = ""

    @property
    def available(self):
        return self.scale is not None and np.isfinite(self.scale)

    @property
    def label(self):
        return (
            f"{self.observatory} EUVI {self.wavelength.to_value(u.AA):g} -> AIA {self.aia_wavelength.to_value(u.AA):g}"
        )

    def matches(self, observatory, wavelength_aa):
        """Whether this relation is for ``observatory`` (as ``observatory_key`` spells it) and ``wavelength_aa``."""
        return self.observatory == observatory and round(self.wavelength.to_value(u.AA)) == wavelength_aa

    def __str__(self):
        if not self.available:
            return f"{self.label}: not available"
        relation = f"I_AIA = {self.scale:.4g} x I_EUVI" + (f"^{self.exponent:.4g}" if self.exponent != 1 else "")
        return f"{self.label}: {relation} (DN/s; {self.date_start} .. {self.date_end}; {self.method})"

    def _require(self):
        if not self.available:
            raise _not_available(_not_available_message(self.observatory, self.wavelength))

    def apply(self, values):
        """EUVI intensities (DN/s) -> AIA-equivalent intensities (DN/s), float32."""
        self._require()
        x = np.asarray(values, dtype=np.float32)
        if self.exponent == 1:
            return x * np.float32(self.scale)
        return (np.float32(self.scale) * np.clip(x, 0, None) ** np.float32(self.exponent)).astype(np.float32)

    def inverse(self, values):
        """AIA intensities (DN/s) -> EUVI-equivalent intensities (DN/s), float32."""
        self._require()
        x = np.asarray(values, dtype=np.float32)
        if self.exponent == 1:
            return x / np.float32(self.scale)
        return (np.clip(x, 0, None) / np.float32(self.scale)) ** np.float32(1 / self.exponent)

    def check_date(self, date, *, tolerance=DATE_TOLERANCE):
        """Warn if ``date`` lies more than ``tolerance`` outside the dates the relation was derived from."""
        if not (self.date_start and self.date_end):
            return
        date = Time(date)
        start, end = Time(self.date_start), Time(self.date_end)
        if date < start - tolerance or date > end + tolerance:
            warnings.warn(
                f"The {self.label} calibration was derived from data of {self.date_start[:10]} .. "
                f"{self.date_end[:10]}, more than {tolerance.to_value(u.day):g} days from {date.isot[:10]}; "
                "both instruments' sensitivities change with time. Derive one near this date with "
                "sunpy_dlmag.calibration.derive_calibration(euvi_map, aia_map).",
                DlmagUserWarning,
                stacklevel=3,
            )


def _not_available(reason):
    """
    A `~sunpy_dlmag.exceptions.CalibrationNotAvailableError` whose message gives the Python remedies.

    Its ``reason`` attribute holds the message without them, so that the command line can give
    its own flags instead.
    """
    err = CalibrationNotAvailableError(
        f"{reason} Derive one from a co-temporal pair of full-disk images of your own:\n"
        "    cal = sunpy_dlmag.calibration.derive_calibration(euvi_map, aia_map)\n"
        "and pass it with calibrate=cal (or a list of them, one per passband; write_calibrations and "
        "read_calibrations keep them in a file); or pass calibrate=False to feed uncalibrated EUVI intensities "
        "to a network trained on AIA (not recommended)."
    )
    err.reason = reason
    return err


def _not_available_message(observatory, wavelength):
    known = ", ".join(c.label for c in _table_calibrations() if c.available) or "none"
    wl = wavelength.to_value(u.AA) if isinstance(wavelength, u.Quantity) else wavelength
    return (
        f"No EUVI -> AIA intensity calibration is available for {observatory} EUVI {wl:g} Angstrom "
        f"(sunpy-dlmag knows: {known})."
    )


@functools.cache
def _read_table():
    return Table.read(TABLE_PATH, format="ascii.ecsv")


def calibration_table():
    """
    The EUVI -> AIA calibrations that ship with the package, as an `~astropy.table.Table`.

    One row per spacecraft and EUVI passband: ``observatory``, ``instrument``, ``wavelength``,
    ``aia_wavelength``, ``scale``, ``exponent``, ``scatter`` (masked where not available),
    ``date_start``, ``date_end``, ``method`` and ``source``.
    """
    return _read_table().copy()


def _value(row, name):
    """A table cell, or `None` where it is empty (masked)."""
    value = row[name]
    return None if np.ma.is_masked(value) else value


def _row_to_calibration(row):
    scale = _value(row, "scale")
    available = scale is not None and np.isfinite(scale)
    scatter = _value(row, "scatter")
    return Calibration(
        observatory=str(row["observatory"]),
        wavelength=u.Quantity(row["wavelength"], u.AA),
        aia_wavelength=u.Quantity(row["aia_wavelength"], u.AA),
        scale=float(scale) if available else None,
        exponent=float(_value(row, "exponent") or 1.0),
        scatter=None if scatter is None else float(scatter),
        date_start=str(_value(row, "date_start") or ""),
        date_end=str(_value(row, "date_end") or ""),
        method=str(_value(row, "method") or ""),
        source=str(_value(row, "source") or ""),
    )


@functools.cache
def _table_calibrations():
    return tuple(_row_to_calibration(row) for row in _read_table())


_COLUMNS = ("observatory", "instrument", "wavelength", "aia_wavelength", "scale", "exponent", "scatter")
_COLUMNS += ("date_start", "date_end", "method", "source")


def write_calibrations(calibrations, path, *, overwrite=False):
    """
    Write calibrations (e.g. from `derive_calibration`) to an ECSV file, one row each.

    The file has the columns of `calibration_table`; `read_calibrations` reads it back, and
    ``sunpy-dlmag farside --calibration PATH`` uses it.

    Parameters
    ----------
    calibrations : `Calibration` or sequence of them
        Available relations, at most one per spacecraft and passband.
    path : str or `os.PathLike`
    overwrite : bool
        Replace an existing file.
    """
    from sunpy_dlmag.io import write_atomic

    if isinstance(calibrations, Calibration):
        calibrations = [calibrations]
    calibrations = list(calibrations)
    if not calibrations or not all(isinstance(c, Calibration) and c.available for c in calibrations):
        raise InvalidArgumentError(
            "calibrations must be one or more available sunpy_dlmag.calibration.Calibration (from "
            f"derive_calibration), got {calibrations!r}."
        )
    keys = [(c.observatory, round(c.wavelength.to_value(u.AA))) for c in calibrations]
    if len(set(keys)) != len(keys):
        raise InvalidArgumentError(f"Two calibrations for the same spacecraft and passband: {keys}.")
    rows = [
        (
            *(c.observatory, "EUVI", round(c.wavelength.to_value(u.AA)), round(c.aia_wavelength.to_value(u.AA))),
            *(c.scale, c.exponent, np.nan if c.scatter is None else c.scatter, c.date_start, c.date_end),
            *(c.method, c.source),
        )
        for c in calibrations
    ]
    table = Table(rows=rows, names=_COLUMNS)
    table["wavelength"].unit = table["aia_wavelength"].unit = u.AA
    # No scatter (a relation not fitted to quantiles) stays empty, as in the packaged table.
    table["scatter"] = MaskedColumn(table["scatter"], mask=[c.scatter is None for c in calibrations])
    table.meta["description"] = "EUVI -> AIA intensity cross-calibration (sunpy_dlmag.calibration.write_calibrations)"
    return write_atomic(path, lambda tmp: table.write(tmp, format="ascii.ecsv", overwrite=True), overwrite=overwrite)


def read_calibrations(path):
    """
    The calibrations of an ECSV file written by `write_calibrations` (the columns of `calibration_table`).

    Returns
    -------
    list of `Calibration`
        Pass them to `sunpy_dlmag.farside.farside_magnetogram` as ``calibrate=``.

    Raises
    ------
    MissingFileError
        No such file.
    InputFileError
        Not an ECSV file with the columns of `calibration_table`, or a row without a scale.
    """
    from sunpy_dlmag.exceptions import InputFileError, MissingFileError

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"Calibration file {path} does not exist.")
    try:
        table = Table.read(path, format="ascii.ecsv")
    except Exception as err:  # any parse failure of astropy's reader
        raise InputFileError(f"Cannot read {path} as an ECSV calibration file: {err}") from err
    missing = [c for c in _COLUMNS if c not in table.colnames]
    if missing or len(table) == 0:
        raise InputFileError(
            f"{path} is not a calibration file written by write_calibrations: "
            + (f"missing columns {', '.join(missing)}." if missing else "no rows.")
        )
    calibrations = [_row_to_calibration(row) for row in table]
    unusable = [c.label for c in calibrations if not c.available]
    if unusable:
        raise InputFileError(f"{path} has no scale for {', '.join(unusable)}.")
    return calibrations


@checks.quantity_input
def get_calibration(observatory, wavelength: u.AA):
    """
    The packaged EUVI -> AIA calibration of one spacecraft and EUVI passband.

    Parameters
    ----------
    observatory : str
        ``"STEREO_A"`` / ``"STEREO A"`` or ``"STEREO_B"`` / ``"STEREO B"``.
    wavelength : `~astropy.units.Quantity`
        EUVI passband, e.g. ``171 * u.AA``.

    Returns
    -------
    `Calibration`

    Raises
    ------
    CalibrationNotAvailableError
        The table has no factor for that spacecraft and passband; the message says how to
        derive one with `derive_calibration`.
    """
    key = observatory_key(observatory)
    wl = round(wavelength.to_value(u.AA))
    for calibration in _table_calibrations():
        if calibration.matches(key, wl):
            if calibration.available:
                return calibration
            break
    raise _not_available(_not_available_message(key, wl * u.AA))


def _check_pair(euvi_map, aia_map, max_time_difference):
    for smap, name, expected in ((euvi_map, "euvi_map", "EUVI"), (aia_map, "aia_map", "AIA")):
        if not isinstance(smap, sunpy.map.GenericMap):
            raise InputMapError(f"{name} must be a sunpy map, got {type(smap).__name__}.")
        if checks.euv_instrument(smap) != expected:
            raise ChannelMismatchError(f"{name} must be an {expected} image; got {checks.describe_map(smap)}.")
    euvi_wl, aia_wl = wavelength_aa(euvi_map), wavelength_aa(aia_map)
    if EUVI_TO_AIA.get(euvi_wl) != aia_wl:
        pairs = ", ".join(f"EUVI {e} -> AIA {a}" for e, a in EUVI_TO_AIA.items())
        raise ChannelMismatchError(
            f"EUVI {euvi_wl} Angstrom and AIA {aia_wl} Angstrom are not corresponding passbands; "
            f"expected one of: {pairs}."
        )
    dt = abs((euvi_map.date - aia_map.date).to(u.s))
    if dt > max_time_difference:
        raise InconsistentObservationsError(
            f"The EUVI and AIA images are {dt.to(u.min):.1f} apart; a calibration needs co-temporal images "
            f"(within max_time_difference={max_time_difference})."
        )
    disk.check_full_disk(euvi_map)
    disk.check_full_disk(aia_map)


@checks.quantity_input
def derive_calibration(
    euvi_map,
    aia_map,
    *,
    min_mu=0.3,
    quantiles=DEFAULT_QUANTILES,
    fit_exponent=False,
    max_time_difference: u.s = 1 * u.h,
):
    """
    Derive the EUVI -> AIA intensity relation from a co-temporal pair of full-disk images.

    Matches the on-disk intensity distributions (see the module description): both images
    are exposure-normalised to DN/s (`normalize_exposure`), the pixels on the disk with
    ``mu >= min_mu`` are kept, and ``I_AIA = scale * I_EUVI ** exponent`` is fitted to the
    logarithms of the paired ``quantiles`` (``exponent = 1`` unless ``fit_exponent``).

    Parameters
    ----------
    euvi_map : `~sunpy.map.GenericMap`
        STEREO-A or -B EUVI full-disk image (171, 195 or 304 Angstrom), level 0.5 or 1.
    aia_map : `~sunpy.map.GenericMap`
        SDO/AIA full-disk image of the corresponding passband (171, 193 or 304 Angstrom).
    min_mu : float
        Smallest cosine of the heliocentric angle of the pixels used.
    quantiles : sequence of float
        Quantiles (0..1) of the two distributions that are paired.
    fit_exponent : bool
        Fit the exponent as well as the scale.
    max_time_difference : `~astropy.units.Quantity`
        Largest time between the two images.

    Returns
    -------
    `Calibration`
        Pass it to `sunpy_dlmag.farside.farside_magnetogram` as ``calibrate=``.

    Raises
    ------
    ChannelMismatchError
        Not an EUVI and an AIA image of corresponding passbands.
    InconsistentObservationsError
        The images are further apart in time than ``max_time_difference``.
    IncompleteDiskError, MissingObserverError
        An image that is not a full-disk image with an observer.

    Examples
    --------
    >>> import sunpy.map
    >>> from sunpy_dlmag.calibration import derive_calibration
    >>> from sunpy_dlmag.data.sample import AIA_171, EUVI_171
    >>> cal = derive_calibration(sunpy.map.Map(EUVI_171), sunpy.map.Map(AIA_171))  # doctest: +IGNORE_WARNINGS
    >>> print(f"{cal.scale:.3f}")
    1.246
    """
    _check_pair(euvi_map, aia_map, max_time_difference)
    try:
        quantiles = np.asarray(quantiles, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(f"quantiles must be numbers between 0 and 1, got {quantiles!r}.") from err
    if quantiles.ndim != 1 or quantiles.size < 2 or not np.all((quantiles > 0) & (quantiles < 1)):
        raise InvalidArgumentError(f"quantiles must be at least two values strictly between 0 and 1, got {quantiles}.")
    min_mu = checks.check_number(min_mu, "min_mu", minimum=0, maximum=1, inclusive=(True, False))
    fit_exponent = checks.check_bool(fit_exponent, "fit_exponent")
    values = []
    for smap in (euvi_map, aia_map):
        rate, _, _ = _rate(smap)
        rho, _ = disk.disk_radius_fraction(smap)
        keep = (rho <= np.sqrt(1 - min_mu**2)) & np.isfinite(rate) & (rate > 0)
        if keep.sum() < 100:
            raise InputMapError(
                f"Only {keep.sum()} usable on-disk pixels in {checks.describe_map(smap)}; at least 100 needed."
            )
        values.append(np.quantile(rate[keep], quantiles))
    log_euvi, log_aia = np.log10(values[0]), np.log10(values[1])
    if fit_exponent:
        exponent, log_scale = np.polyfit(log_euvi, log_aia, 1)
    else:
        exponent, log_scale = 1.0, float(np.mean(log_aia - log_euvi))
    scatter = float(np.sqrt(np.mean((log_aia - (log_scale + exponent * log_euvi)) ** 2)))
    dates = sorted([euvi_map.date, aia_map.date])
    q = f"{100 * quantiles[0]:g}-{100 * quantiles[-1]:g} %"
    return Calibration(
        observatory=observatory_key(euvi_map),
        wavelength=wavelength_aa(euvi_map) * u.AA,
        aia_wavelength=wavelength_aa(aia_map) * u.AA,
        scale=float(10**log_scale),
        exponent=float(exponent),
        scatter=scatter,
        date_start=dates[0].isot,
        date_end=dates[1].isot,
        method=(
            f"on-disk quantile matching ({len(quantiles)} quantiles {q}, mu >= {min_mu:g}), "
            f"{'power law' if fit_exponent else 'scale factor'} on exposure-normalised DN/s"
        ),
        source=f"derive_calibration: {checks.describe_map(euvi_map)} and {checks.describe_map(aia_map)}",
    )


def cross_calibrate(euvi_map, *, calibration=None):
    """
    A new map of an EUVI image in AIA-equivalent intensities (DN/s).

    Parameters
    ----------
    euvi_map : `~sunpy.map.GenericMap`
        STEREO/EUVI image (DN or DN/s).
    calibration : `Calibration`, optional
        Default: the packaged one of the map's spacecraft and passband (`get_calibration`).

    Returns
    -------
    `~sunpy_dlmag.maps.DlmagMap`
        Same WCS, observer, time and wavelength; ``BUNIT = 'DN/s'``; a product of this package
        (``DLPROD = 'cross-calibrated'``) whose history names the relation.

    Raises
    ------
    ChannelMismatchError
        Not an EUVI image, or a calibration of another spacecraft or passband.
    CalibrationNotAvailableError
        No packaged calibration for the map's spacecraft and passband.
    """
    checks.is_map(euvi_map, error=True, name="euvi_map")
    if checks.euv_instrument(euvi_map) != "EUVI":
        raise ChannelMismatchError(f"cross_calibrate needs an EUVI image, got {checks.describe_map(euvi_map)}.")
    key, wl = observatory_key(euvi_map), wavelength_aa(euvi_map)
    if calibration is None:
        calibration = get_calibration(key, wl * u.AA)
    elif not calibration.matches(key, wl):
        raise ChannelMismatchError(
            f"The calibration {calibration.label} does not apply to {checks.describe_map(euvi_map)}."
        )
    calibration.check_date(euvi_map.date)
    rate, bias, seconds = _rate(euvi_map)
    line = f"{_exposure_line(bias, seconds)}; cross-calibrated to AIA-equivalent intensity: {calibration}"
    return _euv_product(euvi_map, calibration.apply(rate), "cross-calibrated", line)
