"""Training pairs from the archives: queries, matching by time, manifests (offline, on real FITS files)."""

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import parfive
import pytest
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning
from astropy.time import Time

from sunpy.net import Fido
from sunpy.net import attrs as a
from sunpy.net.jsoc import JSOCClient
from sunpy.net.vso import VSOClient

from sunpy_dlmag.data import fetch
from sunpy_dlmag.data.fetch import (
    Pair,
    build_queries,
    fetch_training_pairs,
    manifest_from_folders,
    pairs_from_folders,
    pairs_from_manifest,
    read_observation_time,
    split_by_month,
    write_manifest,
)
from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
from sunpy_dlmag.exceptions import (
    ArgumentTypeError,
    DlmagError,
    DlmagUserWarning,
    InvalidArgumentError,
    TrainingDataError,
)

DATA = Path(__file__).parent / "data"
AIA = DATA / "aia_171_level1.fits"
EUVI = DATA / "secchi_l0_a.fits"
MDI = DATA / "mdi_fd_M_96m_01d.5874.0005_s.fits"


def copy_with_time(src, dst, time):
    """Copy a real FITS file, its observation time set to ``time`` (DATE-OBS only)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)  # BLANK on float data in the SECCHI file
        with fits.open(src) as hdul:
            for hdu in hdul:
                for key in ("DATE-AVG", "T_OBS", "DATE_OBS"):
                    hdu.header.remove(key, ignore_missing=True)
                hdu.header["DATE-OBS"] = Time(time).isot
            hdul.writeto(dst, output_verify="silentfix")
    return dst


# --------------------------------------------------------------------------- times and pairs


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (AIA, "2011-02-15T00:00:01.340"),  # T_OBS (mid-exposure) preferred to DATE-OBS
        (EUVI, "2011-02-15T00:14:08.010"),  # DATE-AVG
        (MDI, "2009-01-31T08:02:56.000"),  # T_OBS '2009.01.31_08:03:30_TAI'
        (MDI_MAGNETOGRAM, "2010-10-15T00:02:56.000"),  # Rice-compressed: the time is in HDU 1
    ],
)
def test_observation_time_from_headers(path, expected):
    t = read_observation_time(path)
    assert t.scale == "utc"
    assert abs((t - Time(expected)).to_value(u.s)) < 1e-3


def test_observation_time_missing(tmp_path):
    path = tmp_path / "no_time.fits"
    fits.writeto(path, fits.getdata(MDI))
    with pytest.raises(ValueError, match="no readable observation time"):
        read_observation_time(path)


@pytest.fixture
def folders(tmp_path):
    """Real AIA and EUVI 171 inputs and MDI targets whose header times were edited, in channel folders."""
    root = tmp_path / "downloads"
    for i, t in enumerate(["2011-01-01T00:00", "2011-01-01T12:00", "2011-01-02T00:00"]):
        copy_with_time(MDI, root / "hmi" / f"target_{i}.fits", t)
    # 10 min off, 50 min off (a miss at the default 30 min), 29 min off; and one far from any target.
    for i, t in enumerate(["2011-01-01T00:10", "2011-01-01T12:50", "2011-01-01T23:31", "2011-01-01T06:00"]):
        copy_with_time(AIA, root / "aia_171" / f"aia_{i}.fits", t)
    for i, t in enumerate(["2011-01-01T00:05", "2011-01-01T12:05", "2011-01-02T00:20"]):
        copy_with_time(EUVI, root / "euvi_171" / f"euvi_{i}.fits", t)
    return root


def test_pairs_from_folders_match_within_tolerance(folders):
    pairs = pairs_from_folders(folders / "aia_171", folders / "hmi")
    assert [p.target.name for p in pairs] == ["target_0.fits", "target_2.fits"]
    assert [p.inputs[0].name for p in pairs] == ["aia_0.fits", "aia_2.fits"]
    assert pairs[0].time.isot == "2011-01-01T00:00:00.000"
    # A wider tolerance takes the 50-min neighbour too.
    wide = pairs_from_folders([folders / "aia_171"], folders / "hmi", tolerance=1 * u.h)
    assert [p.inputs[0].name for p in wide] == ["aia_0.fits", "aia_1.fits", "aia_2.fits"]
    # Every channel must match: EUVI at 12:05 does not rescue the AIA miss.
    two = pairs_from_folders([folders / "aia_171", folders / "euvi_171"], folders / "hmi")
    assert [tuple(q.name for q in p.inputs) for p in two] == [
        ("aia_0.fits", "euvi_0.fits"),
        ("aia_2.fits", "euvi_2.fits"),
    ]
    assert pairs_from_folders(folders / "aia_171", folders / "hmi", tolerance=5 * u.min) == []


def test_pairs_from_folders_skip_files_without_time(folders):
    fits.writeto(folders / "hmi" / "bad.fits", np.zeros((4, 4), dtype=np.float32))
    (folders / "hmi" / ".partial.fits").write_bytes(b"")  # hidden: an unfinished download, ignored
    with pytest.warns(DlmagUserWarning, match=r"1 file\(s\) in .* were skipped.*bad.fits"):
        pairs = pairs_from_folders(folders / "aia_171", folders / "hmi")
    assert len(pairs) == 2


def test_pairs_from_folders_errors(folders):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        pairs_from_folders(folders / "nowhere", folders / "hmi")
    with pytest.raises(ArgumentTypeError, match=r"tolerance must be a Quantity in min \(e.g. tolerance=30 \* u.min\)"):
        pairs_from_folders(folders / "aia_171", folders / "hmi", tolerance=30)
    with pytest.raises(ValueError, match="at least one input folder"):
        pairs_from_folders([], folders / "hmi")


def test_manifest_round_trip(folders, tmp_path):
    pairs = pairs_from_folders([folders / "aia_171", folders / "euvi_171"], folders / "hmi")
    manifest = write_manifest(pairs, folders / "manifest.csv")
    lines = manifest.read_text().splitlines()
    assert lines[0] == "time,target,input0,input1"
    # Paths inside the manifest's folder are relative, so the folder can move.
    assert lines[1] == "2011-01-01T00:00:00.000,hmi/target_0.fits,aia_171/aia_0.fits,euvi_171/euvi_0.fits"
    moved = shutil.move(folders, tmp_path / "moved")
    again = pairs_from_manifest(moved / "manifest.csv")
    assert [p.target for p in again] == [moved / "hmi" / "target_0.fits", moved / "hmi" / "target_2.fits"]
    assert [p.inputs[1].name for p in again] == ["euvi_0.fits", "euvi_2.fits"]
    assert all(abs((p.time - q.time).to_value(u.ms)) < 1 for p, q in zip(pairs, again, strict=True))
    assert all(q.exists() for p in again for q in (p.target, *p.inputs))


def test_manifest_with_paths_elsewhere(folders, tmp_path):
    pairs = pairs_from_folders(folders / "aia_171", folders / "hmi")
    manifest = write_manifest(pairs, tmp_path / "lists" / "manifest.csv")
    assert str(folders.resolve()) in manifest.read_text()
    assert [p.target.resolve() for p in pairs_from_manifest(manifest)] == [p.target.resolve() for p in pairs]
    with pytest.raises(FileExistsError):
        write_manifest(pairs, manifest)
    write_manifest(pairs[:1], manifest, overwrite=True)
    assert len(pairs_from_manifest(manifest)) == 1


def test_manifest_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("when,target,input0\n2011-01-01,a.fits,b.fits\n")
    with pytest.raises(ValueError, match="expected"):
        pairs_from_manifest(bad)
    bad.write_text("time,target,input0\n2011-01-01,a.fits\n")
    with pytest.raises(ValueError, match="line 2: 2 columns"):
        pairs_from_manifest(bad)
    bad.write_text("time,target,input0\nyesterday,a.fits,b.fits\n")
    with pytest.raises(ValueError, match="unreadable time"):
        pairs_from_manifest(bad)
    # A manifest with a header and no rows trains nothing: a DlmagError that names the file.
    bad.write_text("time,target,input0\n\n")
    with pytest.raises(TrainingDataError, match=r"Manifest .*bad.csv lists no pairs \(only its header\)"):
        pairs_from_manifest(bad)
    bad.write_text("")
    with pytest.raises(TrainingDataError, match=r"Manifest .*bad.csv is empty"):
        pairs_from_manifest(bad)
    mixed = [Pair("2011-01-01", ["a.fits"], "t.fits"), Pair("2011-01-02", ["a.fits", "b.fits"], "t.fits")]
    with pytest.raises(ValueError, match="same number of inputs"):
        write_manifest(mixed, tmp_path / "m.csv")


def test_split_by_month():
    pairs = [Pair(f"2012-{m:02d}-15T12:00", ["in.fits"], f"t{m}.fits") for m in range(1, 13)]
    train, held_out = split_by_month(pairs)
    assert [p.time.ymdhms["month"] for p in held_out] == [9, 10]
    assert len(train) == 10
    assert not {p.target for p in train} & {p.target for p in held_out}
    # Month boundaries in UTC: the last second of August stays in training.
    edge = [Pair("2012-08-31T23:59:59", ["in.fits"], "a.fits"), Pair("2012-09-01T00:00:00", ["in.fits"], "b.fits")]
    train, held_out = split_by_month(edge, held_out_months=[9])
    assert [p.target.name for p in train] == ["a.fits"]
    assert [p.target.name for p in held_out] == ["b.fits"]
    with pytest.raises(ValueError, match="months 1-12"):
        split_by_month(pairs, held_out_months=(0, 13))


# --------------------------------------------------------------------------- queries


def test_aia_hmi_queries_for_vso():
    queries = build_queries("2011-01-01", "2011-02-01", 12 * u.h)
    assert [(q.name, q.role) for q in queries] == [
        ("aia_304", "input"),
        ("aia_193", "input"),
        ("aia_171", "input"),
        ("hmi", "target"),
    ]
    for q, wavelength in zip(queries[:3], (304, 193, 171), strict=True):
        assert a.Instrument("AIA") in q.attrs.attrs
        assert a.Wavelength(wavelength * u.AA) in q.attrs.attrs
    hmi = queries[-1].attrs.attrs
    assert a.Instrument("HMI") in hmi
    assert a.Physobs("LOS_magnetic_field") in hmi
    for q in queries:
        assert a.Sample(12 * u.h) in q.attrs.attrs
        assert a.Time("2011-01-01", "2011-02-01") in q.attrs.attrs
        assert VSOClient._can_handle_query(*q.attrs.attrs)


def test_aia_hmi_queries_for_jsoc():
    queries = build_queries("2011-01-01", "2011-01-02", 720 * u.s, wavelengths=[171], provider="jsoc", email="me@x.org")
    aia, hmi = (q.attrs.attrs for q in queries)
    series = [x.value for attrs in (aia, hmi) for x in attrs if isinstance(x, a.jsoc.Series)]
    assert series == ["aia.lev1_euv_12s", "hmi.M_720s"]
    assert a.Wavelength(171 * u.AA) in aia
    for attrs in (aia, hmi):
        assert [x.value for x in attrs if isinstance(x, a.jsoc.Notify)] == ["me@x.org"]
        assert JSOCClient._can_handle_query(*attrs)


def test_euvi_hmi_queries():
    queries = build_queries("2023-08-01", "2023-08-10", 1 * u.day, pair="euvi-hmi")
    assert [q.name for q in queries] == ["euvi_304", "euvi_195", "euvi_171", "hmi"]
    euvi = queries[1].attrs.attrs
    for attr in (a.Instrument("SECCHI"), a.Detector("EUVI"), a.Source("STEREO_A"), a.Wavelength(195 * u.AA)):
        assert attr in euvi
    assert VSOClient._can_handle_query(*euvi)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"end": "2010-12-31"}, ValueError, "must be after start"),
        ({"pair": "hmi-aia"}, ValueError, "Unknown pair 'hmi-aia'; known: aia-hmi, euvi-hmi"),
        ({"cadence": 12}, ArgumentTypeError, r"cadence must be a Quantity in h \(e.g. cadence=12 \* u.h\)"),
        ({"cadence": 12 * u.m}, ArgumentTypeError, "cadence must be in units of h"),
        ({"cadence": -1 * u.h}, InvalidArgumentError, "cadence must be positive"),
        ({"provider": "jsoc"}, ValueError, "JSOC exports need the email"),
        ({"provider": "sdac"}, ValueError, "Unknown provider"),
        ({"pair": "euvi-hmi", "provider": "jsoc", "email": "me@x.org"}, ValueError, "EUVI data are not available"),
        ({"wavelengths": (195,)}, ValueError, "AIA has no channel at 195"),
        ({"wavelengths": (171, 171)}, ValueError, "repeat"),
    ],
)
def test_query_errors(kwargs, error, match):
    args = {"start": "2011-01-01", "end": "2011-01-02", "cadence": 12 * u.h, **kwargs}
    with pytest.raises(error, match=match):
        build_queries(args.pop("start"), args.pop("end"), args.pop("cadence"), **args)


# --------------------------------------------------------------------------- downloads (offline)


def test_manifest_from_local_downloads(folders):
    shutil.rmtree(folders / "euvi_171")
    manifest = manifest_from_folders(folders, wavelengths=[171])
    assert manifest == folders / "manifest.csv"
    assert [p.inputs[0].name for p in pairs_from_manifest(manifest)] == ["aia_0.fits", "aia_2.fits"]
    # Run again (e.g. after more downloads): the manifest is replaced.
    manifest_from_folders(folders, wavelengths=[171], tolerance=1 * u.h)
    assert len(pairs_from_manifest(manifest)) == 3


def test_manifest_from_folders_without_pairs(folders):
    manifest = manifest_from_folders(folders, wavelengths=[171])
    before = manifest.read_bytes()
    # No pair within 5 min: an error saying what was found, and the manifest already there is kept.
    with pytest.raises(TrainingDataError, match=r"No aia-hmi pairs within 5.0 min .*aia_171: 4, hmi: 3.*no manifest"):
        manifest_from_folders(folders, wavelengths=[171], tolerance=5 * u.min)
    assert manifest.read_bytes() == before
    (folders / "manifest.csv").unlink()
    with pytest.raises(DlmagError):
        manifest_from_folders(folders, wavelengths=[171], tolerance=5 * u.min)
    assert not (folders / "manifest.csv").exists()


@pytest.fixture
def fake_fido(monkeypatch, tmp_path):
    """Fido.search/fetch on local copies of real files; the first download of a run fails once."""
    sources = tmp_path / "archive"
    for i, t in enumerate(["2011-01-01T00:00", "2011-01-01T12:00"]):
        copy_with_time(MDI, sources / "hmi" / f"hmi_{i}.fits", t)
        copy_with_time(AIA, sources / "aia" / f"aia_{i}.fits", Time(t) + 2 * u.min)
    calls = {"search": [], "fetch": 0, "copied": 0, "kwargs": []}

    class Result:
        def __init__(self, files):
            self.files = files
            self.file_num = len(files)

    def search(query):
        calls["search"].append(query)
        return Result(sorted((sources / ("aia" if a.Instrument("AIA") in query.attrs else "hmi")).iterdir()))

    def fetch(result, *, path, overwrite, max_conn, progress):
        calls["fetch"] += 1
        calls["kwargs"].append({"overwrite": overwrite, "max_conn": max_conn})
        retry = isinstance(result, parfive.Results)
        files = [f for f, *_ in result.errors] if retry else result.files
        out = parfive.Results()
        for i, src in enumerate(files):
            dst = Path(path.format(file=src.name))
            if not retry and i == 0 and calls["fetch"] == 1:
                out.add_error(src, f"https://example.org/{src.name}", ConnectionError("reset"))
                continue
            if overwrite or not dst.exists():
                shutil.copy(src, dst)
                calls["copied"] += 1
            out.append(path=str(dst), url=f"https://example.org/{src.name}")
        return out

    monkeypatch.setattr(Fido, "search", search)
    monkeypatch.setattr(Fido, "fetch", fetch)
    return calls


def test_fetch_training_pairs_offline(fake_fido, tmp_path):
    out = tmp_path / "pairs"
    manifest = fetch_training_pairs(
        "2011-01-01", "2011-01-02", 12 * u.h, wavelengths=[171], out_dir=out, max_workers=2, progress=False
    )
    assert len(fake_fido["search"]) == 2
    assert fake_fido["fetch"] == 3  # AIA, its retry, HMI
    assert all(k == {"overwrite": False, "max_conn": 2} for k in fake_fido["kwargs"])
    assert sorted(p.name for p in (out / "aia_171").iterdir()) == ["aia_0.fits", "aia_1.fits"]
    pairs = pairs_from_manifest(manifest)
    assert [(p.inputs[0].name, p.target.name) for p in pairs] == [
        ("aia_0.fits", "hmi_0.fits"),
        ("aia_1.fits", "hmi_1.fits"),
    ]
    # A second run finds everything in place and copies nothing.
    copied = fake_fido["copied"]
    fetch_training_pairs("2011-01-01", "2011-01-02", 12 * u.h, wavelengths=[171], out_dir=out, progress=False)
    assert fake_fido["copied"] == copied
    assert pairs_from_manifest(manifest) == pairs


def test_fetch_errors_before_any_download(fake_fido, tmp_path):
    with pytest.raises(ValueError, match="must be after start"):
        fetch_training_pairs("2011-01-02", "2011-01-01", 12 * u.h, out_dir=tmp_path)
    with pytest.raises(ValueError, match="max_workers"):
        fetch_training_pairs("2011-01-01", "2011-01-02", 12 * u.h, out_dir=tmp_path, max_workers=0)
    assert fake_fido["search"] == []


def test_fetch_needs_no_torch():
    # The data side must work without the training extra.
    assert "torch" not in vars(fetch)
    code = "import sys; import sunpy_dlmag.data.fetch; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.remote_data
def test_fetch_one_real_pair(tmp_path):
    import sunpy.map

    manifest = fetch_training_pairs(
        "2011-02-15T00:00", "2011-02-15T00:02", 12 * u.h, wavelengths=[171], out_dir=tmp_path, progress=False
    )
    pairs = pairs_from_manifest(manifest)
    assert len(pairs) >= 1
    target, aia = sunpy.map.Map(pairs[0].target), sunpy.map.Map(pairs[0].inputs[0])
    assert target.instrument.startswith("HMI")
    assert aia.wavelength == 171 * u.AA
    assert abs((target.date - aia.date).to(u.min)) < 30 * u.min


# --------------------------------------------------------------------------- offline


@pytest.fixture
def offline(monkeypatch):
    """No network: every URL the archive clients open fails as a machine without DNS does."""
    import socket
    import urllib.error

    import drms.json

    import sunpy.net.vso.vso as vso

    def urlopen(*args, **kwargs):
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(vso, "urlopen", urlopen)
    monkeypatch.setattr(drms.json, "urlopen", urlopen)


@pytest.mark.parametrize("provider", ["vso", "jsoc"])
def test_offline_fetch_says_so_in_one_line_and_leaves_no_folders(offline, tmp_path, capsys, provider):
    from sunpy_dlmag.cli import main
    from sunpy_dlmag.exceptions import ArchiveUnreachableError

    out = tmp_path / "pairs"
    # The real archive clients, searching without a network.
    with pytest.raises(ArchiveUnreachableError, match=r"Cannot reach the archive for aia_171: .*no network connection"):
        fetch_training_pairs(
            "2011-01-01", "2011-01-02", 12 * u.h, wavelengths=[171], out_dir=out, provider=provider, email="a@b.org"
        )
    assert not out.exists()
    args = ["fetch-pairs", "--start", "2011-01-01", "--end", "2011-01-02", "--wavelengths", "171", "--out", str(out)]
    assert main([*args, "--provider", provider, "--email", "a@b.org"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("sunpy-dlmag: error: Cannot reach the archive for aia_171")
    assert "Traceback" not in captured.err
    assert "VSO mirrors" not in captured.out
    assert not out.exists()


def test_failed_downloads_leave_no_empty_folder_and_keep_what_came(fake_fido, monkeypatch, tmp_path):
    from sunpy_dlmag.exceptions import ArchiveUnreachableError

    search = Fido.search

    # AIA comes; then the network goes: every HMI download fails, twice.
    def fetch(result, *, path, overwrite, max_conn, progress):
        out = parfive.Results()
        for f in result.files if hasattr(result, "files") else [e.filepath_partial for e in result.errors]:
            if "hmi" in str(f):
                out.add_error(f, "https://example.org", ConnectionError("Cannot connect to host"))
            else:
                dst = Path(path.format(file=f.name))
                shutil.copy(f, dst)
                out.append(path=str(dst), url="https://example.org")
        return out

    monkeypatch.setattr(Fido, "fetch", fetch)
    out = tmp_path / "pairs"
    with pytest.raises(ArchiveUnreachableError, match="for hmi: Cannot connect to host"):
        fetch_training_pairs("2011-01-01", "2011-01-02", 12 * u.h, wavelengths=[171], out_dir=out, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["aia_171"]
    assert len(list((out / "aia_171").iterdir())) == 2
    assert Fido.search is search


def test_fetch_pairs_hints_use_the_flags(tmp_path, capsys):
    from sunpy_dlmag.cli import main

    args = ["fetch-pairs", "--start", "2011-01-01", "--end", "2011-01-02", "--out", str(tmp_path / "p")]
    assert main([*args, "--provider", "jsoc"]) == 2
    err = capsys.readouterr().err
    assert "--provider jsoc needs --email" in err
    assert "email=" not in err
    assert main([*args, "--cadence", "twelve"]) == 2
    assert "--cadence is a time such as '12 h'" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()
