"""
Real scanned sunspot drawings of the Royal Observatory of Belgium (Uccle/USET, 1977, 2009 and
2018; DigiSun, GPL-3.0, the drawings are the observatory's). They are read in place from the
project's shared data folder (``SUNPY_DLMAG_REAL_DATA``, or ``shared/data`` beside the
repository) and the tests skip when it is absent; they are never copied into the package.

How the truth below was read (by eye, on each form, zoomed in on crops of the scan):

- the observer's counts are those written on the form (``Nb Groupes`` / ``Nb Taches``,
  ``NOMBRE DE GROUPES`` / ``NOMBRE DE TACHES``, or the table of groups with their type and
  number of spots);
- each drawn spot's position is the centre of the pencil mark, in pixels of the scan (x from
  the left, y from the top), next to the observer's group label;
- the handwriting on the disk (group labels such as "A1", "B4", "(5)") and the printed centre
  cross are listed by position: nothing there may become a spot.
"""

import time
import warnings

import astropy.units as u
import numpy as np
import pytest
from conftest import shared_path

from sunpy_dlmag import drawings
from sunpy_dlmag.exceptions import DlmagUserWarning

REAL = shared_path("drawings")
pytestmark = pytest.mark.skipif(REAL is None, reason="the real drawings (shared/data/drawings) are not here")

# file: date, limb (x, y, radius), observer's groups, drawn spots (x, y), marks that are not spots
# (x, y); pixels of the scan, x from the left, y from the top.
TRUTH = {
    # "Nb Groupes 1, Nb Taches 1": one pencil dot with the label "A1" under it.
    "usd201806060752.jpg": dict(
        date="2018-06-06T07:52",
        limb=(1636, 1868, 1481),
        groups=1,
        spots=[(922, 1745)],
        not_spots=[(1636, 1868), (881, 1893), (926, 1907)],  # centre cross; "A", "1"
    ),
    # "Nb Groupes 0, Nb Taches 0" (comment "Voilé": veiled sky).
    "usd201806110756.jpg": dict(
        date="2018-06-11T07:56", limb=(1636, 1866, 1481), groups=0, spots=[], not_spots=[(1636, 1866)]
    ),
    # "NO SUNSPOTS" beside the disk, counts 0.
    "usd201807010625.jpg": dict(
        date="2018-07-01T06:25", limb=(1637, 1865, 1479), groups=0, spots=[], not_spots=[(1637, 1865)]
    ),
    # "NOMBRE DE TACHES 6, NOMBRE DE GROUPES 2": group A, two dots above "A2"; group B, four dots
    # above "B4" (two of them touch at 838 and 840, 778: two dark cores 118 and 104 grey levels
    # deep on paper 230, the ink between them 166).
    "DrawingType_USET.jpg": dict(
        date="2009-06-22T06:15",
        limb=(551, 613, 493),
        groups=2,
        spots=[(650, 826), (655, 829), (838, 778), (840, 778), (856, 774), (860, 773)],
        not_spots=[(550, 614), (601, 866), (617, 877), (835, 817), (852, 817), (857, 819), (834, 828)],
    ),
    # Table of groups: type A with n = 1, type D with n = 5; labels "(1)" and "(5)" on the disk
    # under them. The five spots of D, counted as observers count umbrae: a penumbra outline
    # holding two umbrae (dark cores 111 deep on paper 246 at 597 and 601, 882-883, the ink
    # between them 135-138), the dot leading it (590, 883: 142), which touches the outline
    # through ink 195-201, a circled spot (622, 895) and a faint dot under it (620, 904: a
    # 3-pixel tick 182 deep, 0.26 of the paper level, under the ink threshold).
    "DrawingType_USET77.jpg": dict(
        date="1977-08-25T08:44",
        limb=(551, 601, 494),
        groups=2,
        spots=[(284, 354), (590, 883), (597, 883), (601, 882), (622, 895), (620, 904)],
        not_spots=[(279, 377), (294, 377), (589, 940), (602, 937), (614, 939), (601, 928)],
    ),
}
# Two isolated pencil dots on the 1977 form, at (553, 176) near the north limb and (1006, 638)
# near the east limb, look like pores but are not among the observer's six spots (dust or
# marks the observer did not count). Ink and shape cannot tell them from the counted pores
# (darkest pixel 140 and 128 on paper 246, 3 and 9 px; the counted pore of group A: 124, 13 px;
# the 2009 pores: 138-150 on paper 230, 2-3 px, all with edges 1-2 px wide). What tells them
# apart is the observer's habit: every counted group has its label beside it ("A1", "A2",
# "B4", "(1)", "(5)", centred 0.05-0.11 radius from a spot), these dots have no handwriting
# within 0.69 radius. label_distance="auto" (the default) rejects them for that.
UNCOUNTED_DOTS = {"DrawingType_USET77.jpg": [(553, 176), (1006, 638)]}
# The 3-px one is also dust by its size alone (a spot alone in its group and under 0.004 radius
# across is a "speck" whatever label_distance is): with every group kept it is still rejected.
LONE_DUST = {"DrawingType_USET77.jpg": [(553, 176)]}
# label_distance for these forms (fraction of the radius): any value from 0.15 to 0.5 gives the
# same groups on the five scans.
LABEL_DISTANCE = 0.25


