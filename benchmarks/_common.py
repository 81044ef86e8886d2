"""What the benchmark scripts share: timing, peak memory, the A/B table and the JSON record."""

import json
import resource
import sys
import time


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
