"""
Reading and writing files: atomic FITS output, and readers of the standard global magnetic
maps (GONG synoptic maps, HMI daily synchronic frames, ADAPT).
"""

import contextlib
import copy
import glob
import os
import re
import secrets
import time
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits

import sunpy.map
import sunpy.sun.constants
from sunpy.coordinates import get_earth
from sunpy.map.header_helper import get_observer_meta
from sunpy.time import parse_time

from sunpy_dlmag import checks, mapio
from sunpy_dlmag.exceptions import (
    ArgumentTypeError,
    InputFileError,
    InputMapError,
    InvalidArgumentError,
    OutputExistsError,
)
from sunpy_dlmag.mapio import FITS_SUFFIXES, existing_file, fits_stem, is_fits_name, read_map, reading

__all__ = [
    "FITS_SUFFIXES",
    "fits_stem",
    "global_field_map",
    "is_fits_name",
    "read_adapt",
    "read_aisfm",
    "read_gong_synoptic",
    "read_hmi_synchronic",
    "read_map",
    "save_map",
    "write_atomic",
]

# A temporary file this old was left by a write that was killed, not one still under way.
STALE_TEMPORARY_AGE = 3600.0  # seconds


def _remove_stale_temporaries(path):
    """Delete temporaries of ``path`` (``.NAME.<hex>.part<suffix>``) left by killed writes over an hour ago."""
    now = time.time()
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.part{glob.escape(path.suffix)}"):
        with contextlib.suppress(OSError):  # gone already, or not ours to delete
            if now - tmp.stat().st_mtime > STALE_TEMPORARY_AGE:
                tmp.unlink()


def _new_temporary(path):
    """An empty file beside ``path`` with a unique name, made with the permissions the umask gives."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.part{path.suffix}"
        try:
            # Not mkstemp (0600): the kernel applies the process umask to 0666, as for any new
            # file, without this module reading or changing the umask.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise OutputExistsError(f"No free temporary file name beside {path}.")


def write_atomic(path, write, *, overwrite=False):
    """
    Call ``write(tmp_path)`` and move the finished file to ``path`` in one step.

    A crash or an error while writing leaves no partial file at ``path``; temporaries left
    beside it by writes killed more than an hour ago are removed.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass overwrite=True to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    tmp = _new_temporary(path)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_map(smap, path, *, overwrite=False, compress=False):
    """
    Save a map as FITS atomically (see `~sunpy_dlmag.io.write_atomic`); a name ending in ``.gz`` is gzipped.

    ``compress=True`` writes the image tile-compressed (``RICE_1``, as HMI's files; sunpy and
    astropy read it as any FITS map): integer data losslessly, float data in steps of
    ``sunpy_dlmag.mapio.QUANTIZE_STEP`` of the map's unit (0.01 G: at most 0.005 G off, far
    below any magnetogram's noise), about a third of the plain file's size.

    A map's ``uncertainty`` and ``mask`` follow the image as binary tables (``EXTNAME =
    'UNCERTAINTY'`` and ``'MASK'``): ``sunpy.map.Map(path)`` reads the map alone, as for any
    observation, and `~sunpy_dlmag.io.read_map` reads it with them.

    Raises
    ------
    InputMapError
        ``smap`` is not a 2-D sunpy map.
    ValueError
        A name ending in ``.fz``: tile-compressed FITS is read, not written.
    """
    checks.is_map(smap, error=True, name="map to save")
    if not isinstance(path, str | os.PathLike):
        raise ArgumentTypeError(f"path must be a str or a pathlib.Path, got {type(path).__name__}.")
    path = Path(path)
    if path.name.lower().endswith(".fz"):
        raise InvalidArgumentError(
            f"{path}: tile-compressed FITS (.fz) is read, not written; name the output .fits or .fits.gz."
        )
    original = smap
    if "blank" in smap.meta and not np.issubdtype(smap.data.dtype, np.integer):
        # BLANK only applies to integer data; astropy warns when a float image carries it.
        meta = copy.deepcopy(smap.meta)
        meta.pop("blank")
        smap = sunpy.map.Map(smap.data, meta)
    if not isinstance(compress, bool):
        raise ArgumentTypeError(f"compress must be True (tile-compressed) or False (plain FITS), got {compress!r}.")
    # sunpy takes the file type from the last suffix; astropy gzips names ending in .gz.
    filetype = "fits" if is_fits_name(path) else "auto"

    def write(tmp):
        if compress:
            mapio.write_compressed(tmp, smap)
        else:
            # GenericMap's own save: a DlmagMap's would add the uncertainty itself.
            sunpy.map.GenericMap.save(smap, tmp, filetype=filetype, overwrite=True)
        if is_fits_name(path):
            mapio.append_extras(tmp, original)

    return write_atomic(path, write, overwrite=overwrite)


