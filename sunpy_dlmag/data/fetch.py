"""
Training pairs from the archives: queries, resumable downloads, matching by time, manifests.

A training pair is one target observation (e.g. an SDO/HMI magnetogram) and, for each
input channel, the observation closest to it in time (e.g. SDO/AIA 304, 193 and 171
images), all within a tolerance. Pairs are listed in a manifest, a CSV file with the
columns ``time, target, input0, input1, ...`` that the training datasets
(`sunpy_dlmag.training.datasets`) read.

`fetch_training_pairs` does the whole chain: it builds the `~sunpy.net.Fido` queries
(`build_queries`), downloads into one folder per channel (files already there are not
downloaded again, so an interrupted run can simply be started again), matches the files
into pairs (`pairs_from_folders`) and writes the manifest (`write_manifest`).
`manifest_from_folders` does the last two steps on files that are already on disk.

Nothing here needs torch.
"""

import csv
import os
import urllib.error
import warnings
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning
from astropy.time import Time

from sunpy import log
from sunpy.time import parse_time

from sunpy_dlmag import checks
from sunpy_dlmag.exceptions import (
    ArchiveUnreachableError,
    DlmagUserWarning,
    InvalidArgumentError,
    MissingDateError,
    MissingFileError,
    TrainingDataError,
)
from sunpy_dlmag.io import FITS_SUFFIXES, write_atomic

__all__ = [
    "PAIR_KINDS",
    "ChannelQuery",
    "Pair",
    "build_hmi_series_query",
    "build_queries",
    "fetch_hmi_series",
    "fetch_training_pairs",
    "manifest_from_folders",
    "pairs_from_folders",
    "pairs_from_manifest",
    "read_observation_time",
    "split_by_month",
    "write_manifest",
]


# Header keys holding the observation time, best first: the mid-exposure time (DATE-AVG,
# JSOC's T_OBS) pairs images of different exposure lengths better than the start (DATE-OBS).
_TIME_KEYS = ("DATE-AVG", "T_OBS", "DATE-OBS", "DATE_OBS")

DEFAULT_TOLERANCE = 30 * u.min

#: The kinds of training pair `fetch_training_pairs` knows: input instrument, its EUV
#: wavelengths (Angstrom), the default wavelengths, and the providers that hold the data.
PAIR_KINDS = {
    "aia-hmi": {
        "input": "AIA",
        "wavelengths": (94, 131, 171, 193, 211, 304, 335),
        "default": (304, 193, 171),
        "providers": ("vso", "jsoc"),
    },
    # STEREO-A passed close to Earth in 2023: EUVI and HMI then saw the same hemisphere.
    "euvi-hmi": {
        "input": "EUVI",
        "wavelengths": (171, 195, 284, 304),
        "default": (304, 195, 171),
        "providers": ("vso",),
    },
}

_PROVIDERS = ("vso", "jsoc")
_JSOC_SERIES = {"AIA": "aia.lev1_euv_12s", "HMI": "hmi.M_720s"}
_JSOC_SEGMENTS = {"AIA": "image", "HMI": "magnetogram"}


# --------------------------------------------------------------------------- pairs


@dataclass(frozen=True)
class Pair:
    """
    One training example: a target observation and one input file per input channel.

    Parameters
    ----------
    time : `~astropy.time.Time`
        Observation time of the target.
    inputs : tuple of `~pathlib.Path`
        One FITS file per input channel, in the order of the model's input channels.
    target : `~pathlib.Path`
        FITS file of the target.
    """

    time: Time
    inputs: tuple[Path, ...]
    target: Path

    def __post_init__(self):
        # Accept strings and lists from callers and CSV files; store one canonical form.
        object.__setattr__(self, "time", Time(self.time, scale="utc") if not isinstance(self.time, Time) else self.time)
        object.__setattr__(self, "inputs", tuple(Path(p) for p in self.inputs))
        object.__setattr__(self, "target", Path(self.target))
        if not self.inputs:
            raise InvalidArgumentError("A training pair needs at least one input file.")


