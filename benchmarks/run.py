"""
Runtime benchmark of sunpy-dlmag: one command, every figure measured side by side.

    python benchmarks/run.py [--quick] [--json PATH]

Rows (see benchmarks/README.md):

a. onnxruntime (through ``load_model``) vs torch eager for the pix2pix U-Net generator
   (depth 8, 64 base filters, random weights) on one 1024x1024 image, 2 CPU threads.
b. tiled inference through ``Model.predict`` (512 px tiles, 64 px overlap) with a tile-safe
   convolutional network on 4096x4096 vs 1024x1024 images, and 4096x4096 run whole; time and
   peak memory (``ru_maxrss`` of a fresh child process per case).

The table is printed and written as JSON to ``benchmarks/results/runtime.json``.
"""

import os

# Before anything can import onnxruntime.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import peak_rss_mb, rusage_mb, timings, write_json

THREADS = 2
RESULTS = Path(__file__).parent / "results" / "runtime.json"

# Part a: the network and image.
UNET_DEPTH = 8
UNET_BASE_FILTERS = 64
UNET_SIZE = 1024
# Part b: the tile-safe network and the tiling.
CONV_WIDTHS = (32, 32)
CONV_LEVELS = 2
TILE_SIZE = 512
OVERLAP = 64
SMALL, LARGE = 1024, 4096


# --------------------------------------------------------------------------- helpers
def _spec(name, architecture, *, stride, receptive_radius, tile_safe):
    from sunpy_dlmag.models import Channel, Geometry, ModelSpec, Normalization

    norm = Normalization("linear", -3000.0, 3000.0, clip=True)
    return ModelSpec(
        name=name,
        task="benchmark",
        architecture=architecture,
        inputs=(Channel("HMI", None, "G", norm),),
        output=Channel("HMI", None, "G", norm),
        geometry=Geometry(stride=stride, receptive_radius=receptive_radius, tile_safe=tile_safe),
        training_data="none: random weights, for timing only",
    )


def _median_time(call, repeats, warmup):
    times = timings(call, repeats, warmup)
    return statistics.median(times), times


def _status_mb(key):
    """A memory figure of this process from /proc/self/status, MB (Linux; NaN elsewhere)."""
    try:
        with Path("/proc/self/status").open() as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _rss_mb():
    """Current resident set size of this process, MB."""
    return _status_mb("VmRSS")


# --------------------------------------------------------------------------- part a
def bench_unet(workdir, repeats, warmup):
    import torch

    from sunpy_dlmag.models import load_model
    from sunpy_dlmag.models.registry import write_spec_to_onnx
    from sunpy_dlmag.training import UNetGenerator, export_to_onnx

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    net = UNetGenerator(depth=UNET_DEPTH, base_filters=UNET_BASE_FILTERS).eval()
    path = Path(workdir) / "unet.onnx"
    start = time.perf_counter()
    export_diff = export_to_onnx(net, path, in_channels=1, example_size=256)
    export_s = time.perf_counter() - start
    import onnx

    from sunpy_dlmag.models.registry import onnx_opset

    opset = onnx_opset(onnx.load(str(path), load_external_data=False))
    architecture = f"pix2pix U-Net generator ({UNET_BASE_FILTERS} filters, {UNET_DEPTH} down), random weights"
    spec = _spec(
        "benchmark-unet",
        architecture,
        stride=net.stride,
        receptive_radius=net.receptive_radius,
        tile_safe=False,  # the receptive field spans most of a 1024 px image
    )
    write_spec_to_onnx(path, spec)
    model = load_model(path, device="cpu", num_threads=THREADS)

    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (1, 1, UNET_SIZE, UNET_SIZE)).astype(np.float32)
    xt = torch.from_numpy(x)
    out = {}

    def run_torch():
        with torch.inference_mode():
            out["torch"] = net(xt).numpy()

    def run_ort():
        out["ort"] = model.run(x)

    # Each engine gets its warm-up, then its repeats.
    t_torch, all_torch = _median_time(run_torch, repeats, warmup)
    t_ort, all_ort = _median_time(run_ort, repeats, warmup)
    diff = float(np.max(np.abs(out["torch"] - out["ort"])))
    n_params = sum(p.numel() for p in net.parameters())
    return {
        "parameters": n_params,
        "onnx_mb": path.stat().st_size / 2**20,
        "opset": opset,
        "export_s": export_s,
        "export_check_max_abs_diff_256": export_diff,
        "torch_s": t_torch,
        "onnxruntime_s": t_ort,
        "torch_all_s": all_torch,
        "onnxruntime_all_s": all_ort,
        "max_abs_diff_1024": diff,
        "torch_version": torch.__version__,
    }