def _read(name, image=None):
    # These tests are about the spots; the orientation read from the forms has its own tests
    # (test_drawings_orientation.py), and a blank 1977 form or a tilted photo warns that it is unsure.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", drawings.OrientationWarning)
        return drawings.read_drawing(REAL / name if image is None else image, date=TRUTH[name]["date"])


def _image_xy(drawing_map, table):
    """Image pixels (x from the left, y from the top) of a table's map pixels (the scan's columns, y up)."""
    return np.column_stack([table["x"].value, drawing_map.data.shape[0] - 1 - table["y"].value])


def _nearest(points, xy):
    if len(points) == 0:
        return np.full(len(xy), np.inf)
    return np.min(np.hypot(*(np.asarray(xy)[:, None, :] - np.asarray(points)[None, :, :]).transpose(2, 0, 1)), axis=1)


@pytest.fixture(scope="module", params=list(TRUTH))
def scan(request):
    name = request.param
    start = time.perf_counter()
    drawing = _read(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DlmagUserWarning)  # no spots on two of the forms
        spots = drawings.detect_sunspots(drawing)
    seconds = time.perf_counter() - start
    candidates = drawings.spot_candidates(drawing)
    return name, drawing, spots, candidates, seconds


def test_limb_is_the_drawn_circle(scan):
    name, drawing, *_ = scan
    meta = drawing.meta
    # The printed circle, not the graduated arc, the frame or the crosshairs: its centre and
    # radius as read on crops of the scan where the line crosses the axes (``limb``).
    x, y, r = TRUTH[name]["limb"]
    assert abs(meta["drawx"] - x) < 0.003 * r
    assert abs(meta["drawy"] - y) < 0.003 * r
    assert abs(meta["drawr"] - r) < 0.003 * r
    assert meta["drawcov"] > 0.9
    # The outline is a printed line a few pixels wide: its ink lies within it.
    assert meta["drawrms"] < 0.005 * r


def test_observers_spots_are_found(scan):
    name, drawing, spots, *_ = scan
    found = _image_xy(drawing, spots)
    truth = TRUTH[name]["spots"]
    radius = drawing.meta["drawr"]
    # Each drawn spot within 1 % of the radius of a detected one, a spot of its own: spots drawn
    # touching are told apart.
    assert np.all(_nearest(found, truth) < 0.01 * radius + 3), name
    if truth:
        from scipy.optimize import linear_sum_assignment

        distance = np.hypot(*(np.asarray(truth, float)[:, None, :] - found[None, :, :]).transpose(2, 0, 1))
        rows, columns = linear_sum_assignment(distance)
        assert len(rows) == len(truth), name
        assert np.all(distance[rows, columns] < 0.01 * radius + 3), name


