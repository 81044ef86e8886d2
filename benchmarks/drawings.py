"""
Reading and spot detection on the real scanned drawings: time and peak memory per scan.

    python benchmarks/drawings.py [--data DIR] [--repeats N]

Each scan of ``DIR`` (default ``shared/data/drawings`` beside the repository) is read with
`sunpy_dlmag.read_drawing` and searched with `sunpy_dlmag.detect_sunspots` in a fresh child
process, so that its peak memory (``ru_maxrss``) is its own; the table gives the median wall
time of ``N`` runs of each step, the peak memory and, for scale, the memory of the child
after its imports. Target (issue #15): read + detect under 5 s and 1 GB per 4248x3330 scan
on 2 cores. Times on a shared machine vary; compare runs made side by side. ``groups`` and
``spots`` are found with the defaults, ``every`` with ``label_distance=None`` (every group
kept; not timed); ``observer`` are the counts written on each form.

Scores against the observers' counts and hand-marked spots, on folders of real forms:

    python benchmarks/drawings.py FOLDER [FOLDER ...] [--json PATH] [--docs PATH]
    python benchmarks/drawings.py --all      # the five scans above and every folder of DIR with a TRUTH.csv

Each FOLDER holds the forms, ``TRUTH.csv`` (file, date_utc, observer_groups, observer_spots;
blank = unknown) and optionally ``spot_positions.csv`` (file, x_px, y_px, area_px: each drawn
spot, image pixels from the top left). Every form is read and searched with the defaults, once,
in a fresh child process; the table gives per form, and in total per folder and per era
(decade), the groups exact, the Wolf number R = 10 g + f within 20 %, the spot recall and
precision, the forms refused, the seconds (read + detect) and the peak memory. The scores are
those of ``shared/tools/score_drawings.py``, defined identically: a marked spot is found if a
detection lies within 0.02 limb radii + the spot's own radius (sqrt(area / pi)) of its centre,
a detection is false if no marked spot lies that near, the Wolf number is within 20 % if
|R - R_obs| <= 0.2 max(R_obs, 10). ``--all`` writes the record to
``benchmarks/reference/drawings.json`` and the docs table ``docs/drawings_benchmark.inc``
(commit both after a run); ``--json`` and ``--docs`` write them for folders given by hand.

    python benchmarks/drawings.py --all --batch

scores every form as ``sunpy-dlmag counts`` does a folder: with the form template
(`sunpy_dlmag.drawings.form_template`) of each image size that 5 forms of its folder or more
have; ``--all`` then writes ``benchmarks/reference/drawings_batch.json`` and
``docs/drawings_benchmark_batch.inc`` (the summary tables).

    python benchmarks/drawings.py --all --scales 1.5 2 3

scores every form downsampled by each factor (PIL's Lanczos filter on its grey levels, as an
archive's smaller copies are made) against the same truth, to tell how the counts hold on
coarser scans; ``--all`` then writes ``benchmarks/reference/drawings_scales.json`` and
``docs/drawings_benchmark_scales.inc`` (one row per factor, all forms and held-out part).

    python benchmarks/drawings.py --all --jpeg 90 75 50

scores every form saved again as a JPEG of each quality (PIL, grey levels, as a scan is
re-compressed on its way to an archive or a web page); ``--all`` then writes
``benchmarks/reference/drawings_jpeg.json`` and ``docs/drawings_benchmark_jpeg.inc``.

    python benchmarks/drawings.py --all --contrasts 1.2 0.9 0.8 0.6

scores every form with its ink lightened to each fraction of its depth below white (1.2:
deepened), as a scanner's contrast setting or a faded form gives it; ``--all`` then writes
``benchmarks/reference/drawings_contrast.json`` and ``docs/drawings_benchmark_contrast.inc``.

    python benchmarks/drawings.py --all --blurs 0.35 0.7 1

scores every form blurred by a Gaussian of each width (sigma, scan pixels), as a softer
scanner or a scan of a copy gives it; ``--all`` then writes
``benchmarks/reference/drawings_blur.json`` and ``docs/drawings_benchmark_blur.inc``.
``--threshold T`` scores with another ink threshold than the default (written only to the
``--json`` and ``--docs`` given), e.g. ``--all --scales 1 1.5 2 --threshold 0.25 --json
/tmp/t.json``.
"""

