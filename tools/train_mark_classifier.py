"""
Train the mark classifier of `sunpy_dlmag.drawings` (spot or not, per candidate mark) on marks
of real forms labelled by eye, and write it as JSON trees for the package.

    pip install scikit-learn   # for this tool only; the package reads the JSON with numpy
    python tools/train_mark_classifier.py --data ../shared/data/drawings \
        [--labels tools/mark_labels.csv] [--out sunpy_dlmag/drawings/mark_classifier.json] \
        [--scores tools/mark_classifier_scores.json] [--renderings MAGNETOGRAM ...]

``--labels`` lists each labelled mark: ``form`` (path under ``--data``), ``date``, ``candidate``
(its number in `spot_candidates` with ``label_distance=None, mark_classifier=False`` when it was
labelled, for the record), ``x``, ``y`` (map pixels: the mark is the candidate nearest them,
within ``MATCH`` radius) and ``label`` (S: a drawn spot, N: not, ?: unclear, left out). The
features are the package's own (`sunpy_dlmag.drawings.marks.mark_features`). The scores are
leave-one-form-out: each form's marks (each rendering's: a disk in one layout) are called by
trees trained without that form; with ``--leave-out decade``, without any form of its decade, as
forms of an era nobody labelled would be. ``--renderings``: full-disk magnetograms traced as
drawings (`sunpy_dlmag.training.drawings.render_drawing`) in four layouts each, with handwritten
labels and notes (fonts, pencil grey to black) written on their disks: spots in ink, as the
renderings of the tests and training pairs draw them, and writing as dark as they are, so that
darkness alone makes no spot.
"""

import argparse
import csv
import hashlib
import json
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import astropy.units as u
import numpy as np

import sunpy.map

import sunpy_dlmag
import sunpy_dlmag.drawings
from sunpy_dlmag.drawings.marks import FEATURES, mark_features, tree_probability
from sunpy_dlmag.drawings.spots import VERDICTS, learned_verdict
from sunpy_dlmag.training.drawings import drawn_layer, render_drawing

HERE = Path(__file__).resolve().parent
# A labelled mark is the candidate nearest its recorded centre, within this fraction of the radius.
MATCH = 0.005
TREES = {"n_estimators": 150, "max_depth": 3, "learning_rate": 0.05, "subsample": 0.8, "random_state": 0}


