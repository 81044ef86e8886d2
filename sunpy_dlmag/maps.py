"""
What every map this package returns carries: one helper for the header of a derived map
(`derived_meta`, `provenance_meta` for network outputs), its plot settings, the sunpy map
source of this package's products (`DlmagMap`), and the checks every function that takes a
magnetogram applies.

Every product states what it is in explicit header keys, so that it is recognised when read
back (``sunpy.map.Map(path)`` gives a `DlmagMap`) without guessing from instrument strings:

========  ===========================================================================
DLPROD    the product: ``denoise``, ``farside``, ``drawing``, ``synchronic``, ...
DLAI      True when a network made the data or part of them
DLMEAS    what the data measure, e.g. ``magnetogram`` (line of sight) or ``radial field``
DLINPUT   the input(s) it was made from
DLMODEL   the model that made it (with DLMODVER and DLSHA256 for networks)
DLVER     the sunpy-dlmag version that made it
========  ===========================================================================
"""

import copy

import astropy.units as u
import numpy as np
from astropy.visualization import ImageNormalize

import sunpy.map
from sunpy.map.header_helper import get_observer_meta

from sunpy_dlmag import checks, mapio
from sunpy_dlmag.exceptions import InvalidArgumentError
from sunpy_dlmag.version import version

__all__ = [
    "MAGNETOGRAM_PLOT",
    "DlmagMap",
    "append_history",
    "derived_meta",
    "frame_meta",
    "is_ai_generated",
    "magnetogram_plot_settings",
    "provenance_meta",
]

# Keys describing the input observation that would be wrong on a derived map, or would make
# sunpy read it as an observation of that instrument (e.g. DETECTOR='EUVI', CONTENT for HMI).
_OBSERVATION_KEYS = (
    "detector", "wavelnth", "waveunit", "wave_str", "content", "exptime", "lvl_num", "quality",
    "bunit", "bscale", "bzero", "blank", "datamin", "datamax", "datamean", "datamedn", "datarms",
    "dataskew", "datakurt", "datavals", "missvals", "percent", "instrume", "telescop", "camera",
    "obsrvtry",
)  # fmt: skip
# Keys of a product that describe that product only: a map derived from it states its own.
_PRODUCT_KEYS = ("dlprod", "dlai", "dlmeas", "dlinput", "dlmodel", "dlmodver", "dlsha256", "dlver")
# Their FITS comments, so that a header read without this package says what each key is.
_PRODUCT_COMMENTS = {
    "dlprod": "sunpy-dlmag product",
    "dlai": "T: made, wholly or in part, by a neural network",
    "dlmeas": "what the data measure",
    "dlinput": "observation(s) it was made from",
    "dlmodel": "model that made it",
    "dlmodver": "version of the model's weights",
    "dlsha256": "sha256 of the model's weights file",
    "dlver": "sunpy-dlmag version that made it",
}