import argparse
import csv
import datetime
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _common import child_json, rusage_mb, write_json
from PIL import Image

from sunpy_dlmag.drawings.template import batch_templates

HERE = Path(__file__).resolve().parent
RECORD = HERE / "reference" / "drawings.json"
DOCS = HERE.parent / "docs" / "drawings_benchmark.inc"
BATCH_RECORD = HERE / "reference" / "drawings_batch.json"
BATCH_DOCS = HERE.parent / "docs" / "drawings_benchmark_batch.inc"
SCALES_RECORD = HERE / "reference" / "drawings_scales.json"
SCALES_DOCS = HERE.parent / "docs" / "drawings_benchmark_scales.inc"
JPEG_RECORD = HERE / "reference" / "drawings_jpeg.json"
JPEG_DOCS = HERE.parent / "docs" / "drawings_benchmark_jpeg.inc"
CONTRAST_RECORD = HERE / "reference" / "drawings_contrast.json"
CONTRAST_DOCS = HERE.parent / "docs" / "drawings_benchmark_contrast.inc"
BLUR_RECORD = HERE / "reference" / "drawings_blur.json"
BLUR_DOCS = HERE.parent / "docs" / "drawings_benchmark_blur.inc"
# The copies of the forms that --scales, --contrasts, --jpeg and --blurs score, by the key of their record
# rows: their record, docs table, the table's first column and its title's first word.
COPIES = {
    "scale": (SCALES_RECORD, SCALES_DOCS, "scans downsampled by", "Downsampled"),
    "contrast": (CONTRAST_RECORD, CONTRAST_DOCS, "ink lightened to (of its depth)", "Lightened"),
    "quality": (JPEG_RECORD, JPEG_DOCS, "saved as a JPEG of quality", "Re-compressed"),
    "blur": (BLUR_RECORD, BLUR_DOCS, "blurred by a Gaussian of sigma (px)", "Blurred"),
}
# score_drawings.py: a marked spot is found within this many limb radii (+ its own radius).
FOUND_WITHIN = 0.02
WOLF_WITHIN = 0.2

DATES = {
    "usd201806060752.jpg": "2018-06-06T07:52",
    "usd201806110756.jpg": "2018-06-11T07:56",
    "usd201807010625.jpg": "2018-07-01T06:25",
    "DrawingType_USET.jpg": "2009-06-22T06:15",
    "DrawingType_USET77.jpg": "1977-08-25T08:44",
}
# Groups and spots as the observer counted them on each form.
OBSERVER = {
    "usd201806060752.jpg": (1, 1),
    "usd201806110756.jpg": (0, 0),
    "usd201807010625.jpg": (0, 0),
    "DrawingType_USET.jpg": (2, 6),
    "DrawingType_USET77.jpg": (2, 6),
}


def _one(path, date, repeats):
    """In the child: time read + detect of one scan; print a JSON line."""
    import sunpy_dlmag

    imported_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    reads, detects = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        drawing = sunpy_dlmag.read_drawing(path, date=date)
        middle = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # forms without spots warn
            spots = sunpy_dlmag.detect_sunspots(drawing)
        reads.append(middle - start)
        detects.append(time.perf_counter() - middle)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        every = sunpy_dlmag.detect_sunspots(drawing, label_distance=None)
    print(
        json.dumps(
            {
                "shape": list(drawing.data.shape),
                "read_s": statistics.median(reads),
                "detect_s": statistics.median(detects),
                "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "imports_mib": imported_mib,
                "rms_px": float(drawing.meta.get("drawrms", float("nan"))),
                "groups": len(set(int(g) for g in spots["group"])),
                "spots": len(spots),
                "every": len(set(int(g) for g in every["group"])),
            }
        )
    )