def test_touching_spots_can_be_kept_whole(scan):
    name, drawing, spots, *_ = scan
    # core_contrast=1 never splits a mark: the touching spots count as one.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DlmagUserWarning)
        whole = drawings.detect_sunspots(drawing, core_contrast=1)
    # 2009: two dots drawn touching; 1977: the dot leading group D touches its penumbra outline,
    # which holds two umbrae (one mark, three spots).
    touching = {"DrawingType_USET.jpg": 1, "DrawingType_USET77.jpg": 2}.get(name, 0)
    assert len(whole) == len(spots) - touching, name


def test_no_spot_on_printed_or_handwritten_marks(scan):
    name, drawing, spots, candidates, _ = scan
    found = _image_xy(drawing, spots)
    truth = TRUTH[name]["spots"] + UNCOUNTED_DOTS.get(name, [])
    radius = drawing.meta["drawr"]
    # Every detected spot is a drawn one (or one of the documented uncounted dots).
    assert np.all(_nearest(truth, found) < 0.01 * radius + 3), name
    # Each printed or handwritten mark is a candidate, and rejected.
    marks = _image_xy(drawing, candidates)
    for x, y in TRUTH[name]["not_spots"]:
        distance = np.hypot(marks[:, 0] - x, marks[:, 1] - y)
        nearest = candidates[int(np.argmin(distance))]
        assert distance.min() < 0.02 * radius, (name, x, y)
        assert nearest["spot"] == 0, (name, x, y)
        assert nearest["verdict"] in ("stroke", "centre line"), (name, x, y)


def test_observers_group_count(scan):
    name, drawing, spots, candidates, _ = scan
    assert len(np.unique(np.asarray(spots["group"]))) == TRUTH[name]["groups"]
    # The uncounted dots are rejected as unlabelled by default (label_distance="auto") ...
    marks = _image_xy(drawing, candidates)
    for xy in UNCOUNTED_DOTS.get(name, []):
        assert candidates[int(np.argmin(np.hypot(*(marks - xy).T)))]["verdict"] == "unlabelled", (name, xy)
    # ... and with every group kept, each makes a group of its own, but for the dust.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DlmagUserWarning)
        every, marks_kept = drawings.detect_sunspots(drawing, label_distance=None, return_candidates=True)
    extra = len(UNCOUNTED_DOTS.get(name, [])) - len(LONE_DUST.get(name, []))
    assert len(np.unique(np.asarray(every["group"]))) == TRUTH[name]["groups"] + extra
    kept_xy = _image_xy(drawing, marks_kept)
    for xy in LONE_DUST.get(name, []):
        assert marks_kept[int(np.argmin(np.hypot(*(kept_xy - xy).T)))]["verdict"] == "speck", (name, xy)


def test_labelled_groups_are_the_observers_groups(scan):
    name, drawing, *_ = scan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DlmagUserWarning)
        spots = drawings.detect_sunspots(drawing, label_distance=LABEL_DISTANCE)
    candidates = drawings.spot_candidates(drawing, label_distance=LABEL_DISTANCE)
    assert len(np.unique(np.asarray(spots["group"]))) == TRUTH[name]["groups"]
    radius = drawing.meta["drawr"]
    found = _image_xy(drawing, spots)
    assert np.all(_nearest(found, TRUTH[name]["spots"]) < 0.01 * radius + 3), name
    assert np.all(_nearest(TRUTH[name]["spots"], found) < 0.01 * radius + 3), name
    # The uncounted dots are candidates, rejected as unlabelled, and the figure says so.
    marks = _image_xy(drawing, candidates)
    for xy in UNCOUNTED_DOTS.get(name, []):
        nearest = candidates[int(np.argmin(np.hypot(*(marks - xy).T)))]
        assert nearest["verdict"] == "unlabelled", (name, xy)
        assert nearest["spot"] == 0, (name, xy)
    # Spots are the candidates with a spot's verdict (a mark of touching spots names its first).
    is_spot = np.isin(candidates["verdict"], [v for v, (spot, _) in drawings.VERDICTS.items() if spot])
    assert np.all((candidates["spot"] > 0) == is_spot)
    assert set(candidates["spot"][is_spot]) <= set(spots["spot"])