def read_observation_time(path):
    """
    Observation time in a FITS file's header, reading the header only.

    The first header unit that has one of ``DATE-AVG``, ``T_OBS``, ``DATE-OBS`` or
    ``DATE_OBS`` (in that order of preference; ``TIME-OBS`` is appended to a date-only
    ``DATE-OBS`` of old headers) gives the time. JSOC's ``..._TAI`` times are understood.

    Parameters
    ----------
    path : str or `~pathlib.Path`

    Returns
    -------
    `~astropy.time.Time`
        The time in UTC.

    Raises
    ------
    ValueError
        If no header unit has a readable time.
    """
    with warnings.catch_warnings():
        # Only the header matters here; astropy's complaints about the data keywords (e.g. a
        # BLANK in a float image, as in STEREO/SECCHI files) do not.
        warnings.simplefilter("ignore", VerifyWarning)
        return _header_time(path)


def _header_time(path):
    with fits.open(path, lazy_load_hdus=True) as hdul:
        for hdu in hdul:
            header = hdu.header
            for key in _TIME_KEYS:
                value = header.get(key)
                if not isinstance(value, str) or not value.strip():
                    continue
                value = value.strip()
                if key == "DATE-OBS" and "T" not in value and isinstance(header.get("TIME-OBS"), str):
                    value = f"{value}T{header['TIME-OBS'].strip()}"
                try:
                    return parse_time(value).utc
                except ValueError:
                    continue
    raise MissingDateError(
        f"{path} has no readable observation time in its headers (looked for {', '.join(_TIME_KEYS)})."
    )


def _fits_files(folder):
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(f"{folder} is not a folder.")
    # Hidden files are partial downloads and atomic-write temporaries.
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name.lower().endswith(FITS_SUFFIXES)
    )


def _timed_files(folder):
    """Files of ``folder`` and their times (unix seconds), sorted by time; files without a time are skipped."""
    files, times, skipped = [], [], []
    for path in _fits_files(folder):
        try:
            times.append(read_observation_time(path).unix)
            files.append(path)
        except (OSError, ValueError) as err:  # truncated downloads, headers without a time
            skipped.append(f"{path.name} ({err})")
    if skipped:
        warnings.warn(
            f"{len(skipped)} file(s) in {folder} were skipped (unreadable or without an observation time): "
            + "; ".join(skipped[:5])
            + (" ..." if len(skipped) > 5 else ""),
            DlmagUserWarning,
            stacklevel=3,
        )
    order = np.argsort(times, kind="stable")
    return [files[i] for i in order], np.asarray(times, dtype=float)[order]


def _check_tolerance(tolerance):
    return checks.check_quantity(tolerance, u.min, "tolerance", positive=True, allow_zero=True).to_value(u.s)


def pairs_from_folders(input_dirs, target_dir, *, tolerance=DEFAULT_TOLERANCE):
    """
    Match the FITS files of one folder per input channel with the target files by time.

    For each target file, each channel contributes its file closest in time; a target
    gets a pair only when every channel has a file within ``tolerance`` of it. Times
    come from the headers only (`read_observation_time`), so the images are not read.
    Files without a readable time are skipped with a warning.

    Parameters
    ----------
    input_dirs : str, `~pathlib.Path` or sequence of them
        One folder per input channel, in the order of the model's input channels.
    target_dir : str or `~pathlib.Path`
        Folder of the target files.
    tolerance : `~astropy.units.Quantity`
        Largest time difference between a target and its inputs.

    Returns
    -------
    list of `Pair`
        Sorted by time.
    """
    tol_s = _check_tolerance(tolerance)
    if isinstance(input_dirs, str | os.PathLike):
        input_dirs = [input_dirs]
    input_dirs = [Path(d) for d in input_dirs]
    if not input_dirs:
        raise InvalidArgumentError("pairs_from_folders needs at least one input folder.")
    targets, target_times = _timed_files(target_dir)
    channels = [_timed_files(d) for d in input_dirs]

    pairs, missed = [], 0
    for target, t in zip(targets, target_times, strict=True):
        chosen = []
        for files, times in channels:
            if not files:
                break
            i = int(np.searchsorted(times, t))
            # The nearest file is one of the two neighbours of the insertion point.
            best = min((j for j in (i - 1, i) if 0 <= j < len(files)), key=lambda j: abs(times[j] - t))
            if abs(times[best] - t) > tol_s:
                break
            chosen.append(files[best])
        if len(chosen) == len(channels):
            pairs.append(Pair(Time(t, format="unix", scale="utc"), tuple(chosen), target))
        else:
            missed += 1
    log.info(
        f"Matched {len(pairs)} pair(s) from {len(targets)} target file(s) in {target_dir}; "
        f"{missed} target(s) had no input within {tolerance} in every channel."
    )
    return pairs


