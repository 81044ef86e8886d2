"""
Evaluate denoising weights on the held-out real magnetograms (see tools/denoise_data.py).

    python tools/evaluate_denoise.py MODEL.onnx [--figure denoise.png] [--json scores.json]

Measures what issue 4 and the model card ask for, side by side with a Gaussian and a
median filter tuned to the same noise reduction:
- the noise level (Gaussian fit to the quiet-Sun histogram core) before and after;
- the change of the total unsigned flux of pixels above 100 G;
- the pixel CC between input and output in the active region (128x128 px);
- the CC between the removed residual and the smoothed field;
- what an ideal denoiser would score on the flux change, because selecting pixels by the noisy
  input's |B| > 100 G favours pixels that noise has lifted.
"""

import argparse
import json
from pathlib import Path

import astropy.units as u
import numpy as np
from denoise_data import MDI_GAP, MDI_SPLIT_ROW, bin2, held_out_magnetograms, mdi_map
from evaluate_denoise_hmi import calibration
from scipy import ndimage

import sunpy.map

from sunpy_dlmag import denoise, noise_level
from sunpy_dlmag.denoise import quiet_sun_mask, symmetry_ensemble
from sunpy_dlmag.metrics import pixel_area_on_sphere
from sunpy_dlmag.models import load_model

STRONG = 100.0  # G


