"""
Batch processing of many files on a Dask cluster.

Each input file is one task on a ``dask.distributed`` client: a ``LocalCluster``
of worker processes on this machine by default, any scheduler address for a real cluster,
or a client you made. Every task reads its file, runs one capability (a *task* of the
registry `sunpy_dlmag.tasks.TASKS`: the capabilities declared there, and any you register) and
writes the output FITS file atomically. Outputs that exist already are
skipped on a re-run; a file that fails is recorded in the manifest with its error and never
stops the others.

Dask is the optional ``dask`` extra (``pip install "sunpy-dlmag[dask]"``); this module can
be imported without it, and `run_batch` says how to install it when it is missing.
"""

import contextlib
import csv
import datetime
import glob
import os
import time
import uuid
from pathlib import Path

from sunpy_dlmag import checks
from sunpy_dlmag.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    MissingDependencyError,
    MissingFileError,
    OutputExistsError,
)
from sunpy_dlmag.io import FITS_SUFFIXES, fits_stem
from sunpy_dlmag.plotting import save_quicklook
from sunpy_dlmag.tasks import Task, get_task, list_tasks, register_task  # noqa: F401  (also importable from here)

__all__ = [
    "MANIFEST_COLUMNS",
    "MANIFEST_NAME",
    "find_inputs",
    "output_path",
    "process_file",
    "quicklook_path",
    "run_batch",
]

#: Name of the manifest `run_batch` writes in the output folder.
MANIFEST_NAME = "batch_manifest.csv"
#: Columns of the manifest, in order.
MANIFEST_COLUMNS = ("input", "output", "status", "error_type", "error", "seconds", "worker", "finished")
# Rewriting the manifest after every file would cost O(files^2) for large runs.
_MANIFEST_INTERVAL_S = 1.0


# --------------------------------------------------------------------------- tasks
# One task type and one registry for the command line and batch, in sunpy_dlmag.tasks; their
# names here are those of earlier releases.
BatchTask = Task


# --------------------------------------------------------------------------- files
def _has_suffix(path, suffixes):
    return path.name.lower().endswith(tuple(suffixes))


def find_inputs(inputs, *, suffixes=FITS_SUFFIXES):
    """
    The input files named by paths, folders and glob patterns.

    Parameters
    ----------
    inputs : str, `os.PathLike` or sequence of them
        Files (taken whatever their name), folders (their files whose names end in one of
        ``suffixes``, not recursive, hidden files left out) and glob patterns such as
        ``"data/**/*.fits"`` (recursive with ``**``).
    suffixes : tuple of str
        File name endings taken from folders and globs (case-insensitive).

    Returns
    -------
    list of `pathlib.Path`
        In the order given, folders and globs sorted by name, each file once.

    Raises
    ------
    FileNotFoundError
        A path that does not exist, or a folder or pattern with no matching file.
    """
    if isinstance(inputs, str | os.PathLike):
        inputs = [inputs]
    suffixes = tuple(s.lower() for s in suffixes)
    found = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            files = sorted(
                p for p in path.iterdir() if p.is_file() and not p.name.startswith(".") and _has_suffix(p, suffixes)
            )
            if not files:
                raise MissingFileError(f"No file ending in {', '.join(suffixes)} in the folder {path}.")
            found.extend(files)
        elif glob.has_magic(str(item)):
            files = sorted(
                Path(p)
                # Path.glob takes no absolute patterns.
                for p in glob.glob(str(path), recursive=True)  # noqa: PTH207
                if Path(p).is_file() and _has_suffix(Path(p), suffixes)
            )
            if not files:
                raise MissingFileError(f"No file ending in {', '.join(suffixes)} matches {item!s}.")
            found.extend(files)
        else:
            raise MissingFileError(f"No such input file or folder: {item!s}.")
    unique = {}
    for path in found:
        unique.setdefault(path.absolute(), path)
    return list(unique.values())


