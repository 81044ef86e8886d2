"""
Plant deliberate faults in a copy of the package, one at a time, and say which the tests miss.

    python tools/plant_faults.py [--list] [--only NAME ...] [--full] [--keep]

Each fault is a small edit of one source line that a user would be hurt by (a bias, a lost
calibration, a swapped axis, a refused valid input). For each, the package and its tests are
copied to a temporary folder, the edit is made there (never in the checkout), and pytest runs
the fault's own test files (``--full``: the whole suite) on the copy. A fault is *caught* when
a test fails, *missed* when every test passes, and *stale* when its line is no longer in the
source (rewrite the fault for the new code). Run it before you stop; add a fault whenever a
bug reaches a user. Exit status: 1 if any fault is missed or stale.

The shared real data are found as the tests find them (``../shared/data`` beside the
repository, or ``$SUNPY_DLMAG_REAL_DATA``); the copy is pointed at the same folder.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    path: str  # relative to the repository root
    old: str  # must occur exactly once in the file
    new: str
    tests: tuple


FAULTS = (
    Fault(
        "small-cutouts-refused",
        "an image smaller than the tile is tiled instead of run whole (every cutout under 368 px refused)",
        "sunpy_dlmag/models/runtime.py",
        "    if tile >= max(height, width) and height * width <= (max_pixels or tile * tile):\n",
        "    if False:\n",
        ("tests/test_cutouts.py", "tests/test_properties.py"),
    ),
    Fault(
        "full-disk-runs-whole",
        "an image within the tile's side but over the pixel budget runs whole (a 4096-px disk: 9.2 GB)",
        "sunpy_dlmag/models/runtime.py",
        "    if tile >= max(height, width) and height * width <= (max_pixels or tile * tile):\n",
        "    if tile >= max(height, width):\n",
        ("tests/models/test_runtime.py",),
    ),
    Fault(
        "tile-crop-short",
        "each tile's output is pasted one row short (a row of uninitialised memory per tile)",
        "sunpy_dlmag/models/runtime.py",
        "out[r[0] : r[1], c[0] : c[1]] = result[k, 0, r[0] - r[2] : r[1] - r[2], c[0] - c[2] : c[1] - c[2]]",
        "out[r[0] : r[1] - 1, c[0] : c[1]] = result[k, 0, r[0] - r[2] : r[1] - r[2] - 1, c[0] - c[2] : c[1] - c[2]]",
        ("tests/models/test_runtime.py", "tests/test_cutouts.py"),
    ),
    Fault(
        "uncertainty-uncalibrated",
        "the symmetry spread's calibration factor dropped (sigma 2.5-5x too small)",
        "sunpy_dlmag/denoise.py",
        "return mean, (_spread_factor(net.spec.name, mean) if calibrated else 1.0) * spread",
        "return mean, spread",
        ("tests/models/test_denoise_weights.py",),
    ),
    Fault(
        "pixel-area-plus-1pc",
        "the area of every pixel on the sphere 1 % too large (every flux and area biased)",
        "sunpy_dlmag/disk.py",
        "    return np.where(disk, area, np.nan), np.where(disk, cos_h, np.nan)",
        "    return np.where(disk, 1.01 * area, np.nan), np.where(disk, cos_h, np.nan)",
        ("tests/test_disk.py", "tests/test_metrics.py"),
    ),
    Fault(
        "finite-check-off",
        "infinite and out-of-range input values are no longer refused",
        "sunpy_dlmag/checks/__init__.py",
        "bad = np.isinf(chunk) | (np.abs(chunk) > _FLOAT32_MAX)",
        "bad = np.zeros(chunk.shape, dtype=bool)",
        ("tests/checks/test_checks.py", "tests/test_denoise.py"),
    ),
    Fault(
        "network-is-a-blur",
        "the network replaced by a 5x5 box blur of its first input channel",
        "sunpy_dlmag/models/runtime.py",
        "        return self.session.run([self._output_name], {self._input_name: np.ascontiguousarray(batch)})[0]",
        "        from scipy import ndimage\n\n"
        "        return ndimage.uniform_filter(np.asarray(batch[:, :1], dtype=np.float32), size=(1, 1, 5, 5))",
        ("tests/models/test_denoise_weights.py", "tests/test_denoise.py"),
    ),
    Fault(
        "drawing-observer-b0-zero",
        "a drawing's observer put at B0 = 0 (every latitude off by up to 7 degrees, pixels unchanged)",
        "sunpy_dlmag/drawings/read.py",
        "    observer = get_earth(date)\n",
        "    observer = get_earth(date)\n"
        '    observer = SkyCoord(observer.lon, 0 * u.deg, observer.radius, frame="heliographic_stonyhurst", '
        "obstime=observer.obstime)\n",
        ("tests/drawings/test_drawings_geometry.py",),
    ),
    Fault(
        "drawing-xy-swapped",
        "x and y swapped when a drawing's spot pixels become coordinates",
        "sunpy_dlmag/drawings/spots.py",
        "seen_px = drawing_map.pixel_to_world(xs * u.pix, ys * u.pix)",
        "seen_px = drawing_map.pixel_to_world(ys * u.pix, xs * u.pix)",
        ("tests/drawings/test_drawings_geometry.py", "tests/drawings/test_drawings.py"),
    ),
    Fault(
        "template-depth-stale",
        "a batch's template ink kept by size, not content: a second layout of one size gets the first one's",
        "sunpy_dlmag/drawings/template.py",
        "key = (digest, template.shape, template.dtype.str, block, paper_size)",
        "key = (template.shape, template.dtype.str, block, paper_size)",
        ("tests/drawings/test_template.py",),
    ),
    Fault(
        "penumbra-arcs-counted",
        "a penumbra outline holding its umbra is shared out among the dark arcs of its pencil loop (3 spots for 1)",
        "sunpy_dlmag/drawings/cores.py",
        "    umbrae = _umbrae(depth, threshold)\n",
        "    umbrae = None\n",
        ("tests/drawings/test_drawings_shapes.py",),
    ),
    Fault(
        "light-spot-as-dust",
        "a lightly drawn spot that the averaging fades is dust whatever its size (a lone spot and its group lost)",
        "sunpy_dlmag/drawings/spots.py",
        ' and row["n_pixels"] < (pen_width * radius) ** 2\n',
        "\n",
        ("tests/drawings/test_drawings_shapes.py",),
    ),
    Fault(
        "light-scan-not-levelled",
        "a faded or light scan is searched as it is (its pencil dots fall under the ink threshold)",
        "sunpy_dlmag/drawings/read.py",
        "    return max(1.0, LIGHTEST_BLACK / black) if black > 0 else 1.0\n",
        "    return 1.0\n",
        ("tests/drawings/test_drawings_shapes.py",),
    ),
    Fault(
        "soft-limb-at-fixed-depth",
        "a soft or faded limb line is read at the fixed limb ink depth (the form is refused)",
        "sunpy_dlmag/drawings/read.py",
        "    dark = depth > np.clip(line / 2, _DISK_INK_DEPTH / 2, _DISK_INK_DEPTH)\n",
        "    dark = depth > _DISK_INK_DEPTH\n",
        ("tests/drawings/test_drawings_real.py",),
    ),
)


def shared_data():
    for candidate in (os.environ.get("SUNPY_DLMAG_REAL_DATA"), ROOT.parent / "shared" / "data"):
        if candidate and Path(candidate).is_dir():
            return str(Path(candidate).resolve())
    return None


def copy_tree(dest):
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
    for name in ("sunpy_dlmag", "tests"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    for name in ("pyproject.toml", "setup.cfg", "tox.ini"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)


def plant(fault, dest, *, full, keep):
    """'caught', 'missed' or 'stale', with the seconds the tests took and the copy's folder."""
    target = dest / fault.path
    source = target.read_text()
    if source.count(fault.old) != 1:
        return "stale", 0.0, f"{fault.path}: the line to change occurs {source.count(fault.old)} times"
    target.write_text(source.replace(fault.old, fault.new))
    env = dict(os.environ, PYTHONPATH=str(dest), ORT_DISABLE_TELEMETRY="1")
    if shared_data():
        env["SUNPY_DLMAG_REAL_DATA"] = shared_data()
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
    command += ["tests"] if full else list(fault.tests)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=dest, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    target.write_text(source)
    last = (result.stdout.strip().splitlines() or [""])[-1]
    if result.returncode == 0:
        return "missed", seconds, last
    if result.returncode in (1, 2):  # failed tests, or the fault broke the import
        return "caught", seconds, last
    return "error", seconds, f"pytest exit {result.returncode}: {last}"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[1], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--list", action="store_true", help="list the faults and exit")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="plant only these faults")
    parser.add_argument("--full", action="store_true", help="run the whole suite for each fault")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    args = parser.parse_args(argv)
    faults = FAULTS
    if args.list:
        for fault in faults:
            print(f"{fault.name:28s} {fault.what}")
        return 0
    if args.only:
        unknown = set(args.only) - {f.name for f in faults}
        if unknown:
            parser.error(f"unknown fault(s) {sorted(unknown)}; --list shows them")
        faults = [f for f in faults if f.name in args.only]
    workdir = Path(tempfile.mkdtemp(prefix="sunpy_dlmag_faults_"))
    copy_tree(workdir)
    outcomes = []
    print(f"{'fault':28s} {'outcome':8s} {'s':>6s}  tests")
    for fault in faults:
        outcome, seconds, detail = plant(fault, workdir, full=args.full, keep=args.keep)
        outcomes.append(outcome)
        print(f"{fault.name:28s} {outcome:8s} {seconds:6.0f}  {detail}", flush=True)
    if args.keep:
        print(f"copy kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    bad = [o for o in outcomes if o != "caught"]
    print(f"{outcomes.count('caught')} of {len(outcomes)} faults caught" + (f"; {len(bad)} not" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
