"""What the benchmark scripts share: timing, peak memory, the A/B table and the JSON record."""

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def timings(call, repeats, warmup=1):
    """Wall times in seconds of ``repeats`` calls of ``call()``, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def alternating_timings(call_a, call_b, repeats):
    """
    Times of ``repeats`` rounds of ``call_a()`` then ``call_b()``, and the last result of each.

    Alternating makes a drift in a shared machine's load hit both alike.
    """
    times_a, times_b = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        result_a = call_a()
        times_a.append(time.perf_counter() - start)
        start = time.perf_counter()
        result_b = call_b()
        times_b.append(time.perf_counter() - start)
    return times_a, times_b, result_a, result_b


def child_json(*argv):
    """
    Run ``python *argv`` in a fresh process (its own peak memory) and return the JSON of its last
    line of output. The child can import this module.
    """
    path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, *map(str, argv)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": path},
    )
    if result.returncode:
        shown = [str(a) for a in argv if "\n" not in str(a)]  # not the code of a -c child
        raise RuntimeError(f"benchmark child {shown} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def resized_map(smap, size):
    """
    ``smap`` resampled to ``size`` x ``size`` pixels over the same field of view (NaN kept), for a
    full-disk map of another instrument's image size, e.g. 1024-px MDI as 4096-px HMI.
    """
    import numpy as np
    from scipy import ndimage

    import sunpy.map

    if size == smap.data.shape[0]:
        return smap
    factor = size / smap.data.shape[0]
    data = ndimage.zoom(np.nan_to_num(smap.data), factor, order=1)
    data[ndimage.zoom(np.isnan(smap.data).astype(np.uint8), factor, order=0).astype(bool)] = np.nan
    meta = smap.meta.copy()
    meta["cdelt1"] /= factor
    meta["cdelt2"] /= factor
    meta["crpix1"] = (meta["crpix1"] - 0.5) * factor + 0.5
    meta["crpix2"] = (meta["crpix2"] - 0.5) * factor + 0.5
    return sunpy.map.Map(data.astype(np.float32), meta)


def rusage_mb(maxrss):
    """``ru_maxrss`` in MB: it counts kilobytes on Linux and bytes on macOS."""
    return maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def peak_rss_mb():
    """Peak resident memory of this process so far, MB."""
    return rusage_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def print_ab_table(rows, width=52):
    """Print ``(what, A, B)`` rows with the ratio A/B where B is given."""
    print(f"{'what':<{width}} {'A':>10} {'B':>10} {'A/B':>8}")
    for what, a, b in rows:
        ratio = f"{a / b:8.2f}" if b else ""
        b_text = f"{b:10.3g}" if b is not None else ""
        print(f"{what:<{width}} {a:10.3g} {b_text:>10} {ratio}")


def write_json(path, record):
    """Write the run's record where the script was asked to, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2))
    print(f"written {path}")