def output_path(task, path, out_dir):
    """
    Where a task writes the output of one input file: ``out_dir/<stem>_<task>.fits``.

    ``<stem>`` is the input's name without its FITS ending (``.fits``, ``.fts.gz``, ...) or,
    for other files, without its last suffix.
    """
    return Path(out_dir) / f"{fits_stem(Path(path).name)}_{get_task(task).name}.fits"


def quicklook_path(output):
    """The PNG quick-look written beside an output FITS file: its stem with ``.png``."""
    output = Path(output)
    return output.with_name(f"{fits_stem(output.name)}.png")


def process_file(task, path, output, *, overwrite=False, quicklook=False, num_threads=None, compress=None, **options):
    """
    Run a task on one file and write its output FITS file (and a PNG quick-look) atomically.

    This is what each `run_batch` task does on a worker; ``sunpy-dlmag denoise`` calls it
    once per file.

    Parameters
    ----------
    task : str or `~sunpy_dlmag.tasks.Task`
        A registered task (see `~sunpy_dlmag.tasks.list_tasks`), e.g. ``"denoise"``.
    path : str or `os.PathLike`
        The input file (a list of them for a task of several files per output).
    output : str or `os.PathLike`
        The FITS file to write (``.fits.gz`` is gzipped); the quick-look is `quicklook_path` of it.
    overwrite : bool
        Replace existing outputs instead of raising.
    quicklook : bool
        Also write a PNG quick-look of the output map.
    num_threads : int, optional
        Threads its networks may use (default: onnxruntime's choice, one per core).
    compress : bool, optional
        Write the output tile-compressed (see `sunpy_dlmag.io.save_map`); default: where the
        input is (HMI's RICE-compressed files), else plain FITS.
    **options
        Options of the task, e.g. ``method``, ``model``, ``device``, ``tile_size`` and
        ``overlap`` for ``"denoise"`` (see `sunpy_dlmag.denoise`); an option that names a
        further output (synchronic ``sources``) is written there too.

    Returns
    -------
    `~sunpy.map.GenericMap`
        The output map, as written.

    Raises
    ------
    FileExistsError
        An output exists and ``overwrite`` is False (checked before any work).
    TypeError
        The task's function returned something other than a map.
    """
    return process_outputs(
        task,
        path,
        output,
        overwrite=overwrite,
        quicklook=quicklook,
        num_threads=num_threads,
        compress=compress,
        **options,
    )[0]


def process_outputs(
    task, path, output, *, overwrite=False, quicklook=False, num_threads=None, compress=None, **options
):
    """`process_file`, returning the output map and the further outputs (``{option name: map}``)."""
    import sunpy.map

    from sunpy_dlmag.io import is_fits_name
    from sunpy_dlmag.mapio import is_tile_compressed

    task = get_task(task)
    num_threads = checks.check_int(num_threads, "num_threads", minimum=1, allow_none=True)
    output = Path(output)
    png = quicklook_path(output)
    further = {o.name: Path(options[o.name]) for o in task.options if o.output and options.get(o.name)}
    for target in [output, *([png] if quicklook else []), *further.values()]:
        if target.exists() and not overwrite:
            raise OutputExistsError(f"{target} exists; pass overwrite=True (--overwrite) to replace it.")
    result, extra = task.run(path, num_threads=num_threads, **options)
    if not isinstance(result, sunpy.map.GenericMap):
        raise ArgumentTypeError(f"Task {task.name!r} returned {type(result).__name__}, not a sunpy map.")
    if compress is None:
        first = path[0] if isinstance(path, list | tuple) else path  # one file per channel: the first's
        compress = is_fits_name(first) and is_tile_compressed(first)
    compressed = {"compress": True} if compress else {}
    task.write(result, output, overwrite=overwrite, **compressed)
    for name, target in further.items():
        task.write(extra[name], target, overwrite=overwrite, **compressed)
    if quicklook:
        save_quicklook(result, png, overwrite=overwrite)
    return result, extra


# --------------------------------------------------------------------------- worker side
def _now():
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _record(path, output, status, *, seconds=0.0, error=None, worker=""):
    return {
        "input": str(path),
        "output": str(output),
        "status": status,
        "error_type": type(error).__name__ if error is not None else "",
        "error": str(error) if error is not None else "",
        "seconds": round(float(seconds), 3),
        "worker": worker,
        "finished": _now(),
    }