# Photographs of the drawings, made from the scans: the 2018 forms at half the scan's
# resolution, the USET forms (scanned at 1110 px across the page, coarser than a phone photograph
# of the page) at twice it; turned by a few degrees, blurred, on grey paper lit unevenly, with
# sensor noise and JPEG compression. (scale, angle in degrees, blur in pixels of the photograph)
PHOTO = {"usd": (0.5, 3.0, 1.0), "DrawingType": (2.0, 3.0, 1.0)}
# The pores of group A on the 2009 form are single pixels of the scan, 0.35-0.42 deep: any blur
# takes them under the ink threshold (0.3), as it would a real photograph of a scan this coarse.
SINGLE_PIXEL_PORES = {"DrawingType_USET.jpg": [(650, 826), (655, 829)]}


def _photograph(path, scale, angle, blur):
    """A photograph-like image of a scan, and the map from scan pixels (x, y) to its pixels."""
    import io

    from PIL import Image, ImageFilter

    with Image.open(path) as img:
        page = img.convert("L")
    w, h = round(page.width * scale), round(page.height * scale)
    page = page.resize((w, h), Image.LANCZOS)
    page = page.rotate(angle, resample=Image.BILINEAR, expand=True, fillcolor=250)
    page = page.filter(ImageFilter.GaussianBlur(blur))
    grey = np.asarray(page, dtype=np.float32)
    yy, xx = np.indices(grey.shape)
    light = 0.75 * (1 - 0.35 * xx / grey.shape[1]) * (1 - 0.15 * (yy / grey.shape[0]) ** 2)
    grey = grey * light + np.random.default_rng(1).normal(0, 2, grey.shape)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=75)
    photo = np.asarray(Image.open(buffer))
    t = np.deg2rad(angle)

    def to_photo(xy):
        # PIL's rotate turns counterclockwise about the centre of the picture, pixel centres at +0.5.
        x, y = (np.asarray(xy, dtype=float).reshape(-1, 2) + 0.5).T * scale
        x, y = x - w / 2, y - h / 2
        xr = photo.shape[1] / 2 + x * np.cos(t) + y * np.sin(t) - 0.5
        yr = photo.shape[0] / 2 - x * np.sin(t) + y * np.cos(t) - 0.5
        return np.column_stack([xr, yr])

    return photo, to_photo


# A second photograph of each: a quarter finer, turned the other way, more blurred.
PHOTO_SETTINGS = {"A": (1.0, 1.0, 1.0), "B": (1.25, -2 / 3, 1.2)}  # factors of scale, angle, blur


@pytest.fixture(
    scope="module", params=[(name, s) for s in PHOTO_SETTINGS for name in TRUTH], ids=lambda p: f"{p[0]}-{p[1]}"
)
def photo(request):
    name, setting = request.param
    base = next(v for k, v in PHOTO.items() if name.startswith(k))
    scale, angle, blur = (a * b for a, b in zip(base, PHOTO_SETTINGS[setting], strict=True))
    image, to_photo = _photograph(REAL / name, scale, angle, blur)
    drawing = _read(name, image)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DlmagUserWarning)
        spots = drawings.detect_sunspots(drawing)
    return name, scale, to_photo, drawing, spots