def write_manifest(pairs, csv_path, *, overwrite=False):
    """
    Write pairs to a manifest CSV file (atomically).

    Columns: ``time`` (ISO, UTC), ``target``, ``input0``, ``input1``, ... Paths inside
    the manifest's folder are written relative to it, so a folder of downloads with its
    manifest can be moved as a whole; other paths are written absolute.

    Parameters
    ----------
    pairs : sequence of `Pair`
        All with the same number of inputs.
    csv_path : str or `~pathlib.Path`
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    `~pathlib.Path`
    """
    pairs = list(pairs)
    csv_path = Path(csv_path)
    n_inputs = {len(p.inputs) for p in pairs}
    if len(n_inputs) > 1:
        raise InvalidArgumentError(f"All pairs of a manifest need the same number of inputs; got {sorted(n_inputs)}.")
    n = n_inputs.pop() if n_inputs else 0
    base = csv_path.parent.resolve()

    def rel(path):
        path = Path(path).resolve()
        return path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path)

    def write(tmp):
        with Path(tmp).open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["time", "target", *(f"input{i}" for i in range(n))])
            for p in pairs:
                writer.writerow([p.time.utc.isot, rel(p.target), *(rel(q) for q in p.inputs)])

    return write_atomic(csv_path, write, overwrite=overwrite)


def pairs_from_manifest(csv_path):
    """
    Read the pairs of a manifest written by `write_manifest`.

    Relative paths are taken relative to the manifest's folder.

    Parameters
    ----------
    csv_path : str or `~pathlib.Path`

    Returns
    -------
    list of `Pair`
    """
    csv_path = Path(csv_path)
    base = csv_path.parent
    with csv_path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise TrainingDataError(f"Manifest {csv_path} is empty; expected a header row 'time,target,input0,...'.")
    header = [h.strip() for h in rows[0]]
    n = len(header) - 2
    expected = ["time", "target", *(f"input{i}" for i in range(n))]
    if n < 1 or header != expected:
        raise TrainingDataError(
            f"Manifest {csv_path} has columns {header}; expected {expected[:3]} and more inputN columns."
        )
    pairs = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise TrainingDataError(f"Manifest {csv_path}, line {line}: {len(row)} columns, expected {len(header)}.")
        try:
            time = Time(row[0].strip(), scale="utc")
        except ValueError as err:
            raise TrainingDataError(f"Manifest {csv_path}, line {line}: unreadable time {row[0]!r}.") from err
        target, *inputs = (base / cell.strip() for cell in row[1:])
        pairs.append(Pair(time, tuple(inputs), target))
    if not pairs:
        raise TrainingDataError(
            f"Manifest {csv_path} lists no pairs (only its header). Download pairs with `sunpy-dlmag fetch-pairs`, "
            "or match files already on disk with sunpy_dlmag.data.fetch.manifest_from_folders."
        )
    return pairs