def _run_one(path, output, *, task, overwrite, quicklook, num_threads, options):
    """One file on a worker; any error becomes a ``failed`` record instead of stopping the run."""
    from sunpy import log

    from sunpy_dlmag._progress import quiet

    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        worker = ""
    start = time.perf_counter()
    try:
        with quiet():  # the run has its own bar; workers' tile bars would garble it
            process_file(
                task, path, output, overwrite=overwrite, quicklook=quicklook, num_threads=num_threads, **options
            )
    except Exception as err:  # a failing file must never stop the others
        if isinstance(err, FileExistsError) and not overwrite and Path(output).exists():
            # Another run wrote it since the client looked (process_file checks before any work),
            # or while this one worked: it is complete (written atomically).
            return _record(path, output, "skipped", worker=worker)
        log.debug(f"sunpy-dlmag batch: {path} failed", exc_info=True)
        return _record(path, output, "failed", seconds=time.perf_counter() - start, error=err, worker=worker)
    return _record(path, output, "ok", seconds=time.perf_counter() - start, worker=worker)


# --------------------------------------------------------------------------- client side
def _import_distributed():
    try:
        import distributed
    except ImportError as err:
        raise MissingDependencyError(
            "Batch processing runs on Dask, which is not installed: pip install 'sunpy-dlmag[dask]' "
            f"(or pip install 'dask[distributed]'). ({err})"
        ) from err
    return distributed


class _Manifest:
    """The CSV manifest: one row per input, rows of earlier runs kept, rewritten atomically."""

    def __init__(self, path):
        self.path = Path(path)
        self.rows = {}
        self._written = 0.0
        if self.path.is_file():
            with self.path.open(newline="") as f:
                for row in csv.DictReader(f):
                    if row.get("input"):
                        self.rows[row["input"]] = {k: row.get(k, "") for k in MANIFEST_COLUMNS}

    def update(self, record):
        self.rows[record["input"]] = record

    def write(self, *, force=True):
        from sunpy_dlmag.io import write_atomic

        now = time.monotonic()
        if not force and now - self._written < _MANIFEST_INTERVAL_S:
            return
        self._written = now

        def write(tmp):
            with Path(tmp).open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS)
                writer.writeheader()
                writer.writerows(self.rows.values())

        write_atomic(self.path, write, overwrite=True)


def default_threads(workers=None, n_tasks=None):
    """
    Threads per task on a local cluster: the cores shared out among its workers.

    ``workers`` defaults to one per core (as `run_batch`), at most ``n_tasks``; the result
    is at least 1, and workers x threads never exceed the cores.
    """
    cores = os.cpu_count() or 1
    n_workers = min(workers or cores, n_tasks or cores)
    return max(1, cores // max(1, n_workers))


@contextlib.contextmanager
def _dask_client(distributed, *, workers, scheduler, client, n_tasks):
    if client is not None:
        yield client
    elif scheduler is not None:
        with distributed.Client(scheduler) as own:
            yield own
    else:
        n_workers = min(workers or os.cpu_count() or 1, n_tasks)
        # One Dask thread per worker process (one file at a time each): the networks scale
        # better across processes than threads. The dashboard listens on a free local port
        # (client.dashboard_link), never a fixed one.
        with (
            distributed.LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",
            ) as cluster,
            distributed.Client(cluster) as own,
        ):
            yield own


