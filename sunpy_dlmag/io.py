"""
Reading and writing files: atomic FITS output, and readers of the standard global magnetic
maps (GONG synoptic maps, HMI daily synchronic frames, ADAPT).
"""

import copy
import os
import re
import tempfile
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits

import sunpy.map
import sunpy.sun.constants
from sunpy.coordinates import get_earth
from sunpy.map.header_helper import get_observer_meta
from sunpy.time import parse_time

from sunpy_dlmag.exceptions import InputMapError

__all__ = ["save_map", "write_atomic"]


def _read_umask():
    # os.umask can only be read by setting it; done once, at import.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def write_atomic(path, write, *, overwrite=False):
    """
    Call ``write(tmp_path)`` and move the finished file to ``path`` in one step.

    A crash or an error while writing leaves no partial file at ``path``.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part" + path.suffix)
    os.close(fd)
    Path(tmp).chmod(0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs get the usual permissions
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_map(smap, path, *, overwrite=False):
    """
    Save a map as FITS atomically (see `write_atomic`).

    A map with an ``uncertainty`` gets it as a second image HDU (``EXTNAME = 'UNCERTAINTY'``)
    with the map's header, so ``sunpy.map.Map(path)`` reads both as maps.
    """
    if "blank" in smap.meta and not np.issubdtype(smap.data.dtype, np.integer):
        # BLANK only applies to integer data; astropy warns when a float image carries it.
        meta = copy.deepcopy(smap.meta)
        meta.pop("blank")
        smap = sunpy.map.Map(smap.data, meta, uncertainty=smap.uncertainty)
    if smap.uncertainty is None:
        return write_atomic(path, lambda tmp: smap.save(tmp, overwrite=True), overwrite=overwrite)

    def write(tmp):
        smap.save(tmp, overwrite=True)
        header = fits.getheader(tmp)
        header["EXTNAME"] = "UNCERTAINTY"
        header["BUNIT"] = smap.uncertainty.unit.to_string("fits") if smap.uncertainty.unit else header.get("BUNIT")
        header["UTYPE"] = (type(smap.uncertainty).__name__, "astropy.nddata uncertainty class")
        fits.append(tmp, np.asarray(smap.uncertainty.array, dtype=np.float32), header)

    return write_atomic(path, write, overwrite=overwrite)


# --------------------------------------------------------------------------- global magnetic maps
# Each reader returns a new full-Sun Carrington map in G, ready for sunpy_dlmag.pfss.pfss_extrapolate
# and as the background of sunpy_dlmag.synchronic.synchronic_map.

__all__ += ["read_adapt", "read_gong_synoptic", "read_hmi_synchronic"]

_RSUN_M = sunpy.sun.constants.radius.to_value(u.m)


def _existing_file(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {path}")
    return path


def read_gong_synoptic(path):
    """
    Read a GONG synoptic magnetogram (``mrzqs``, ``mrbqs``, ... files).

    Parameters
    ----------
    path : str or `~pathlib.Path`
        A GONG synoptic map FITS file (360x180 Carrington CEA, radial field in G).

    Returns
    -------
    `~sunpy.map.sources.GONGSynopticMap`
        A new map in G, observer at Earth at the map's time.

    Raises
    ------
    FileNotFoundError
    InputMapError
        The file is not a GONG synoptic map.

    Examples
    --------
    >>> from sunpy_dlmag.data.sample import GONG_SYNOPTIC
    >>> from sunpy_dlmag.io import read_gong_synoptic
    >>> gong = read_gong_synoptic(GONG_SYNOPTIC)
    >>> gong.data.shape, gong.unit
    ((180, 360), Unit("G"))
    """
    smap = sunpy.map.Map(_existing_file(path))
    if not isinstance(smap, sunpy.map.sources.GONGSynopticMap):
        raise InputMapError(
            f"{path} is not a GONG synoptic map: expected TELESCOP 'NSO-GONG' and Carrington longitudes "
            f"(CTYPE1 'CRLN-CEA'), got a {type(smap).__name__} from {smap.observatory or 'an unknown observatory'}."
        )
    meta = copy.deepcopy(smap.meta)
    meta["bunit"] = "G"
    meta.setdefault("rsun_ref", _RSUN_M)  # sunpy would assume this radius anyway
    return sunpy.map.Map(smap.data.astype(np.float32), meta)


def _first_image_hdu(hdul, path):
    for hdu in hdul:
        if hdu.data is not None and hdu.data.ndim >= 2:
            return hdu
    raise InputMapError(f"{path} has no image data.")


def read_hmi_synchronic(path):
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

    Returns
    -------
    `~sunpy.map.GenericMap`
        A new map in G.

    Raises
    ------
    FileNotFoundError
    InputMapError
        The file is not an HMI synoptic product in Carrington coordinates.

    Examples
    --------
    >>> from sunpy_dlmag.data.sample import HMI_SYNCHRONIC
    >>> from sunpy_dlmag.io import read_hmi_synchronic
    >>> hmi = read_hmi_synchronic(HMI_SYNCHRONIC)
    >>> hmi.data.shape, hmi.coordinate_system.axis1
    ((360, 720), 'CRLN-CEA')
    """
    path = _existing_file(path)
    with fits.open(path) as hdul:
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
    for key in list(header):
        value = header[key]
        if isinstance(value, str) and value.strip().lower() == "nan":
            del header[key]
    if str(header.get("CUNIT1", "")).lower() in ("degree", "degrees"):
        header["CUNIT1"] = "deg"
    if str(header.get("CUNIT2", "")).strip() in ("sin(deg)", "Sine Latitude"):
        header["CUNIT2"] = "deg"
        header["CDELT2"] = 180 / np.pi * header["CDELT2"]
    if abs(header["CRVAL1"]) > 360:  # Carrington time: 360 * rotation - longitude
        header["CRVAL1"] = (-header["CRVAL1"]) % 360
        header["CDELT1"] = -header["CDELT1"]
    if "T_OBS" in header:
        header["DATE-OBS"] = parse_time(header["T_OBS"]).utc.isot
    header["BUNIT"] = "G"  # Mx/cm^2
    return sunpy.map.Map(data, header)