def test_photograph_limb(photo):
    name, scale, to_photo, drawing, _ = photo
    x, y, r = TRUTH[name]["limb"]
    ((px, py),) = to_photo([(x, y)])
    r = r * scale
    meta = drawing.meta
    assert np.hypot(meta["drawx"] - px, meta["drawy"] - py) < 0.004 * r, name
    assert abs(meta["drawr"] - r) < 0.003 * r, name
    assert meta["drawcov"] > 0.9, name
    assert meta["drawrms"] < 0.005 * r, name


def test_photograph_groups_are_found(photo):
    name, _, to_photo, drawing, spots = photo
    radius = drawing.meta["drawr"]
    truth = [xy for xy in TRUTH[name]["spots"] if xy not in SINGLE_PIXEL_PORES.get(name, [])]
    truth = to_photo(truth) if truth else np.zeros((0, 2))
    found = _image_xy(drawing, spots)
    # Every group the observer drew (spots within a tenth of the radius of each other) has a spot
    # found; faint dots of a pixel or two on the scan may fade out.
    for members in _groups_of(truth, 0.1 * radius):
        assert _nearest(found, truth[members]).min() < 0.01 * radius + 3, (name, truth[members])


def test_photograph_has_no_false_spots(photo):
    name, _, to_photo, drawing, spots = photo
    radius = drawing.meta["drawr"]
    drawn = TRUTH[name]["spots"] + UNCOUNTED_DOTS.get(name, [])
    found = _image_xy(drawing, spots)
    # Nothing but drawn spots: no handwriting, no printed mark.
    assert np.all(_nearest(to_photo(drawn) if drawn else [], found) < 0.01 * radius + 3), name


def _groups_of(points, distance):
    """Index arrays of the points joined by chains of steps shorter than ``distance``."""
    if len(points) == 0:
        return []
    from scipy.cluster.hierarchy import fcluster, linkage

    ids = fcluster(linkage(points, method="single"), t=distance, criterion="distance") if len(points) > 1 else [1]
    return [np.flatnonzero(np.asarray(ids) == g) for g in np.unique(ids)]


def test_no_sunspots_form_warns_and_gives_a_flat_magnetogram():
    drawing = _read("usd201807010625.jpg")
    with pytest.warns(DlmagUserWarning, match="No sunspots found"):
        magnetogram = drawings.drawing_to_magnetogram(drawing)
    assert "0 spot group(s)" in magnetogram.meta["history"]
    assert np.all(magnetogram.data[np.isfinite(magnetogram.data)] == 0)


def test_magnetogram_has_the_bipoles_of_the_real_groups_only():
    drawing = _read("DrawingType_USET.jpg")
    spots = drawings.detect_sunspots(drawing)
    bipoles = drawings.sunspot_bipoles(spots, date=drawing.date)
    assert len(bipoles) == 2
    # Cycle 24 (2009: its very start, after the minimum of December 2008), groups in the south.
    assert set(bipoles["cycle"]) == {24}
    assert np.all(bipoles["lat"].value < 0)
    magnetogram = drawings.drawing_to_magnetogram(drawing, spots=spots)
    assert "2 spot group(s)" in magnetogram.meta["history"]


def test_speed_of_a_2018_scan(scan):
    name, *_, seconds = scan
    if not name.startswith("usd"):
        pytest.skip("the speed target is for the 4248x3330 scans")
    # Target: under 5 s on 2 cores; a shared test machine gets a margin.
    assert seconds < 15, f"{name}: read + detect took {seconds:.1f} s"