def derived_meta(
    header,
    *,
    product,
    measurement,
    ai_generated,
    history,
    bunit="G",
    instrument=None,
    observatory="sunpy-dlmag",
    inputs=None,
    model=None,
    wavelength=None,
):
    """
    The header of a map this package derived: ``header``'s grid, observer and time, saying what it is.

    This is the one place where the header of an output is written. ``header`` is copied (never
    modified); the keys of the observation it came from (instrument, detector, wavelength, data
    statistics, ...) and of any product it came from are dropped, and the product keys of this
    module (``DLPROD``, ``DLAI``, ...) are set, so that the map reads back as a `DlmagMap`.

    Parameters
    ----------
    header : dict-like
        The header to start from (WCS, observer, time), e.g. a template map's ``meta``.
    product : str
        What the map is (``DLPROD``), e.g. ``"denoise"`` or ``"synchronic"``.
    measurement : str
        What the data measure (``DLMEAS``), e.g. ``"magnetogram"``.
    ai_generated : bool
        Whether a network made the data or part of them (``DLAI``).
    history : str
        The history line (lines joined with newlines), after ``sunpy-dlmag VERSION:``; added to
        the history already in ``header``.
    bunit : str
        Unit of the data (``BUNIT``); ``""`` for codes.
    instrument : str, optional
        ``INSTRUME`` after ``"sunpy-dlmag "`` (default: the product); never an observing instrument.
    observatory : str
        ``OBSRVTRY``: the platform the input was observed from, or this package. ``TELESCOP``
        is always ``"sunpy-dlmag"``.
    inputs : str, optional
        The input(s) it was made from (``DLINPUT``).
    model : str or `~sunpy_dlmag.models.Model`, optional
        What made it (``DLMODEL``); a loaded model also gives its version and weights sha256.
    wavelength : `~astropy.units.Quantity`, optional
        Wavelength of the observation the map is still a measurement of (a denoised magnetogram
        keeps its line); none for maps no instrument observed.

    Returns
    -------
    `~sunpy.util.MetaDict` or dict
        A new header.
    """
    # MetaDict.copy() shares its keycomments dict; a deep copy leaves the input untouched.
    meta = copy.deepcopy(header)
    for key in _OBSERVATION_KEYS + _PRODUCT_KEYS:
        meta.pop(key, None)
    meta["obsrvtry"] = observatory
    # Not the input's telescope: sunpy's sources of observations (GONG's, HMI's, ...) key on
    # TELESCOP, and a product they also claimed could not be read at all (MultipleMatchError).
    meta["telescop"] = "sunpy-dlmag"
    # Never an observing instrument: the product names this package first.
    instrument = instrument or product
    meta["instrume"] = instrument if instrument.startswith("sunpy-dlmag") else f"sunpy-dlmag {instrument}"
    meta["bunit"] = bunit
    if wavelength is not None:
        meta["wavelnth"] = float(wavelength.value)
        meta["waveunit"] = wavelength.unit.to_string("fits")
    meta["dlprod"] = product
    meta["dlai"] = bool(ai_generated)
    meta["dlmeas"] = measurement
    if inputs is not None:
        meta["dlinput"] = str(inputs)
    if model is not None:
        spec = getattr(model, "spec", None)
        meta["dlmodel"] = spec.name if spec is not None else str(model)
        if spec is not None:
            meta["dlmodver"] = spec.version
            meta["dlsha256"] = model.sha256
    meta["dlver"] = version
    comments = {k: c for k, c in _PRODUCT_COMMENTS.items() if k in meta and _comment_fits(k, meta[k], c)}
    meta["keycomments"] = {**dict(meta.get("keycomments", {})), **comments}
    append_history(meta, f"sunpy-dlmag {version}: {history}")
    return meta


def _comment_fits(key, value, comment):
    """Whether ``comment`` fits on the 80-character card of ``key = value`` (a long value keeps none)."""
    from astropy.io import fits

    image = fits.Card(key.upper(), value).image
    return len(image) == 80 and len(image.rstrip()) + 3 + len(comment) <= 80


def provenance_meta(template, model, *, note=""):
    """
    Header for a map a network made from ``template``: same WCS, observer and time.

    A `derived_meta` header with the network's task as the product: ``instrume`` names this
    package and the model, ``obsrvtry`` keeps the platform the input was observed from,
    ``dlinput`` describes the input observation, ``dlmodel``, ``dlmodver`` and ``dlsha256``
    identify the weights, and a history line records it all. A magnetogram made from a
    magnetogram (denoising) keeps the wavelength of its line.
    """
    spec = model.spec
    source = checks.describe_map(template)
    same_measurement = spec.output.unit == "G" and template.unit is not None and template.unit.is_equivalent(u.G)
    line = (
        f"made by model {spec.name} version {spec.version} "
        f"(weights sha256 {model.sha256}) from {source}; not an observation."
    )
    if note:
        line += f" {note}"
    meta = derived_meta(
        template.meta,
        product=spec.task,
        measurement="magnetogram" if spec.output.unit == "G" else spec.output.label,
        ai_generated=True,
        history=line,
        bunit=spec.output.unit,
        instrument=f"sunpy-dlmag {spec.name}",
        observatory=template.observatory or "unknown",
        inputs=source,
        model=model,
        wavelength=template.wavelength if same_measurement else None,
    )
    meta.update(frame_meta(template))
    return meta


