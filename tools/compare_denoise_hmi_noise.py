"""
Compare HMI denoising networks trained on white noise and on the measured HMI noise model.

    python tools/compare_denoise_hmi_noise.py denoise-m2-hmi RUN/denoise-m2-hmi-candidate.onnx \
        --json comparison.json

Each network (a registered name or an ONNX file) is run, one pass, on the held-out northern
half of each HMI 720-s full disk (tools/hmi_denoise_data.py) in three cases, with the same
noise for every network:

- ``white``: Gaussian white noise of sigma 10 G, the level of single 45-s magnetograms;
- ``model``: noise of 10 G at disk centre drawn from the measured noise model
  (tools/hmi_noise_model.json; ``--white-fraction`` of its variance white, 0.7 by default,
  the mix that makes the white-noise network behave as on a real 45-s magnetogram), growing
  towards the limb as measured: the realistic case;
- ``real``: the 720-s original as it is, nothing added (its own noise, 4-6 G at disk centre);

and on the held-out HMI cutout of AR 11101 as it is. Scores (tools/evaluate_denoise_hmi.py):
noise level (Gaussian fit to the quiet-Sun histogram core) at disk centre and near the limb,
rms error against the original, strong-field flux change, AR CC, residual CC; and the lag-1
correlation (mean of x and y) over the quiet Sun at disk centre of the added noise, of what
the network removed (input - output) and of the error it left (output - original). A network
that removes only pixel-scale noise removes something whiter than the noise and leaves a
correlated error; one that also removes the correlated part removes something as correlated
as the noise.
"""

import argparse
import json
from pathlib import Path

import numpy as np
from evaluate_denoise_hmi import REGIONS, TILING, added_noise, cutout_scores, field_scores, mu_of, noise_scores
from hmi_denoise_data import FULL_DISKS, full_disk_map, held_out_magnetograms, held_out_rows
from scipy import ndimage

from sunpy_dlmag.denoise import quiet_sun_mask
from sunpy_dlmag.models import load_model
from sunpy_dlmag.training.noise_model import lag_correlation


def lag1(values, mask):
    corr = lag_correlation(values - np.nanmean(values[mask]), mask, max_lag=1)
    return round(0.5 * (corr["x"][0] + corr["y"][0]), 3)


def noisy_versions(original, mu, i, white_fraction):
    white, model = (added_noise(kind, original.shape, mu, i, white_fraction) for kind in ("white", "model"))
    return {"white": original + white, "model": original + model, "real": original}


def case_scores(original, noisy, output, quiet, mu, inland, centre):
    real = noisy is original
    scores = noise_scores(original, noisy, output, quiet, mu)
    if real:  # no truth: only the noise levels mean something
        scores = {
            region: {k: v for k, v in s.items() if k.startswith("noise_") and "720s" not in k}
            for region, s in scores.items()
        }
    scores |= field_scores(original, output, noisy, inland)
    scores["lag1_removed"] = lag1(noisy - output, centre)
    if real:
        scores["lag1_input_high_passed"] = lag1(noisy - ndimage.gaussian_filter(np.nan_to_num(noisy), 4), centre)
    else:
        scores["lag1_added_noise"] = lag1(noisy - original, centre)
        scores["lag1_left_error"] = lag1(output - original, centre)
    return scores


def compare(models, white_fraction=0.7, dates=tuple(FULL_DISKS)):
    nets = {str(m): load_model(m, device="cpu") for m in models}
    results = {"models": {name: net.sha256 for name, net in nets.items()}, "white_fraction": white_fraction}
    for i, date in enumerate(FULL_DISKS):
        if date not in dates:
            continue
        smap = full_disk_map(date)
        rows = held_out_rows()
        original = smap.data[rows].astype(np.float32)
        mu = mu_of(smap, rows)
        inland = np.nan_to_num(mu) >= 0.1
        quiet = quiet_sun_mask(original)
        centre = quiet & (np.nan_to_num(mu) >= REGIONS["centre"][0])
        for case, noisy in noisy_versions(original, mu, i, white_fraction).items():
            for name, net in nets.items():
                output = net.predict_array(noisy, **TILING)
                key = f"{date} northern half, {case}"
                scores = case_scores(original, noisy, output, quiet & np.isfinite(output), mu, inland, centre)
                results.setdefault(key, {})[name] = scores
                print(json.dumps({key: {name: scores}}), flush=True)
    hmi = held_out_magnetograms()["HMI 720-s AR 11101 cutout 2010-08-30"]
    quiet = ~ndimage.binary_dilation(np.abs(hmi) > 50, iterations=5)
    for name, net in nets.items():
        scores = cutout_scores(net)
        scores["lag1_removed"] = lag1(hmi - net.predict_array(hmi), quiet)
        results.setdefault("AR 11101 cutout, real", {})[name] = scores
    results["AR 11101 cutout, real"]["lag1_input_high_passed"] = lag1(hmi - ndimage.gaussian_filter(hmi, 4), quiet)
    return results


def table(results):
    """Plain-text rows: case, model, noise in -> out (centre, limb), rms error, flux, AR CC, residual CC, lag-1."""
    lines = []
    for key, per_model in results.items():
        if not isinstance(per_model, dict) or key == "models":
            continue
        for name, s in per_model.items():
            if not isinstance(s, dict):
                continue
            if "centre" in s:
                c, lb = s["centre"], s["limb"]
                noise = f"{c['noise_input_G']:.2f}->{c['noise_output_G']:.2f} (x{c['noise_reduction']:.2f})"
                limb = f"{lb['noise_input_G']:.2f}->{lb['noise_output_G']:.2f}"
                rms = f"{c['rms_error_output_G']:.2f}" if "rms_error_output_G" in c else "-"
            else:
                noise, limb, rms = f"{s['noise_input_G']:.2f}->{s['noise_output_G']:.2f}", "-", "-"
            lags = "/".join(str(s.get(k, "-")) for k in ("lag1_removed", "lag1_left_error"))
            lines.append(
                f"{key:38s} {Path(name).stem[:22]:22s} {noise:24s} {limb:14s} {rms:6s} "
                f"{s['strong_flux_change_percent']:+6.2f}% {s['ar_pixel_cc']:.3f} "
                f"{s['residual_vs_smoothed_cc']:+.3f} {lags}"
            )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--white-fraction", type=float, default=0.7)
    parser.add_argument("--dates", nargs="*", default=list(FULL_DISKS))
    parser.add_argument("--json")
    args = parser.parse_args()
    results = compare(args.models, args.white_fraction, tuple(args.dates))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