def test_diagnostic_figure_shows_every_candidate(scan, tmp_path):
    _, drawing, spots, candidates, _ = scan
    axes = drawings.plot_candidates(drawing, candidates)
    assert f": {len(spots)} spot(s) in " in axes.get_title()
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert labels[0].startswith("fitted limb")
    assert f"rms {drawing.meta['drawrms']:.1f} px" in labels[0]
    in_legend = 0  # the spots the legend counts add up to the title's
    for verdict, (is_spot, reason) in drawings.VERDICTS.items():
        rows = candidates[np.asarray(candidates["verdict"]) == verdict]
        label = next(text for text in labels if text.startswith(f"{reason} ("))
        if is_spot:
            in_legend += int(label[len(reason) + 2 :].split()[0].rstrip(")"))
        else:
            assert label == f"{reason} ({len(rows)})"
    assert in_legend == len(spots)
    # One circle per candidate, and the limb.
    assert len(axes.patches) == len(candidates) + 1
    path = tmp_path / "check.png"
    axes.figure.savefig(path, dpi=50)
    assert path.stat().st_size > 1000


def test_drawing_command_writes_the_check_figure(tmp_path, capsys):
    from sunpy.map import Map

    from sunpy_dlmag.cli import main

    name = "usd201806060752.jpg"
    out = tmp_path / "out"
    assert main(["drawing", str(REAL / name), "--date", TRUTH[name]["date"], "--out", str(out), "--png"]) == 0
    stem = out / "usd201806060752_drawing"
    assert {p.name for p in out.iterdir()} == {f"{stem.name}.fits", f"{stem.name}.png", f"{stem.name}_candidates.png"}
    assert "1spotgroup(s)" in "".join(Map(f"{stem}.fits").meta["history"].split())  # FITS wraps HISTORY


def test_drawing_command_takes_the_detection_options(tmp_path):
    from sunpy.map import Map

    from sunpy_dlmag.cli import main

    name = "DrawingType_USET77.jpg"
    # The 1977 form's marks do not show its orientation clearly (a warning, an error here): given.
    base = ["drawing", str(REAL / name), "--date", TRUTH[name]["date"], "--north-angle", "0", "--no-mirrored"]
    # By default the two uncounted dots are dropped; --label-distance off keeps every group
    # (the bigger dot's too; the 3-px one is dust by its size),
    # --core-contrast 1 keeps touching spots whole (the magnetogram's spots and the figure's).
    assert main([*base, "--out", str(tmp_path / "auto")]) == 0
    options = ["--label-distance", "off", "--core-contrast", "1", "--png"]
    assert main([*base, "--out", str(tmp_path / "off"), *options]) == 0
    history = {
        run: "".join(Map(tmp_path / run / "DrawingType_USET77_drawing.fits").meta["history"].split())
        for run in ("auto", "off")
    }
    assert "2spotgroup(s)" in history["auto"]
    assert "3spotgroup(s)" in history["off"]
    assert (tmp_path / "off" / "DrawingType_USET77_drawing_candidates.png").stat().st_size > 1000
    with pytest.raises(SystemExit):
        main([*base, "--out", str(tmp_path / "bad"), "--label-distance", "near"])


def test_magnetogram_detection_keywords_are_checked():
    drawing = _read("DrawingType_USET77.jpg")
    every = drawings.drawing_to_magnetogram(drawing, label_distance=None)
    assert "3 spot group(s)" in every.meta["history"]
    with pytest.raises(TypeError, match=r"unexpected keyword.*detect_sunspots"):
        drawings.drawing_to_magnetogram(drawing, label_distanse=None)
    spots = drawings.detect_sunspots(drawing)
    with pytest.raises(ValueError, match="threshold choose how detect_sunspots finds the spots"):
        drawings.drawing_to_magnetogram(drawing, spots=spots, threshold=0.2)
    # At their defaults (as the command line gives them), they do not get in the way.
    assert "2 spot group(s)" in drawings.drawing_to_magnetogram(drawing, spots=spots, threshold=0.3).meta["history"]