# --------------------------------------------------------------------------- global magnetic maps
# Each reader returns a new full-Sun Carrington map in G, ready for sunpy_dlmag.pfss.pfss_extrapolate
# and as the background of sunpy_dlmag.synchronic.synchronic_map.


_RSUN_M = sunpy.sun.constants.radius.to_value(u.m)


_BAD_VALUES_DOC = """bad_values : {"raise", "mask"}
        Values with ``|B|`` above 5 kG, more than the Sun produces in a global map
        (`sunpy_dlmag.checks.FIELD_LIMITS`): refused (default) or set to NaN with a warning.
        Fill values the header declares (``BLANK``, ``MISSING``, ...) are NaN either way."""


def _plausible(smap, bad_values, name):
    """A new map of ``smap``: declared fill values NaN, implausible values refused or NaN (``bad_values``)."""
    data = checks.field_data(smap, name=name, product="global", bad_values=bad_values)
    return sunpy.map.Map(data, copy.deepcopy(smap.meta))


def read_gong_synoptic(path, *, bad_values="raise"):
    """
    Read a GONG synoptic magnetogram (``mrzqs``, ``mrbqs``, ... files).

    Parameters
    ----------
    path : str or `~pathlib.Path`
        A GONG synoptic map FITS file (360x180 Carrington CEA, radial field in G).
    {bad_values}

    Returns
    -------
    `~sunpy.map.sources.GONGSynopticMap`
        A new map in G, observer at Earth at the map's time.

    Raises
    ------
    FileNotFoundError
    InputMapError
        The file is not a GONG synoptic map (one 2-D image).
    ImplausibleValueError
        ``|B|`` above 5 kG with ``bad_values="raise"``.

    Examples
    --------
    >>> from sunpy_dlmag.data.sample import GONG_SYNOPTIC
    >>> from sunpy_dlmag.io import read_gong_synoptic
    >>> gong = read_gong_synoptic(GONG_SYNOPTIC)
    >>> gong.data.shape, gong.unit
    ((180, 360), Unit("G"))
    """
    path = existing_file(path)
    checks.check_bad_values(bad_values)
    with reading(path, "a GONG synoptic map"), warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        warnings.filterwarnings("ignore", "This file contains more than 2 dimensions")  # refused below
        smap = sunpy.map.Map(path)
    if not isinstance(smap, sunpy.map.GenericMap) or not isinstance(smap, sunpy.map.sources.GONGSynopticMap):
        raise InputMapError(
            f"{path} is not a GONG synoptic map: expected TELESCOP 'NSO-GONG' and Carrington longitudes "
            f"(CTYPE1 'CRLN-CEA'), got {_what_map(smap)}."
        )
    # sunpy keeps the first 2-D plane of a cube without a word.
    naxes = [int(smap.meta.get(f"naxis{i}", 1)) for i in range(1, int(smap.meta.get("naxis", 2)) + 1)]
    if smap.data.ndim != 2 or any(n > 1 for n in naxes[2:]):
        raise InputFileError(
            f"{path} holds data of shape {tuple(reversed(naxes))}; a GONG synoptic map is one 2-D image."
        )
    return _plausible(_standard_gong(smap), bad_values, "GONG synoptic map")


def _what_map(smap):
    if isinstance(smap, list):
        return f"{len(smap)} maps"
    return f"a {type(smap).__name__} from {smap.observatory or 'an unknown observatory'}"


def _standard_gong(smap):
    meta = copy.deepcopy(smap.meta)
    meta["bunit"] = "G"
    meta.setdefault("rsun_ref", _RSUN_M)  # sunpy would assume this radius anyway
    return sunpy.map.Map(np.asarray(smap.data, dtype=np.float32), meta)


def _first_image_hdu(hdul, path):
    for hdu in hdul:
        image = isinstance(hdu, fits.PrimaryHDU | fits.ImageHDU | fits.CompImageHDU)
        if image and hdu.data is not None and hdu.data.ndim >= 2:
            return hdu
    raise InputFileError(f"{path} has no image data (only tables or empty HDUs).")


