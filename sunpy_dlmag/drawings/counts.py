"""
The day's sunspot counts of a drawing: its groups and the counts g, f and R = 10 g + f, for
one drawing (`sunspot_counts`) or a folder of them (`count_drawings`, ``sunpy-dlmag counts``).
"""

import csv
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import MaskedColumn, QTable
from astropy.time import Time

import sunpy.map

from sunpy_dlmag._cycles import historical_dates
from sunpy_dlmag._progress import progress_bar
from sunpy_dlmag.drawings.orientation import OrientationWarning
from sunpy_dlmag.drawings.read import read_drawing
from sunpy_dlmag.drawings.spots import MSH, detect_sunspots, sunspot_groups
from sunpy_dlmag.drawings.template import batch_templates, read_template
from sunpy_dlmag.exceptions import ArgumentTypeError, DlmagUserWarning, InvalidArgumentError, MissingDateError

__all__ = [
    "COUNT_COLUMNS",
    "SunspotCounts",
    "count_drawings",
    "date_from_name",
    "read_dates",
    "sunspot_counts",
    "write_counts",
]

#: Columns of `count_drawings` (and of the CSV of ``sunpy-dlmag counts``), in order.
COUNT_COLUMNS = ("file", "date", "g", "f", "R", "status", "error")
_GROUP_COLUMNS = ("group", "n_spots", "area", "lat", "lon", "verdict")
# Uccle/USET file names: usdYYYYMMDDHHMM (e.g. usd194808011030.jpg), twelve digits and no more.
_NAME_DATE = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(?!\d)")


@dataclass(frozen=True)
class SunspotCounts:
    """
    The groups of one drawing and the day's counts (`~sunpy_dlmag.drawings.sunspot_counts` makes it).

    Parameters
    ----------
    groups : `~astropy.table.QTable`
        One row per group: ``group`` (numbered from east to west), ``n_spots``, ``area``
        (`~sunpy_dlmag.drawings.MSH`, foreshortening corrected), ``lat``, ``lon``
        (heliographic Stonyhurst, area-weighted centre) and ``verdict`` (the kinds of mark
        its spots were told from, see `~sunpy_dlmag.drawings.VERDICTS`, e.g. ``"blob, dot"``;
        empty when counted from a spot table alone).
    date : `~astropy.time.Time` or None
        When the drawing was made.
    drawing : str
        The drawing's name (its map's name), or ``""``.
    orientation : dict
        How the drawing's positions are oriented: ``north_angle`` (deg), ``mirrored``, where
        each came from (``user``, ``form`` or ``default``) and the confidence of the form's
        reading (see `~sunpy_dlmag.drawings.read_drawing`); empty for a spot table.
    """

    groups: QTable
    date: Time | None = None
    drawing: str = ""
    orientation: dict = field(default_factory=dict)

    @property
    def g(self):
        """Number of groups."""
        return len(self.groups)

    @property
    def f(self):
        """Number of spots, all groups together."""
        return int(np.sum(self.groups["n_spots"]))

    @property
    def R(self):
        """The Wolf (relative sunspot) number, R = 10 g + f."""
        return 10 * self.g + self.f

    def to_table(self):
        """The groups as a `~astropy.table.QTable` (a copy), with ``g``, ``f``, ``R`` and ``date`` in its meta."""
        table = self.groups.copy()
        table.meta.update(g=self.g, f=self.f, R=self.R, date=self.date.isot if self.date is not None else None)
        table.meta["drawing"] = self.drawing
        table.meta["orientation"] = dict(self.orientation)
        return table


def _group_verdicts(spots, candidates):
    """For each group of ``spots``, the verdicts of the marks that hold its spots, joined."""
    groups = np.asarray(spots["group"])
    kinds = {int(g): set() for g in np.unique(groups)}
    group_of_spot = dict(zip(np.asarray(spots["spot"]).tolist(), groups.tolist(), strict=True))
    for spot, verdict in zip(np.asarray(candidates["spot"]), candidates["verdict"], strict=True):
        if spot > 0 and int(spot) in group_of_spot:
            kinds[group_of_spot[int(spot)]].add(str(verdict))
    return [", ".join(sorted(kinds[int(g)])) for g in np.unique(groups)]