def split_by_month(pairs, held_out_months=(9, 10)):
    """
    Split pairs into training and held-out sets by calendar month, as the papers do.

    Kim et al. (2019) and Jeong et al. (2020, 2022) held out September and October of
    every year; holding out whole months keeps near-duplicate neighbours in time (the
    Sun changes little in 12 hours) out of the evaluation set.

    Parameters
    ----------
    pairs : sequence of `Pair`
    held_out_months : sequence of int
        Months (1-12, UTC) whose pairs are held out.

    Returns
    -------
    train, held_out : list of `Pair`
        In the order of ``pairs``.
    """
    months = set()
    for m in held_out_months:
        if isinstance(m, bool) or not isinstance(m, int | np.integer) or not 1 <= m <= 12:
            raise InvalidArgumentError(f"held_out_months must be months 1-12, got {held_out_months!r}.")
        months.add(int(m))
    train, held_out = [], []
    for p in pairs:
        (held_out if p.time.utc.ymdhms["month"] in months else train).append(p)
    return train, held_out


# --------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class ChannelQuery:
    """
    The archive query of one channel of a training pair.

    Parameters
    ----------
    name : str
        Channel name, also the download sub-folder, e.g. ``"aia_304"`` or ``"hmi"``.
    role : str
        ``"input"`` or ``"target"``.
    attrs : `sunpy.net.attr.AttrAnd`
        The `~sunpy.net.Fido` query.
    """

    name: str
    role: str
    attrs: object


def _channel_names(pair, wavelengths):
    kind = _pair_kind(pair)
    wavelengths = _check_wavelengths(kind, pair, wavelengths)
    return [f"{kind['input'].lower()}_{w}" for w in wavelengths], "hmi"


def _pair_kind(pair):
    if pair not in PAIR_KINDS:
        raise InvalidArgumentError(f"Unknown pair {pair!r}; known: {', '.join(PAIR_KINDS)}.")
    return PAIR_KINDS[pair]


def _check_wavelengths(kind, pair, wavelengths):
    if wavelengths is None:
        return kind["default"]
    if isinstance(wavelengths, int | float | u.Quantity) and np.ndim(wavelengths) == 0:
        wavelengths = [wavelengths]
    out = []
    for w in wavelengths:
        value = w.to_value(u.AA) if isinstance(w, u.Quantity) else w
        if not np.isfinite(value) or round(value) not in kind["wavelengths"] or value != round(value):
            raise InvalidArgumentError(
                f"{kind['input']} has no channel at {w} (pair {pair!r}); "
                f"available: {', '.join(map(str, kind['wavelengths']))} Angstrom."
            )
        out.append(round(value))
    if not out:
        raise InvalidArgumentError("At least one wavelength is needed.")
    if len(set(out)) != len(out):
        raise InvalidArgumentError(f"Wavelengths repeat: {wavelengths!r}.")
    return tuple(out)