# Uccle forms of 1940-1954 (shared/data/drawings/uccle_1940-2024) with every drawn spot marked by
# hand (spot_positions.csv: centre and area in pixels of the scan). On them the printed limb circle
# (not quite round on the scans), graduated arc, centre cross and meridian, the faculae shaded near
# the limb and the pencil handwriting on the disk (group numbers, counts, notes) are not spots. The
# 1948, 1956 and 2024 forms of the folder were kept out of the development of the detection, to
# measure it on forms nobody tuned it to; they are not used here.
UCCLE = None if REAL is None else REAL / "uccle_1940-2024"
UCCLE_FORMS = ["usd194006160900.jpg", "usd194107110835.jpg", "usd194107201050.jpg", "usd194107250750.jpg",
               "usd194109050805.jpg", "usd195403011530.jpg", "usd195403141440.jpg", "usd195403221535.jpg",
               "usd195404071645.jpg", "usd195412241350.bmp"]  # fmt: skip


def _uccle_detections(name):
    """Detected and hand-marked spots (x, y, area), disk radius and centre of an Uccle form, in scan pixels."""
    import csv

    from PIL import Image

    stamp = name[3:15]
    date = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[8:10]}:{stamp[10:12]}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DlmagUserWarning)  # spotless forms; forms whose orientation is unsure
        drawing = drawings.read_drawing(UCCLE / name, date=date)
        spots = drawings.detect_sunspots(drawing)
    with Image.open(UCCLE / name) as image:
        scale = image.size[0] / drawing.data.shape[1]  # the reader may average a large scan down
    with (UCCLE / "spot_positions.csv").open() as table:
        marked = [(float(r["x_px"]), float(r["y_px"]), float(r["area_px"])) for r in csv.DictReader(table)
                  if r["file"] == name]  # fmt: skip
    centre = np.array([drawing.meta["drawx"], drawing.meta["drawy"]]) * scale
    return _image_xy(drawing, spots) * scale, np.array(marked).reshape(-1, 3), drawing.meta["drawr"] * scale, centre


@pytest.mark.skipif(UCCLE is None or not (UCCLE / "spot_positions.csv").is_file(), reason="no Uccle 1940-2024 forms")
def test_uccle_forms_give_the_drawn_spots_and_little_else():
    # A detection finds a marked spot within 0.02 radius plus the spot's own radius of its centre
    # (as ../shared/tools/score_drawings.py counts). The code before the line and shading rules
    # gave 1,767 false spots here (precision 0.07), 215 on the 1954 form with 2 spots.
    true_detections = detections = found = marked = 0
    for name in UCCLE_FORMS:
        xy, truth, radius, _ = _uccle_detections(name)
        near = np.hypot(*(xy[:, None, :] - truth[None, :, :2]).transpose(2, 0, 1)) <= (
            0.02 * radius + np.sqrt(truth[:, 2] / np.pi)
        )
        true_detections += int(near.any(axis=1).sum())
        detections += len(xy)
        found += int(near.any(axis=0).sum())
        marked += len(truth)
        if len(truth) <= 2:  # the almost empty 1954 forms (2 spots): 7 to 9 detections, were 27 to 220
            assert near.any(axis=0).any(), name
            assert len(xy) <= 10, (name, len(xy))
    assert found / marked >= 0.8, found / marked
    assert true_detections / detections >= 0.5, true_detections / detections


@pytest.mark.skipif(UCCLE is None, reason="no Uccle 1940-2024 forms")
@pytest.mark.parametrize("name", ["usd195403011530.jpg", "usd195403221535.jpg", "usd195404071645.jpg"])
def test_the_printed_centre_cross_gives_no_spot(name):
    # The dot where the arms of the printed cross meet is a piece of the cross, as a dot broken
    # off a pencil stroke is a piece of the stroke (it was a spot on 1 March 1954).
    xy, _, radius, centre = _uccle_detections(name)
    assert np.all(np.hypot(*(xy - centre).T) > 0.02 * radius), name


