"""
A map's uncertainty and mask in its FITS file, and the reader that brings them back
(`sunpy_dlmag.io.read_map`, `sunpy_dlmag.io.save_map`).

They are stored as one-row binary tables, ``EXTNAME = 'UNCERTAINTY'`` (the 1-sigma array, with
its unit and uncertainty class) and ``EXTNAME = 'MASK'``, after the map's image HDU. sunpy's
``sunpy.map.Map`` reads only HDUs with 2-D data, so it returns the map alone, as it does for an
observation; `~sunpy_dlmag.io.read_map` returns the same map with ``uncertainty`` and ``mask``.
"""

import contextlib
import gzip
import io
import os
import warnings
import zlib
from pathlib import Path

import astropy.nddata
import astropy.units as u
import numpy as np
from astropy.io import fits

import sunpy.map
from sunpy.util.exceptions import NoMapsInFileError

from sunpy_dlmag.exceptions import ArgumentTypeError, DlmagError, InputFileError, MissingFileError

__all__ = [
    "FITS_SUFFIXES",
    "QUANTIZE_STEP",
    "existing_file",
    "fits_stem",
    "is_fits_name",
    "is_tile_compressed",
    "read_map",
    "reading",
]

#: Quantization step of float images written tile-compressed, in the map's unit (G).
QUANTIZE_STEP = 0.01

#: File name endings of FITS files, compressed ones included (compared case-insensitively).
FITS_SUFFIXES = (".fits", ".fts", ".fit", ".fits.gz", ".fts.gz", ".fit.gz", ".fits.fz")


def is_fits_name(path):
    """Whether a file name ends in one of ``FITS_SUFFIXES`` (``.fits``, ``.fts.gz``, ``.fits.fz``, ...)."""
    return str(path).lower().endswith(FITS_SUFFIXES)


def fits_stem(name):
    """``name`` without its FITS ending (``.fits``, ``.fts.gz``, ...), or else without its last suffix."""
    name = str(name)
    for suffix in sorted(FITS_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    stem, dot, _ = name.rpartition(".")
    return stem if dot and stem else name


UNCERTAINTY_EXTNAME = "UNCERTAINTY"
MASK_EXTNAME = "MASK"
_EXTRA_EXTNAMES = (UNCERTAINTY_EXTNAME, MASK_EXTNAME)


def write_compressed(path, smap):
    """Write ``smap`` to ``path`` as a RICE tile-compressed image: floats in `QUANTIZE_STEP` steps."""
    header = smap.fits_header
    header.strip()  # the primary HDU's structural keys: the image is an extension
    # A negative quantize_level is an absolute step; dithering keeps exact zeros (SUBTRACTIVE_DITHER_2).
    image = fits.CompImageHDU(
        smap.data, header, compression_type="RICE_1", quantize_level=-QUANTIZE_STEP, quantize_method=2
    )
    fits.HDUList([fits.PrimaryHDU(), image]).writeto(path, overwrite=True)


def is_tile_compressed(path):
    """Whether the FITS file ``path`` holds a tile-compressed image (as HMI's RICE files do)."""
    try:
        with warnings.catch_warnings():
            # Only the HDU types are read: header complaints (e.g. BLANK on float data) are the reader's.
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)
            with fits.open(path) as hdul:
                return any(isinstance(hdu, fits.CompImageHDU) for hdu in hdul)
    except (OSError, ValueError):
        return False


def _array_table(name, column, array, *, unit=None, cards=()):
    """A one-row binary table holding the 2-D ``array`` (sunpy's map reader skips it: not 2-D)."""
    array = np.asarray(array)
    code = {np.dtype(np.float32): "E", np.dtype(np.uint8): "B"}[array.dtype]
    dim = f"({array.shape[1]},{array.shape[0]})"
    col = fits.Column(name=column, format=f"{array.size}{code}", dim=dim, unit=unit, array=array[np.newaxis])
    table = fits.BinTableHDU.from_columns([col], name=name)
    for key, value, comment in cards:
        table.header[key] = (value, comment)
    return table


def extra_hdus(smap):
    """The HDUs after the image of ``smap``: its uncertainty and its mask, where it has them."""
    hdus = []
    uncertainty = smap.uncertainty
    if uncertainty is not None:
        unit = uncertainty.unit if uncertainty.unit is not None else smap.unit
        cards = [
            ("UTYPE", type(uncertainty).__name__, "astropy.nddata uncertainty class"),
            ("DLMEAS", "uncertainty", "what the data measure"),
            ("BUNIT", unit.to_string("fits") if unit is not None else "", "unit of the uncertainty"),
        ]
        sigma = np.asarray(uncertainty.array, dtype=np.float32)
        hdus.append(
            _array_table(
                UNCERTAINTY_EXTNAME,
                "SIGMA",
                sigma,
                unit=unit.to_string("fits") if unit is not None else None,
                cards=cards,
            )
        )
    if smap.mask is not None and np.any(smap.mask):
        mask = np.broadcast_to(np.asarray(smap.mask, dtype=np.uint8), smap.data.shape)
        hdus.append(_array_table(MASK_EXTNAME, "MASK", mask, cards=[("MASKVAL", 1, "1: invalid pixel, as numpy.ma")]))
    return hdus


def append_extras(path, smap):
    """Add ``smap``'s uncertainty and mask to the FITS file ``path`` just written from it."""
    extras = extra_hdus(smap)
    if not extras:
        return
    # Tile-compressed images are copied as their compressed tables (never compressed again),
    # from the file's bytes in memory, as the file itself is written over.
    raw = Path(path).read_bytes()
    raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw  # a .gz name: gzipped again on writing
    with fits.open(io.BytesIO(raw), disable_image_compression=True) as hdul:
        fits.HDUList([*hdul, *extras]).writeto(path, overwrite=True)