def _score_one(path, date, template=None, scale=1.0, threshold=None, quality=None, contrast=None, blur=None):
    """
    In the child: read + detect one form with the defaults (and the form template saved at
    ``template``, .npy; downsampled by ``scale``; its ink lightened to ``contrast`` of its depth
    below white; blurred by a Gaussian of sigma ``blur`` pixels; saved again as a JPEG of
    ``quality``; another ink ``threshold``), once; print
    the spots in image pixels as JSON.
    """
    from PIL import Image
    from scipy import ndimage

    import sunpy_dlmag
    from sunpy_dlmag.drawings.read import grey_image

    with Image.open(path) as image:
        width, height = image.size
    source = path
    if scale != 1:
        grey = Image.fromarray(grey_image(path)[0])
        source = np.asarray(grey.resize((round(grey.width / scale), round(grey.height / scale)), Image.LANCZOS))
    if contrast is not None:  # as a scanner's contrast setting: white stays, ink moves toward it
        grey = grey_image(source)[0]
        source = np.clip(np.round(255 - (255 - grey) * contrast), 0, 255).astype(np.uint8)
    if blur is not None:  # as a softer scanner: the same ink spread over more pixels
        grey = grey_image(source)[0].astype(np.float32)
        source = np.clip(np.round(ndimage.gaussian_filter(grey, blur)), 0, 255).astype(np.uint8)
    if quality is not None:
        saved = io.BytesIO()
        grey = np.clip(np.round(grey_image(source)[0]), 0, 255).astype(np.uint8)
        Image.fromarray(grey).save(saved, "JPEG", quality=quality)
        source = np.asarray(Image.open(saved).convert("L"))
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # spotless forms, dates before 1960
            drawing = sunpy_dlmag.read_drawing(source, date=date)
            spots = sunpy_dlmag.detect_sunspots(
                drawing,
                template=None if template is None else np.load(template),
                **({} if threshold is None else {"threshold": threshold}),
            )
    except Exception as err:  # a refused form is a result, with its reason
        print(json.dumps({"error": f"{type(err).__name__}: {' '.join(str(err).split())[:160]}"}))
        return
    seconds = time.perf_counter() - start
    # As score_drawings.py: map pixels to image pixels (x from the left, y from the top).
    mh, mw = drawing.data.shape
    sx, sy = width / mw, height / mh
    x = np.asarray(spots["x"].value, float) * sx
    y = (mh - 1 - np.asarray(spots["y"].value, float)) * sy
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mib": rusage_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
                "groups": len(set(np.asarray(spots["group"]).tolist())),
                "spots": len(spots),
                "xy": np.column_stack([x, y]).round(1).tolist(),
                "radius_px": float(drawing.meta["drawr"]) * sx,
            }
        )
    )


def _count(value):
    value = (value or "").strip().rstrip("?")
    return int(value) if value.isdigit() else None


