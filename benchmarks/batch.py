"""
Batch denoising benchmark: throughput of ``run_batch("denoise", ...)`` with 1 and 2 Dask workers.

    python benchmarks/batch.py [--files 8] [--json PATH]

The inputs are copies of the package's real 1024x1024 SOHO/MDI magnetogram, denoised with
the shipped ``denoise-m2`` weights on the CPU. Each configuration runs on a fresh
``distributed.LocalCluster`` (worker processes with one thread each, onnxruntime with one
thread per task: what ``run_batch`` starts by default).

Rows:
- *warm throughput*: files per second of ``run_batch`` on a cluster whose workers have already
  imported the package and created their onnxruntime session (one warm-up file per worker);
  median of ``--repeats`` runs (``overwrite=True``); A = 2 workers, B = 1 worker. The ratio
  is the scaling; 2 is ideal on 2 free cores.
- *worker CPU time per file*: CPU seconds the workers spent (all their threads) during the
  timed warm runs, per file. Unlike wall times it does not depend on what else runs on the
  machine; a ratio near 1 means two workers do the same work per file as one (no
  contention between them), so throughput grows with the free cores.
- *end to end*: wall time of one ``run_batch(..., workers=N)`` call as a user makes it: start
  the cluster, import the package and load the network on each worker, process the files,
  stop the cluster; A = 1 worker, B = 2 workers.
- *per file on a warm worker*: median seconds per file inside the task (read, denoise, write),
  as the manifest records it; A = 2 workers, B = 1 worker (> 1: the workers compete for
  memory bandwidth or for cores used by other processes).
- *without Dask*: the same files denoised one after the other in this process with
  ``process_file`` (same work per file; median of ``--repeats`` passes after a warm-up file),
  onnxruntime with A = 1 thread and B = 2 threads;
  against the warm 1-worker and 2-worker rows this is Dask's overhead, and processes against
  threads.
- *peak memory per worker*: ``ru_maxrss`` of each worker process after the run.
- *CPU taken by other processes*: during the timed warm runs, the CPU time of the whole
  machine (``/proc/stat``) minus that of the workers and of this process (which holds the
  scheduler), divided by the wall time: how many cores were not free for the benchmark. On a
  shared machine, 2 workers can only scale to about 2 minus this.

Results are printed and written as JSON to ``benchmarks/results/batch.json``.
"""

import os

# Before anything can import onnxruntime.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

import argparse
import platform
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from _common import print_ab_table, write_json

RESULTS = Path(__file__).parent / "results" / "batch.json"


def _cpu_s():
    """CPU seconds this process has used."""
    times = os.times()
    return times.user + times.system