def read_hmi_synchronic(path, *, bad_values="raise"):
    """
    Read an HMI daily synchronic frame (``hmi.mrdailysynframe*``) or synoptic chart (``hmi.synoptic_mr*``).

    Their headers are not standard FITS WCS; this does what sunkit-magex's ``fix_hmi_meta``
    did (deprecated there, and written for the older ``'Sine Latitude'`` unit): CUNIT2
    ``'sin(deg)'`` becomes ``'deg'`` with CDELT2 times 180/pi (the CEA convention). In
    addition, CRVAL1 is given in *Carrington time* (``360 x CR - longitude``, decreasing to the
    right); it becomes the Carrington longitude of the reference pixel with a positive CDELT1.
    DATE-OBS is set from T_OBS; header cards holding the string ``'nan'`` are dropped; the
    observer comes from CRLN_OBS, CRLT_OBS and DSUN_OBS. The data (``Mr``, the radial field
    inferred from the line of sight, Mx/cm^2 = G) are returned as they are, NaN included
    (above about 85 degrees latitude).

    Parameters
    ----------
    path : str or `~pathlib.Path`
    {bad_values}

    Returns
    -------
    `~sunpy.map.GenericMap`
        A new map in G.

    Raises
    ------
    FileNotFoundError
    InputMapError
        The file is not an HMI synoptic product in Carrington coordinates.
    ImplausibleValueError
        ``|B|`` above 5 kG with ``bad_values="raise"``.

    Examples
    --------
    >>> from sunpy_dlmag.data.sample import HMI_SYNCHRONIC
    >>> from sunpy_dlmag.io import read_hmi_synchronic
    >>> hmi = read_hmi_synchronic(HMI_SYNCHRONIC)
    >>> hmi.data.shape, hmi.coordinate_system.axis1
    ((360, 720), 'CRLN-CEA')
    """
    path = existing_file(path)
    checks.check_bad_values(bad_values)
    with reading(path, "an HMI synoptic map"), fits.open(path) as hdul:
        hdu = _first_image_hdu(hdul, path)
        hdu.verify("silentfix")  # cards such as HGLN_OBS = 'nan' do not parse otherwise
        header = hdu.header.copy()
        data = np.array(hdu.data, dtype=np.float32)
    telescope = str(header.get("TELESCOP", ""))
    ctype1 = str(header.get("CTYPE1", ""))
    if "HMI" not in telescope.upper() or not ctype1.startswith("CRLN") or data.ndim != 2:
        raise InputMapError(
            f"{path} is not an HMI synoptic map: expected TELESCOP 'SDO/HMI' and CTYPE1 'CRLN-CEA' on a 2D image, "
            f"got TELESCOP {telescope!r}, CTYPE1 {ctype1!r}, data shape {data.shape}."
        )
    with reading(path, "an HMI synoptic map"):
        _fix_hmi_synoptic_meta(header)
        smap = sunpy.map.Map(data, header)
    return _plausible(smap, bad_values, "HMI synoptic map")


def _fix_hmi_synoptic_meta(meta):
    """
    Make the header of an HMI synoptic product standard FITS WCS, in place (see `read_hmi_synchronic`).

    Works on a `~astropy.io.fits.Header` and on a map's `~sunpy.util.MetaDict` (both case-insensitive).
    """
    for key in list(meta):
        value = meta[key]
        if isinstance(value, str) and value.strip().lower() == "nan":
            del meta[key]
    if str(meta.get("CUNIT1", "")).lower() in ("degree", "degrees"):
        meta["CUNIT1"] = "deg"
    if str(meta.get("CUNIT2", "")).strip() in ("sin(deg)", "Sine Latitude"):
        meta["CUNIT2"] = "deg"
        meta["CDELT2"] = 180 / np.pi * meta["CDELT2"]
    if abs(meta["CRVAL1"]) > 360:  # Carrington time: 360 * rotation - longitude, decreasing to the right
        meta["CRVAL1"] = (-meta["CRVAL1"]) % 360
        meta["CDELT1"] = abs(meta["CDELT1"])  # sunkit-magex's fix_hmi_meta may have made it positive already
    if "T_OBS" in meta:
        meta["DATE-OBS"] = parse_time(meta["T_OBS"]).utc.isot
    meta["BUNIT"] = "G"  # Mx/cm^2