def _folder_truth(folder):
    """{file: (date, observer groups, observer spots, marked spots [(x, y, area)] or None)} of a folder."""
    truth = {}
    with (folder / "TRUTH.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            name = Path(row["file"]).name
            truth[name] = [row.get("date_utc") or None, _count(row.get("observer_groups")),
                           _count(row.get("observer_spots")), None]  # fmt: skip
    positions = folder / "spot_positions.csv"
    if positions.is_file():
        with positions.open(newline="") as f:
            for row in csv.DictReader(f):
                entry = truth.setdefault(row["file"], [None, None, None, None])
                entry[3] = (entry[3] or []) + [(float(row["x_px"]), float(row["y_px"]), float(row["area_px"]))]
    for name, entry in truth.items():
        if not entry[0]:  # usdYYYYMMDDHHMM, as score_drawings.py
            s = name[3:15]
            entry[0] = f"{s[0:4]}-{s[4:6]}-{s[6:8]}T{s[8:10]}:{s[10:12]}"
    return {name: tuple(entry) for name, entry in sorted(truth.items()) if (folder / name).is_file()}


def _score_form(folder_name, name, path, truth, template=None, threshold=None, copy=None):
    """
    The child's result for one form (with the template saved at ``template``; its ``copy``, e.g.
    ``{"scale": 2}``, see `score_folders`), scored against its truth.
    """
    date, obs_g, obs_f, marked = truth
    options = [] if template is None else ["--template", template]
    options += [] if threshold is None else ["--threshold", threshold]
    for key, value in (copy or {}).items():
        options += [f"--{key}", value]
    r = child_json(__file__, "--score-one", path, date, *options)
    row = {"folder": folder_name, "file": name, "date": date, "era": f"{date[:3]}0s", "obs_g": obs_g, "obs_f": obs_f}
    row["part"] = "held-out" if _held_out(folder_name, date) else "tuned"
    if "error" in r:
        return row | {"error": r["error"]}
    row |= {k: r[k] for k in ("groups", "spots", "seconds", "peak_mib", "radius_px")}
    if obs_g is not None:
        row["groups_exact"] = r["groups"] == obs_g
    if obs_g is not None and obs_f is not None:
        wolf, obs_wolf = 10 * r["groups"] + r["spots"], 10 * obs_g + obs_f
        row["wolf_within"] = abs(wolf - obs_wolf) / max(obs_wolf, 10) <= WOLF_WITHIN
    if marked is not None:
        xy, marks = np.asarray(r["xy"], float).reshape(-1, 2), np.asarray(marked, float)
        tolerance = FOUND_WITHIN * r["radius_px"] + np.sqrt(marks[:, 2] / np.pi)
        near = np.hypot(xy[:, None, 0] - marks[None, :, 0], xy[:, None, 1] - marks[None, :, 1]) <= tolerance
        row |= {"marked": len(marks), "false": int((~near.any(axis=1)).sum()), "missed": int((~near.any(axis=0)).sum())}
    return row


def _held_out(folder_name, date):
    """The forms kept out of all tuning (issue #24): 1948 and 1956 of 1940-2024, and 21-30 Sept 2013."""
    if folder_name == "uccle_1940-2024":
        return date[:4] in ("1948", "1956")
    return folder_name == "uccle_2013-09" and date[:10] >= "2013-09-21"


def summarise(rows):
    """Totals of scored forms: fractions exact / within, recall, precision, refused, time and memory."""
    ok = [r for r in rows if "error" not in r]
    counted = [r for r in ok if "groups_exact" in r]
    wolf = [r for r in ok if "wolf_within" in r]
    marked = [r for r in ok if "marked" in r]
    n_true, n_det = sum(r["marked"] for r in marked), sum(r["spots"] for r in marked)
    found = sum(r["marked"] - r["missed"] for r in marked)
    n_false = sum(r["false"] for r in marked)
    seconds = [r["seconds"] for r in ok]
    return {
        "forms": len(rows),
        "with_count": len(counted),
        "groups_exact": float(np.mean([r["groups_exact"] for r in counted])) if counted else None,
        "with_wolf": len(wolf),
        "wolf_within_20pct": float(np.mean([r["wolf_within"] for r in wolf])) if wolf else None,
        "with_positions": len(marked),
        "marked": n_true,
        "spot_recall": found / n_true if n_true else None,
        "spot_precision": (n_det - n_false) / n_det if n_det else None,
        "false_detections": n_false,
        "refused": len(rows) - len(ok),
        "median_seconds": float(np.median(seconds)) if seconds else None,
        "max_seconds": max(seconds, default=None),
        "peak_mib": max((r["peak_mib"] for r in ok), default=None),
    }


def _cell(value, kind="%"):
    if value is None:
        return "–"  # not "-": a bullet in a list-table cell
    return {"%": f"{100 * value:.0f} %", "f": f"{value:.2f}", "s": f"{value:.1f}", "i": f"{value:.0f}"}[kind]


_SUMMARY_COLUMNS = [  # heading, key, format
    ("forms", "forms", "i"), ("with count", "with_count", "i"), ("groups exact", "groups_exact", "%"),
    ("Wolf within 20 %", "wolf_within_20pct", "%"), ("spots marked", "marked", "i"), ("recall", "spot_recall", "f"),
    ("precision", "spot_precision", "f"), ("false", "false_detections", "i"), ("refused", "refused", "i"),
    ("median s", "median_seconds", "s"), ("max s", "max_seconds", "s"), ("peak MiB", "peak_mib", "i"),
]  # fmt: skip


def _print_summary(label, summary):
    cells = " ".join(f"{_cell(summary[key], kind):>{max(len(head), 6)}s}" for head, key, kind in _SUMMARY_COLUMNS)
    print(f"{label:24s} {cells}")


def _print_form(row):
    if "error" in row:
        print(f"{row['file']:24s} {row['date']:16s} REFUSED {row['error']}")
        return
    observer = f"{'?' if row['obs_g'] is None else row['obs_g']} / {'?' if row['obs_f'] is None else row['obs_f']}"
    marks = f"marked {row['marked']:3d} missed {row['missed']:3d} false {row['false']:4d}" if "marked" in row else ""
    print(f"{row['file']:24s} {row['date']:16s} groups {row['groups']:3d} spots {row['spots']:4d} (observer "
          f"{observer:>9s}) {marks:38s} {row['seconds']:5.1f} s {row['peak_mib']:5.0f} MiB")  # fmt: skip


def score_folders(folders, older=None, command="python benchmarks/drawings.py --all", batch=False, threshold=None,
                  copy=None):  # fmt: skip
    """
    Score every form of ``folders`` (and of the five older scans in ``older``), with ``batch``
    as ``sunpy-dlmag counts`` does (the form template of each size of a folder), with another
    ink ``threshold``, or a ``copy`` of each form: ``{"scale": S}`` downsampled by S, ``{"contrast":
    C}`` its ink lightened to C of its depth, ``{"blur": B}`` blurred by a Gaussian of sigma B px,
    ``{"quality": Q}`` saved again as a JPEG; the record for JSON.
    """
    copy = copy or {}
    rows = []
    load_before = os.getloadavg()[0]  # timings on a shared machine depend on what else runs
    sets = (
        [(older.name + " (5 older scans)", older, {n: (d, *OBSERVER[n], None) for n, d in DATES.items()})]
        if older
        else []
    )
    sets += [(folder.name, folder, _folder_truth(folder)) for folder in folders]
    start = time.perf_counter()
    saved = tempfile.TemporaryDirectory()
    for label, folder, truth in sets:
        print(f"--- {label}: {len(truth)} forms")
        paths = {name: folder / name for name in truth if (folder / name).is_file()}
        templates = {}
        for size, template in (batch_templates(list(paths.values())) if batch else {}).items():
            templates[size] = Path(saved.name) / f"{label}-{size[0]}x{size[1]}.npy"
            np.save(templates[size], template)
            print(f"    form template of its {size[0]}x{size[1]} px forms")
        for name, path in paths.items():
            with Image.open(path) as image:
                template = templates.get(image.size)
            rows.append(_score_form(label, name, path, truth[name], template, threshold, copy))
            _print_form(rows[-1])
    saved.cleanup()
    print()
    heading = " ".join(f"{head:>{max(len(head), 6)}s}" for head, _, _ in _SUMMARY_COLUMNS)
    print(f"{'':24s} {heading}")
    record = {"folders": {}, "eras": {}, "parts": {}, "rows": rows}
    for part in ("tuned", "held-out"):
        record["parts"][part] = summarise([r for r in rows if r["part"] == part])
        _print_summary(part, record["parts"][part])
    for label, _, _ in sets:
        record["folders"][label] = summarise([r for r in rows if r["folder"] == label])
        _print_summary(label, record["folders"][label])
    for era in sorted({r["era"] for r in rows}):
        record["eras"][era] = summarise([r for r in rows if r["era"] == era])
        _print_summary(era, record["eras"][era])
    record["total"] = summarise(rows)
    _print_summary("all forms", record["total"])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE)
    record |= {
        "date": datetime.date.today().isoformat(),
        "commit": commit.stdout.strip(),
        "seconds": time.perf_counter() - start,
        "command": command,
        "batch": batch,
        "scale": copy.get("scale", 1.0),
        "quality": copy.get("quality"),
        "contrast": copy.get("contrast"),
        "blur": copy.get("blur"),
        "threshold": threshold,
        "cpus": os.cpu_count(),
        "load": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }
    return record