def _candidates(image, date, **orientation):
    """Every candidate mark of a drawing as the shape rules see it, their features and the disk radius."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dates before 1960, unreadable orientation
        drawing = sunpy_dlmag.read_drawing(image, date=date, **orientation)
        marks = sunpy_dlmag.drawings.spot_candidates(drawing, label_distance=None, mark_classifier=False)
    radius = float(drawing.meta["drawr"])
    return marks, mark_features(marks, radius), radius


def labelled_marks(labels_path, data):
    """
    Features, labels (1 spot, 0 not), form names, shape verdicts (each with whether the mark
    holds an umbra) and decades of every labelled mark.
    """
    by_form = defaultdict(list)
    with Path(labels_path).open(newline="") as f:
        for row in csv.DictReader(f):
            if row["label"] in ("S", "N"):
                by_form[(row["form"], row["date"])].append(row)
    features, labels, forms, rules, decades = [], [], [], [], []
    for (form, date), rows in sorted(by_form.items()):
        marks, table, radius = _candidates(Path(data) / form, date)
        x, y = marks["x"].to_value("pix"), marks["y"].to_value("pix")
        for row in rows:
            # The mark labelled (its candidate number then) by position: the search may number marks anew.
            distance = np.hypot(x - float(row["x"]), y - float(row["y"]))
            k = int(np.argmin(distance))
            if distance[k] > MATCH * radius:
                raise SystemExit(f"{form}: no candidate within {MATCH} radius of the labelled mark "
                                 f"at ({row['x']}, {row['y']}): relabel.")  # fmt: skip
            features.append(table[k])
            labels.append(row["label"] == "S")
            forms.append(form)
            rules.append((str(marks["verdict"][k]), bool(marks["umbra"][k])))
            decades.append(f"{date[:3]}0s")
    rules = np.array(rules, dtype=object).reshape(-1, 2)
    return np.array(features), np.array(labels, int), np.array(forms), rules, np.array(decades)


# Layouts of the renderings: disks of 200 to 600 px, straight, turned and mirrored, spots from 300 or 400 G.
LAYOUTS = (
    {"shape": (1000, 1000), "radius": 420.0, "north_angle": 0 * u.deg, "mirrored": False},
    {"shape": (700, 760), "radius": 280.0, "north_angle": 35 * u.deg, "mirrored": True, "threshold": 300 * u.G},
    {"shape": (1400, 1300), "radius": 600.0, "north_angle": -20 * u.deg, "mirrored": False},
    {"shape": (500, 500), "radius": 200.0, "north_angle": 90 * u.deg, "mirrored": True, "threshold": 300 * u.G},
)


# Handwriting written on the renderings' disks: group labels, counts and notes as observers write them.
WRITING = ("A1", "B4", "(5)", "(12)", "n°87", "G15", "82", "C13", "7", "L=245", "p", "x", "4?", "→", "E", "W")


def _write(image, centre, radius, rng):
    """``image`` with a dozen handwritten words on the disk, in pencil grey to black, and their ink mask."""

    def draw(ax):
        for _ in range(12):
            r, a = radius * np.sqrt(rng.uniform(0.05, 0.8)), rng.uniform(0, 2 * np.pi)
            ax.text(centre[0] + r * np.cos(a), centre[1] + r * np.sin(a), str(rng.choice(WRITING)),
                    fontsize=rng.uniform(0.025, 0.05) * radius * 72 / 100, style=str(rng.choice(["italic", "normal"])),
                    family=str(rng.choice(["serif", "sans-serif"])), rotation=rng.uniform(-30, 30),
                    color=str(rng.uniform(0.0, 0.55)))  # fmt: skip

    rgba = drawn_layer(image.shape[:2], draw)
    cover = rgba[..., 3:4]
    written = image * (1 - cover) + 255 * rgba[..., :3].mean(axis=-1, keepdims=True) * cover
    return np.clip(np.round(written), 0, 255).astype(np.uint8), cover[..., 0] > 0.2


def _marks_of(image, date, layout):
    """The candidates of a rendering and their features, less the printed centre lines."""
    marks, table, _ = _candidates(image, date, north_angle=layout["north_angle"], mirrored=layout["mirrored"])
    keep = np.asarray(marks["verdict"]) != "centre line"
    return marks[keep], table[keep]


def rendered_marks(paths, seed=0):
    """
    Features, labels, form names and shape verdicts (each with whether the mark holds an umbra)
    of the marks of drawings traced from ``paths``, with handwriting on their disks: a mark
    found with the writing and not without is writing (0), the others spots (1).
    """
    rng = np.random.default_rng(seed)
    features, labels, forms, rules = [], [], [], []
    for path in paths:
        magnetogram = sunpy.map.Map(path)
        for k, layout in enumerate(LAYOUTS):
            clean = render_drawing(magnetogram, annotate=False, label="", **layout)
            h, w = clean.shape[:2]
            centre = layout.get("centre", ((w - 1) / 2, (h - 1) / 2))
            written, _ = _write(clean, centre, layout["radius"], rng)
            spots, _ = _marks_of(clean, magnetogram.date, layout)
            marks, table = _marks_of(written, magnetogram.date, layout)
            gap = np.hypot(np.subtract.outer(marks["x"].value, spots["x"].value),
                           np.subtract.outer(marks["y"].value, spots["y"].value))  # fmt: skip
            is_spot = (gap.min(axis=1, initial=np.inf) <= 2).astype(int)
            features += list(table)
            labels += is_spot.tolist()
            forms += [f"{Path(path).name} layout {k}"] * len(is_spot)
            rules += [(str(v), bool(umbra)) for v, umbra in zip(marks["verdict"], marks["umbra"], strict=True)]
    rules = np.array(rules, dtype=object).reshape(-1, 2)
    return np.array(features).reshape(-1, len(FEATURES)), np.array(labels, int), np.array(forms), rules


def export(model):
    """The fitted GradientBoostingClassifier as JSON-ready trees (leaf values in log-odds)."""
    trees = []
    for (estimator,) in model.estimators_:
        t = estimator.tree_
        trees.append({"feature": t.feature.tolist(), "threshold": t.threshold.tolist(),
                      "left": t.children_left.tolist(), "right": t.children_right.tolist(),
                      "value": t.value[:, 0, 0].tolist()})  # fmt: skip
    prior = model.init_.class_prior_[1]
    return {"features": list(FEATURES), "init": float(np.log(prior / (1 - prior))),
            "learning_rate": model.learning_rate, "trees": trees}  # fmt: skip


def scores(called, labels):
    tp = int(((called == 1) & (labels == 1)).sum())
    fp = int(((called == 1) & (labels == 0)).sum())
    fn = int(((called == 0) & (labels == 1)).sum())
    return {"spots": int(labels.sum()), "marks": len(labels), "precision": round(tp / max(tp + fp, 1), 3),
            "recall": round(tp / max(tp + fn, 1), 3), "false": fp, "missed": fn}  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder the labels' form paths are relative to")
    parser.add_argument("--labels", default=HERE / "mark_labels.csv")
    parser.add_argument("--out", default=HERE.parent / "sunpy_dlmag" / "drawings" / "mark_classifier.json")
    parser.add_argument("--scores", default=HERE / "mark_classifier_scores.json")
    parser.add_argument("--renderings", nargs="*", default=[], metavar="MAGNETOGRAM")
    parser.add_argument(
        "--leave-out",
        choices=("form", "decade"),
        default="form",
        help="what the scores' trees are trained without: the form scored, or its decade",
    )
    args = parser.parse_args(argv)
    try:
        from sklearn.ensemble import GradientBoostingClassifier
    except ImportError:
        sys.exit("This tool needs scikit-learn: pip install scikit-learn")
    features, labels, forms, rules, decades = labelled_marks(args.labels, args.data)
    real = len(labels)
    held = decades if args.leave_out == "decade" else forms
    if args.renderings:
        parts = zip(rendered_marks(args.renderings), (features, labels, forms, rules), strict=True)
        features, labels, forms, rules = (np.concatenate([b, a]) for a, b in parts)
        held = np.concatenate([held, forms[real:]])  # a rendering: a disk in one layout
    p = np.zeros(len(labels))
    for part in np.unique(held):
        out = held == part
        model = GradientBoostingClassifier(**TREES).fit(features[~out], labels[~out])
        p[out] = model.predict_proba(features[out])[:, 1]
    # As the package calls a mark: the classifier overrules the shape rules only where it is sure.
    called = np.array([VERDICTS[learned_verdict(v, q, umbra)][0] for (v, umbra), q in zip(rules, p, strict=True)],
                      dtype=int)  # fmt: skip
    rules = np.array([VERDICTS[v][0] for v, _ in rules], dtype=int)
    np.savez(Path(args.scores).with_suffix(".npz"), p=p, labels=labels, rules=rules, forms=forms)
    model = GradientBoostingClassifier(**TREES).fit(features, labels)
    trees = export(model)
    Path(args.out).write_text(json.dumps(trees, separators=(",", ":")))
    # The package's reading of the trees must call the marks as scikit-learn does.
    expected = model.predict_proba(features)[:, 1]
    got = tree_probability(json.loads(Path(args.out).read_text()), features)
    if not np.allclose(got, expected, atol=1e-9):
        sys.exit(f"The exported trees differ from scikit-learn's by up to {np.abs(got - expected).max():.2e}.")
    by_decade = {}
    for decade in np.unique(decades):
        of = np.flatnonzero(decades == decade)
        by_decade[decade] = {"trees": scores(called[of], labels[of]), "shape_rules": scores(rules[of], labels[of])}
    record = {
        "command": "python tools/train_mark_classifier.py " + " ".join(argv or sys.argv[1:]),
        "trees": TREES,
        "forms": len(np.unique(forms)),
        "renderings": [str(p) for p in args.renderings],
        f"leave_one_{args.leave_out}_out": scores(called[:real], labels[:real]),
        "shape_rules": scores(rules[:real], labels[:real]),
        "by_decade": by_decade,
        "renderings_leave_one_out": scores(called[real:], labels[real:]) if args.renderings else None,
        "sha256 (sunpy_dlmag.drawings.marks._SHA256)": hashlib.sha256(Path(args.out).read_bytes()).hexdigest(),
    }
    Path(args.scores).write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