def read_adapt(path, *, realization="mean", bad_values="raise"):
    """
    Read an ADAPT map (12 realisations on a Carrington plate carree grid) as a CEA map.

    Parameters
    ----------
    path : str or `~pathlib.Path`
        An ADAPT FITS file (``adapt4*.fts`` or ``.fts.gz``).
    realization : "mean" or int
        ``"mean"``: the mean of all realisations (the usual choice for PFSS); an integer:
        that realisation (0-based).
    {bad_values}

    Returns
    -------
    `~sunpy.map.GenericMap`
        A new map in G, reprojected to Carrington CEA with
        `sunkit_magex.pfss.utils.car_to_cea`, observer at Earth at the map's time;
        ``adaptrl`` in its header says which realisation it holds.

    Raises
    ------
    FileNotFoundError
    InputMapError
        Not an ADAPT file (header MODEL is not 'ADAPT'), or no such realisation.
    ImplausibleValueError
        ``|B|`` above 5 kG with ``bad_values="raise"`` (checked before the reprojection to CEA).

    Examples
    --------
    >>> from sunpy_dlmag.data.sample import ADAPT_SYNCHRONIC
    >>> from sunpy_dlmag.io import read_adapt
    >>> adapt = read_adapt(ADAPT_SYNCHRONIC, realization=3)
    >>> adapt.coordinate_system.axis1, adapt.meta["adaptrl"]
    ('CRLN-CEA', '3')
    """
    path = existing_file(path)
    checks.check_bad_values(bad_values)
    with reading(path, "an ADAPT map"), fits.open(path) as hdul:
        header = hdul[0].header.copy()
        if str(header.get("MODEL", "")).strip() != "ADAPT":
            raise InputMapError(
                f"{path} is not an ADAPT map: expected header MODEL 'ADAPT', got {header.get('MODEL')!r}."
            )
        cube = np.asarray(hdul[0].data, dtype=np.float32)
    if cube.ndim == 2:
        cube = cube[np.newaxis]
    if cube.ndim != 3:
        raise InputFileError(f"{path} holds data of shape {cube.shape}; an ADAPT map is (realisations, lat, lon).")
    cube = np.where(np.isin(cube, checks.fill_values(header)), np.nan, cube)
    if isinstance(realization, str) and realization == "mean":
        data = cube.mean(axis=0)
    elif isinstance(realization, int | np.integer) and not isinstance(realization, bool):
        if not 0 <= realization < cube.shape[0]:
            raise InputMapError(f"realization must be 'mean' or 0..{cube.shape[0] - 1} for {path}, got {realization}.")
        data = cube[realization]
    else:
        raise InputMapError(f"realization must be 'mean' or an integer, got {realization!r}.")
    for key in ("NAXIS3", "CRPIX3", "CDELT3", "CRVAL3", "CTYPE3", "CUNIT3"):
        header.remove(key, ignore_missing=True)
    header["NAXIS"] = 2
    header["BUNIT"] = "G"
    header["ADAPTRL"] = str(realization)
    # Before the reprojection, which would spread a fill value over its neighbours.
    data = checks.plausible_field(data, product="global", name=f"The ADAPT map {path.name}", bad_values=bad_values)
    with reading(path, "an ADAPT map"):
        return _adapt_cea(data, header)


def _adapt_cea(data, header):
    """An ADAPT realisation (CAR) as a CEA map in G with an observer at Earth."""
    from sunkit_magex.pfss.utils import car_to_cea

    header = copy.deepcopy(header)
    header["BUNIT"] = "G"
    header.setdefault("RSUN_REF", _RSUN_M)
    car = sunpy.map.Map(data, header)
    # ADAPT headers carry no observer; state Earth's, as sunpy would otherwise assume with a warning.
    header.update(get_observer_meta(get_earth(car.date), car.rsun_meters))
    car = sunpy.map.Map(data, header)
    cea = car_to_cea(car)
    meta = copy.deepcopy(car.meta)
    meta.update(cea.wcs.to_header())
    meta["date-obs"] = car.date.isot
    return sunpy.map.Map(cea.data.astype(np.float32), meta)


for _reader in (read_gong_synoptic, read_hmi_synchronic, read_adapt):
    _reader.__doc__ = _reader.__doc__.replace("{bad_values}", _BAD_VALUES_DOC)