def run_batch(
    task,
    inputs,
    out_dir,
    *,
    workers=None,
    scheduler=None,
    client=None,
    overwrite=False,
    quicklook=False,
    progress=True,
    num_threads=None,
    **task_options,
):
    """
    Run a task on many files on a Dask cluster, one file per Dask task.

    Each file is read, processed and written to ``out_dir/<stem>_<task>.fits`` (see
    `output_path`) on a worker, atomically: an output file is always complete. Outputs that
    exist already are skipped, so running the same call again after an interruption or a
    failure only processes what is missing. A file that fails (unreadable, not the right kind
    of map, ...) is recorded with its error and never stops the others.

    The manifest ``out_dir/batch_manifest.csv`` (`MANIFEST_COLUMNS`: input, output, status
    ``ok``/``skipped``/``failed``, error type and message, seconds, worker, finish time in
    UTC) has one row per input file; it is rewritten atomically as files finish (at most once
    a second, and at the end, also when interrupted). Rows of inputs that are not part of
    this run are kept.

    Parameters
    ----------
    task : str or `~sunpy_dlmag.tasks.Task`
        A registered task (see `~sunpy_dlmag.tasks.list_tasks`), e.g. ``"denoise"``.
    inputs : str, `os.PathLike` or sequence of them
        Files, folders and glob patterns (see `find_inputs`). On a real cluster, the workers
        must see the files (and ``out_dir``) at the same paths.
    out_dir : str or `os.PathLike`
        Folder for the outputs and the manifest (created if needed).
    workers : int, optional
        Worker processes of the local cluster (one thread each); default: one per CPU core,
        at most one per file to process.
    scheduler : str, optional
        Address of a running Dask scheduler, e.g. ``"tcp://10.0.0.1:8786"``, instead of a
        local cluster.
    client : ``distributed.Client``, optional
        A client of your own, instead of a local cluster; it is left open.
    overwrite : bool
        Process every file again and replace existing outputs.
    quicklook : bool
        Also write a PNG quick-look beside each output.
    progress : bool
        Show a progress bar (tqdm).
    num_threads : int, optional
        Threads the networks of each task may use. Default: on the local cluster, the cores
        shared out among its workers (``cores // workers``, at least 1), so workers x threads
        never exceed the cores (one worker per core: 1 thread each); on a scheduler or client
        of your own, 1 (Dask runs one task per worker thread).
    **task_options
        Options of the task's function, passed to every file, e.g. ``method``, ``model``,
        ``device``, ``tile_size`` and ``overlap`` for ``"denoise"``.

    Returns
    -------
    `~astropy.table.QTable`
        One row per input in the order given, with the manifest's columns (``seconds`` in
        s). ``meta`` holds the counts (``"ok"``, ``"skipped"``, ``"failed"``), the
        ``"manifest"`` path, the ``"wall_time"`` and a one-line ``"summary"``.

    Raises
    ------
    ImportError
        Dask is not installed (the ``dask`` extra).
    ValueError
        An unknown task, both ``scheduler`` and ``client`` (or ``workers`` with either), a
        number of workers below 1, or two inputs that would write the same output.
    FileNotFoundError
        An input that does not exist, or a folder or pattern with no matching file.

    Examples
    --------
    >>> from sunpy_dlmag.batch import run_batch
    >>> summary = run_batch("denoise", "magnetograms/", "denoised/", workers=2)  # doctest: +SKIP
    >>> summary.meta["summary"]  # doctest: +SKIP
    'batch denoise: 9 files in 17.9 s: 8 ok, 0 skipped, 1 failed; manifest denoised/batch_manifest.csv'
    """
    from sunpy import log

    task = get_task(task)
    if task.combines:
        raise InvalidArgumentError(
            f"Task {task.name!r} makes one output of all its inputs; run it once "
            f"(sunpy-dlmag {task.name}), not in batch."
        )
    num_threads = checks.check_int(num_threads, "num_threads", minimum=1, allow_none=True)
    if client is not None and scheduler is not None:
        raise InvalidArgumentError("Give either a scheduler address or a client, not both.")
    if workers is not None and (client is not None or scheduler is not None):
        raise InvalidArgumentError(
            "workers sets the size of the local cluster; it cannot be combined with a scheduler or client."
        )
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise InvalidArgumentError(f"workers must be a positive integer, got {workers!r}.")
    distributed = _import_distributed()
    wall = time.perf_counter()
    out_dir = Path(out_dir)
    paths = [
        p
        for p in find_inputs(inputs, suffixes=task.suffixes)
        # Outputs of an earlier run in the same folder are not inputs.
        if not (p.absolute().parent == out_dir.absolute() and p.name.endswith(f"_{task.name}.fits"))
    ]
    outputs = [output_path(task, p, out_dir).absolute() for p in paths]
    clashes = {}
    for path, output in zip(paths, outputs, strict=True):
        clashes.setdefault(output, []).append(str(path))
    clashes = {o: ps for o, ps in clashes.items() if len(ps) > 1}
    if clashes:
        output, names = next(iter(clashes.items()))
        raise InvalidArgumentError(
            f"{len(clashes)} output name(s) would be written by more than one input, e.g. {output.name} by "
            f"{' and '.join(names)}; process them into separate folders."
        )

    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = _Manifest(out_dir / MANIFEST_NAME)
    todo = []
    for path, output in zip(paths, outputs, strict=True):
        if output.exists() and not overwrite:
            manifest.update(_record(path.absolute(), output, "skipped"))
        else:
            todo.append((path.absolute(), output))
    manifest.write()

    if todo:
        if num_threads is None:
            num_threads = 1 if client is not None or scheduler is not None else default_threads(workers, len(todo))
        with _dask_client(distributed, workers=workers, scheduler=scheduler, client=client, n_tasks=len(todo)) as dask:
            _run_on_dask(
                dask,
                distributed.as_completed,
                task,
                todo,
                manifest=manifest,
                total=len(paths),
                progress=progress,
                options=dict(overwrite=overwrite, quicklook=quicklook, num_threads=num_threads, options=task_options),
            )
    table = _summary(task, paths, manifest, time.perf_counter() - wall)
    log.debug(table.meta["summary"])
    return table