def frame_meta(smap):
    """
    The keys a product of ``smap`` needs to keep its frame once it is no longer read by
    ``smap``'s instrument class: standard observer keys (instrument-specific ones, such as MDI's
    OBS_L0, are read by that class only), the observation time and the axis units and types
    (which classes such as AIA's T_OBS or EIT's and MDI's default units fill in).
    """
    meta = dict(get_observer_meta(smap.observer_coordinate, smap.rsun_meters))
    meta["rsun_obs"] = smap.rsun_obs.to_value(u.arcsec)
    meta["date-obs"] = checks.date_as_written(smap)
    meta["date-avg"] = smap.reference_date.utc.isot  # HMI gives T_OBS in TAI
    for axis, (unit, ctype) in enumerate(zip(smap.spatial_units, smap.wcs.wcs.ctype, strict=True), start=1):
        meta[f"cunit{axis}"] = unit.to_string("fits")
        meta[f"ctype{axis}"] = ctype
    return meta


def is_ai_generated(smap):
    """Whether a network made ``smap`` or part of it, as its header states (``DLAI``)."""
    return bool(smap.meta.get("dlai", False))


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
        raise InvalidArgumentError(
            f"product must be one of {sorted(MAGNETOGRAM_PLOT)} (the limits are fixed per kind of map), "
            f"got {product!r}."
        )
    cmap, limit = MAGNETOGRAM_PLOT[product]
    return {"cmap": cmap, "norm": ImageNormalize(vmin=-limit.to_value(u.G), vmax=limit.to_value(u.G))}


# Products on grids of about a degree, shown with the "global" limits of `MAGNETOGRAM_PLOT`.
_GLOBAL_PRODUCTS = {"synchronic", "disk-view"}


def _code_plot_settings(measurement):
    """Plot settings of the products whose data are codes, not a field: one colour per category."""
    from matplotlib.colors import BoundaryNorm, ListedColormap, Normalize

    if measurement == "open-field polarity":
        # Open negative, closed, open positive: three categories, not a continuous scale.
        cmap = ListedColormap(["tab:blue", "0.92", "tab:red"], name="open field")
        return {"cmap": cmap, "norm": BoundaryNorm([-1.5, -0.5, 0.5, 1.5], 3), "interpolation": "nearest"}
    if measurement == "source code":
        # A norm, not vmin/vmax keys, so that a norm given to plot() replaces it (sunpy refuses both).
        return {"cmap": "tab10", "norm": Normalize(vmin=-1.5, vmax=8.5), "interpolation": "nearest"}
    return {}


_DLMAGMAP_DOC = """
    A map this package made: a denoised, farside or drawing magnetogram, a synchronic map, a
    PFSS open-field map, ...

    ``sunpy.map.Map`` returns this class for every header that states a product of this
    package (the ``DLPROD`` key written by `sunpy_dlmag.maps.derived_meta`), so a saved
    output read back with ``sunpy.map.Map(path)`` knows what it is (``product``, ``model``,
    ``ai_generated``, ``inputs``, ``provenance``), measures what it says and plots with the
    colour map and fixed limits, symmetric about 0 G, of its kind of map
    (`sunpy_dlmag.maps.MAGNETOGRAM_PLOT`). Observations are never claimed. ``save`` also writes
    the map's uncertainty and mask to a FITS file; `sunpy_dlmag.io.read_map` reads them back.

    Examples
    --------
    >>> import sunpy.map
    >>> from sunpy_dlmag.maps import DlmagMap
    >>> smap = sunpy.map.Map("magnetogram_denoise.fits")  # doctest: +SKIP
    >>> isinstance(smap, DlmagMap), smap.model, smap.ai_generated  # doctest: +SKIP
    (True, 'denoise-m2', True)
    """