def global_field_map(smap, *, name="map", dtype=np.float32, bad_values="raise"):
    """
    A full-Sun radial-field map in G as this module's readers return it, from a map read the
    ecosystem's documented ways, and its data.

    - ADAPT maps read with ``sunpy.map.Map(path, hdus=0)`` (sunpy's gallery; one realisation,
      plate carree, no BUNIT): missing values NaN, observer at Earth, converted to CEA with
      `sunkit_magex.pfss.utils.car_to_cea`, as `read_adapt` does;
    - HMI synoptic maps and synchronic frames read with ``sunpy.map.Map`` (`~sunpy.map.sources.HMISynopticMap`):
      their header fixed as `read_hmi_synchronic` does (sunkit-magex's ``fix_hmi_meta``, and
      CRVAL1 in Carrington time);
    - GONG synoptic maps read with ``sunpy.map.Map`` (their BUNIT is read);
    - any other full-Sun heliographic map; without BUNIT (e.g. the output of ``car_to_cea``)
      it is taken as G, as sunkit-magex does.

    Maps without BUNIT warn once (`~sunpy_dlmag.exceptions.AssumedUnitWarning`) with the assumption.
    A map that sunpy identifies as EUV (an EUV imager's map class, or WAVELNTH in the EUV) is
    refused, whatever its BUNIT, as is one whose header rotates its axes (CROTA2). Declared
    fill values become NaN; ``|B|`` above 5 kG is refused or masked (``bad_values``).

    Parameters
    ----------
    smap : `~sunpy.map.GenericMap`
    name : str
        What the map is called in messages.
    dtype : numpy dtype
        Of the returned data.
    bad_values : {"raise", "mask"}
        Values beyond 5 kG (`sunpy_dlmag.checks.FIELD_LIMITS`): refused, or NaN with a warning.

    Returns
    -------
    smap : `~sunpy.map.GenericMap`
        The map itself, or a new standard one.
    data : `numpy.ndarray`
        Field in G (``dtype``), NaN where missing or masked.

    Raises
    ------
    InputMapError
        Not a full-Sun heliographic map; `~sunpy_dlmag.exceptions.MissingDateError` for a map
        without a date; `~sunpy_dlmag.exceptions.UnitError` for data not in
        units of magnetic field; `~sunpy_dlmag.exceptions.NonFiniteDataError` for infinite values.
    """
    checks.is_map(smap, error=True, name=name)
    checks.check_bad_values(bad_values)
    checks.has_date(smap, error=True, name=name)  # before anything reads the frame, which needs one
    if checks.is_euv_observation(smap):
        raise InputMapError(
            f"Expected a {name} of the radial magnetic field; sunpy identifies this one as EUV "
            f"({type(smap).__name__}, {smap.observatory or ''} {smap.instrument or ''}, wavelength "
            f"{smap.meta.get('wavelnth')} {smap.meta.get('waveunit') or ''}). EUV intensities are not a field in G."
        )
    fills = checks.fill_values(smap.meta)
    meta = smap.meta
    no_unit = not str(meta.get("bunit", "") or "").strip()
    if (
        str(meta.get("model", "")).strip() == "ADAPT"
        and "CAR" in str(meta.get("ctype1", "")) + smap.coordinate_system.axis1
    ):
        if no_unit:
            _assumed_gauss(name, "an ADAPT map")
        header = copy.deepcopy(meta)
        for key in ("naxis3", "crpix3", "cdelt3", "crval3", "ctype3", "cunit3"):
            header.pop(key, None)
        header["naxis"] = 2
        data = checks.finite_data(checks.map_data(smap), f"The {name}'s data", allow_all_nan=True, fill=fills)
        data = checks.plausible_field(data, product="global", name=f"The {name}'s data", bad_values=bad_values)
        smap = _adapt_cea(data, header)
    elif isinstance(smap, sunpy.map.sources.HMISynopticMap) or (
        "HMI" in str(meta.get("telescop", "")).upper() and str(meta.get("ctype1", "")).upper().startswith("CRLN")
    ):
        header = copy.deepcopy(meta)
        _fix_hmi_synoptic_meta(header)
        smap = sunpy.map.Map(checks.finite_data(checks.map_data(smap), f"The {name}'s data", fill=fills), header)
    checks.is_full_sun_heliographic(smap, error=True, name=name)
    data = checks.field_data(smap, name=name, assume_gauss=True, dtype=dtype, product="global", bad_values=bad_values)
    return smap, data