def _run_on_dask(client, as_completed, task, todo, *, manifest, total, progress, options):
    """Submit one Dask task per (input, output) of ``todo``; record each as it finishes."""
    from tqdm.auto import tqdm

    run = uuid.uuid4().hex[:8]
    futures = client.map(
        _run_one,
        [str(p) for p, _ in todo],
        [str(o) for _, o in todo],
        key=[f"sunpy-dlmag-{task.name}-{run}-{i}" for i in range(len(todo))],
        pure=False,
        task=task,
        **options,
    )
    files = {f.key: pair for f, pair in zip(futures, todo, strict=True)}
    # Off with progress=False, and when the output is not a terminal (tqdm's disable=None).
    bar = tqdm(
        total=total,
        initial=total - len(todo),
        unit="file",
        desc=f"batch {task.name}",
        disable=None if progress else True,
    )
    failed = 0
    try:
        for future in as_completed(futures):
            if future.status == "finished":
                record = future.result()
            else:
                # The worker itself died (e.g. killed for memory), or the task was lost or cancelled.
                path, output = files[future.key]
                try:
                    error = future.exception()
                except Exception as err:  # e.g. CancelledError
                    error = err
                record = _record(path, output, "failed", error=error)
            failed += record["status"] == "failed"
            manifest.update(record)
            manifest.write(force=False)
            bar.set_postfix(failed=failed, refresh=False)
            bar.update()
            future.release()
    finally:
        # Interrupted or not: keep what finished, stop what did not.
        manifest.write()
        bar.close()
        client.cancel([f for f in futures if not f.done()])


def _summary(task, paths, manifest, wall):
    import astropy.units as u
    from astropy.table import QTable

    rows = [manifest.rows[str(p.absolute())] for p in paths]  # this run's record of every input
    table = QTable(
        {name: [row[name] for row in rows] if rows else [] for name in MANIFEST_COLUMNS if name != "seconds"}
    )
    table.add_column(u.Quantity([float(row["seconds"]) for row in rows], u.s), name="seconds", index=5)
    counts = {status: sum(row["status"] == status for row in rows) for status in ("ok", "skipped", "failed")}
    table.meta.update(counts)
    table.meta["manifest"] = manifest.path
    table.meta["wall_time"] = wall * u.s
    table.meta["summary"] = (
        f"batch {task.name}: {len(rows)} files in {wall:.1f} s: {counts['ok']} ok, {counts['skipped']} skipped, "
        f"{counts['failed']} failed; manifest {manifest.path}"
    )
    return table