# --------------------------------------------------------------------------- part b
def write_conv_network(workdir):
    from sunpy_dlmag.models.graphs import convolution_network
    from sunpy_dlmag.models.registry import write_spec_to_onnx

    path = Path(workdir) / "conv.onnx"
    radius = convolution_network(path, widths=CONV_WIDTHS, levels=CONV_LEVELS, seed=0)
    architecture = f"convolution_network(widths={CONV_WIDTHS}, levels={CONV_LEVELS}), random weights"
    spec = _spec("benchmark-conv", architecture, stride=2**CONV_LEVELS, receptive_radius=radius, tile_safe=True)
    write_spec_to_onnx(path, spec)
    return path, radius


def child_main(args):
    """Run in a fresh process: predict on one image size; report timings and memory as JSON on stdout."""

    from sunpy_dlmag.models import load_model
    from sunpy_dlmag.models.runtime import DEFAULT_BATCH_SIZE

    model = load_model(args.model, device="cpu", num_threads=THREADS)
    # Warm the session on a batch of tiles, so that the baseline holds the session and the
    # memory of one batch of tiles (what tiling needs whatever the image size). Twice: the
    # second run of a shape allocates onnxruntime's memory-pattern block on top of the arena.
    for _ in range(2):
        model.run(np.zeros((DEFAULT_BATCH_SIZE, 1, TILE_SIZE, TILE_SIZE), np.float32))
    baseline_mb = _rss_mb()
    baseline_peak_mb = peak_rss_mb()
    rng = np.random.default_rng(2)
    image = rng.normal(0.0, 300.0, (args.size, args.size)).astype(np.float32)
    times = []
    for _ in range(args.warmup + args.repeats):
        start = time.perf_counter()
        result = model.predict(image, tile_size=args.tile, overlap=args.overlap)
        times.append(time.perf_counter() - start)
        if result.shape != image.shape or not np.isfinite(result).all():
            raise RuntimeError(f"predict returned shape {result.shape} or non-finite values")
        del result
    print(
        json.dumps(
            {
                "seconds": statistics.median(times[args.warmup :]),
                "all_seconds": times,
                "baseline_rss_mb": baseline_mb,
                "baseline_peak_mb": baseline_peak_mb,
                "self_peak_mb": peak_rss_mb(),
                "vmhwm_mb": _status_mb("VmHWM"),
            }
        )
    )


def run_child(model_path, size, tile, overlap, *, repeats, warmup):
    """Start a child for one case; its own ru_maxrss comes from wait4 on that child alone."""
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--model",
        str(model_path),
        "--size",
        str(size),
        "--tile",
        str(tile),
        "--overlap",
        str(overlap),
        "--repeats",
        str(repeats),
        "--warmup",
        str(warmup),
    ]
    with tempfile.TemporaryFile("w+") as errors:
        parent_mb = _rss_mb()
        # Not communicate()/wait(): they reap the child, and wait4 must do that to get its rusage.
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, text=True)
        stdout = proc.stdout.read()
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"Benchmark child {cmd} failed ({proc.returncode}):\n{errors.read()}")
    report = json.loads(stdout.strip().splitlines()[-1])
    report["peak_rss_mb"] = rusage_mb(usage.ru_maxrss)
    report["parent_rss_at_start_mb"] = parent_mb
    if parent_mb > 0.9 * report["baseline_rss_mb"]:
        print(f"warning: this process ({parent_mb:.0f} MB) may dominate the child's ru_maxrss", file=sys.stderr)
    report["above_baseline_mb"] = report["peak_rss_mb"] - report["baseline_rss_mb"]
    report["image_mb"] = size * size * 4 / 2**20
    return report


def check_tiles_match(model_path):
    """Max abs difference, tiled vs whole, on a 1024x1024 image (same model, this process)."""
    from sunpy_dlmag.models import load_model

    model = load_model(model_path, device="cpu", num_threads=THREADS)
    image = np.random.default_rng(3).normal(0.0, 300.0, (SMALL, SMALL)).astype(np.float32)
    tiled = model.predict(image, tile_size=TILE_SIZE, overlap=OVERLAP)
    whole = model.predict(image, tile_size=SMALL)
    return float(np.max(np.abs(tiled - whole))), float(np.max(np.abs(whole)))


# --------------------------------------------------------------------------- table
def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 0.01:
        return f"{value:.3g}"
    return f"{value:.2e}"


