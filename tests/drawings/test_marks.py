"""
The learned mark classifier (`sunpy_dlmag.drawings.marks`): its features, the check of the
shipped trees, and how it overrules the shape rules on a real form.
"""

import warnings

import numpy as np
import pytest
from conftest import shared_path

from sunpy_dlmag import drawings
from sunpy_dlmag.drawings import marks
from sunpy_dlmag.exceptions import DlmagError

FORM = shared_path("drawings", "uccle_1940-2024", "usd194107201050.jpg")


def _table(rows):
    names = ("x", "y", "rho", "width", "length", "stroke", "fill", "depth", "n_pixels", "verdict")
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


def test_features_count_the_neighbours_of_each_mark():
    radius = 400.0
    table = _table([
        (100.0, 100.0, 0.5, 0.003, 0.005, 0.005, 1.0, 0.4, 9, "dot"),
        (110.0, 100.0, 0.5, 0.004, 0.03, 0.04, 1.0, 0.5, 60, "stroke"),
        (300.0, 100.0, 0.5, 0.003, 0.005, 0.005, 1.0, 0.4, 9, "dot"),
        (105.0, 105.0, 0.0, 0.002, 0.5, 0.5, 1.0, 0.5, 900, "centre line"),
    ])  # fmt: skip
    features = marks.mark_features(table, radius)
    column = dict(zip(marks.FEATURES, features.T, strict=True))
    assert features.shape == (4, len(marks.FEATURES))
    # The dot beside the stroke has it as its nearest mark, 10 px = 0.025 radius away; a
    # centre line is nobody's neighbour.
    assert column["n_strokes_near"][0] == 1
    assert column["log_nearest"][0] == pytest.approx(np.log10(10 / radius))
    assert column["n_near"][0] == 1
    # The far dot's nearest spot-shaped mark is the other dot, 200 px away.
    assert column["log_nearest_spot"][2] == pytest.approx(np.log10(200 / radius))
    assert column["n_near"][2] == 0
    assert column["is_dot"].tolist() == [1, 0, 1, 0]
    assert column["is_stroke"].tolist() == [0, 1, 0, 0]
    # Areas in fractions of the disk: the same marks on a scan twice as fine give the same features.
    finer = _table([(2 * r[0], 2 * r[1], *r[2:8], 4 * r[8], r[9]) for r in zip(*table.values(), strict=True)])
    assert np.allclose(marks.mark_features(finer, 2 * radius), features)


def test_a_changed_classifier_file_is_refused(monkeypatch):
    monkeypatch.setattr(marks, "_SHA256", "0" * 64)
    marks._model.cache_clear()
    try:
        with pytest.raises(DlmagError, match=r"sha256 .* expected 0{64}.*mark_classifier=False"):
            marks.spot_probability(np.zeros((1, len(marks.FEATURES))))
    finally:
        marks._model.cache_clear()


@pytest.mark.skipif(FORM is None, reason="the shared real drawings are not here")
def test_the_classifier_overrules_the_shape_rules_only_where_it_disagrees():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", drawings.OrientationWarning)
        drawing = drawings.read_drawing(FORM, date="1941-07-20T10:50")
    rules = drawings.spot_candidates(drawing, mark_classifier=False, label_distance=None)
    learned = drawings.spot_candidates(drawing, label_distance=None)
    # The same marks, measured alike; only verdicts change.
    assert np.allclose(rules["x"], learned["x"])
    assert np.allclose(rules["n_pixels"], learned["n_pixels"])
    assert np.isnan(rules["p_spot"]).all()
    assert not np.isin(rules["verdict"], ["learned spot", "learned mark"]).any()
    p = np.asarray(learned["p_spot"])
    assert ((p >= 0) & (p <= 1)).all()
    was_spot = np.array([drawings.VERDICTS[v][0] for v in rules["verdict"]])
    became = np.asarray(learned["verdict"])
    # (A streak with one dark core is shading after the classifier's call as before it.)
    shape = np.asarray(rules["verdict"]) != "shading"
    # A streak (two dark cores in a long mark: touching spots, or a letter) is decided at 0.5.
    margin = np.where(np.asarray(rules["verdict"]) == "streak", 0, drawings.spots.OVERRULE)
    sure_spot, sure_not = p >= 0.5 + drawings.spots.OVERRULE, p < 0.5 - margin
    assert ((became == "learned mark") == (was_spot & sure_not))[shape].all()
    assert ((became == "learned spot") == (~was_spot & sure_spot & (rules["verdict"] != "centre line")))[shape].all()
    # Here the handwritten group number at (1475, 1120) px, a streak to the rules (p 0.41).
    assert ((np.asarray(rules["verdict"]) == "streak") & (became == "learned mark")).sum() == 1
    # On this 1941 form (one of those the classifier was trained on) it rejects handwriting and
    # specks the rules took for pores, and keeps more of the drawn spots than it rejects.
    assert (became == "learned mark").sum() >= 10
    assert len(drawings.detect_sunspots(drawing)) < len(drawings.detect_sunspots(drawing, mark_classifier=False))