def active_region_box(data, size=128):
    """The size x size box centred on the strongest smoothed |B|."""
    strength = ndimage.uniform_filter(np.abs(np.nan_to_num(data)), 15)
    y, x = np.unravel_index(np.argmax(strength), data.shape)
    y = int(np.clip(y, size // 2, data.shape[0] - size // 2))
    x = int(np.clip(x, size // 2, data.shape[1] - size // 2))
    return np.s_[y - size // 2 : y + size // 2, x - size // 2 : x + size // 2]


def flux_change_percent(before, after, area, selected):
    """Change (%) of the total unsigned flux from ``before`` to ``after`` over the ``selected`` pixels."""
    flux_before = np.nansum(np.abs(before[selected]) * area[selected])
    flux_after = np.nansum(np.abs(after[selected]) * area[selected])
    return 100 * (flux_after - flux_before) / flux_before


def scores(original, cleaned, area, quiet):
    """The issue's measures for one held-out image (arrays in G; area per pixel)."""
    strong = (np.abs(original) > STRONG) & np.isfinite(cleaned)
    box = active_region_box(original)
    a, b = original[box].ravel(), cleaned[box].ravel()
    ok = np.isfinite(a) & np.isfinite(b)
    residual = original - cleaned
    smooth = ndimage.gaussian_filter(np.nan_to_num(original), 3)
    finite = np.isfinite(residual)
    return {
        "noise_G": round(float(noise_level(cleaned, region=quiet).to_value(u.G)), 2),
        "strong_flux_change_percent": round(float(flux_change_percent(original, cleaned, area, strong)), 2),
        "ar_pixel_cc": round(float(np.corrcoef(a[ok], b[ok])[0, 1]), 4),
        "residual_vs_smoothed_cc": round(float(np.corrcoef(residual[finite], smooth[finite])[0, 1]), 4),
    }


def ideal_flux_change(cleaned, input_noise, output_noise, area, repeats=10, seed=0):
    """
    The flux change (%) of a perfect denoiser, from the selection of pixels alone.

    The network's output stands in for the true field; Gaussian noise brings it back to the
    input's noise level, and the pixels above ``STRONG`` in that noisy copy are selected as in
    `scores`. Mean over ``repeats`` noise draws.
    """
    rng = np.random.default_rng(seed)
    sigma = np.sqrt(input_noise**2 - output_noise**2)
    changes = []
    for _ in range(repeats):
        noisy = cleaned + rng.normal(0, sigma, cleaned.shape)
        strong = (np.abs(noisy) > STRONG) & np.isfinite(noisy)
        changes.append(flux_change_percent(noisy, cleaned, area, strong))
    return round(float(np.mean(changes)), 2)


def gaussian_filtered(data, sigma):
    filled = np.nan_to_num(data)
    out = ndimage.gaussian_filter(filled, sigma)
    return np.where(np.isfinite(data), out, np.nan)


def median_filtered(data, size):
    out = ndimage.median_filter(np.nan_to_num(data), size=size)
    return np.where(np.isfinite(data), out, np.nan)


def tune_gaussian(data, quiet, target):
    """Sigma (px) whose Gaussian filter brings the noise level to ``target`` G (bisection)."""
    lo, hi = 0.05, 5.0
    for _ in range(25):
        mid = 0.5 * (lo + hi)
        if noise_level(gaussian_filtered(data, mid), region=quiet).to_value(u.G) > target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def tune_median(data, quiet, target):
    """The odd median size whose noise level is closest to ``target`` G."""
    best = None
    for size in (3, 5, 7, 9):
        level = noise_level(median_filtered(data, size), region=quiet).to_value(u.G)
        if best is None or abs(level - target) < abs(best[1] - target):
            best = (size, level)
    return best[0]


def evaluate(model_path, figure=None):
    model = load_model(model_path, device="cpu")
    mdi = mdi_map()
    cleaned_map = denoise(mdi, model=model)
    south = np.s_[: MDI_SPLIT_ROW - MDI_GAP // 2]
    original = mdi.data[south].astype(np.float32)
    cleaned = cleaned_map.data[south]
    area = pixel_area_on_sphere(mdi).to_value(u.cm**2)[south]
    quiet_full = quiet_sun_mask(mdi)
    quiet = quiet_full[south]

    results = {"model": str(model_path), "sha256": model.sha256}
    noise_in = noise_level(original, region=quiet).to_value(u.G)
    mdi_scores = {"input_noise_G": round(float(noise_in), 2), "network": scores(original, cleaned, area, quiet)}
    target = mdi_scores["network"]["noise_G"]
    mdi_scores["ideal_denoiser_strong_flux_change_percent"] = ideal_flux_change(cleaned, noise_in, target, area)
    sigma = tune_gaussian(original, quiet, target)
    size = tune_median(original, quiet, target)
    mdi_scores[f"gaussian_sigma_{sigma:.2f}px"] = scores(original, gaussian_filtered(original, sigma), area, quiet)
    mdi_scores[f"median_{size}px"] = scores(original, median_filtered(original, size), area, quiet)
    results["MDI 2010-10-15 southern half (held out)"] = mdi_scores

    hmi = held_out_magnetograms()["HMI 720-s AR 11101 cutout 2010-08-30"]
    hmi_clean = model.predict_array(hmi)
    flat = np.ones_like(hmi)
    hmi_quiet = ~ndimage.binary_dilation(np.abs(hmi) > 50, iterations=5)
    hmi_scores = {"input_noise_G": round(float(noise_level(hmi, region=hmi_quiet).to_value(u.G)), 2)}
    hmi_scores["network"] = scores(hmi, hmi_clean, flat, hmi_quiet)
    hmi_sigma = tune_gaussian(hmi, hmi_quiet, hmi_scores["network"]["noise_G"])
    hmi_scores[f"gaussian_sigma_{hmi_sigma:.2f}px"] = scores(hmi, gaussian_filtered(hmi, hmi_sigma), flat, hmi_quiet)
    results["HMI 720-s AR 11101 cutout (held out)"] = hmi_scores
    results["uncertainty_calibration"] = uncertainty_calibration(model)
    if figure:
        make_figure(mdi, cleaned_map, quiet_full, figure)
    return results


def uncertainty_calibration(model, sigma=12.0, seed=0):
    """
    How well the spread over the 8 rotations and flips predicts the error (see `sunpy_dlmag.denoise`).

    The held-out southern half binned 2x2 (noise about 7 G, like the training targets) plus
    Gaussian noise of ``sigma`` G, judged against the binned original.
    """
    truth = bin2(mdi_map().data[: MDI_SPLIT_ROW - MDI_GAP // 2].astype(np.float32))
    noisy = truth + np.random.default_rng(seed).normal(0, sigma, truth.shape).astype(np.float32)
    mean, spread = symmetry_ensemble(model, noisy)
    single = model.predict_array(noisy)
    finite = np.isfinite(mean) & np.isfinite(truth)
    quiet = quiet_sun_mask(truth) & finite
    samples = np.stack([(mean - truth)[finite], spread[finite], np.abs(truth[finite]), np.abs(mean[finite])])
    return {
        "data": f"MDI southern half, 2x2 binned, + {sigma:g} G Gaussian noise",
        "rms_error_single_pass_G": round(float(np.sqrt(np.mean((single - truth)[quiet] ** 2))), 3),
        "rms_error_symmetry_mean_G": round(float(np.sqrt(np.mean((mean - truth)[quiet] ** 2))), 3),
    } | calibration(samples)


def make_figure(mdi, cleaned, quiet, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from astropy.visualization import ImageNormalize

    residual = sunpy.map.Map(mdi.data - cleaned.data, cleaned.meta)
    fig = plt.figure(figsize=(16, 4.6), layout="constrained")
    norm = ImageNormalize(vmin=-150, vmax=150)
    box = [(-700, -800), (500, -100)]  # arcsec: the southern active region
    panels = [(mdi, "MDI input"), (cleaned, "denoise-m2 output"), (residual, "removed (input - output)")]
    for i, (m, title) in enumerate(panels, start=1):
        sub = m.submap(_coord(m, *box[0]), top_right=_coord(m, *box[1]))
        ax = fig.add_subplot(1, 4, i, projection=sub)
        sub.plot(axes=ax, cmap="gray", norm=norm, title=title)
    ax = fig.add_subplot(1, 4, 4)
    bins = np.arange(-60, 61, 1)
    for data, label in ((mdi.data, "input"), (cleaned.data, "output")):
        sigma = noise_level(data, region=quiet).to_value(u.G)
        ax.hist(data[quiet], bins=bins, histtype="step", label=f"{label}: sigma {sigma:.1f} G")
    ax.set_xlabel("B_LOS [G] (quiet Sun)")
    ax.set_ylabel("pixels")
    ax.legend()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _coord(m, x, y):
    from astropy.coordinates import SkyCoord

    return SkyCoord(x * u.arcsec, y * u.arcsec, frame=m.coordinate_frame)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--figure")
    parser.add_argument("--json")
    args = parser.parse_args()
    results = evaluate(args.model, figure=args.figure)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
