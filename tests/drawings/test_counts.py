"""
The day's sunspot counts of drawings (g, f, R = 10 g + f): `sunspot_counts` on one drawing and
`count_drawings` / ``sunpy-dlmag counts`` on many, on drawings traced from the SOHO/MDI
magnetogram of 2010-10-15 and on the real Uccle forms where they are present.
"""

import csv
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from conftest import shared_path
from PIL import Image

import sunpy.map

import sunpy_dlmag
from sunpy_dlmag import drawings
from sunpy_dlmag.cli import main
from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
from sunpy_dlmag.drawings import counts as counting
from sunpy_dlmag.exceptions import ArgumentTypeError, InvalidArgumentError, MissingDateError
from sunpy_dlmag.training import drawings as synthetic

# Two layouts of one day's drawing: straight, and rotated, mirrored and off-centre.
LAYOUTS = {
    "usd201010150000.png": dict(shape=(1000, 1000), radius=420.0, north_angle=0 * u.deg, mirrored=False),
    "usd201010150001.png": dict(shape=(1000, 1100), centre=(560.0, 470.0), radius=420.0, north_angle=35 * u.deg,
                                mirrored=True),
}  # fmt: skip


@pytest.fixture(scope="module")
def mdi():
    return sunpy.map.Map(MDI_MAGNETOGRAM)


@pytest.fixture(scope="module")
def folder(mdi, tmp_path_factory):
    """The two renderings saved as Uccle-named PNGs, a broken file and a drawing whose name has no date."""
    path = tmp_path_factory.mktemp("forms")
    for name, layout in LAYOUTS.items():
        Image.fromarray(synthetic.render_drawing(mdi, threshold=300 * u.G, **layout)).save(path / name)
    (path / "usd201010160000.png").write_bytes(b"not an image")
    Image.fromarray(synthetic.render_drawing(mdi, shape=(600, 600), threshold=300 * u.G)).save(path / "nodate.png")
    return path


def _read(folder, name):
    layout = LAYOUTS[name]
    return drawings.read_drawing(
        folder / name, date="2010-10-15T00:00", north_angle=layout["north_angle"], mirrored=layout["mirrored"]
    )


def test_counts_are_the_groups_and_spots_found(folder):
    drawing = _read(folder, "usd201010150000.png")
    spots = drawings.detect_sunspots(drawing)
    counts = sunpy_dlmag.sunspot_counts(drawing)
    g, f = len(np.unique(spots["group"])), len(spots)
    assert g > 1
    assert (counts.g, counts.f, counts.R) == (g, f, 10 * g + f)
    table = counts.to_table()
    assert table.meta["R"] == 10 * g + f
    assert table.meta["date"].startswith("2010-10-15")
    assert table.colnames == ["group", "n_spots", "area", "lat", "lon", "verdict"]
    assert table["area"].unit == drawings.MSH
    assert table["n_spots"].sum() == f
    assert u.allclose(table["area"].sum(), spots["area"].sum())
    groups = drawings.sunspot_groups(spots)
    assert u.allclose(table["lat"], groups["lat"])
    assert u.allclose(table["lon"], groups["lon"])
    # Every group's verdict names the kinds of mark its spots are, all of them spots.
    for verdict in table["verdict"]:
        kinds = verdict.split(", ")
        assert kinds
        assert all(drawings.VERDICTS[kind][0] for kind in kinds)
    # A spot table gives the same counts (no verdicts: the marks are not known).
    again = drawings.sunspot_counts(spots)
    assert (again.g, again.f, again.R) == (counts.g, counts.f, counts.R)
    assert set(again.groups["verdict"]) == {""}


def test_counts_and_positions_do_not_depend_on_the_layout(folder):
    straight = drawings.sunspot_counts(_read(folder, "usd201010150000.png"))
    turned = drawings.sunspot_counts(_read(folder, "usd201010150001.png"))
    assert (turned.g, turned.f) == (straight.g, straight.f)
    big = straight.groups["area"] > 50 * drawings.MSH  # small groups' centres move with a pixel
    assert big.any()
    assert u.allclose(turned.groups["lat"][big], straight.groups["lat"][big], atol=1 * u.deg)
    assert u.allclose(turned.groups["lon"][big], straight.groups["lon"][big], atol=1 * u.deg)


def test_a_spotless_drawing_counts_zero_without_a_warning():
    yy, xx = np.indices((400, 400))
    image = np.where(np.abs(np.hypot(xx - 200, yy - 200) - 150) < 1.2, 10, 240).astype(np.uint8)
    drawing = drawings.read_drawing(image, date="2011-02-15")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        counts = drawings.sunspot_counts(drawing)
    assert (counts.g, counts.f, counts.R) == (0, 0, 0)
    assert len(counts.to_table()) == 0


def test_bad_input_is_refused(folder):
    with pytest.raises(ArgumentTypeError, match=r"drawing map .* or a spot table"):
        drawings.sunspot_counts(np.zeros((10, 10)))
    spots = drawings.detect_sunspots(_read(folder, "usd201010150000.png"))
    with pytest.raises(ArgumentTypeError, match="label_distance"):
        drawings.sunspot_counts(spots, label_distance=None)
    with pytest.raises(ArgumentTypeError, match="dates is a CSV file or a dict"):
        drawings.count_drawings([folder / "usd201010150000.png"], dates=3)