def _machine_busy_s():
    """CPU seconds all processes of the machine have used (Linux /proc/stat; NaN elsewhere)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _worker_peak_mb():
    # Runs on a Dask worker, which has not imported this script's helpers.
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _inputs(workdir, n_files):
    from sunpy_dlmag.data.sample import MDI_MAGNETOGRAM

    folder = Path(workdir) / "inputs"
    folder.mkdir()
    for i in range(n_files):
        shutil.copyfile(MDI_MAGNETOGRAM, folder / f"mdi_{i:03d}.fits")
    warmup = Path(workdir) / "warmup.fits"
    shutil.copyfile(MDI_MAGNETOGRAM, warmup)
    return folder, warmup


def _warm_up(path):
    from sunpy_dlmag.batch import process_file

    process_file("denoise", path, Path(tempfile.mkdtemp()) / "warm.fits", device="cpu", num_threads=1)


def warm_run(n_workers, inputs, warmup, out, repeats):
    """Throughput on workers that have already denoised one file each."""
    import distributed

    from sunpy_dlmag.batch import run_batch

    with (
        distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        # Every worker denoises one file, as a task would (same session: cpu, 1 thread).
        client.run(_warm_up, str(warmup))
        walls = []
        workers_cpu = -sum(client.run(_cpu_s).values())
        ours = workers_cpu - _cpu_s()
        busy = -_machine_busy_s()
        for _ in range(repeats):
            start = time.perf_counter()
            table = run_batch(
                "denoise", inputs, out / "warm", client=client, device="cpu", progress=False, overwrite=True
            )
            walls.append(time.perf_counter() - start)
        busy += _machine_busy_s()
        workers_now = sum(client.run(_cpu_s).values())
        workers_cpu += workers_now
        ours += workers_now + _cpu_s()
        wall = statistics.median(walls)
        peaks = list(client.run(_worker_peak_mb).values())
    # CPU that other processes of the machine took while the timed runs ran, in cores.
    others = max(0.0, busy - ours) / sum(walls)
    cpu_per_file = workers_cpu / (repeats * len(table))
    return table, wall, peaks, others, cpu_per_file


def cold_run(n_workers, inputs, out):
    from sunpy_dlmag.batch import run_batch

    start = time.perf_counter()
    table = run_batch("denoise", inputs, out / "cold", workers=n_workers, device="cpu", progress=False)
    return table, time.perf_counter() - start


def serial_run(inputs, out, threads, repeats):
    from sunpy_dlmag.batch import find_inputs, output_path, process_file

    files = find_inputs(inputs)
    # Warm: the first file creates the session.
    process_file("denoise", files[0], out / f"serial{threads}" / "warm.fits", device="cpu", num_threads=threads)
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        for path in files:
            output = output_path("denoise", path, out / f"serial{threads}")
            process_file("denoise", path, output, device="cpu", num_threads=threads, overwrite=True)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=8, help="number of 1024x1024 magnetograms (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each warm case; the median counts")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the results (default {RESULTS})")
    args = parser.parse_args(argv)
    # The bundled MDI header uses deprecated CTYPE values; sunpy warns on every read.
    warnings.simplefilter("ignore")

    total = time.perf_counter()
    result = {"files": args.files}
    with tempfile.TemporaryDirectory(prefix="sunpy_dlmag_batch_bench_") as workdir:
        inputs, warmup = _inputs(workdir, args.files)
        for n in (1, 2):
            out = Path(workdir) / f"out{n}"
            table, wall, peaks, others, cpu_per_file = warm_run(n, inputs, warmup, out, args.repeats)
            if table.meta["ok"] != args.files:
                raise RuntimeError(f"warm run with {n} workers: {table.meta['summary']}")
            cold, cold_wall = cold_run(n, inputs, out)
            if cold.meta["ok"] != args.files:
                raise RuntimeError(f"cold run with {n} workers: {cold.meta['summary']}")
            result[f"workers_{n}"] = {
                "warm_wall_s": wall,
                "warm_files_per_s": args.files / wall,
                "warm_per_file_s": [float(s) for s in table["seconds"].value],
                "warm_per_file_median_s": statistics.median(table["seconds"].value),
                "cold_wall_s": cold_wall,
                "worker_peak_rss_mb": peaks,
                "other_processes_cores": others,
                "worker_cpu_per_file_s": cpu_per_file,
            }
        for threads in (1, 2):
            wall = serial_run(inputs, Path(workdir), threads, args.repeats)
            result[f"serial_threads_{threads}"] = {"wall_s": wall, "files_per_s": args.files / wall}

    one, two = result["workers_1"], result["workers_2"]
    s1, s2 = result["serial_threads_1"], result["serial_threads_2"]
    rows = [
        ("warm throughput [files/s]: A 2 workers, B 1 worker", two["warm_files_per_s"], one["warm_files_per_s"]),
        (
            "worker CPU time per file, warm [s]: A 2 workers, B 1 worker",
            two["worker_cpu_per_file_s"],
            one["worker_cpu_per_file_s"],
        ),
        ("end to end, cluster start included [s]: A 1 worker, B 2 workers", one["cold_wall_s"], two["cold_wall_s"]),
        (
            "per file on a warm worker, median [s]: A 2 workers, B 1 worker",
            two["warm_per_file_median_s"],
            one["warm_per_file_median_s"],
        ),
        ("without Dask, 1 thread [files/s]: A serial, B 1 warm worker", s1["files_per_s"], one["warm_files_per_s"]),
        ("without Dask, 2 threads [files/s]: A serial, B 2 warm workers", s2["files_per_s"], two["warm_files_per_s"]),
        (
            "peak memory per worker [MB]: A 2 workers (max), B 1 worker",
            max(two["worker_peak_rss_mb"]),
            max(one["worker_peak_rss_mb"]),
        ),
        (
            "CPU taken by other processes during the warm runs [cores]: A 2 workers, B 1 worker",
            two["other_processes_cores"],
            one["other_processes_cores"],
        ),
    ]
    result["rows"] = [{"what": what, "A": a, "B": b, "ratio": a / b if b else None} for what, a, b in rows]
    total = time.perf_counter() - total

    import dask
    import onnxruntime

    result["environment"] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "dask": dask.__version__,
        "onnxruntime": onnxruntime.__version__,
        "load_average": os.getloadavg(),
    }
    result["wall_s"] = total
    print(
        f"sunpy-dlmag batch benchmark: {args.files} x SOHO/MDI 1024x1024, denoise-m2 on the CPU; "
        f"{os.cpu_count()} CPUs, dask {dask.__version__}, onnxruntime {onnxruntime.__version__}"
    )
    print_ab_table(rows, width=84)
    print(f"wall time {total:.0f} s")
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