def build_queries(start, end, cadence, *, pair="aia-hmi", wavelengths=None, provider="vso", email=None):
    """
    The `~sunpy.net.Fido` queries for training pairs, one per channel (no network access).

    Parameters
    ----------
    start, end : str, ``datetime`` or `~astropy.time.Time`
        Time range; ``end`` must be after ``start``.
    cadence : `~astropy.units.Quantity`
        Time between pairs, e.g. ``12 * u.h`` as in the AISFM papers (`~sunpy.net.attrs.Sample`).
    pair : str
        ``"aia-hmi"`` (SDO/AIA EUV inputs, SDO/HMI line-of-sight magnetogram target) or
        ``"euvi-hmi"`` (STEREO-A/EUVI inputs; useful only when STEREO-A was close to Earth,
        as in 2023).
    wavelengths : sequence of int or `~astropy.units.Quantity`, optional
        EUV channels of the inputs in Angstrom, in the model's input order. Default
        ``(304, 193, 171)`` for AIA and ``(304, 195, 171)`` for EUVI.
    provider : str
        ``"vso"`` (no registration; HMI line-of-sight magnetograms come as 45-s
        magnetograms) or ``"jsoc"`` (series ``aia.lev1_euv_12s`` and ``hmi.M_720s`` as in
        the papers; needs an ``email`` registered with JSOC).
    email : str, optional
        Address registered at JSOC export (http://jsoc.stanford.edu/ajax/register_email.html).

    Returns
    -------
    tuple of `ChannelQuery`
        The input channels in order, then the target.
    """
    from sunpy.net import attrs as a

    kind = _pair_kind(pair)
    wavelengths = _check_wavelengths(kind, pair, wavelengths)
    if provider not in _PROVIDERS:
        raise InvalidArgumentError(f"Unknown provider {provider!r}; expected one of {', '.join(_PROVIDERS)}.")
    if provider not in kind["providers"]:
        raise InvalidArgumentError(
            f"{kind['input']} data are not available from {provider!r}; pair {pair!r} can use "
            f"{', '.join(repr(p) for p in kind['providers'])}."
        )
    if provider == "jsoc" and not (isinstance(email, str) and "@" in email):
        raise InvalidArgumentError(
            "JSOC exports need the email address you registered with JSOC: pass email='you@example.org' "
            "(register at http://jsoc.stanford.edu/ajax/register_email.html), or use provider='vso'."
        )
    cadence = checks.check_quantity(cadence, u.h, "cadence", positive=True)
    start, end = parse_time(start), parse_time(end)
    if not end > start:
        raise InvalidArgumentError(f"end ({end.isot}) must be after start ({start.isot}).")

    time, sample = a.Time(start, end), a.Sample(cadence)
    input_names, target_name = _channel_names(pair, wavelengths)
    queries = []
    for name, w in zip(input_names, wavelengths, strict=True):
        wavelength = a.Wavelength(w * u.AA)
        if kind["input"] == "EUVI":
            instrument = [a.Instrument("SECCHI"), a.Detector("EUVI"), a.Source("STEREO_A")]
        elif provider == "jsoc":
            instrument = [a.jsoc.Series(_JSOC_SERIES["AIA"]), a.jsoc.Segment(_JSOC_SEGMENTS["AIA"])]
        else:
            instrument = [a.Instrument("AIA")]
        queries.append(ChannelQuery(name, "input", _and(time, *instrument, wavelength, sample)))
    if provider == "jsoc":
        target = [a.jsoc.Series(_JSOC_SERIES["HMI"]), a.jsoc.Segment(_JSOC_SEGMENTS["HMI"])]
    else:
        target = [a.Instrument("HMI"), a.Physobs("LOS_magnetic_field")]
    queries.append(ChannelQuery(target_name, "target", _and(time, *target, sample)))
    if provider == "jsoc":
        queries = [ChannelQuery(q.name, q.role, q.attrs & a.jsoc.Notify(email)) for q in queries]
    return tuple(queries)


def _and(first, *rest):
    query = first
    for attr in rest:
        query = query & attr
    return query


# --------------------------------------------------------------------------- downloads


def manifest_from_folders(out_dir, *, pair="aia-hmi", wavelengths=None, tolerance=DEFAULT_TOLERANCE, manifest=None):
    """
    Match files already downloaded by `fetch_training_pairs` into pairs and write the manifest.

    The files lie in one sub-folder of ``out_dir`` per channel, named as in
    `build_queries` (``aia_304``, ``aia_193``, ``aia_171``, ``hmi``, ...).

    Parameters
    ----------
    out_dir : str or `~pathlib.Path`
    pair, wavelengths : see `build_queries`
    tolerance : `~astropy.units.Quantity`
        Largest time difference between a target and its inputs.
    manifest : str or `~pathlib.Path`, optional
        Where to write the manifest; default ``out_dir / "manifest.csv"`` (replaced if it exists).

    Returns
    -------
    `~pathlib.Path`
        The manifest.
    """
    out_dir = Path(out_dir)
    input_names, target_name = _channel_names(pair, wavelengths)
    pairs = pairs_from_folders([out_dir / n for n in input_names], out_dir / target_name, tolerance=tolerance)
    if not pairs:
        # An empty manifest trains nothing, and writing it would replace a good one.
        found = ", ".join(f"{n}: {len(_fits_files(out_dir / n))}" for n in (*input_names, target_name))
        raise TrainingDataError(
            f"No {pair} pairs within {tolerance} in {out_dir} (FITS files per channel folder: {found}); "
            "no manifest was written. Download the missing channels (fetching again resumes), or "
            "give a larger tolerance."
        )
    return write_manifest(pairs, manifest or out_dir / "manifest.csv", overwrite=True)


