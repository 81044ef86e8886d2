"""
Time ``denoise(uncertainty=True)`` on a 4096-px HMI full disk against a single pass.

    python tools/time_denoise_uncertainty.py [--json timing.json]

Runs on the 2016-07-07 HMI 720-s full disk (4096 x 4096, ../shared/data): ``denoise`` with
one pass (``sign_symmetric=False``), then with ``uncertainty=True`` (the default
``sign_symmetric=True``: 9 passes, the 8 rotations and flips and one on -B), each after a
warm-up on a small crop, and prints the wall and CPU times (all threads of the process) and
their ratios. The ratios, not the times, carry to other machines (the passes are alike); on a
machine shared with other jobs the wall time follows their load, so the CPU-time ratio is the
measure.
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import astropy.units as u
from hmi_denoise_data import full_disk_map

import sunpy_dlmag
from sunpy_dlmag.models import load_model


def timed(call):
    """Wall and CPU seconds of ``call()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return round(time.perf_counter() - wall, 1), round(time.process_time() - cpu, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json")
    args = parser.parse_args()
    smap = full_disk_map("2016-07-07")
    net = load_model("denoise-m2-hmi", device="cpu")
    crop = smap.submap([1792, 1792] * u.pix, top_right=[2047, 2047] * u.pix)
    sunpy_dlmag.denoise(crop, model=net, progress=False)  # warm-up: sessions and memory
    single = timed(lambda: sunpy_dlmag.denoise(smap, model=net, sign_symmetric=False, progress=False))
    default = timed(lambda: sunpy_dlmag.denoise(smap, model=net, progress=False))
    ensemble = timed(lambda: sunpy_dlmag.denoise(smap, model=net, uncertainty=True, progress=False))
    result = {
        "map": f"HMI 720-s 2016-07-07, {smap.data.shape[0]} x {smap.data.shape[1]}",
        "cpu": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "wall_s": {"single_pass": single[0], "default_sign_symmetric": default[0], "uncertainty": ensemble[0]},
        "cpu_s": {"single_pass": single[1], "default_sign_symmetric": default[1], "uncertainty": ensemble[1]},
        "cpu_uncertainty_over_single_pass": round(ensemble[1] / single[1], 2),
        "cpu_uncertainty_over_default": round(ensemble[1] / default[1], 2),
        "cpu_default_over_single_pass": round(default[1] / single[1], 2),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
