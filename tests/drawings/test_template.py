"""
Form templates (`form_template`): the median of many scans of one layout holds what every
form shows at one place (print, dust on the scanner) and no drawn spot, and marks on it are
not counted, in `detect_sunspots` with a template and in batch counts (`count_drawings`,
``sunpy-dlmag counts``); on synthetic forms and on the real Uccle scans where present.
"""

import csv
import warnings

import numpy as np
import pytest
from conftest import shared_path
from PIL import Image

import sunpy.map

from sunpy_dlmag import drawings
from sunpy_dlmag.cli import main
from sunpy_dlmag.exceptions import InputMapError, InvalidArgumentError

DUST = (150, 420)  # image column, row of a stain on the "scanner": on every scan


def _scan(day):
    """A 600 x 600 form (disk radius 250 px), the stain, and one spot drawn where the Sun put it that day."""
    yy, xx = np.indices((600, 600))
    image = np.full((600, 600), 240, dtype=np.uint8)
    image[np.abs(np.hypot(xx - 300, yy - 300) - 250) < 1.5] = 10
    image[np.hypot(xx - DUST[0], yy - DUST[1]) < 4] = 60
    image[np.hypot(xx - (200 + 30 * day), yy - 250) < 5] = 20
    return image


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Six days of scans, Uccle-named, and a broken file."""
    path = tmp_path_factory.mktemp("batch")
    for day in range(6):
        Image.fromarray(_scan(day)).save(path / f"usd2011021{day}0800.png")
    (path / "usd201102170800.png").write_bytes(b"not an image")
    return path


def _verdict_at(marks, x, y):
    distance = np.hypot(marks["x"].value - x, 599 - marks["y"].value - y)
    return str(marks["verdict"][int(np.argmin(distance))])


def test_the_template_holds_the_stain_and_no_spot(batch):
    template = drawings.form_template(sorted(batch.glob("*0800.png"))[:6])
    assert template.dtype == np.uint8
    assert template.shape == (600, 600)
    assert template[DUST[1], DUST[0]] == 60  # on every scan
    assert template[250, 200] == 240  # a spot, where only one day put it
    assert template[300, 50] == 10  # the printed limb


def test_marks_on_the_template_are_not_spots(batch):
    scans = [_scan(day) for day in range(6)]
    template = drawings.form_template(scans)
    drawing = drawings.read_drawing(scans[2], date="2011-02-12T08:00")
    without = drawings.detect_sunspots(drawing)
    spots, marks = drawings.detect_sunspots(drawing, template=template, return_candidates=True)
    assert len(without) == 2  # the stain is as dark as a spot
    assert len(spots) == 1
    assert np.hypot(spots["x"][0].value - 260, 599 - spots["y"][0].value - 250) < 1.5
    assert _verdict_at(marks, *DUST) == "template"
    assert _verdict_at(marks, 260, 250) != "template"
    # Another template of the same size (a batch's other layout): its own ink counts, not the last one's.
    blank = np.where(template < 128, template, 240).astype(np.uint8)
    blank[DUST[1] - 6 : DUST[1] + 7, DUST[0] - 6 : DUST[0] + 7] = 240
    assert len(drawings.detect_sunspots(drawing, template=blank)) == 2
    assert drawings.VERDICTS["template"][0] is False
    assert scans[2][DUST[1], DUST[0]] == 60  # the input is not changed


def test_printed_lines_of_another_layout_do_not_hide_spots():
    # Six forms with the disk at column 300, three of the same size with it at 330: the median
    # holds the first layout's limb, which crosses the second's disk; a pore drawn on it stays.
    yy, xx = np.indices((600, 600))
    scans = []
    for centre in (300,) * 6 + (330,) * 3:
        image = np.full((600, 600), 240, dtype=np.uint8)
        image[np.abs(np.hypot(xx - centre, yy - 300) - 250) < 1] = 10  # thinner than a pen stroke
        scans.append(image)
    scans[-1][np.hypot(xx - 550, yy - 300) < 3] = 20  # on the first layout's limb
    template = drawings.form_template(scans)
    assert template[300, 550] == 10
    drawing = drawings.read_drawing(scans[-1], date="2011-02-12T08:00")
    spots = drawings.detect_sunspots(drawing, template=template)
    assert len(spots) == 1
    assert np.hypot(spots["x"][0].value - 550, 599 - spots["y"][0].value - 300) < 1.5


def test_bad_templates_are_refused(batch):
    scans = [_scan(day) for day in range(6)]
    with pytest.raises(InvalidArgumentError, match="needs 5 scans of one layout or more, got 4"):
        drawings.form_template(scans[:4])
    with pytest.raises(InvalidArgumentError, match="scans of one size: array is 500x600 px"):
        drawings.form_template([*scans[:5], scans[5][:, :500]])
    with pytest.raises(InvalidArgumentError, match="max_forms"):
        drawings.form_template(scans, max_forms=2)
    drawing = drawings.read_drawing(scans[0], date="2011-02-10T08:00")
    with pytest.raises(InputMapError, match="form template is 500x600 px; it must have the drawing's size, 600x600"):
        drawings.detect_sunspots(drawing, template=scans[0][:, :500])
    with pytest.raises(InputMapError, match="image file or a 2-D array of grey levels"):
        drawings.detect_sunspots(drawing, template=scans[0][0])
    with pytest.raises(FileNotFoundError, match=r"No form template image at nowhere\.png"):
        drawings.count_drawings(sorted(batch.iterdir()), template="nowhere.png", progress=False)


def test_batch_counts_leave_out_what_every_scan_shows(batch, tmp_path):
    files = sorted(batch.iterdir())
    auto = drawings.count_drawings(files, progress=False)
    none = drawings.count_drawings(files, progress=False, template=None)
    ok = auto["status"] == "ok"
    assert ok.sum() == 6  # the broken file fails in its row, the others are counted
    assert list(auto["f"][ok]) == [1] * 6
    assert list(none["f"][ok]) == [2] * 6
    # A template of its own for every file, as an image file; the command line says the same.
    Image.fromarray(drawings.form_template(files[:6])).save(tmp_path / "template.png")
    given = drawings.count_drawings(files, progress=False, template=tmp_path / "template.png")
    assert list(given["f"][ok]) == [1] * 6
    drawing = drawings.read_drawing(files[0], date="2011-02-10T08:00")
    assert len(drawings.detect_sunspots(drawing, template=tmp_path / "template.png")) == 1
    for option, spots in (("auto", "1"), ("none", "2"), (str(tmp_path / "template.png"), "1")):
        out = tmp_path / f"counts-{len(spots)}.csv"
        assert main(["counts", str(batch), "--out", str(out), "--template", option, "--quiet", "--overwrite"]) == 1
        with out.open(newline="") as f:
            assert [row["f"] for row in csv.DictReader(f) if row["status"] == "ok"] == [spots] * 6


def test_the_command_line_makes_a_template_and_draws_with_it(batch, tmp_path, capsys):
    template = tmp_path / "template.png"
    scans = [str(p) for p in sorted(batch.glob("*0800.png"))[:6]]
    assert main(["form-template", *scans, "--out", str(template)]) == 0
    assert "the median of 6 of 6 scan(s)" in capsys.readouterr().out
    np.testing.assert_array_equal(np.asarray(Image.open(template)), drawings.form_template(scans))
    assert main(["form-template", *scans, "--out", str(template)]) == 2  # exists
    assert main(["form-template", *scans[:4], "--out", str(tmp_path / "few.png")]) == 2
    assert "needs 5 scans of one layout or more, got 4" in capsys.readouterr().err
    assert not (tmp_path / "few.png").exists()
    # `sunpy-dlmag drawing --template`: the stain on every scan makes no bipole.
    date = "2011-02-12T08:00"
    given = ["drawing", scans[2], "--date", date, "--out"]
    assert main([*given, str(tmp_path / "with.fits"), "--template", str(template)]) == 0
    assert main([*given, str(tmp_path / "without.fits")]) == 0
    drawing = drawings.read_drawing(scans[2], date=date)
    expected = drawings.drawing_to_magnetogram(drawing, template=np.asarray(Image.open(template)))
    with_template = sunpy.map.Map(tmp_path / "with.fits")
    np.testing.assert_allclose(with_template.data, expected.data, equal_nan=True)
    assert not np.allclose(sunpy.map.Map(tmp_path / "without.fits").data, expected.data, equal_nan=True)
    # Every output is refused before any work where one exists, the check figure too.
    (tmp_path / "again_candidates.png").touch()
    assert main([*given, str(tmp_path / "again.fits"), "--png"]) == 2
    assert "again_candidates.png exists" in capsys.readouterr().err
    assert not (tmp_path / "again.fits").exists()
    # A missing template fails once, before any output is written.
    assert main([*given, str(tmp_path / "none.fits"), "--template", str(tmp_path / "nowhere.png")]) == 2
    assert "No form template image at" in capsys.readouterr().err
    assert not (tmp_path / "none.fits").exists()


# --------------------------------------------------------------------------- real forms
REAL = shared_path("drawings", "uccle_1940-2024")


def _size(path):
    with Image.open(path) as image:
        return image.size


@pytest.mark.skipif(REAL is None, reason="the real forms (shared/data/drawings/uccle_1940-2024) are not here")
def test_the_scanner_dust_of_the_real_forms_is_not_a_spot():
    # The 1665 x 2124 px scans of 1941-1954 carry a dot of the scanner at column 784, row 1361
    # (on 11 and 25 July 1941 and 22 March 1954 it was counted as a spot). The observer of 22 March
    # 1954 counted 1 group of 2 spots.
    scans = [p for p in sorted(REAL.glob("usd19*")) if _size(p) == (1665, 2124)]
    assert len(scans) >= 5
    template = drawings.form_template(scans)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", drawings.OrientationWarning)
        drawing = drawings.read_drawing(REAL / "usd195403221535.jpg", date="1954-03-22T15:35")
    before = drawings.detect_sunspots(drawing)
    spots, marks = drawings.detect_sunspots(drawing, template=template, return_candidates=True)
    x, y = marks["x"].value, drawing.data.shape[0] - 1 - marks["y"].value
    assert str(marks["verdict"][np.argmin(np.hypot(x - 784, y - 1361))]) == "template"
    assert len(np.unique(before["group"])) == 2
    assert len(np.unique(spots["group"])) == 1