def fetch_training_pairs(
    start,
    end,
    cadence,
    *,
    out_dir,
    pair="aia-hmi",
    wavelengths=None,
    provider="vso",
    email=None,
    tolerance=DEFAULT_TOLERANCE,
    max_workers=4,
    progress=True,
):
    """
    Download training pairs from the archives and write their manifest.

    Each channel is searched with `~sunpy.net.Fido` (queries from `build_queries`) and
    downloaded into its own sub-folder of ``out_dir``. Files already there are not
    downloaded again, so an interrupted run is resumed by calling this again with the same
    arguments; failed downloads are retried once, and any still failing are reported in a
    warning (run again later to fetch them). The files are then matched into pairs by
    observation time (`manifest_from_folders`).

    Parameters
    ----------
    start, end, cadence, pair, wavelengths, provider, email : see `build_queries`
    out_dir : str or `~pathlib.Path`
        Download folder.
    tolerance : `~astropy.units.Quantity`
        Largest time difference between a target and its inputs.
    max_workers : int
        Parallel downloads (JSOC exports always use one).
    progress : bool
        Show download progress bars.

    Returns
    -------
    `~pathlib.Path`
        The manifest, ``out_dir / "manifest.csv"``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from sunpy_dlmag.data.fetch import fetch_training_pairs
    >>> manifest = fetch_training_pairs("2011-01-01", "2011-02-01", 12 * u.h,
    ...                                 out_dir="aisfm_pairs")  # doctest: +SKIP
    """
    queries = build_queries(start, end, cadence, pair=pair, wavelengths=wavelengths, provider=provider, email=email)
    if not isinstance(max_workers, int) or max_workers < 1:
        raise InvalidArgumentError(f"max_workers must be a positive integer, got {max_workers!r}.")
    _check_tolerance(tolerance)
    out_dir = Path(out_dir)
    with _no_empty_folders(out_dir):
        for query in queries:
            _download(query.name, query.attrs, out_dir / query.name, max_workers=max_workers, progress=progress)
    return manifest_from_folders(out_dir, pair=pair, wavelengths=wavelengths, tolerance=tolerance)