def _uncertainty(hdu, path):
    sigma = np.array(hdu.data["SIGMA"][0], dtype=np.float32)
    unit = hdu.header.get("BUNIT") or hdu.columns["SIGMA"].unit or None
    name = hdu.header.get("UTYPE", "StdDevUncertainty")
    cls = getattr(astropy.nddata, name, None)
    if not (isinstance(cls, type) and issubclass(cls, astropy.nddata.NDUncertainty)):
        raise InputFileError(f"{path}: UTYPE = {name!r} in the UNCERTAINTY HDU is not an astropy.nddata uncertainty.")
    return cls(sigma, unit=u.Unit(unit) if unit else None)


def existing_file(path):
    if not isinstance(path, str | os.PathLike):
        raise ArgumentTypeError(f"path must be a str or a pathlib.Path, got {type(path).__name__}.")
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"No such file: {path}")
    return path


# What astropy, sunpy, gzip and numpy raise on empty, truncated or corrupt files.
_READ_ERRORS = (
    OSError, EOFError, ValueError, TypeError, IndexError, KeyError, zlib.error, fits.VerifyError, NoMapsInFileError,
)  # fmt: skip


@contextlib.contextmanager
def reading(path, what):
    """Turn the errors of a broken file into an `InputFileError` that names the file and the product."""
    try:
        with warnings.catch_warnings():
            # A broken file's header warnings come before the error that says it all.
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)
            yield
    except DlmagError:
        raise
    except FileNotFoundError:
        raise
    except _READ_ERRORS as err:
        raise InputFileError(
            f"{path} cannot be read as {what}: {type(err).__name__}: {err} (empty, truncated or not a FITS image?)"
        ) from err


def read_map(path):
    """
    Read a map saved by this package (or any FITS map): one map, with its ``uncertainty`` and ``mask``.

    ``sunpy.map.Map(path)`` reads the same map without them (sunpy reads only the image HDUs);
    this reader adds the ``UNCERTAINTY`` and ``MASK`` HDUs that `~sunpy_dlmag.io.save_map` and
    `DlmagMap.save <sunpy_dlmag.maps.DlmagMap.save>` write. Files from earlier versions, whose
    uncertainty is a second image HDU, are read too. Import `sunpy_dlmag` (done here) before
    reading a product with ``sunpy.map.Map`` to get a `~sunpy_dlmag.maps.DlmagMap`.

    Parameters
    ----------
    path : str or `pathlib.Path`
        A FITS file (``.fits``, ``.fits.gz``, ``.fits.fz``, ...) holding one map.

    Returns
    -------
    `~sunpy.map.GenericMap`
        The map (a `~sunpy_dlmag.maps.DlmagMap` for this package's products), with
        ``uncertainty`` (an `~astropy.nddata.StdDevUncertainty` in the map's unit) and ``mask``
        (True where invalid) where the file holds them, else `None`.

    Raises
    ------
    MissingFileError
        No such file.
    InputFileError
        The file is not a FITS map, or holds several maps (read those with ``sunpy.map.Map``).

    Examples
    --------
    >>> from sunpy_dlmag.io import read_map, save_map
    >>> save_map(sunpy_dlmag.denoise(hmi, uncertainty=True), "hmi_denoise.fits")  # doctest: +SKIP
    >>> clean = read_map("hmi_denoise.fits")  # doctest: +SKIP
    >>> clean.uncertainty.quantity  # doctest: +SKIP
    """
    path = existing_file(path)
    with reading(path, "a map"):
        maps = sunpy.map.Map(path)
        maps = maps if isinstance(maps, list) else [maps]
        uncertainty = mask = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)
            with fits.open(path) as hdul:
                names = [hdu.name for hdu in hdul]
                if UNCERTAINTY_EXTNAME in names:
                    hdu = hdul[UNCERTAINTY_EXTNAME]
                    if isinstance(hdu, fits.BinTableHDU):
                        uncertainty = _uncertainty(hdu, path)
                if MASK_EXTNAME in names and isinstance(hdul[MASK_EXTNAME], fits.BinTableHDU):
                    mask = np.array(hdul[MASK_EXTNAME].data["MASK"][0]).astype(bool)
    values = [m for m in maps if str(m.meta.get("extname", "")).upper() not in _EXTRA_EXTNAMES]
    if len(values) != 1:
        raise InputFileError(
            f"{Path(path)} holds {len(values)} maps, read_map reads files of one map; "
            "read them with sunpy.map.Map(path), which returns a list."
        )
    smap = values[0]
    legacy = [m for m in maps if str(m.meta.get("extname", "")).upper() == UNCERTAINTY_EXTNAME]
    if uncertainty is None and legacy:
        # sunpy-dlmag <= 0.x wrote the uncertainty as a second image HDU.
        uncertainty = astropy.nddata.StdDevUncertainty(np.asarray(legacy[0].data, dtype=np.float32), unit=smap.unit)
    if uncertainty is not None and uncertainty.array.shape != smap.data.shape:
        raise InputFileError(
            f"{path}: the UNCERTAINTY HDU is {uncertainty.array.shape}, the map {smap.data.shape}: not from this map."
        )
    if uncertainty is None and mask is None:
        return smap
    return smap._new_instance(
        smap.data, smap.meta, plot_settings=smap.plot_settings, uncertainty=uncertainty, mask=mask
    )
