"""
What the main calls cost on this machine: the table of ``docs/performance.rst``.

Each call runs in a fresh Python process (so that peak memory is its own), after its data are
read and its model loaded; the script prints wall time and peak memory per call.

    python benchmarks/user_table.py [--hmi HMI_FULL_DISK.fits] [--drawing SCAN.jpg --date DATE]

Without ``--hmi`` (a 4096x4096 HMI magnetogram) the HMI rows are skipped; without ``--drawing``
the drawing row uses the repository's ``../shared/data`` scan where it exists.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_HMI = SHARED / "magnetograms" / "hmi_fulldisk_720s" / "hmi.sharp_fulldisk_sample_3_TAI.magnetogram.fits"
DEFAULT_DRAWING = (SHARED / "drawings" / "usd201806110756.jpg", "2018-06-11T07:56")

# One call per case, timed after its inputs are ready; run by `python -c` in a fresh process.
_CALL = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import sunpy.map
import sunpy_dlmag
case, path, date = sys.argv[1:4]
if case.startswith("denoise"):
    from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM
    smap = sunpy.map.Map(path or MDI_MAGNETOGRAM)
    sunpy_dlmag.load_model("denoise-m2-hmi" if path else "denoise-m2", device="cpu")
    start = time.perf_counter()
    sunpy_dlmag.denoise(smap, uncertainty=case.endswith("uncertainty"), progress=False)
elif case == "pfss":
    from sunpy_dlmag.data.sample import GONG_SYNOPTIC
    from sunpy_dlmag.io import read_gong_synoptic
    gong = read_gong_synoptic(GONG_SYNOPTIC)
    start = time.perf_counter()
    sunpy_dlmag.open_field_map(sunpy_dlmag.pfss_extrapolate(gong, nrho=35, rss=2.5), shape=(90, 180), progress=False)
else:
    start = time.perf_counter()
    drawing = sunpy_dlmag.read_drawing(path, date=date)
    sunpy_dlmag.drawing_to_magnetogram(drawing, spots=sunpy_dlmag.detect_sunspots(drawing))
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(case, path="", date=""):
    done = subprocess.run(
        [sys.executable, "-c", _CALL, case, str(path), date], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hmi", type=Path, default=DEFAULT_HMI if DEFAULT_HMI.exists() else None)
    parser.add_argument("--drawing", type=Path, default=DEFAULT_DRAWING[0] if DEFAULT_DRAWING[0].exists() else None)
    parser.add_argument("--date", default=DEFAULT_DRAWING[1])
    args = parser.parse_args()
    rows = [("denoise, 1024-px MDI disk", "denoise", ""), ("  with uncertainty=True", "denoise-uncertainty", "")]
    if args.hmi:
        rows += [
            ("denoise, 4096-px HMI disk", "denoise", args.hmi),
            ("  with uncertainty=True", "denoise-uncertainty", args.hmi),
        ]
    rows.append(("pfss_extrapolate + open_field_map (GONG)", "pfss", ""))
    if args.drawing:
        rows.append((f"drawing: read, detect, magnetogram ({args.drawing.name})", "drawing", args.drawing))
    print(f"{'call':<50} {'time [s]':>9} {'peak [GB]':>10}")
    for label, case, path in rows:
        result = measure(case, path, args.date)
        print(f"{label:<50} {result['seconds']:>9.1f} {result['peak_mb'] / 1024:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