def _assumed_gauss(name, source):
    from sunpy_dlmag.exceptions import AssumedUnitWarning

    warnings.warn(
        f"The {name} ({source}) has no BUNIT; its values are taken to be in G, the unit of its source. "
        "Set meta['bunit'] = 'G' to say so.",
        AssumedUnitWarning,
        stacklevel=3,
    )


# --------------------------------------------------------------------------- AISFM farside products


def _aisfm_platform(text):
    """'STEREO_A', 'STEREO_B' or 'SDO' named in a header value, file name or HISTORY line, else None."""
    text = str(text or "")
    secchi = re.search(r"\d{8}_\d{6}_\w{2}eu([AB])\b", text, re.IGNORECASE)  # e.g. 20110305_120530_n4euB.fts
    if secchi:
        return f"STEREO_{secchi.group(1).upper()}"
    named = re.search(r"stereo[ _-]?(a|b|ahead|behind)\b", text, re.IGNORECASE)
    if named:
        return f"STEREO_{named.group(1)[0].upper()}"
    if re.search(r"\b(sdo|aia)", text, re.IGNORECASE):
        return "SDO"
    return None


def _aisfm_date(header, name):
    for key in ("DATE-OBS", "DATE_OBS", "T_OBS"):
        if str(header.get(key, "")).strip():
            return parse_time(str(header[key]).strip().rstrip("Z"))
    stamp = re.search(r"(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})", name)
    if stamp:
        y, mo, d, h, mi, s = stamp.groups()
        return parse_time(f"{y}-{mo}-{d}T{h}:{mi}:{s}")
    return None


