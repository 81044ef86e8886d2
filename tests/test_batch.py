import csv
import os
import sys
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest

import sunpy.map

from sunpy_dlmag import batch, tasks
from sunpy_dlmag.batch import find_inputs, output_path, process_file, register_task, run_batch
from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
from sunpy_dlmag.denoise import denoise
from sunpy_dlmag.io import save_map
from sunpy_dlmag.models import load_model

distributed = pytest.importorskip("distributed")

GOOD = ("resampled", "binned", "centre", "limb")


@pytest.fixture(scope="module")
def client():
    """A local cluster of 2 worker processes, 1 thread each, started once for the module."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Four small real MDI magnetograms (128x128 views of the bundled map) and a truncated FITS file."""
    path = tmp_path_factory.mktemp("magnetograms")
    mdi = sunpy.map.Map(MDI_MAGNETOGRAM)
    maps = {
        "resampled": mdi.resample([128, 128] * u.pix),
        "binned": mdi.superpixel([8, 8] * u.pix, func=np.mean),
        "centre": mdi.submap([448, 448] * u.pix, top_right=[575, 575] * u.pix),
        "limb": mdi.submap([0, 448] * u.pix, top_right=[127, 575] * u.pix),
    }
    for name, smap in maps.items():
        save_map(smap, path / f"mdi_{name}.fits")
    # Cut inside the data: the header is complete, the data is not.
    (path / "mdi_corrupted.fits").write_bytes(Path(MDI_MAGNETOGRAM).read_bytes()[:20000])
    (path / "notes.txt").write_text("not an input")
    return path


def _mtimes(paths):
    return {p: p.stat().st_mtime_ns for p in paths}


def _manifest(out):
    with (out / batch.MANIFEST_NAME).open(newline="") as f:
        return {row["input"]: row for row in csv.DictReader(f)}


def test_folder_with_a_corrupted_file(folder, client, tmp_path):
    out = tmp_path / "out"
    table = run_batch("denoise", folder, out, client=client, device="cpu", progress=False)

    names = [Path(p).name for p in table["input"]]
    assert names == sorted(f"mdi_{n}.fits" for n in (*GOOD, "corrupted"))
    status = dict(zip(names, table["status"], strict=True))
    assert status.pop("mdi_corrupted.fits") == "failed"
    assert set(status.values()) == {"ok"}
    assert (table.meta["ok"], table.meta["skipped"], table.meta["failed"]) == (4, 0, 1)
    assert "4 ok, 0 skipped, 1 failed" in table.meta["summary"]
    failure = table[table["status"] == "failed"][0]
    assert failure["error_type"] == "OSError"
    assert "mdi_corrupted.fits" in failure["error"]
    # Each good file was processed on one of the two workers, both of which had work.
    workers = set(table[table["status"] == "ok"]["worker"])
    assert workers == set(client.scheduler_info()["workers"])
    assert table["seconds"].unit == u.s
    assert all(table[table["status"] == "ok"]["seconds"] > 0 * u.s)

    # Only complete outputs of the good files and the manifest; nothing of the corrupted one.
    outputs = sorted(out / f"mdi_{n}_denoise.fits" for n in GOOD)
    assert sorted(out.iterdir()) == sorted([*outputs, out / batch.MANIFEST_NAME])
    model = load_model("denoise-m2", device="cpu")
    for name in GOOD:
        source = sunpy.map.Map(folder / f"mdi_{name}.fits")
        written = sunpy.map.Map(out / f"mdi_{name}_denoise.fits")
        expected = denoise(source, model=model)
        np.testing.assert_allclose(written.data, expected.data, atol=1e-3, equal_nan=True)
        assert written.meta["dlmodel"] == "denoise-m2"
        assert written.date == source.date
        assert written.reference_coordinate.separation(source.reference_coordinate) < 0.01 * u.arcsec

    manifest = _manifest(out)
    assert set(manifest) == {str(p) for p in table["input"]}
    for row in table:
        entry = manifest[row["input"]]
        assert entry["status"] == row["status"]
        assert entry["output"] == row["output"]
        assert entry["error_type"] == row["error_type"]

    # A re-run does nothing new: finished outputs are skipped, the broken file fails again.
    before = _mtimes(outputs)
    again = run_batch("denoise", folder, out, client=client, device="cpu", progress=False)
    assert (again.meta["ok"], again.meta["skipped"], again.meta["failed"]) == (0, 4, 1)
    assert _mtimes(outputs) == before
    assert sorted(out.iterdir()) == sorted([*outputs, out / batch.MANIFEST_NAME])
    assert {row["status"] for row in _manifest(out).values()} == {"skipped", "failed"}


