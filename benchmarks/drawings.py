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
"""

import argparse
import json
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

from _common import child_json

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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/drawings")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        _one(args.one[0], args.one[1], args.repeats)
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