def read_aisfm(path, *, observer=None):
    """
    Read a published AI-generated solar farside magnetogram (AISFM) as a map.

    The AISFM products of KASI (Korean Data Center for SDO; Kim et al. 2019, Jeong et al.
    2020, 2022) are 1024x1024 FITS images in G, 2.097 arcsec/px, NaN off the disk, whose
    observatory and instrument keywords are blank and whose input files are listed in HISTORY.
    This fills the metadata from the file's own information:

    - the platform of the input (STEREO-A, STEREO-B or SDO) from ``INPUTDAT``, else from the
      input file names in HISTORY (SECCHI ``..._n4euB.fts`` names end in the spacecraft letter),
      else from the file name (``aisfm_v3_stereo_b_20110305_120403.fits``);
    - the time from DATE-OBS, else from the file name;
    - the observer from ``HGLN_OBS``/``HGLT_OBS``/``DSUN_OBS`` (or any complete set sunpy
      reads), else from ``observer=``; for SDO inputs without one, Earth's position is used;
    - a helioprojective TAN projection when CTYPE is missing (the products are images seen by
      the input spacecraft);
    - ``BUNIT = 'G'``, ``OBSRVTRY``/``TELESCOP`` the platform, ``INSTRUME`` ``'AISFM vN (KASI)'``,
      ``DLMODEL`` the registry name (``aisfm-vN``), ``DLINPUT`` the input files, a history line,
      and magnetogram plot settings.

    The data are returned as they are (NaN off the disk).

    Parameters
    ----------
    path : str or `~pathlib.Path`
    observer : `~astropy.coordinates.SkyCoord`, optional
        The input spacecraft's position, for files without observer keys, e.g.
        ``sunpy.coordinates.get_horizons_coord("STEREO-B", time)`` (needs the network).

    Returns
    -------
    `~sunpy.map.GenericMap`

    Raises
    ------
    FileNotFoundError
    InputFileError
        An empty, truncated or corrupt file, or no 2D image.
    InputMapError
        An observation rather than an AISFM product (INSTRUME, TELESCOP or DETECTOR set, or
        data not in G), no observation time, or no pixel scale (CDELT1/CDELT2).
    MissingObserverError
        No observer position in the file for a STEREO input, and no ``observer=``.
    """
    from sunpy_dlmag.exceptions import MissingObserverError
    from sunpy_dlmag.maps import derived_meta

    path = existing_file(path)
    if observer is not None:
        checks.check_observer_coordinate(observer)
    with reading(path, "an AISFM product"), fits.open(path) as hdul:
        hdu = _first_image_hdu(hdul, path)
        header = hdu.header.copy()
        data = np.asarray(hdu.data, dtype=np.float32)
    if data.ndim != 2:
        raise InputFileError(f"{path} holds an image of shape {data.shape}; an AISFM product is a 2D image.")
    named = {key: str(header.get(key, "") or "").strip() for key in ("INSTRUME", "TELESCOP", "DETECTOR")}
    if any(value and "AISFM" not in value.upper() for value in named.values()):
        raise InputMapError(
            f"{path} is not an AISFM product: their INSTRUME, TELESCOP and DETECTOR are blank, this file names "
            + ", ".join(f"{key} {value!r}" for key, value in named.items() if value)
            + " (an observation?)."
        )
    bunit = str(header.get("BUNIT", "") or "").strip()
    if bunit and bunit.lower() not in ("g", "gauss", "mx/cm^2", "mx/cm2", "mx cm-2"):
        raise InputMapError(f"{path} is not an AISFM product: their data are in G, this file's BUNIT is {bunit!r}.")
    history = [str(line) for line in header.get("HISTORY", [])]
    inputs = [line.strip() for line in history if line.strip()]
    platform = (
        _aisfm_platform(header.get("INPUTDAT"))
        or next((p for p in map(_aisfm_platform, inputs) if p), None)
        or _aisfm_platform(path.name)
    )
    version = re.search(r"aisfm[_-]?v(\d+)", path.name, re.IGNORECASE)
    version = version.group(1) if version else None
    date = _aisfm_date(header, path.name)
    if date is None:
        raise InputMapError(f"{path} gives no observation time: no DATE-OBS, and none in the file name.")
    if "CDELT1" not in header or "CDELT2" not in header:
        raise InputMapError(f"{path} gives no pixel scale (CDELT1, CDELT2); an AISFM product has 2.097 arcsec/px.")

    meta = {key.lower(): value for key, value in header.items() if key not in ("HISTORY", "COMMENT", "")}
    for key in ("simple", "extend", "bitpix", "naxis", "naxis1", "naxis2", "blank", "bscale", "bzero"):
        meta.pop(key, None)
    meta["date-obs"] = date.isot
    meta.setdefault("ctype1", "HPLN-TAN")
    meta.setdefault("ctype2", "HPLT-TAN")
    meta.setdefault("cunit1", "arcsec")
    meta.setdefault("cunit2", "arcsec")
    meta.setdefault("crpix1", (data.shape[1] + 1) / 2)
    meta.setdefault("crpix2", (data.shape[0] + 1) / 2)
    meta.setdefault("rsun_ref", _RSUN_M)
    notes = []
    has_observer = all(meta.get(k) not in (None, "") for k in ("hgln_obs", "hglt_obs", "dsun_obs")) or all(
        meta.get(k) not in (None, "") for k in ("crln_obs", "crlt_obs", "dsun_obs")
    )
    if observer is not None:
        meta.update(get_observer_meta(observer, _RSUN_M * u.m))
        notes.append("observer position given to read_aisfm")
    elif not has_observer:
        if platform != "SDO":
            raise MissingObserverError(
                f"{path} gives no observer position (HGLN_OBS/HGLT_OBS/DSUN_OBS), and the position of "
                f"{platform or 'its input spacecraft'} on {date.isot} cannot be looked up offline. Pass it: "
                f"read_aisfm(path, observer=sunpy.coordinates.get_horizons_coord("
                f"'{(platform or 'STEREO-A').replace('_', '-')}', '{date.isot}'))."
            )
        meta.update(get_observer_meta(get_earth(date), _RSUN_M * u.m))
        notes.append("observer: Earth (SDO input without observer keys)")

    label = f"AISFM v{version}" if version else "AISFM"
    line = (
        f"read_aisfm: {label}, AI-generated farside magnetogram published by KASI "
        f"(Korean Data Center for SDO) from {platform or 'unknown'} EUV data of {date.isot}; not an observation."
    )
    if notes:
        line += " " + "; ".join(notes) + "."
    meta["history"] = "\n".join(history)
    meta = derived_meta(
        meta,
        product="farside",
        measurement="magnetogram",
        ai_generated=True,
        bunit=str(meta.get("bunit", "")).strip() or "G",
        instrument=f"{label} (KASI)",
        observatory=platform or "unknown",
        inputs="; ".join(inputs) if inputs else (platform or "unknown"),
        model=f"aisfm-v{version}" if version else None,
        history=line,
    )
    # Published by KASI, not made by this package: the product keeps its maker's name.
    meta["instrume"] = f"{label} (KASI)"
    return sunpy.map.Map(data, meta)