def test_overwrite_on_a_scheduler_address_with_progress(folder, client, tmp_path, capsys):
    out = tmp_path / "out"
    first = folder / "mdi_centre.fits"
    run_batch("denoise", [first, folder / "mdi_limb.fits"], out, client=client, device="cpu", progress=False)
    output = output_path("denoise", first, out)
    before = output.stat().st_mtime_ns

    table = run_batch(
        "denoise", str(folder / "*centre*.fits"), out, scheduler=client.scheduler.address, overwrite=True, device="cpu"
    )
    assert list(table["status"]) == ["ok"]
    assert output.stat().st_mtime_ns > before
    # progress=True, but captured stderr is not a terminal: no bar in logs.
    assert "batch denoise" not in capsys.readouterr().err
    # The manifest keeps the row of the file that was not part of this run.
    manifest = _manifest(out)
    assert manifest[str(folder / "mdi_limb.fits")]["status"] == "ok"
    assert manifest[str(first)]["status"] == "ok"


def test_outputs_in_the_input_folder_are_not_inputs(folder, client, tmp_path):
    source = tmp_path / "mdi.fits"
    source.write_bytes((folder / "mdi_binned.fits").read_bytes())
    assert list(run_batch("denoise", tmp_path, tmp_path, client=client, device="cpu", progress=False)["status"]) == [
        "ok"
    ]
    again = run_batch("denoise", tmp_path, tmp_path, client=client, device="cpu", progress=False)
    assert list(again["input"]) == [str(source)]
    assert list(again["status"]) == ["skipped"]


def _worker_facts(path, *, num_threads, scale=1.0):
    """A task of the test: a map that records what the worker gave it."""
    smap = sunpy.map.Map(path)
    meta = smap.meta.copy()
    meta["threads"] = num_threads
    meta["ortenv"] = os.environ.get("ORT_DISABLE_TELEMETRY", "")
    return sunpy.map.Map(smap.data * scale, meta)


def test_custom_task_gets_one_thread_and_its_options(folder, client, tmp_path):
    task = tasks.Task("facts", _worker_facts)
    table = run_batch(task, folder / "mdi_centre.fits", tmp_path, client=client, progress=False, scale=2.0)
    assert list(table["status"]) == ["ok"]
    written = sunpy.map.Map(tmp_path / "mdi_centre_facts.fits")
    assert written.meta["threads"] == 1
    assert written.meta["ortenv"] == "1"
    source = sunpy.map.Map(folder / "mdi_centre.fits")
    np.testing.assert_allclose(written.data, 2 * source.data)


def test_interrupted_run_keeps_finished_work(folder, client, tmp_path, monkeypatch):
    update = batch._Manifest.update

    def interrupt_after_first(self, record):
        update(self, record)
        raise KeyboardInterrupt

    monkeypatch.setattr(batch._Manifest, "update", interrupt_after_first)
    with pytest.raises(KeyboardInterrupt):
        run_batch("denoise", folder, tmp_path, client=client, device="cpu", progress=False)
    monkeypatch.undo()
    rows = _manifest(tmp_path)
    assert len(rows) == 1
    (row,) = rows.values()
    assert row["status"] in ("ok", "failed")
    assert Path(row["output"]).exists() == (row["status"] == "ok")
    # Files whose tasks were cancelled are still to do; finished outputs are skipped.
    table = run_batch("denoise", folder, tmp_path, client=client, device="cpu", progress=False)
    assert table.meta["ok"] + table.meta["skipped"] == 4
    assert table.meta["failed"] == 1
    assert table.meta["skipped"] >= (row["status"] == "ok")
    assert all(Path(p).exists() for p in table[table["status"] != "failed"]["output"])


def test_process_file_writes_fits_and_quicklook(folder, tmp_path):
    output = tmp_path / "clean.fits"
    result = process_file("denoise", folder / "mdi_binned.fits", output, quicklook=True, device="cpu", num_threads=1)
    assert sunpy.map.Map(output).meta["dlmodel"] == "denoise-m2"
    assert output.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    np.testing.assert_allclose(sunpy.map.Map(output).data, result.data, equal_nan=True)
    with pytest.raises(FileExistsError, match=r"clean\.fits exists"):
        process_file("denoise", folder / "mdi_binned.fits", output, device="cpu")
    with pytest.raises(ValueError, match="method must be 'ae'"):
        process_file("denoise", folder / "mdi_binned.fits", tmp_path / "x.fits", method="nope")


def test_task_must_return_a_map(folder, tmp_path):
    task = tasks.Task("array", lambda path, num_threads: np.zeros((4, 4)))
    with pytest.raises(TypeError, match="returned ndarray, not a sunpy map"):
        process_file(task, folder / "mdi_binned.fits", tmp_path / "x.fits")
    assert not (tmp_path / "x.fits").exists()