class _no_empty_folders:
    """Remove the folders made under ``root`` (and ``root``) that are still empty when the block ends."""

    def __init__(self, root):
        self.root = Path(root)

    def __enter__(self):
        self.existed = self.root.exists()
        self.before = {p for p in self.root.rglob("*") if p.is_dir()} if self.existed else set()
        return self

    def __exit__(self, *exc):
        made = (
            [] if not self.root.is_dir() else [p for p in self.root.rglob("*") if p.is_dir() and p not in self.before]
        )
        if not self.existed:
            made.append(self.root)
        for folder in sorted(made, key=lambda p: len(p.parts), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        return False


# What the network layers raise when there is no network or the archive is down: the VSO
# client's ConnectionError, urllib's URLError (an OSError) from the JSOC client, timeouts.
_NETWORK_ERRORS = (ConnectionError, TimeoutError, urllib.error.URLError)


def _unreachable(name, err):
    reason = getattr(err, "reason", None) or err
    return ArchiveUnreachableError(
        f"Cannot reach the archive for {name}: {str(reason).strip() or type(err).__name__} (no network "
        "connection, or the archive is down); nothing was downloaded for it. Run the same command again "
        "when the network is back: files already downloaded are kept."
    )


def _download(name, attrs, folder, *, max_workers, progress):
    """
    Search and download into ``folder``, skipping files already there and retrying failures once.

    ``folder`` is made only when there is something to download. Raises
    `~sunpy_dlmag.exceptions.ArchiveUnreachableError` when the search cannot reach the archive,
    or every download failed on the network.
    """
    from sunpy.net import Fido
    from sunpy.util.exceptions import SunpyConnectionWarning

    try:
        # The VSO client warns for each mirror it fails to reach; offline, the error says it once.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SunpyConnectionWarning)
            result = Fido.search(attrs)
    except _NETWORK_ERRORS as err:
        raise _unreachable(name, err) from err
    log.info(f"{name}: {result.file_num} file(s) found.")
    if result.file_num == 0:
        warnings.warn(f"No {name} files found for the query {attrs}.", DlmagUserWarning, stacklevel=3)
        return []
    folder.mkdir(parents=True, exist_ok=True)
    path = str(folder / "{file}")
    files = Fido.fetch(result, path=path, overwrite=False, max_conn=max_workers, progress=progress)
    if files.errors:
        log.info(f"{name}: retrying {len(files.errors)} failed download(s).")
        files = Fido.fetch(files, path=path, overwrite=False, max_conn=max_workers, progress=progress)
    if files.errors and not len(files):
        # Not one file: the network, not a file of the archive.
        raise _unreachable(name, files.errors[0].exception)
    if files.errors:
        warnings.warn(
            f"{len(files.errors)} {name} download(s) failed twice (first: {files.errors[0]}); run again to resume.",
            DlmagUserWarning,
            stacklevel=3,
        )
    return [Path(f) for f in files]


_HMI_SERIES = {"45s": "hmi.M_45s", "720s": "hmi.M_720s"}


def build_hmi_series_query(start, end, *, cadence="45s", provider="jsoc", email=None):
    """
    The `~sunpy.net.Fido` query for a run of consecutive HMI line-of-sight magnetograms.

    For the stacked targets of the M1 denoising model (Park et al. 2020): 21 consecutive
    45-s magnetograms, 10 before and 10 after each reference time.

    Parameters
    ----------
    start, end : str, ``datetime`` or `~astropy.time.Time`
    cadence : {"45s", "720s"}
        HMI series ``hmi.M_45s`` or ``hmi.M_720s``.
    provider : {"jsoc", "vso"}
        JSOC (needs ``email``) or the VSO (45-s magnetograms only).
    email : str, optional
        Address registered with JSOC.
    """
    from sunpy.net import attrs as a

    if cadence not in _HMI_SERIES:
        raise InvalidArgumentError(f"cadence must be one of {', '.join(_HMI_SERIES)}, got {cadence!r}.")
    start, end = parse_time(start), parse_time(end)
    if not end > start:
        raise InvalidArgumentError(f"end ({end.isot}) must be after start ({start.isot}).")
    time = a.Time(start, end)
    if provider == "jsoc":
        if not (isinstance(email, str) and "@" in email):
            raise InvalidArgumentError("JSOC exports need the email address you registered with JSOC: pass email=...")
        return time & a.jsoc.Series(_HMI_SERIES[cadence]) & a.jsoc.Segment("magnetogram") & a.jsoc.Notify(email)
    if provider == "vso":
        if cadence != "45s":
            raise InvalidArgumentError(
                "The VSO serves HMI line-of-sight magnetograms at 45 s; use provider='jsoc' for 720s."
            )
        return time & a.Instrument("HMI") & a.Physobs("LOS_magnetic_field")
    raise InvalidArgumentError(f"provider must be 'jsoc' or 'vso', got {provider!r}.")


def fetch_hmi_series(start, end, *, out_dir, cadence="45s", provider="jsoc", email=None, max_workers=4, progress=True):
    """
    Download consecutive HMI magnetograms (resumable) and return their paths in time order.

    Stack them with `sunpy_dlmag.stack_magnetograms` to build M1 targets.
    Parameters as in `build_hmi_series_query`; ``out_dir`` is the download folder.
    """
    attrs = build_hmi_series_query(start, end, cadence=cadence, provider=provider, email=email)
    with _no_empty_folders(out_dir):
        files = _download("hmi", attrs, Path(out_dir), max_workers=max_workers, progress=progress)
    return sorted(files, key=read_observation_time)
