"""
What every map this package returns carries (provenance and plot settings), and the
checks every function that takes a magnetogram applies.
"""

import copy

import astropy.units as u
import numpy as np
from astropy.visualization import ImageNormalize

import sunpy.map
from sunpy.map.header_helper import get_observer_meta

from sunpy_dlmag import geometry
from sunpy_dlmag.exceptions import InputMapError

__all__ = ["MAGNETOGRAM_PLOT", "append_history", "check_magnetogram", "magnetogram_plot_settings", "provenance_meta"]

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
    meta["date-obs"] = template.date.isot
    # Instrument map classes (AIA's T_OBS, MDI's default units) fill in what a generic map
    # must find in the header itself: the frame's time and the axis units.
    meta["date-avg"] = template.reference_date.isot
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


#: Colour maps and limits of the magnetic maps this package makes, symmetric about 0 G and fixed
#: per kind of product (never taken from the data), so that maps of one kind compare at a glance
#: and a network's output is shown exactly as its input. ``"magnetogram"``: maps at arcsecond
#: resolution (full-disk and cutout line-of-sight magnetograms, network outputs, bipoles from
#: drawings), in ``hmimag`` at +-1500 G as sunpy shows HMI synoptic maps. ``"global"``: maps on
#: grids of about a degree (synchronic and synoptic maps, disk views of them), in grey as sunpy
#: shows GONG maps, at +-50 G, where their large-scale field and the polar fields show.
MAGNETOGRAM_PLOT = {"magnetogram": ("hmimag", 1500 * u.G), "global": ("gray", 50 * u.G)}


def magnetogram_plot_settings(product="magnetogram"):
    """
    Plot settings of a magnetic map: the fixed colour map and limits of its kind of product
    (`MAGNETOGRAM_PLOT`).

    Parameters
    ----------
    product : {"magnetogram", "global"}
        ``"magnetogram"`` for maps at arcsecond resolution, ``"global"`` for maps on grids of
        about a degree.

    Returns
    -------
    dict
        ``cmap`` and ``norm``, for ``plot_settings`` of a map.
    """
    if not isinstance(product, str) or product not in MAGNETOGRAM_PLOT:
        raise ValueError(
            f"product must be one of {sorted(MAGNETOGRAM_PLOT)} (the limits are fixed per kind of map), "
            f"got {product!r}."
        )
    cmap, limit = MAGNETOGRAM_PLOT[product]
    return {"cmap": cmap, "norm": ImageNormalize(vmin=-limit.to_value(u.G), vmax=limit.to_value(u.G))}


def check_magnetogram(magnetogram):
    """
    Field values in G of a line-of-sight magnetogram map, after the checks every
    magnetogram function needs.

    Raises
    ------
    InputMapError
        Not a map, data not in units of magnetic field, or no finite pixel.
    MissingObserverError
        No observer position in the header.
    """
    if not isinstance(magnetogram, sunpy.map.GenericMap):
        raise InputMapError(f"Expected a magnetogram as a sunpy map, got {type(magnetogram).__name__}.")
    unit = magnetogram.unit
    if unit is None or not unit.is_equivalent(u.G):
        what = f"{magnetogram.instrument} {magnetogram.measurement}".strip()
        raise InputMapError(
            f"Expected a magnetogram with data in G (or Mx/cm^2); got {what} with unit {unit}. "
            "If this is a magnetogram, set its BUNIT, e.g. smap.meta['bunit'] = 'G'."
        )
    geometry.check_observer(magnetogram)
    data = magnetogram.quantity.to_value(u.G).astype(np.float32, copy=False)
    if not np.isfinite(data).any():
        raise InputMapError(f"The magnetogram ({magnetogram.name}) has no finite pixel.")
    return data
