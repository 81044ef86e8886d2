"""
Farside benchmark: end-to-end ``farside_magnetogram`` at 1024x1024 on 2 CPU cores with an
AISFM-v2-sized network, onnxruntime vs torch eager, and the preprocessing time.

    python benchmarks/farside.py [--quick] [--json PATH]

Needs the training extra (torch) for the network and the torch row. The network is the
generator of the ``aisfm-v2`` preset (Pix2PixHD global generator: 32 base filters, 4
down-samplings, 9 residual blocks, instance norm; 3 input channels) with random weights,
exported with ``export_to_onnx`` and the preset's spec (1024 px model frame, solar radius
392 px): the figures are about speed and memory, not science.

The inputs are the real STEREO-A/EUVI 171 image of 2011-02-15 (128 px, bundled with the
package) upsampled to 1024 px (and to 2048 px, EUVI's own size) and relabelled 304 and 195
for the other two channels, cross-calibrated with the packaged 171 factor and, for the two
relabelled channels, a factor of 1 (timing only).

Rows (each size end to end in a fresh child process, for its peak memory):

- *network, one 1024 px image*: A = torch eager (``torch.inference_mode``), B = onnxruntime
  (``Model.run``), each in its own process, after one warm-up call; their peak RSS; and the
  largest difference of the two outputs (tanh range [-1, 1]);
- *preprocessing*: checks, exposure normalisation, cross-calibration and the model frame of the
  three channels (``sunpy_dlmag.farside._prepare``), inputs of 1024 and 2048 px;
- *network with normalisation*: ``Model.predict_array`` on the model-frame stack;
- *back to the input grid*: the output map from the network's output (``_finish``: resampling to
  the input's grid, NaN off the disk, provenance), inputs of 1024 and 2048 px;
- *end to end*: ``farside_magnetogram``, inputs of 1024 and 2048 px;
- *peak RSS* of the child process that runs it (onnxruntime only, torch never imported).

Every time is the fastest of the repeats (3, or 1 with ``--quick``): on a shared machine the
fastest run is the least disturbed one; all the times are in the JSON. The table is printed and
written as JSON to ``benchmarks/results/farside.json``.
"""

import os

# Before anything can import onnxruntime.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import child_json, peak_rss_mb, print_ab_table, resized_map, timings, write_json

THREADS = 2
RESULTS = Path(__file__).parent / "results" / "farside.json"
SIZES = (1024, 2048)


def _best_time(call, repeats, warmup=1):
    """Fastest of ``repeats`` calls after ``warmup`` calls, and all the times."""
    times = timings(call, repeats, warmup)
    return min(times), times


# --------------------------------------------------------------------------- inputs
def euvi_inputs(size):
    """The real EUVI-A 171 image upsampled to ``size`` px, and copies relabelled 304 and 195."""
    import copy
    import warnings

    import sunpy.map

    from sunpy_dlmag.data.sample import EUVI_171

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        euvi = resized_map(sunpy.map.Map(EUVI_171), size)
    meta = copy.deepcopy(euvi.meta)
    meta.pop("blank", None)
    maps = []
    for wavelength in (304, 195, 171):
        m = copy.deepcopy(meta)
        m["wavelnth"] = wavelength
        maps.append(sunpy.map.Map(euvi.data, m))
    return maps


def calibrations():
    import astropy.units as u

    from sunpy_dlmag.calibration import Calibration, get_calibration

    timing_only = [
        Calibration("STEREO_A", w * u.AA, a * u.AA, scale=1.0, method="timing only")
        for w, a in ((304, 304), (195, 193))
    ]
    return [*timing_only, get_calibration("STEREO_A", 171 * u.AA)]


# --------------------------------------------------------------------------- children
def export_main(workdir):
    """Build the aisfm-v2 generator with random weights; write its ONNX and state dict."""
    import torch

    from sunpy_dlmag.training import export_to_onnx
    from sunpy_dlmag.training.presets import get_preset

    torch.manual_seed(0)
    preset = get_preset("aisfm-v2")
    net = preset.build_generator().eval()
    path = Path(workdir) / "aisfm-v2-random.onnx"
    spec = preset.model_spec(training_data="none: random weights, for timing only", version="benchmark")
    start = time.perf_counter()
    diff = export_to_onnx(net, path, in_channels=3, example_size=256, spec=spec)
    torch.save(net.state_dict(), Path(workdir) / "aisfm-v2-random.pt")
    n_params = sum(p.numel() for p in net.parameters())
    print(
        json.dumps({"export_s": time.perf_counter() - start, "export_max_abs_diff_256": diff, "parameters": n_params})
    )