class DlmagMap(sunpy.map.GenericMap):  # its docstring is set below the class
    def __init__(self, data, header, plot_settings=None, **kwargs):
        super().__init__(data, header, **kwargs)
        self._nickname = self.instrument  # e.g. "sunpy-dlmag denoise-m2": names the map, not an instrument
        if self.measurement == "uncertainty":
            # A 1-sigma error, never shown as a field: a sequential colour map from 0.
            self.plot_settings.update({"cmap": "viridis", "norm": ImageNormalize(vmin=0)})
        elif self.unit is not None and self.unit.is_equivalent(u.G):
            kind = "global" if self.product in _GLOBAL_PRODUCTS else "magnetogram"
            self.plot_settings.update(magnetogram_plot_settings(kind))
        else:
            self.plot_settings.update(_code_plot_settings(self.measurement))
        if plot_settings:
            self.plot_settings.update(plot_settings)

    @property
    def product(self):
        """What this map is (``DLPROD``), e.g. ``"denoise"``."""
        return self.meta["dlprod"]

    @property
    def measurement(self):
        """What the data measure (``DLMEAS``), e.g. ``"magnetogram"``."""
        return self.meta.get("dlmeas", "")

    @property
    def ai_generated(self):
        """Whether a network made these data or part of them (``DLAI``)."""
        return is_ai_generated(self)

    @property
    def model(self):
        """Name of the model that made the map (``DLMODEL``), or `None`."""
        return self.meta.get("dlmodel")

    @property
    def model_version(self):
        """Version of the model's weights (``DLMODVER``), or `None`."""
        return self.meta.get("dlmodver")

    @property
    def weights_sha256(self):
        """sha256 of the model's weights (``DLSHA256``), or `None`."""
        return self.meta.get("dlsha256")

    @property
    def inputs(self):
        """What the map was made from (``DLINPUT``), or `None`."""
        return self.meta.get("dlinput")

    @property
    def provenance(self):
        """What the header states about how it was made: the product keys, by name (see `sunpy_dlmag.maps`)."""
        keys = {"product": "dlprod", "ai_generated": "dlai", "measurement": "dlmeas", "inputs": "dlinput"}
        keys |= {"model": "dlmodel", "model_version": "dlmodver", "weights_sha256": "dlsha256", "version": "dlver"}
        return {name: self.meta[key] for name, key in keys.items() if key in self.meta}

    def save(self, filepath, filetype="auto", **kwargs):
        """
        Save the map to a file, as `sunpy.map.GenericMap.save`; a FITS file also gets the map's
        ``uncertainty`` and ``mask`` (see `sunpy_dlmag.io.save_map`, which also writes atomically).

        ``sunpy.map.Map(path)`` reads the map back alone; `sunpy_dlmag.io.read_map` reads it
        with its uncertainty and mask.
        """
        if filetype.lower() == "auto" and mapio.is_fits_name(filepath):
            filetype = "fits"  # sunpy takes the type from the last suffix: .fits.gz would be "gz"
        super().save(filepath, filetype=filetype, **kwargs)
        if filetype.lower() in ("fits", "fit", "fts"):
            mapio.append_extras(filepath, self)

    @property
    def uncertainty_map(self):
        """
        The ``uncertainty`` as a map of its own, to plot or save (``DLMEAS = 'uncertainty'``: a
        sequential colour map from 0, never a magnetogram's), or `None` without one.
        """
        if self.uncertainty is None:
            return None
        meta = copy.deepcopy(self.meta)
        meta["dlmeas"] = "uncertainty"
        unit = self.uncertainty.unit if self.uncertainty.unit is not None else self.unit
        meta["bunit"] = unit.to_string("fits") if unit is not None else ""
        return DlmagMap(np.asarray(self.uncertainty.array, dtype=np.float32), meta)

    @classmethod
    def is_datasource_for(cls, data, header, **kwargs):
        """A product of this package: its header states one (``DLPROD``)."""
        return bool(header.get("dlprod"))


# sunpy appends notes to every map class that cite a bibliography these docs do not have.
DlmagMap.__doc__ = _DLMAGMAP_DOC