@pytest.mark.skipif(UCCLE is None, reason="no Uccle 1940-2024 forms")
def test_a_scan_turned_or_flipped_gives_the_same_spots():
    # 25 July 1941: 48 spots in 8 groups among handwriting, axis lines and leader dots. A form
    # scanned turned by 90 degrees or face down (flipped) has the same spots at the same places
    # of the paper, in the same groups: no rule looks along the scan's rows or columns.
    from PIL import Image

    with Image.open(UCCLE / "usd194107250750.jpg") as image:
        grey = np.asarray(image.convert("L"))
    width = grey.shape[1]
    # Each view, and how a pixel (x, y) of it goes back onto the scan.
    views = {
        "as scanned": (grey, lambda x, y: (x, y)),
        "turned": (np.rot90(grey), lambda x, y: (width - 1 - y, x)),
        "flipped": (grey[:, ::-1], lambda x, y: (width - 1 - x, y)),
    }
    found = {}
    for view, (pixels, to_scan) in views.items():
        drawing = drawings.read_drawing(np.ascontiguousarray(pixels), date="1941-07-25T07:50", north_angle=0 * u.deg,
                                        mirrored=False)  # fmt: skip
        spots = drawings.detect_sunspots(drawing)
        found[view] = (np.column_stack(to_scan(*_image_xy(drawing, spots).T)), np.asarray(spots["group"]))
    xy, groups = found["as scanned"]
    assert len(xy) > 30
    assert len(set(groups)) > 4
    for view in ("turned", "flipped"):
        other, other_groups = found[view]
        assert len(other) == len(xy), view
        distance = np.hypot(*(other[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
        assert distance.min(axis=0).max() < 1, view
        same = distance.argmin(axis=0)  # each spot of the scan in the view
        assert len(set(zip(groups, other_groups[same], strict=True))) == len(set(groups)), view


@pytest.mark.skipif(REAL is None or not (REAL / "uccle_2013-09").is_dir(), reason="no Uccle forms of Sept 2013")
def test_a_form_scanned_light_gives_the_observers_groups():
    # 5 Sept 2013 (count box: 3 groups, 11 spots; 3 and 11 found on the scan). Its ink lightened
    # to 0.6 of its depth below white, as a light scanner setting or a faded form gives it: its
    # black (0.44) is levelled to the lightest tuned form's (0.61) before the search. Without,
    # 2 groups and 5 spots were found (most pencil dots fall under the threshold).
    from PIL import Image

    with Image.open(REAL / "uccle_2013-09" / "usd201309050715.jpg") as image:
        grey = np.asarray(image.convert("L"), dtype=float)
    light = np.round(255 - (255 - grey) * 0.6).astype(np.uint8)
    drawing = drawings.read_drawing(light, date="2013-09-05T07:15", north_angle=0 * u.deg, mirrored=True)
    spots = drawings.detect_sunspots(drawing)
    assert len(set(spots["group"])) == 3
    assert len(spots) >= 10


@pytest.mark.skipif(UCCLE is None, reason="no Uccle 1940-2024 forms")
def test_a_soft_scan_keeps_its_limb():
    # 5 Sept 1941, the lightest tuned form, blurred by a Gaussian of 1 px as a softer scanner
    # gives it: its limb line falls under the limb's ink depth (0.25) over most of the circle.
    # The line is read down to half its own depth: the same circle as on the scan (refused before).
    from PIL import Image
    from scipy import ndimage

    with Image.open(UCCLE / "usd194109050805.jpg") as image:
        grey = np.asarray(image.convert("L"), dtype=float)
    soft = np.round(ndimage.gaussian_filter(grey, 1.0)).astype(np.uint8)
    date = "1941-09-05T08:05"
    scanned, blurred = (drawings.read_drawing(g, date=date, north_angle=0 * u.deg, mirrored=True) for g in (grey, soft))
    for key in ("crpix1", "crpix2", "drawr"):
        assert blurred.meta[key] == pytest.approx(scanned.meta[key], abs=1.5), key