def sunspot_counts(drawing, **detection):
    """
    The sunspot groups of a drawing and the day's counts: g groups, f spots, R = 10 g + f.

    Parameters
    ----------
    drawing : `~sunpy.map.GenericMap` or `~astropy.table.QTable`
        A drawing read with `~sunpy_dlmag.drawings.read_drawing` (its spots are found with
        `~sunpy_dlmag.drawings.detect_sunspots` and judged with
        `~sunpy_dlmag.drawings.spot_candidates`), or a spot table that
        `~sunpy_dlmag.drawings.detect_sunspots` returned (no verdicts then).
    **detection
        Keywords of `~sunpy_dlmag.drawings.detect_sunspots` (e.g. ``label_distance``), for a map.

    Returns
    -------
    `~sunpy_dlmag.drawings.SunspotCounts`
        ``.groups`` (one row per group), ``.g``, ``.f``, ``.R``; ``.to_table()`` gives the
        groups as a table with the counts in its meta.

    Raises
    ------
    ArgumentTypeError
        Neither a map nor a spot table, or detection keywords with a spot table.

    See Also
    --------
    sunpy_dlmag.detect_sunspots
        the spots it counts.
    sunpy_dlmag.drawings.count_drawings
        a folder of drawings to one table.

    References
    ----------
    .. [1] Clette, F., Svalgaard, L., Vaquero, J. M., Cliver, E. W. 2014, Space Sci. Rev. 186, 35: revisiting the
       sunspot number (R = 10 g + f).

    Examples
    --------
    >>> from sunpy_dlmag import drawings
    >>> drawing = drawings.read_drawing("usd201309010850.jpg", date="2013-09-01T08:50")  # doctest: +SKIP
    >>> counts = drawings.sunspot_counts(drawing)  # doctest: +SKIP
    >>> counts.g, counts.f, counts.R  # doctest: +SKIP
    (3, 20, 50)
    """
    if isinstance(drawing, sunpy.map.GenericMap):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DlmagUserWarning)  # a spotless day is a count of 0, not a problem
            spots, candidates = detect_sunspots(drawing, return_candidates=True, **detection)
        with historical_dates():  # a drawing from before 1960
            date = drawing.date
        orientation = _orientation_of(drawing)
    elif isinstance(drawing, QTable):
        if detection:
            raise ArgumentTypeError(
                f"Detection keywords ({', '.join(sorted(detection))}) need a drawing map; a spot table is counted "
                "as it is."
            )
        spots, candidates, orientation = drawing, None, {}
        with historical_dates():
            date = Time(spots.meta["date"]) if spots.meta.get("date") else None
    else:
        raise ArgumentTypeError(
            "sunspot_counts takes a drawing map (read_drawing) or a spot table (detect_sunspots), got "
            f"{type(drawing).__name__}."
        )
    groups = sunspot_groups(spots)
    table = QTable(
        {
            "group": np.asarray(groups["group"], dtype=int),
            "n_spots": np.asarray(groups["n_spots"], dtype=int),
            "area": groups["area"].to(MSH),
            "lat": groups["lat"].to(u.deg),
            "lon": groups["lon"].to(u.deg),
            "verdict": np.array(
                _group_verdicts(spots, candidates) if candidates is not None else [""] * len(groups), dtype=str
            ),
        }
    )
    return SunspotCounts(table, date, str(spots.meta.get("drawing", "")), orientation)


def _orientation_of(drawing):
    """The orientation cards read_drawing writes, by name (empty for a map made otherwise)."""
    meta = drawing.meta
    if "drawnang" not in meta:
        return {}
    return {
        "north_angle": float(meta["drawnang"]),
        "mirrored": bool(meta["drawmirr"]),
        "north_from": str(meta.get("drawnsrc", "user")),
        "mirrored_from": str(meta.get("drawmsrc", "user")),
        "north_confidence": float(meta.get("drawncnf", 1.0)),
        "mirrored_confidence": float(meta.get("drawmcnf", 1.0)),
    }


def date_from_name(path):
    """
    The date of a drawing from its file name, ``YYYYMMDDHHMM`` as in Uccle's ``usd194808011030.jpg``.

    Returns
    -------
    str
        ISO date and time, e.g. ``"1948-08-01T10:30"``.

    Raises
    ------
    MissingDateError
        No such twelve digits in the name, or not a valid date.
    """
    name = Path(path).name
    found = _NAME_DATE.search(name)
    if found is None:
        raise MissingDateError(
            f"No date for {name}: its name holds no YYYYMMDDHHMM (as usd194808011030.jpg does) and no dates "
            "table lists it; give its date with dates= (--dates CSV with file,date columns)."
        )
    year, month, day, hour, minute = found.groups()
    iso = f"{year}-{month}-{day}T{hour}:{minute}"
    try:
        with historical_dates():
            Time(iso, format="isot", scale="utc")
    except ValueError:
        raise MissingDateError(
            f"No date for {name}: {found.group(0)} in its name is not a valid YYYYMMDDHHMM."
        ) from None
    return iso


def read_dates(path):
    """
    The dates of drawings from a CSV file with the columns ``file`` and ``date`` (or ``date_utc``).

    Returns
    -------
    dict
        File name (without folder) to date, as written.

    Raises
    ------
    InvalidArgumentError
        No such columns, or a file listed twice with different dates.
    """
    path = Path(path)
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        date_column = next((c for c in ("date", "date_utc") if c in columns), None)
        if "file" not in columns or date_column is None:
            raise InvalidArgumentError(
                f"The dates file {path} needs the columns file and date (or date_utc); it has {', '.join(columns)}."
            )
        dates = {}
        for row in reader:
            name, date = Path(row["file"] or "").name, (row[date_column] or "").strip()
            if not name or not date:
                continue
            if dates.setdefault(name, date) != date:
                raise InvalidArgumentError(f"The dates file {path} gives {name} two dates: {dates[name]} and {date}.")
    return dates