def read_adapt(path, *, realization="mean"):
    """
    Read an ADAPT map (12 realisations on a Carrington plate carree grid) as a CEA map.

    Parameters
    ----------
    path : str or `~pathlib.Path`
        An ADAPT FITS file (``adapt4*.fts`` or ``.fts.gz``).
    realization : "mean" or int
        ``"mean"``: the mean of all realisations (the usual choice for PFSS); an integer:
        that realisation (0-based).

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

    Examples
    --------
    >>> from sunpy_dlmag.data.sample import ADAPT_SYNCHRONIC
    >>> from sunpy_dlmag.io import read_adapt
    >>> adapt = read_adapt(ADAPT_SYNCHRONIC, realization=3)
    >>> adapt.coordinate_system.axis1, adapt.meta["adaptrl"]
    ('CRLN-CEA', '3')
    """
    from sunkit_magex.pfss.utils import car_to_cea

    path = _existing_file(path)
    with fits.open(path) as hdul:
        header = hdul[0].header.copy()
        if str(header.get("MODEL", "")).strip() != "ADAPT":
            raise InputMapError(
                f"{path} is not an ADAPT map: expected header MODEL 'ADAPT', got {header.get('MODEL')!r}."
            )
        cube = np.asarray(hdul[0].data, dtype=np.float32)
    if cube.ndim == 2:
        cube = cube[np.newaxis]
    cube = np.where(cube == header.get("MISSING", np.nan), np.nan, cube)
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


# --------------------------------------------------------------------------- AISFM farside products
__all__ += ["read_aisfm"]


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
    InputMapError
        No 2D image, no observation time, or no pixel scale (CDELT1/CDELT2).
    MissingObserverError
        No observer position in the file for a STEREO input, and no ``observer=``.
    """
    from sunpy_dlmag.exceptions import MissingObserverError
    from sunpy_dlmag.maps import magnetogram_plot_settings

    path = _existing_file(path)
    with fits.open(path) as hdul:
        hdu = _first_image_hdu(hdul, path)
        header = hdu.header.copy()
        data = np.asarray(hdu.data, dtype=np.float32)
    if data.ndim != 2:
        raise InputMapError(f"{path} holds an image of shape {data.shape}; an AISFM product is a 2D image.")
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
    if not str(meta.get("bunit", "")).strip():
        meta["bunit"] = "G"
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
    meta["obsrvtry"] = platform or "unknown"
    meta["telescop"] = platform or "unknown"
    meta["instrume"] = f"{label} (KASI)"
    meta["detector"] = ""
    if version:
        meta["dlmodel"] = f"aisfm-v{version}"
    meta["dlinput"] = "; ".join(inputs) if inputs else (platform or "unknown")
    line = (
        f"sunpy-dlmag read_aisfm: {label}, AI-generated farside magnetogram published by KASI "
        f"(Korean Data Center for SDO) from {platform or 'unknown'} EUV data of {date.isot}; not an observation."
    )
    if notes:
        line += " " + "; ".join(notes) + "."
    meta["history"] = "\n".join([*history, line])
    return sunpy.map.Map(data, meta, plot_settings=magnetogram_plot_settings(data))