def _list_table(title, rows):
    """A reStructuredText list-table: ``title`` and ``rows`` of cells, the first the heading."""
    lines = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for cells in rows:
        lines.extend(f"   {'*' if j == 0 else ' '} - {cell}".rstrip() for j, cell in enumerate(cells))
    return lines


def render_docs(record, per_form=True):
    """The reStructuredText tables of a record (``per_form``: and of every form), for docs/drawings_benchmark.rst."""
    source, run = (BATCH_RECORD.name, "--all --batch") if record.get("batch") else (RECORD.name, "--all")
    lines = [
        f".. This file is written by benchmarks/drawings.py from its record (benchmarks/reference/{source});",
        f"   do not edit: run ``python benchmarks/drawings.py {run}``.",
        "",
    ]

    def table(title, first, entries):
        lines.extend([*_list_table(title, [[first] + [head for head, _, _ in _SUMMARY_COLUMNS], *entries]), ""])

    def cells(label, summary):
        return [label] + [_cell(summary[key], kind) for _, key, kind in _SUMMARY_COLUMNS]

    when = f"``{record['command']}``, {record['date']}, commit {record['commit']}"
    if "load" in record:
        when += (
            f", {record['cpus']} CPU cores, 1-min load average {record['load'][0]} before, {record['load'][1]} after"
        )
    table(f"Per era (decade of the form), {when}", "era",
          [cells(era, s) for era, s in record["eras"].items()] + [cells("**all forms**", record["total"])])  # fmt: skip
    table("Per folder", "folder", [cells(f"``{name}``", s) for name, s in record["folders"].items()])
    if record.get("parts"):
        table("Tuned on, and held out of all tuning (1948, 1956 and 21-30 Sept 2013)", "part",
              [cells(part, s) for part, s in record["parts"].items()])  # fmt: skip
    if not per_form:
        return "\n".join(lines)
    per_form = []
    for r in record["rows"]:
        observer = f"{'?' if r['obs_g'] is None else r['obs_g']} / {'?' if r['obs_f'] is None else r['obs_f']}"
        if "error" in r:
            per_form.append([r["file"], r["date"][:10], observer, "refused", "", "", "", r["error"].replace("|", "/")])
            continue
        marks = [str(r["marked"]), str(r["marked"] - r["missed"]), str(r["false"])] if "marked" in r else ["–"] * 3
        per_form.append([r["file"], r["date"][:10], observer, f"{r['groups']} / {r['spots']}", *marks,
                         f"{r['seconds']:.1f} s, {r['peak_mib']:.0f} MiB"])  # fmt: skip
    heads = ["form", "date", "observer g / f", "found g / f", "spots marked", "found", "false", "time, memory"]
    return "\n".join(lines + _list_table("Per form", [heads, *per_form])) + "\n"