def test_find_inputs(folder, tmp_path):
    (folder / ".mdi_resampled.fits.abc.part.fits").write_bytes(b"")
    try:
        found = find_inputs(folder)
    finally:
        (folder / ".mdi_resampled.fits.abc.part.fits").unlink()
    assert [p.name for p in found] == sorted(f"mdi_{n}.fits" for n in (*GOOD, "corrupted"))
    # Explicit files are taken whatever their name; each file once; order kept.
    notes = folder / "notes.txt"
    assert find_inputs([notes, folder / "mdi_limb.fits", str(folder / "*limb*")]) == [notes, folder / "mdi_limb.fits"]
    assert [p.name for p in find_inputs(str(folder / "*.fits"), suffixes=(".FITS",))] == [p.name for p in found]
    with pytest.raises(FileNotFoundError, match="No such input file or folder"):
        find_inputs(folder / "nope.fits")
    with pytest.raises(FileNotFoundError, match=r"No file ending in \.fits"):
        find_inputs(tmp_path)
    with pytest.raises(FileNotFoundError, match="matches"):
        find_inputs(str(folder / "*.jp2"))


@pytest.mark.parametrize(
    ("name", "stem"),
    [("a.fits", "a"), ("b.FTS", "b"), ("c.fits.gz", "c"), ("d.v2.fits", "d.v2"), ("drawing.png", "drawing")],
)
def test_output_path(name, stem, tmp_path):
    assert output_path("denoise", Path("x") / name, tmp_path) == tmp_path / f"{stem}_denoise.fits"


def test_bad_arguments_are_clear_errors(folder, tmp_path, client):
    with pytest.raises(ValueError, match=r"Unknown batch task 'nope'; the registered tasks are .*denoise"):
        run_batch("nope", folder, tmp_path)
    with pytest.raises(ValueError, match="either a scheduler address or a client"):
        run_batch("denoise", folder, tmp_path, client=client, scheduler="tcp://localhost:1")
    with pytest.raises(ValueError, match="cannot be combined"):
        run_batch("denoise", folder, tmp_path, client=client, workers=2)
    with pytest.raises(ValueError, match="positive integer, got 0"):
        run_batch("denoise", folder, tmp_path, workers=0)
    with pytest.raises(FileNotFoundError, match="nope"):
        run_batch("denoise", folder / "nope", tmp_path, client=client)
    other = tmp_path / "other"
    other.mkdir()
    (other / "mdi_limb.fits").write_bytes((folder / "mdi_limb.fits").read_bytes())
    with pytest.raises(ValueError, match=r"mdi_limb_denoise\.fits by .* and "):
        run_batch("denoise", [folder, other], tmp_path / "out", client=client)
    assert not (tmp_path / "out").exists()


def test_register_task_checks(registered_task):
    with pytest.raises(ValueError, match="registered already"):
        register_task("denoise", batch.get_task("denoise").function)
    with pytest.raises(ValueError, match="only letters"):
        register_task("my task", batch.get_task("denoise").function)
    with pytest.raises(TypeError, match="must be callable"):
        register_task("thing", 3)
    task = registered_task("double", _worker_facts, description="twice the data")
    assert "double" in batch.list_tasks()
    assert batch.get_task("double") is task


@pytest.fixture
def registered_task():
    added = []

    def add(name, function, **kwargs):
        added.append(name)
        return register_task(name, function, **kwargs)

    yield add
    for name in added:
        tasks.TASKS.pop(name, None)


def test_missing_dask_says_how_to_install(folder, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'sunpy-dlmag\[dask\]'"):
        run_batch("denoise", folder, tmp_path)


def _crash_on_marker(path, *, num_threads):
    """A task of the test that kills its worker process on files named *crash*, as a segfault would."""
    if "crash" in Path(path).name:
        os._exit(3)
    return sunpy.map.Map(path)


def test_a_file_that_kills_its_worker_is_recorded(folder, client, tmp_path):
    crash = tmp_path / "in" / "crash.fits"
    crash.parent.mkdir()
    crash.write_bytes((folder / "mdi_binned.fits").read_bytes())
    task = tasks.Task("crash", _crash_on_marker)
    table = run_batch(task, [folder / "mdi_binned.fits", crash], tmp_path / "out", client=client, progress=False)
    # Dask recomputes a result lost with a dead worker; the rerun finds the output written.
    assert table["status"][0] in ("ok", "skipped")
    assert table["status"][1] == "failed"
    assert table["error_type"][1] == "KilledWorker"
    assert (tmp_path / "out" / "mdi_binned_crash.fits").exists()
    assert _manifest(tmp_path / "out")[str(crash)]["error_type"] == "KilledWorker"


def test_workers_times_threads_never_exceed_the_cores(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    for workers, n_tasks, threads in [(None, None, 1), (2, None, 4), (3, None, 2), (16, None, 1), (None, 2, 4)]:
        assert batch.default_threads(workers, n_tasks) == threads
        assert min(workers or 8, n_tasks or 8) * threads <= 8
