"""
What every map this package returns carries (provenance and plot settings), and the
checks every function that takes a magnetogram applies.
"""

import copy

import astropy.units as u
import numpy as np
from astropy.visualization import ImageNormalize

from sunpy.map.header_helper import get_observer_meta

from sunpy_dlmag import checks, geometry

__all__ = ["append_history", "check_magnetogram", "magnetogram_plot_settings", "provenance_meta"]

# Keys describing the input observation that would be wrong on a derived map, or would make
# sunpy read it as an observation of that instrument (e.g. DETECTOR='EUVI', CONTENT for HMI).
_OBSERVATION_KEYS = (
    "detector", "wavelnth", "waveunit", "wave_str", "content", "exptime", "lvl_num", "quality",
    "bunit", "bscale", "bzero", "blank", "datamin", "datamax", "datamean", "datamedn", "datarms",
    "dataskew", "datakurt", "datavals", "missvals", "percent", "instrume", "telescop", "camera",
)  # fmt: skip


def provenance_meta(template, model, *, note=""):
    """
    Header for a map a network made from ``template``: same WCS, observer and time.

    ``instrume`` names this package and the model, ``obsrvtry`` keeps the platform the
    input was observed from, ``dlinput`` describes the input observation, ``dlmodel``,
    ``dlmodver`` and ``dlsha256`` identify the weights, and a history line records it all.
    """
    from sunpy_dlmag import __version__

    spec = model.spec
    # MetaDict.copy() shares its keycomments dict; a deep copy leaves the input untouched.
    meta = copy.deepcopy(template.meta)
    source = " ".join(str(part) for part in (template.observatory, template.instrument, template.detector) if part)
    if template.wavelength is not None:
        source += f" {template.wavelength.to_string()}"
    source += f" {template.date.isot}"
    for key in _OBSERVATION_KEYS:
        meta.pop(key, None)
    # Standard observer keys: instrument-specific ones (MDI's OBS_L0...) are only read by that source class.
    meta.update(get_observer_meta(template.observer_coordinate, template.rsun_meters))
    meta["rsun_obs"] = template.rsun_obs.to_value(u.arcsec)
    meta["date-obs"] = template.date.utc.isot
    # Instrument map classes (AIA's T_OBS, MDI's default units) fill in what a generic map
    # must find in the header itself: the frame's time and the axis units.
    meta["date-avg"] = template.reference_date.utc.isot  # HMI gives T_OBS in TAI
    for axis, (unit, ctype) in enumerate(zip(template.spatial_units, template.wcs.wcs.ctype, strict=True), start=1):
        meta[f"cunit{axis}"] = unit.to_string("fits")
        meta[f"ctype{axis}"] = ctype
    meta["obsrvtry"] = template.observatory or "unknown"
    meta["telescop"] = template.observatory or "unknown"
    meta["instrume"] = f"sunpy-dlmag {spec.name}"
    meta["bunit"] = spec.output.unit
    meta["dlinput"] = source
    meta["dlmodel"] = spec.name
    meta["dlmodver"] = spec.version
    meta["dlsha256"] = model.sha256
    line = (
        f"sunpy-dlmag {__version__}: made by model {spec.name} version {spec.version} "
        f"(weights sha256 {model.sha256}) from {source}; not an observation."
    )
    if note:
        line += f" {note}"
    append_history(meta, line)
    return meta


def append_history(meta, line):
    """Add ``line`` to the HISTORY of header ``meta`` (in place), after what is there."""
    history = meta.get("history", "")
    meta["history"] = f"{history}\n{line}" if history else line


def magnetogram_plot_settings(data):
    """The ``hmimag`` colour map with limits symmetric about 0 G."""
    finite = np.abs(np.asarray(data)[np.isfinite(data)])
    limit = float(np.percentile(finite, 99.5)) if finite.size else 1.0
    limit = max(limit, 1.0)
    return {"cmap": "hmimag", "norm": ImageNormalize(vmin=-limit, vmax=limit)}


def check_magnetogram(magnetogram):
    """
    Field values in G of a line-of-sight magnetogram map, after the checks every
    magnetogram function needs (`sunpy_dlmag.checks`).

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
    """
    checks.is_magnetogram(magnetogram, error=True)
    checks.has_date(magnetogram, error=True, name="magnetogram")
    geometry.check_observer(magnetogram)
    return checks.field_data(magnetogram)