def end_to_end_main(model_path, size, repeats):
    """In a fresh process: preprocessing, network, output map and end-to-end times for one input size."""
    import astropy.units as u

    from sunpy_dlmag.farside import _finish, _prepare, farside_magnetogram
    from sunpy_dlmag.models import load_model

    model = load_model(model_path, device="cpu", num_threads=THREADS)
    maps = euvi_inputs(size)
    cals = calibrations()

    def prepare():
        return _prepare(maps, model.spec, reference=None, calibrate=cals, time_tolerance=1 * u.h)

    first_start = time.perf_counter()
    out = farside_magnetogram(maps, model=model, calibrate=cals)
    first_s = time.perf_counter() - first_start
    if out.data.shape != maps[0].data.shape:
        raise RuntimeError(f"output of shape {out.data.shape} for inputs of {maps[0].data.shape}")
    prepared = prepare()
    frame_out = model.predict_array(prepared.stack)
    prepare_s, prepare_all = _best_time(prepare, repeats, warmup=0)
    network_s, network_all = _best_time(lambda: model.predict_array(prepared.stack), repeats, warmup=0)
    finish_s, finish_all = _best_time(lambda: _finish(frame_out, prepared, model), repeats, warmup=0)
    total_s, total_all = _best_time(lambda: farside_magnetogram(maps, model=model, calibrate=cals), repeats, 0)
    print(
        json.dumps(
            {
                "size": size,
                "first_call_s": first_s,
                "prepare_s": prepare_s,
                "network_s": network_s,
                "finish_s": finish_s,
                "total_s": total_s,
                "prepare_all_s": prepare_all,
                "network_all_s": network_all,
                "finish_all_s": finish_all,
                "total_all_s": total_all,
                "finite_fraction": float(np.isfinite(out.data).mean()),
                "peak_mb": peak_rss_mb(),
            }
        )
    )


def run_child(*args):
    return child_json(__file__, "--child", *args)


# --------------------------------------------------------------------------- torch vs onnxruntime
def network_main(engine, workdir, repeats):
    """In a fresh process (no other engine's threads around): one engine on one 1024 px image."""
    x = np.random.default_rng(1).uniform(-1, 1, (1, 3, 1024, 1024)).astype(np.float32)
    out = {}
    if engine == "torch":
        import torch

        from sunpy_dlmag.training.presets import get_preset

        torch.set_num_threads(THREADS)
        net = get_preset("aisfm-v2").build_generator().eval()
        net.load_state_dict(torch.load(Path(workdir) / "aisfm-v2-random.pt", weights_only=True))
        xt = torch.from_numpy(x)

        def call():
            with torch.inference_mode():
                out["y"] = net(xt).numpy()

        version = torch.__version__
    else:
        import onnxruntime

        from sunpy_dlmag.models import load_model

        model = load_model(Path(workdir) / "aisfm-v2-random.onnx", device="cpu", num_threads=THREADS)

        def call():
            out["y"] = model.run(x)

        version = onnxruntime.__version__
    seconds, times = _best_time(call, repeats)
    np.save(Path(workdir) / f"{engine}.npy", out["y"])
    print(json.dumps({"seconds": seconds, "all_s": times, "version": version, "peak_mb": peak_rss_mb()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one repeat per figure, 1024 px only")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the results (default {RESULTS})")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child[0] == "export":
            export_main(args.child[1])
        elif args.child[0] == "network":
            network_main(args.child[1], args.child[2], int(args.child[3]))
        else:
            end_to_end_main(args.child[1], int(args.child[2]), int(args.child[3]))
        return

    repeats = 1 if args.quick else 3
    sizes = SIZES[:1] if args.quick else SIZES
    with tempfile.TemporaryDirectory() as workdir:
        export = run_child("export", workdir)
        onnx_path = Path(workdir) / "aisfm-v2-random.onnx"
        # Every measurement in its own process: no engine's idle threads compete with another's.
        runs = {size: run_child("run", onnx_path, size, repeats) for size in sizes}
        engines = {engine: run_child("network", engine, workdir, repeats) for engine in ("onnxruntime", "torch")}
        difference = float(
            np.max(np.abs(np.load(Path(workdir) / "torch.npy") - np.load(Path(workdir) / "onnxruntime.npy")))
        )
        network = {
            "torch_s": engines["torch"]["seconds"],
            "onnxruntime_s": engines["onnxruntime"]["seconds"],
            "torch_all_s": engines["torch"]["all_s"],
            "onnxruntime_all_s": engines["onnxruntime"]["all_s"],
            "torch_peak_mb": engines["torch"]["peak_mb"],
            "onnxruntime_peak_mb": engines["onnxruntime"]["peak_mb"],
            "max_abs_diff_1024": difference,
            "torch_version": engines["torch"]["version"],
        }

    import onnxruntime

    rows = [
        ("network, 1024 px [s]: A torch eager, B onnxruntime", network["torch_s"], network["onnxruntime_s"]),
        (
            "network, 1024 px peak RSS [MB]: A torch eager, B onnxruntime",
            network["torch_peak_mb"],
            network["onnxruntime_peak_mb"],
        ),
        ("max |torch - onnxruntime| (network units)", network["max_abs_diff_1024"], None),
    ]
    for size, run in runs.items():
        rows += [
            (f"preprocessing, {size} px inputs [s]", run["prepare_s"], None),
            (f"network with normalisation, {size} px inputs [s]", run["network_s"], None),
            (f"back to the input grid, mask, provenance, {size} px [s]", run["finish_s"], None),
            (f"farside_magnetogram end to end, {size} px [s]", run["total_s"], None),
            (f"peak RSS, {size} px end to end [MB]", run["peak_mb"], None),
        ]
    print(
        f"sunpy-dlmag farside benchmark; {export['parameters'] / 1e6:.1f} M parameter aisfm-v2 generator "
        f"(random weights); {os.cpu_count()} CPUs, {THREADS} threads"
    )
    print_ab_table(rows, width=58)
    record = {
        "rows": [{"what": what, "A": a, "B": b} for what, a, b in rows],
        "export": export,
        "network": network,
        "end_to_end": runs,
        "threads": THREADS,
        "repeats": repeats,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "onnxruntime": onnxruntime.__version__,
            "torch": network["torch_version"],
        },
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    write_json(args.json, record)


if __name__ == "__main__":
    main()