def test_dates_from_uccle_names_and_from_a_table(tmp_path):
    assert counting.date_from_name("scans/usd194808011030.jpg") == "1948-08-01T10:30"
    assert counting.date_from_name("usd195412241350.bmp") == "1954-12-24T13:50"
    with pytest.raises(MissingDateError, match=r"DrawingType_USET.jpg.*YYYYMMDDHHMM"):
        counting.date_from_name("DrawingType_USET.jpg")
    with pytest.raises(MissingDateError, match="not a valid"):
        counting.date_from_name("usd194813011030.jpg")  # month 13
    with pytest.raises(MissingDateError):
        counting.date_from_name("usd1948080110301.jpg")  # thirteen digits: not a date
    table = tmp_path / "TRUTH.csv"
    table.write_text("file,date_utc,observer_groups\nforms/a.jpg,1977-08-25T08:44,2\n")
    assert counting.read_dates(table) == {"a.jpg": "1977-08-25T08:44"}
    table.write_text("name,when\na.jpg,1977-08-25\n")
    with pytest.raises(InvalidArgumentError, match=r"needs the columns file and date.*name, when"):
        counting.read_dates(table)


def _csv_rows(path):
    with Path(path).open(newline="") as f:
        return list(csv.DictReader(f))


def test_counts_command_writes_one_row_per_drawing(folder, tmp_path, capsys):
    files = sorted(folder.iterdir())
    dates = tmp_path / "dates.csv"
    dates.write_text("file,date\nnodate.png,2010-10-15T00:00\n")
    out = tmp_path / "counts.csv"
    # The broken file fails in its row, the others are counted: exit status 1.
    assert main(["counts", str(folder), "--out", str(out), "--quiet"]) == 1
    rows = {Path(row["file"]).name: row for row in _csv_rows(out)}
    assert list(rows) == [p.name for p in files]
    assert rows["usd201010160000.png"]["status"] == "failed"
    assert rows["usd201010160000.png"]["error"].startswith("InputMapError: ")
    assert rows["usd201010160000.png"]["R"] == ""
    assert rows["nodate.png"]["status"] == "failed"
    assert rows["nodate.png"]["error"].startswith("MissingDateError: No date for nodate.png")
    assert "not an image file" in capsys.readouterr().err
    # The CSV is the API's table, and the counts are those of sunspot_counts.
    table = drawings.count_drawings(files, dates=None, progress=False)
    for row in table:
        written = rows[Path(row["file"]).name]
        assert written["status"] == row["status"]
        assert written["date"] == row["date"]
        assert written["error"] == row["error"]
        if row["status"] == "ok":
            assert (int(written["g"]), int(written["f"]), int(written["R"])) == (row["g"], row["f"], row["R"])
    first = drawings.sunspot_counts(_read(folder, "usd201010150000.png"))
    assert int(rows["usd201010150000.png"]["R"]) == first.R == 10 * first.g + first.f
    assert rows["usd201010150000.png"]["date"] == "2010-10-15T00:00"
    # With the dates table, the drawing without a date in its name is counted too.
    assert main(["counts", *map(str, files), "--dates", str(dates), "--out", str(out), "--overwrite", "--quiet"]) == 1
    rows = {Path(row["file"]).name: row for row in _csv_rows(out)}
    assert rows["nodate.png"]["status"] == "ok"
    assert int(rows["nodate.png"]["g"]) > 0


def test_counts_command_writes_atomically(folder, tmp_path, monkeypatch, capsys):
    out = tmp_path / "counts.csv"
    out.write_text("earlier run\n")
    # An existing CSV is kept unless --overwrite, and that is said before any drawing is read.
    monkeypatch.setattr(counting, "read_drawing", lambda *a, **k: pytest.fail("read before the check"))
    assert main(["counts", str(folder / "usd201010150000.png"), "--out", str(out), "--quiet"]) == 2
    assert "exists" in capsys.readouterr().err
    monkeypatch.undo()

    # A write that fails half-way leaves the earlier file whole and no temporary beside it.
    class Broken:
        def __init__(self, f):
            self.f = f

        def writerow(self, row):
            if row[0] != "file":
                raise OSError("disk full")
            self.f.write(",".join(row) + "\n")

    monkeypatch.setattr(counting.csv, "writer", Broken)
    assert main(["counts", str(folder / "usd201010150000.png"), "--out", str(out), "--overwrite", "--quiet"]) == 2
    assert "disk full" in capsys.readouterr().err
    assert out.read_text() == "earlier run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counts.csv"]


# --------------------------------------------------------------------------- real forms
REAL = shared_path("drawings", "uccle_2013-09")


@pytest.mark.skipif(REAL is None, reason="the real forms (shared/data/drawings/uccle_2013-09) are not here")
def test_counts_of_real_forms(tmp_path):
    # Two forms of Sept 2013 named by Uccle's convention, dated from their names, and the
    # observers' table of the month as --dates: the same rows either way.
    files = [REAL / "usd201309090730.jpg", REAL / "usd201309170650.jpg"]
    out = tmp_path / "counts.csv"
    assert main(["counts", *map(str, files), "--dates", str(REAL / "TRUTH.csv"), "--out", str(out), "--quiet"]) == 0
    rows = _csv_rows(out)
    assert [row["date"] for row in rows] == ["2013-09-09T07:30", "2013-09-17T06:50"]
    for path, row in zip(files, rows, strict=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", drawings.OrientationWarning)  # the counts do not depend on it
            drawing = drawings.read_drawing(path, date=row["date"])
        spots = drawings.detect_sunspots(drawing)
        counts = drawings.sunspot_counts(drawing)
        g, f = len(np.unique(spots["group"])), len(spots)
        assert (int(row["g"]), int(row["f"]), int(row["R"])) == (counts.g, counts.f, counts.R) == (g, f, 10 * g + f)
        assert g >= 1
        assert all(counts.groups["verdict"])