_COPY_COLUMNS = [  # heading, key, format
    ("groups exact", "groups_exact", "%"), ("Wolf within 20 %", "wolf_within_20pct", "%"),
    ("recall", "spot_recall", "f"), ("precision", "spot_precision", "f"), ("false", "false_detections", "i"),
    ("refused", "refused", "i"),
]  # fmt: skip


def copy_summary(record):
    """One copy's summary: the disk radii (image pixels of the scan as scored) and the scores, all and held out."""
    radii = [r["radius_px"] / record["scale"] for r in record["rows"] if "radius_px" in r]
    return {"scale": record["scale"], "quality": record["quality"], "contrast": record.get("contrast"),
            "blur": record.get("blur"),
            "radius_px": [round(float(np.percentile(radii, q))) for q in (0, 50, 100)],
            "total": record["total"], "held-out": record["parts"]["held-out"]}  # fmt: skip


def copy_kind(entry):
    """Which copy of the forms (a key of COPIES) a --scales, --contrasts, --jpeg or --blurs record row scored."""
    return next((key for key in ("contrast", "quality", "blur") if entry.get(key) is not None), "scale")


def render_copies(record):
    """The reStructuredText table of a copies record (--scales, --contrasts, ...), for docs/drawings_benchmark.rst."""
    copy_key = copy_kind(record["scales"][0])
    record_path, _, first_head, title_word = COPIES[copy_key]
    lines = [
        f".. This file is written by benchmarks/drawings.py from benchmarks/reference/{record_path.name};",
        f"   do not edit: run ``{record['command']}``.",
        "",
    ]
    heads = [first_head, "disk radius px (min, median, max)", "forms"]
    heads += [head for head, _, _ in _COPY_COLUMNS] + ["held out: recall", "held out: precision"]
    rows = [heads]
    for entry in record["scales"]:
        total, held = entry["total"], entry["held-out"]
        rows.append([f"{entry[copy_key]:g}", ", ".join(map(str, entry["radius_px"])), str(total["forms"])]
                    + [_cell(total[key], kind) for _, key, kind in _COPY_COLUMNS]
                    + [_cell(held["spot_recall"], "f"), _cell(held["spot_precision"], "f")])  # fmt: skip
    title = f"{title_word} scans, ``{record['command']}``, {record['date']}, commit {record['commit']}"
    return "\n".join(lines + _list_table(title, rows)) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/drawings")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("folders", nargs="*", type=Path, help="folders of forms with TRUTH.csv to score")
    parser.add_argument("--all", action="store_true", help="score the five scans and every folder of --data")
    parser.add_argument("--json", type=Path, help=f"write the scores' record here (--all: {RECORD})")
    parser.add_argument("--docs", type=Path, help=f"write the docs tables here (--all: {DOCS})")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--batch", action="store_true", help="score as `sunpy-dlmag counts` does (form templates)")
    parser.add_argument("--score-one", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--template", help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--scales", type=float, nargs="+", metavar="S", help="score the forms downsampled by each S")
    parser.add_argument("--quality", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--jpeg", type=int, nargs="+", metavar="Q", help="score the forms re-saved as JPEGs of each Q")
    parser.add_argument("--contrast", type=float, help=argparse.SUPPRESS)
    parser.add_argument(
        "--contrasts",
        type=float,
        nargs="+",
        metavar="C",
        help="score the forms with their ink lightened to C of its depth (above 1: deepened)",
    )
    parser.add_argument("--blur", type=float, help=argparse.SUPPRESS)
    parser.add_argument(
        "--blurs", type=float, nargs="+", metavar="B", help="score the forms blurred by a Gaussian of sigma B px"
    )
    parser.add_argument("--threshold", type=float, help="another ink threshold than detect_sunspots's default")
    args = parser.parse_args(argv)
    if args.one:
        _one(args.one[0], args.one[1], args.repeats)
        return 0
    if args.score_one:
        options = {"template": args.template, "scale": args.scale, "threshold": args.threshold}
        _score_one(*args.score_one, quality=args.quality, contrast=args.contrast, blur=args.blur, **options)
        return 0
    if args.folders or args.all:
        folders = list(args.folders)
        if args.all:
            folders += sorted(p for p in args.data.iterdir() if (p / "TRUTH.csv").is_file())
        missing = [str(f) for f in folders if not (f / "TRUTH.csv").is_file()]
        if missing:
            print(f"No TRUTH.csv in {', '.join(missing)}.", file=sys.stderr)
            return 2
        command = " ".join(["python benchmarks/drawings.py", *(sys.argv[1:] if argv is None else map(str, argv))])
        # The committed records are of the defaults: another threshold writes only where --json / --docs say.
        records_by_default = args.all and args.threshold is None
        if sum(bool(copies) for copies in (args.scales, args.contrasts, args.jpeg, args.blurs)) > 1:
            print("Give one of --scales, --contrasts, --jpeg and --blurs.", file=sys.stderr)
            return 2
        if args.scales and min(args.scales) < 1:
            print(f"--scales are factors of 1 or more (downsampling), got {args.scales}.", file=sys.stderr)
            return 2
        if args.jpeg and not all(1 <= q <= 95 for q in args.jpeg):
            print(f"--jpeg qualities are 1 to 95 (PIL's scale), got {args.jpeg}.", file=sys.stderr)
            return 2
        if args.contrasts and min(args.contrasts) <= 0:
            print(f"--contrasts are factors above 0 of the ink's depth, got {args.contrasts}.", file=sys.stderr)
            return 2
        if args.blurs and min(args.blurs) <= 0:
            print(f"--blurs are Gaussian sigmas above 0 (scan pixels), got {args.blurs}.", file=sys.stderr)
            return 2
        if args.scales or args.contrasts or args.jpeg or args.blurs:
            # One record row per copy of the forms: downsampled, lightened, saved again as JPEGs, or blurred.
            asked = {"scale": args.scales, "contrast": args.contrasts, "quality": args.jpeg, "blur": args.blurs}
            copies = [{key: value} for key, values in asked.items() for value in values or ()]
            records = [score_folders(folders, older=args.data if args.all else None, command=command,
                                     threshold=args.threshold, copy=copy) for copy in copies]  # fmt: skip
            record = {k: records[-1][k] for k in ("date", "commit", "command")}
            record["scales"] = [copy_summary(r) for r in records]
            record_path, docs = COPIES[copy_kind(record["scales"][0])][:2]
            rendered = render_copies(record)
        else:
            record = score_folders(folders, older=args.data if args.all else None, command=command,
                                   batch=args.batch, threshold=args.threshold)  # fmt: skip
            rendered = render_docs(record, per_form=not args.batch)
            record_path, docs = (BATCH_RECORD, BATCH_DOCS) if args.batch else (RECORD, DOCS)
        json_path = args.json or (record_path if records_by_default else None)
        docs_path = args.docs or (docs if records_by_default else None)
        if json_path:
            write_json(json_path, record)
        if docs_path:
            docs_path.write_text(rendered)
            print(f"written {docs_path}")
        return 0
    if not args.data.is_dir():
        print(f"No drawings at {args.data}; give --data DIR.", file=sys.stderr)
        return 2
    print(f"{'scan':24s} {'size':>10s} {'read s':>7s} {'detect s':>8s} {'total s':>7s} {'peak MiB':>8s} "
          f"{'imports MiB':>11s} {'rms px':>6s} {'groups':>6s} {'spots':>5s} {'every':>5s} "
          f"{'observer':>8s}")  # fmt: skip
    for name, date in DATES.items():
        if not (args.data / name).is_file():
            continue
        r = child_json(__file__, "--one", args.data / name, date, "--repeats", args.repeats)
        size, total = f"{r['shape'][1]}x{r['shape'][0]}", r["read_s"] + r["detect_s"]
        print(f"{name:24s} {size:>10s} {r['read_s']:7.2f} {r['detect_s']:8.2f} {total:7.2f} {r['peak_mib']:8.0f} "
              f"{r['imports_mib']:11.0f} {r['rms_px']:6.2f} {r['groups']:6d} {r['spots']:5d} "
              f"{r['every']:5d} {'{} / {}'.format(*OBSERVER[name]):>8s}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