def _check_dates(dates):
    if dates is None:
        return {}
    if isinstance(dates, str | Path):
        return read_dates(dates)
    if isinstance(dates, dict):
        return {Path(str(k)).name: v for k, v in dates.items()}
    raise ArgumentTypeError(f"dates is a CSV file or a dict of file name to date, got {type(dates).__name__}.")


def count_drawings(files, *, dates=None, progress=True, read_options=None, template="auto", **detection):
    """
    The counts g, f and R = 10 g + f of many drawings, one row per file.

    A file that cannot be read or counted (no date, no disk found, not an image) gets its
    error in its row; the others go on. Marks that most scans of one size show at the same
    place (the printed form, dust on the scanner) are not counted (``template``).

    Parameters
    ----------
    files : sequence of str or `os.PathLike`
        The drawings (see `sunpy_dlmag.batch.find_inputs` for folders and patterns).
    dates : str, `os.PathLike` or dict, optional
        A CSV file with ``file`` and ``date`` columns (`~sunpy_dlmag.drawings.read_dates`), or a dict of file name
        to date. Files it does not list take the date in their name (`~sunpy_dlmag.drawings.date_from_name`).
    progress : bool
        Show a progress bar (on a terminal).
    read_options : dict, optional
        Keywords of `~sunpy_dlmag.drawings.read_drawing` for every file (``north_angle``,
        ``mirrored``, ``north``); they do not change the counts.
    template : "auto", None, str, `os.PathLike` or `numpy.ndarray`
        ``"auto"`` (default): for each image size that 5 files or more have, the
        `~sunpy_dlmag.drawings.form_template` of those files (the median of up to 15 of them)
        is passed to `~sunpy_dlmag.drawings.detect_sunspots`; other files go without. A
        template image or array: that one for every file (all of its size). None: no template.
    **detection
        Keywords of `~sunpy_dlmag.drawings.detect_sunspots`.

    Returns
    -------
    `~astropy.table.QTable`
        `~sunpy_dlmag.drawings.COUNT_COLUMNS`: ``file`` (as given), ``date`` (ISO), ``g``, ``f``, ``R`` (masked where
        the file failed), ``status`` (``ok`` or ``failed``) and ``error`` (the error's type
        and message). ``meta["failed"]`` counts the failures.
    """
    dates = _check_dates(dates)
    read_options = dict(read_options or {})
    files = list(files)
    templates, given = {}, None
    if isinstance(template, str) and template == "auto":
        templates = batch_templates(files)
    elif template is not None:
        given = read_template(template)
    rows = []
    for path in progress_bar(files, desc="counts", unit="drawing", progress=progress):
        row = {"file": str(path), "date": "", "g": 0, "f": 0, "R": 0, "status": "failed", "error": ""}
        start = time.perf_counter()
        try:
            row["date"] = str(dates.get(Path(path).name) or date_from_name(path))
            with warnings.catch_warnings():
                # The counts do not depend on the orientation: no warning per file for it.
                warnings.simplefilter("ignore", OrientationWarning)
                drawing = read_drawing(path, date=row["date"], **read_options)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DlmagUserWarning)
                size = drawing.data.shape[::-1]
                counts = sunspot_counts(detect_sunspots(drawing, template=templates.get(size, given), **detection))
        except Exception as err:  # one bad file must not lose the others' counts
            row["error"] = f"{type(err).__name__}: {' '.join(str(err).split())}"
        else:
            row.update(g=counts.g, f=counts.f, R=counts.R, status="ok")
        row["seconds"] = time.perf_counter() - start
        rows.append(row)
    failed = np.array([row["status"] != "ok" for row in rows], dtype=bool)
    table = QTable()
    for name in COUNT_COLUMNS:
        if name in ("g", "f", "R"):  # no count where the file failed (blank in the CSV)
            table[name] = MaskedColumn(np.array([row[name] for row in rows], dtype=int), mask=failed)
        else:
            table[name] = np.array([row[name] for row in rows], dtype=str)
    table.meta["failed"] = int(failed.sum())
    table.meta["seconds"] = sum(row["seconds"] for row in rows) * u.s
    return table


def write_counts(table, path, *, overwrite=False):
    """Write a `~sunpy_dlmag.drawings.count_drawings` table as CSV, atomically (no partial file if interrupted)."""
    from sunpy_dlmag.io import write_atomic

    def write(tmp):
        with Path(tmp).open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(COUNT_COLUMNS)
            for row in table:
                writer.writerow(["" if np.ma.is_masked(row[name]) else row[name] for name in COUNT_COLUMNS])

    return write_atomic(path, write, overwrite=overwrite)