def print_table(rows):
    header = ("what", "value A", "value B", "ratio")
    cells = [header] + [(r["what"], _fmt(r["a"]), _fmt(r["b"]), _fmt(r["ratio"])) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    for k, line in enumerate(cells):
        print("  ".join(part.ljust(widths[i]) if i == 0 else part.rjust(widths[i]) for i, part in enumerate(line)))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def row(what, a, b=None, ratio=None, note=""):
    if ratio is None and a is not None and b:
        ratio = a / b
    return {"what": what, "a": a, "b": b, "ratio": ratio, "note": note}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (1 warm-up, 2 timed)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the JSON (default {RESULTS})")
    # Internal: one memory-measurement case in a child process.
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tile", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--overlap", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args)

    repeats, warmup = (2, 1) if args.quick else (5, 1)
    wall = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sunpy_dlmag_bench_") as workdir:
        # Part b first, while this process is small: a child's ru_maxrss counts the RSS of
        # the parent it was forked from (Linux carries the pre-exec high-water mark over), so
        # the children must start before torch and the U-Net are loaded here.
        # Each case in a fresh process. Tiled cases: warm calls (the first calls of a session
        # are slower); the whole-image case: one cold call, as a user would make it.
        conv_path, radius = write_conv_network(workdir)
        tiled_repeats = 1 if args.quick else 3
        small = run_child(conv_path, SMALL, TILE_SIZE, OVERLAP, repeats=tiled_repeats, warmup=2)
        large = run_child(conv_path, LARGE, TILE_SIZE, OVERLAP, repeats=tiled_repeats, warmup=1)
        whole = run_child(conv_path, LARGE, LARGE, 0, repeats=1, warmup=0)
        tile_diff, tile_scale = check_tiles_match(conv_path)
        # Part a.
        unet = bench_unet(workdir, repeats, warmup)

    px = (LARGE / SMALL) ** 2
    rows = [
        row(
            f"a. U-Net {UNET_SIZE}x{UNET_SIZE} median latency [s]: A torch eager, B onnxruntime; ratio A/B",
            unet["torch_s"],
            unet["onnxruntime_s"],
        ),
        row(
            f"a. U-Net {UNET_SIZE}x{UNET_SIZE} max |torch - onnxruntime| (outputs in [-1, 1])",
            unet["max_abs_diff_1024"],
        ),
        row(
            f"b. tiled predict time, warm [s]: A {LARGE}x{LARGE}, B {SMALL}x{SMALL}; ratio A/B (pixels x{px:.0f})",
            large["seconds"],
            small["seconds"],
        ),
        row(
            f"b. tiled predict peak RSS [MB]: A {LARGE}x{LARGE}, B {SMALL}x{SMALL}; ratio A/B",
            large["peak_rss_mb"],
            small["peak_rss_mb"],
        ),
        row(
            "b. tiled peak RSS above warm baseline (session + tile batch) [MB]: A 4096, B 1024; ratio A/B",
            large["above_baseline_mb"],
            small["above_baseline_mb"],
        ),
        row(
            "b. the same in float32 image copies (MB / image MB): A 4096, B 1024; ratio A/B",
            large["above_baseline_mb"] / large["image_mb"],
            small["above_baseline_mb"] / small["image_mb"],
        ),
        row(
            "b. tiled peak RSS growth 1024->4096 [MB]: A measured, B one float32 image (64-4 MB); ratio = image copies",
            large["peak_rss_mb"] - small["peak_rss_mb"],
            large["image_mb"] - small["image_mb"],
        ),
        row(
            f"b. {LARGE}x{LARGE} peak RSS [MB]: A tiled, B whole image; ratio A/B",
            large["peak_rss_mb"],
            whole["peak_rss_mb"],
        ),
        row(
            f"b. {LARGE}x{LARGE} first predict in a fresh process [s]: A tiled, B whole image; ratio A/B",
            large["all_seconds"][0],
            whole["seconds"],
        ),
        row(
            f"b. {SMALL}x{SMALL} max |tiled - whole| (A), max |whole| (B) [G]",
            tile_diff,
            tile_scale,
        ),
    ]
    wall = time.perf_counter() - wall
    print(
        f"sunpy-dlmag runtime benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{THREADS} threads; torch {unet['torch_version']}; U-Net {unet['parameters'] / 1e6:.1f} M parameters "
        f"(depth {UNET_DEPTH}, {UNET_BASE_FILTERS} base filters), ONNX opset {unet['opset']}, "
        f"{unet['onnx_mb']:.0f} MB; median of {repeats} after {warmup} warm-up; conv network receptive "
        f"radius {radius} px, tiles {TILE_SIZE} px, overlap {OVERLAP} px"
    )
    print()
    print_table(rows)
    print()
    print(f"wall time {wall:.1f} s")

    import onnxruntime

    result = {
        "rows": rows,
        "unet": unet,
        "tiled": {"small": small, "large": large, "whole_large": whole},
        "settings": {
            "threads": THREADS,
            "repeats": repeats,
            "warmup": warmup,
            "unet_depth": UNET_DEPTH,
            "unet_base_filters": UNET_BASE_FILTERS,
            "unet_size": UNET_SIZE,
            "conv_widths": CONV_WIDTHS,
            "conv_levels": CONV_LEVELS,
            "conv_receptive_radius": radius,
            "tile_size": TILE_SIZE,
            "overlap": OVERLAP,
            "sizes": [SMALL, LARGE],
        },
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "numpy": np.__version__,
            "onnxruntime": onnxruntime.__version__,
            "torch": unet["torch_version"],
        },
        "wall_s": wall,
    }
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
