"""
Evaluate HMI denoising weights on the held-out halves of the real HMI 720-s full disks.

    python tools/evaluate_denoise_hmi.py [MODEL] [--json scores.json] [--figures DIR]

MODEL is a registered name or an ONNX file (default ``denoise-m2-hmi``). On the northern
half of each disk (never trained on, see tools/hmi_denoise_data.py) Gaussian noise of
sigma 10 G is added, the level of single 45-s HMI magnetograms (Liu et al. 2012), and the
output is judged against the 720-s original:

- noise level (Gaussian fit to the quiet-Sun histogram core) of input, output and original,
  at disk centre (mu >= 0.9) and near the limb (0.3 <= mu < 0.5), and the rms error
  against the original in the same pixels;
- change of the unsigned flux of the pixels above 100 G in the original; AR pixel CC
  (see `active_region_box`) and, for comparison with earlier scores, the CC in the 128-px
  box around the strongest feature; CC of the removed residual with the smoothed field; the
  same for a Gaussian and a median filter tuned to the network's noise level at disk centre;
- what the AR box holds (flux, strongest field) and the CC ceiling that the 720-s
  original's own noise sets there: the CC of a perfect denoiser, sqrt(1 - s**2 / var) with
  s the original's noise level at disk centre and var the original's variance in the box;
- the same flux, CC and residual measures when the 720-s original itself is denoised;
- on 512-px crops at disk centre and near the limb: the mean and spread of the network
  over the 8 rotations and flips (`sunpy_dlmag.denoise.symmetry_ensemble`), the fraction
  of pixels whose error lies within 1 spread, by field strength, the calibration factor
  that makes it 68.3 %, and whether the symmetry mean lowers the noise;
- with ``--radial``, in bins of the distance from disk centre out to 1.0 R: the mean change
  (output - input) of the 720-s original itself, one pass and sign-symmetric (as
  ``denoise`` runs), on the 1024 held-out rows nearest the equator (both limbs), and the
  coverage of the calibrated uncertainty (``denoise(uncertainty=True)``) on the 256 rows
  nearest the equator with the added noise (``--radial-only``: these alone, with white and
  with model noise, and the calibration that ``sunpy_dlmag.denoise`` ships for the model).

``--radial-only --calibrate model`` measures that calibration instead (the factors of
``_SPREAD_CALIBRATION``): on the 256 held-out rows next to the coverage rows (other pixels, and
other noise), inside 0.95 R, with noise drawn from the model, as ``denoise(uncertainty=True)``
runs; the coverage rows then check it, and each disk is also checked with factors measured on
the other two. With ``--figures`` it draws the coverage by field strength and by radius.

``--noise model`` draws the added noise from the measured HMI noise model instead
(tools/hmi_noise_model.json: 10 G at disk centre, growing towards the limb, ``--white-fraction``
of its variance white; see the model card), the realistic case.
"""

import argparse
import itertools
import json
from pathlib import Path

import astropy.units as u
import numpy as np
from hmi_denoise_data import FULL_DISKS, full_disk_map, held_out_magnetograms, held_out_rows
from scipy import ndimage

from sunpy_dlmag import disk as disk_geometry
from sunpy_dlmag import noise_level
from sunpy_dlmag.denoise import quiet_sun_mask, symmetry_ensemble
from sunpy_dlmag.disk import disk_radius_fraction
from sunpy_dlmag.models import load_model
from sunpy_dlmag.training.noise_model import NoiseModel

ADDED_SIGMA = 10.0  # G, single 45-s HMI magnetograms
STRONG = 100.0  # G
REGIONS = {"centre": (0.9, 1.01), "limb": (0.3, 0.5)}
# The package's own tiling: the grid that computes the fewest pixels (the network is tile-safe, so
# the result is the whole image's, and 1024-px tiles with 384-px margins recompute far more pixels).
TILING = {}
CROP = 512
AR_BOX = 512  # px: 256", the papers' AR patch
ONE_SIGMA = 0.6827
STRENGTH_BINS = (0, 20, 50, 100, 300, 1000, np.inf)
RADIAL_EDGES = (0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 1.0)
# Held-out rows nearest the equator (the half ends at row 2032): the strip reaches 1.0 R at both limbs.
BIAS_ROWS = np.s_[1008:2032]
COVERAGE_ROWS = np.s_[1776:2032]
# The uncertainty is calibrated on the 256 rows next to these (from 0.14 R out to both limbs),
# inside 0.95 R: beyond it the spread of the 8 copies grows faster than the error.
CALIBRATION_ROWS = np.s_[1520:1776]
CALIBRATION_MAX_RHO = 0.95
SPREAD_QUANTILES = (0, 0.2, 0.4, 0.6, 0.8, 0.95, 1)
NOISE_MODEL = Path(__file__).with_name("hmi_noise_model.json")


def added_noise(kind, shape, mu, index, white_fraction=0.7, seed=0):
    """The noise added to held-out half ``index``: ``"white"`` Gaussian or drawn from the ``"model"``."""
    if kind == "white":
        return np.random.default_rng(seed + index).normal(0, ADDED_SIGMA, shape).astype(np.float32)
    model = NoiseModel(NOISE_MODEL, white_fraction=white_fraction)
    return model.draw(shape, np.random.default_rng(seed + 100 + index), ADDED_SIGMA, mu=mu)


def mu_of(smap, rows):
    """Cosine of the heliocentric angle of each pixel in ``rows`` of the map (NaN off the disk)."""
    from astropy.coordinates import SkyCoord

    centre = smap.wcs.world_to_pixel(SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=smap.coordinate_frame))
    ys = np.arange(smap.data.shape[0])[rows]
    xs = np.arange(smap.data.shape[1])
    radius = (smap.rsun_obs / smap.scale[0]).to_value(u.pix)
    r = np.hypot(xs[np.newaxis, :] - float(centre[0]), ys[:, np.newaxis] - float(centre[1])) / radius
    with np.errstate(invalid="ignore"):
        return np.where(r < 1, np.sqrt(np.clip(1 - r**2, 0, 1)), np.nan).astype(np.float32)


def _centred_box(strength, size):
    size = min(size, *strength.shape)  # a cutout smaller than the box: all of it
    y, x = np.unravel_index(np.argmax(strength), strength.shape)
    y = int(np.clip(y, size // 2, strength.shape[0] - size // 2))
    x = int(np.clip(x, size // 2, strength.shape[1] - size // 2))
    return np.s_[y - size // 2 : y + size // 2, x - size // 2 : x + size // 2]


def active_region_box(data, size=AR_BOX):
    """
    The AR patch: the ``size``-px box (NaN counted as 0) holding the most unsigned field.

    The papers' AR patches are 128 px of the ~2"/px 1024-px full disk (SCIENCE.md), 256" on
    a side, as are the 128-px boxes of the MDI evaluation (tools/evaluate_denoise.py): 512
    HMI pixels. A 128-px HMI box (64") around the strongest feature holds a single pore or
    network element on a quiet disk.
    """
    return _centred_box(ndimage.uniform_filter(np.abs(np.nan_to_num(data)), size, mode="constant"), size)


def strongest_feature_box(data, size=128):
    """The ``size``-px box around the strongest |B| smoothed over 15 px (the AR box of the first scores)."""
    return _centred_box(ndimage.uniform_filter(np.abs(np.nan_to_num(data)), 15), size)


def box_cc(original, output, box):
    a, b = original[box].ravel(), output[box].ravel()
    ok = np.isfinite(a) & np.isfinite(b)
    return round(float(np.corrcoef(a[ok], b[ok])[0, 1]), 4)


def ar_box_contents(original, area, noise, inland):
    """Where the AR box lies, what it holds, and the CC ceiling set by the original's ``noise`` (G)."""
    out = {}
    for name, box in (
        ("ar_box_512px", active_region_box(np.where(inland, original, np.nan))),
        ("strongest_feature_box_128px", strongest_feature_box(np.where(inland, original, np.nan))),
    ):
        data = np.where(inland[box], original[box], np.nan)
        strong = np.abs(np.nan_to_num(data)) > STRONG
        var = float(np.nanvar(data))
        out[name] = {
            "first_row_col": [box[0].start, box[1].start],
            "unsigned_flux_above_100G_Mx": float(f"{np.nansum(np.abs(data[strong]) * area[box][strong]):.3g}"),
            "max_abs_B_G": round(float(np.nanmax(np.abs(data))), 1),
            "pixels_above_1kG": int(np.sum(np.abs(np.nan_to_num(data)) > 1000)),
            "std_G": round(var**0.5, 2),
            "cc_ceiling_from_720s_noise": round(float(np.sqrt(max(0.0, 1 - noise**2 / var))), 4),
        }
    return out


def gaussian_filtered(data, sigma):
    return np.where(np.isfinite(data), ndimage.gaussian_filter(np.nan_to_num(data), sigma), np.nan)


def median_filtered(data, size):
    return np.where(np.isfinite(data), ndimage.median_filter(np.nan_to_num(data), size=size), np.nan)


def level(data, mask):
    return float(noise_level(data, region=mask).to_value(u.G))


def tune_gaussian(data, mask, target):
    lo, hi = 0.05, 5.0
    for _ in range(20):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if level(gaussian_filtered(data, mid), mask) > target else (lo, mid)
    return 0.5 * (lo + hi)


def tune_median(data, mask, target):
    levels = {size: level(median_filtered(data, size), mask) for size in (3, 5, 7)}
    return min(levels, key=lambda s: abs(levels[s] - target))


def field_scores(original, output, noisy, inland):
    """Flux, AR CC and residual CC of ``output`` against the original (``inland``: mu >= 0.1)."""
    strong = (np.abs(original) > STRONG) & np.isfinite(output) & inland
    flux_in = np.abs(original[strong]).sum()
    masked = np.where(inland, original, np.nan)
    residual = noisy - output
    smooth = ndimage.gaussian_filter(np.nan_to_num(noisy), 3)
    finite = np.isfinite(residual) & inland
    return {
        "strong_flux_change_percent": round(float(100 * (np.abs(output[strong]).sum() / flux_in - 1)), 2),
        "ar_pixel_cc": box_cc(original, output, active_region_box(masked)),
        "strongest_feature_128px_cc": box_cc(original, output, strongest_feature_box(masked)),
        "residual_vs_smoothed_cc": round(float(np.corrcoef(residual[finite], smooth[finite])[0, 1]), 4),
    }


def noise_scores(original, noisy, output, quiet, mu):
    out = {}
    for region, (lo, hi) in REGIONS.items():
        mask = quiet & (mu >= lo) & (mu < hi)
        n_in, n_out = level(noisy, mask), level(output, mask)
        rms_in = float(np.sqrt(np.nanmean((noisy - original)[mask] ** 2)))
        rms_out = float(np.sqrt(np.nanmean((output - original)[mask] ** 2)))
        out[region] = {
            "noise_input_G": round(n_in, 2),
            "noise_output_G": round(n_out, 2),
            "noise_720s_original_G": round(level(original, mask), 2),
            "noise_reduction": round(n_in / n_out, 2),
            "rms_error_input_G": round(rms_in, 2),
            "rms_error_output_G": round(rms_out, 2),
            "error_reduction": round(rms_in / rms_out, 2),
        }
    return out


def crops(mu):
    """Top-left corners of a 512-px crop at disk centre and one near the limb (east), in the held-out rows."""
    rows, cols = mu.shape
    centre = (rows - CROP, cols // 2 - CROP // 2)
    limb_cols = np.nanargmin(np.where(mu[rows - CROP // 2] >= 0.3, mu[rows - CROP // 2], np.nan))
    limb = (rows - CROP, int(np.clip(limb_cols - CROP // 2, 0, cols - CROP)))
    return {"centre": centre, "limb": limb}


def uncertainty_samples(net, original, noisy, mu):
    """Errors, spreads and field strengths on the crops, and the single-pass vs symmetry-mean noise."""
    samples, means = [], {}
    for region, (r, c) in crops(mu).items():
        window = np.s_[r : r + CROP, c : c + CROP]
        x, truth = noisy[window], original[window]
        single = net.predict_array(x)
        mean, spread = symmetry_ensemble(net, x)
        finite = np.isfinite(mean) & np.isfinite(truth)
        quiet = quiet_sun_mask(truth) & finite
        means[region] = {
            "rms_error_single_pass_G": round(float(np.sqrt(np.mean((single - truth)[quiet] ** 2))), 3),
            "rms_error_symmetry_mean_G": round(float(np.sqrt(np.mean((mean - truth)[quiet] ** 2))), 3),
            "noise_single_pass_G": round(level(single, quiet), 3),
            "noise_symmetry_mean_G": round(level(mean, quiet), 3),
            "median_spread_G": round(float(np.median(spread[finite])), 3),
        }
        samples.append(np.stack([(mean - truth)[finite], spread[finite], np.abs(truth[finite]), np.abs(mean[finite])]))
    return np.concatenate(samples, axis=1), means


def calibration(samples):
    """
    Calibration of the symmetry spread: factors by field strength of the output, and coverage.

    For each bin of the output's |B| the factor is the 68.3 % quantile of |error| / spread, so
    that 68.3 % of the pixels lie within factor x spread; `sunpy_dlmag.denoise` interpolates
    the factors in log10(|B| + 1). Coverage is then checked in bins of the true |B|.
    """
    error, spread, truth, output = samples
    ratio = np.abs(error) / np.maximum(spread, 1e-6)
    nodes, factors = [], []
    for lo, hi in itertools.pairwise(STRENGTH_BINS):
        sel = (output >= lo) & (output < hi)
        if sel.sum() < 50:
            continue
        nodes.append(round(float(np.median(output[sel])), 1))
        factors.append(round(float(np.quantile(ratio[sel], ONE_SIGMA)), 2))
    factor = np.interp(np.log10(output + 1), np.log10(np.array(nodes) + 1), factors)
    table = []
    for lo, hi in itertools.pairwise(STRENGTH_BINS):
        sel = (truth >= lo) & (truth < hi)
        if sel.sum() < 20:
            continue
        table.append(
            {
                "field_G": f"{lo:g}-{hi:g}",
                "pixels": int(sel.sum()),
                "within_1_spread": round(float(np.mean(ratio[sel] <= 1)), 3),
                "within_1_sigma_calibrated": round(float(np.mean(ratio[sel] <= factor[sel])), 3),
                "rms_error_G": round(float(np.sqrt(np.mean(error[sel] ** 2))), 2),
                "rms_sigma_calibrated_G": round(float(np.sqrt(np.mean((factor[sel] * spread[sel]) ** 2))), 2),
            }
        )
    return {
        "nodes_G": nodes,
        "factors": factors,
        "within_1_spread": round(float(np.mean(ratio <= 1)), 3),
        "within_1_sigma_calibrated": round(float(np.mean(ratio <= factor)), 3),
        "by_true_field": table,
    }


def evaluate(model, figures=None, seed=0, noise="white", white_fraction=0.7, radial=False):
    net = load_model(model, device="cpu")
    results = {"model": str(model), "sha256": net.sha256, "added_noise_sigma_G": ADDED_SIGMA, "noise": noise}
    if noise == "model":
        results["noise_white_fraction"] = white_fraction
    all_samples, figure_data = [], {}
    totals = {}
    for i, date in enumerate(FULL_DISKS):
        smap = full_disk_map(date)
        rows = held_out_rows()
        original = smap.data[rows].astype(np.float32)
        mu = mu_of(smap, rows)
        inland = np.nan_to_num(mu) >= 0.1
        noisy = original + added_noise(noise, original.shape, mu, i, white_fraction, seed)
        output = net.predict_array(noisy, **TILING)
        quiet = quiet_sun_mask(original) & np.isfinite(output)
        disk = {"noise": noise_scores(original, noisy, output, quiet, mu)}
        centre = quiet & (mu >= REGIONS["centre"][0])
        target = disk["noise"]["centre"]["noise_output_G"]
        sigma = tune_gaussian(noisy, centre, target)
        size = tune_median(noisy, centre, target)
        gauss, median = gaussian_filtered(noisy, sigma), median_filtered(noisy, size)
        disk["network"] = field_scores(original, output, noisy, inland)
        area = disk_geometry.pixel_area(smap).to_value(u.cm**2)[rows]
        disk["active_region_box"] = ar_box_contents(
            original, area, disk["noise"]["centre"]["noise_720s_original_G"], inland
        )
        disk[f"gaussian_sigma_{sigma:.2f}px"] = {"noise_centre_G": round(level(gauss, centre), 2)} | field_scores(
            original, gauss, noisy, inland
        )
        disk[f"median_{size}px"] = {"noise_centre_G": round(level(median, centre), 2)} | field_scores(
            original, median, noisy, inland
        )
        clean_in = net.predict_array(original, **TILING)
        disk["720s original denoised"] = {"noise_centre_G": round(level(clean_in, centre), 2)} | field_scores(
            original, clean_in, original, inland
        )
        strong = (np.abs(original) > STRONG) & inland & np.isfinite(output)
        for name, data in (("original", original), ("network", output), ("gaussian", gauss), ("median", median)):
            totals[name] = totals.get(name, 0.0) + float(np.abs(data[strong]).sum())
        samples, sym = uncertainty_samples(net, original, noisy, mu)
        disk["symmetry_mean_vs_single_pass"] = sym
        all_samples.append(samples)
        results[f"HMI 720-s {date} northern half (held out)"] = disk
        figure_data[date] = (original, noisy, output, gauss, median, quiet, mu)
        print(json.dumps({date: disk}), flush=True)
    results["strong_flux_change_percent_all_disks"] = {
        name: round(100 * (totals[name] / totals["original"] - 1), 2) for name in ("network", "gaussian", "median")
    }
    results["uncertainty_calibration"] = calibration(np.concatenate(all_samples, axis=1))
    if radial:
        cal = results["uncertainty_calibration"]
        results["radial"] = radial_scores(net, cal["nodes_G"], cal["factors"], (noise,), white_fraction, seed)
    results["HMI 720-s AR 11101 cutout (held out)"] = cutout_scores(net)
    if figures:
        make_figures(results, figure_data, Path(figures), net.spec.name)
    return results


def radial_bias(net, smap):
    """Mean change (output - input) of the 720-s original in radial bins, one pass and sign-symmetric."""
    data = smap.data[BIAS_ROWS].astype(np.float32)
    rho = disk_radius_fraction(smap)[0][BIAS_ROWS]
    single = net.predict_array(data)
    symmetric = 0.5 * (single - net.predict_array(-data))
    out = []
    for lo, hi in itertools.pairwise(RADIAL_EDGES):
        sel = (rho >= lo) & (rho < hi) & np.isfinite(data)
        out.append(
            {
                "rho": f"{lo:g}-{hi:g}",
                "pixels": int(sel.sum()),
                "mean_change_single_pass_G": round(float(np.mean((single - data)[sel])), 2),
                "mean_change_sign_symmetric_G": round(float(np.mean((symmetric - data)[sel])), 2),
                "rms_change_sign_symmetric_G": round(float(np.sqrt(np.mean((symmetric - data)[sel] ** 2))), 2),
            }
        )
    return out


def radial_scores(net, nodes, factors, noises=("white",), white_fraction=0.7, seed=0, ensembles=None):
    """
    Per held-out half: `radial_bias` of the 720-s original, and for each kind of added noise the
    coverage of the uncertainty calibrated with ``nodes`` and ``factors`` on the 256 held-out
    rows nearest the equator (`radial_coverage`; ``ensembles``: their `strip_ensemble` by date
    and noise, where already run).
    """
    out = {}
    for i, date in enumerate(FULL_DISKS):
        out[date] = {"bias_of_720s_original": radial_bias(net, full_disk_map(date))}
        for kind in noises:
            if ensembles is None:
                ensemble = strip_ensemble(net, i, COVERAGE_ROWS, kind, white_fraction, seed)
            else:
                ensemble = ensembles[date][kind]
            out[date][f"coverage_{kind}_noise"] = radial_coverage(*ensemble, nodes, factors)
        print(json.dumps({date: out[date]}), flush=True)
    return out


def strip_ensemble(net, index, strip, kind, white_fraction=0.7, seed=0):
    """
    ``denoise(uncertainty=True)`` on rows ``strip`` of held-out half ``index`` with added noise ``kind``.

    Returns the 720-s original, the distance of each pixel from disk centre (R), and the mean
    (sign-symmetric) and raw spread of the 8 symmetric copies.
    """
    smap = full_disk_map(list(FULL_DISKS)[index])
    rows = held_out_rows()
    truth = smap.data[rows][strip].astype(np.float32)
    mu = mu_of(smap, rows)[strip]
    rho = disk_radius_fraction(smap)[0][rows][strip]
    noisy = truth + added_noise(kind, truth.shape, mu, index, white_fraction, seed)
    mean, spread = symmetry_ensemble(net, noisy, sign_symmetric=True, progress=False)
    return truth, rho, mean, spread


def ensemble_samples(truth, rho, mean, spread, max_rho=CALIBRATION_MAX_RHO):
    """The error, spread, true and output ``|B|`` of the finite pixels inside ``max_rho`` (`calibration`'s input)."""
    ok = np.isfinite(mean) & np.isfinite(truth) & np.isfinite(spread) & (rho < max_rho)
    return np.stack([(mean - truth)[ok], spread[ok], np.abs(truth[ok]), np.abs(mean[ok])])


def calibrate_radial(net, kind="model", white_fraction=0.7):
    """
    The spread calibration measured on `CALIBRATION_ROWS` with noise ``kind``, checked on `COVERAGE_ROWS`.

    The calibration rows get other noise (seed 1) than the coverage rows (seed 0). Returns the
    calibration of all three halves together (`calibration`), the factors measured on two
    halves with the coverage of the third (model noise), the coverage by spread
    (`coverage_by_spread`) and in active regions (`active_region_coverage`), and the strips'
    ensembles for the checks.
    """
    calibration_samples, checks = [], {}
    for i, date in enumerate(FULL_DISKS):
        calibration_samples.append(ensemble_samples(*strip_ensemble(net, i, CALIBRATION_ROWS, kind, white_fraction, 1)))
        checks[date] = {k: strip_ensemble(net, i, COVERAGE_ROWS, k, white_fraction, 0) for k in ("white", "model")}
    result = {
        "noise": kind,
        "rows": f"{CALIBRATION_ROWS.start}-{CALIBRATION_ROWS.stop}",
        "max_rho": CALIBRATION_MAX_RHO,
    }
    result |= calibration(np.concatenate(calibration_samples, axis=1))
    result["each_disk_with_the_other_two"] = {}
    for i, date in enumerate(FULL_DISKS):
        others = calibration(np.concatenate([c for j, c in enumerate(calibration_samples) if j != i], axis=1))
        result["each_disk_with_the_other_two"][date] = {
            "nodes_G": others["nodes_G"],
            "factors": others["factors"],
            "coverage_model_noise": radial_coverage(*checks[date]["model"], others["nodes_G"], others["factors"]),
        }
    result["coverage_by_spread_model_noise"] = {
        date: coverage_by_spread(*checks[date]["model"], result["nodes_G"], result["factors"]) for date in FULL_DISKS
    }
    result["active_regions"] = active_region_coverage(net, result["nodes_G"], result["factors"], white_fraction)
    return result, checks


def coverage_by_spread(truth, rho, mean, spread, nodes, factors):
    """Coverage and rms error by quantile of the spread, in bins of the output's ``|B|``: what the spread adds."""
    error, spread, _, output = ensemble_samples(truth, rho, mean, spread)
    error = np.abs(error)
    within = error <= spread * np.interp(np.log10(output + 1), np.log10(np.array(nodes) + 1), factors)
    out = {}
    for lo, hi in ((0, 20), (20, 100), (100, np.inf)):
        sel = (output >= lo) & (output < hi)
        edges = np.quantile(spread[sel], SPREAD_QUANTILES)
        rows = []
        for (qa, a), (qb, b) in itertools.pairwise(zip(SPREAD_QUANTILES, edges, strict=True)):
            part = sel & (spread >= a) & (spread <= b)
            rows.append(
                {
                    "spread_quantiles": f"{qa:g}-{qb:g}",
                    "spread_G": f"{a:.2f}-{b:.2f}",
                    "within_1_sigma": round(float(np.mean(within[part])), 3),
                    "rms_error_G": round(float(np.sqrt(np.mean(error[part] ** 2))), 2),
                }
            )
        out[f"output {lo:g}-{hi:g} G"] = rows
    return out


def active_region_coverage(net, nodes, factors, white_fraction=0.7):
    """
    Coverage of the calibrated sigma in the AR box of each held-out half (`active_region_box`,
    mu >= 0.1) and on the AR 11101 cutout (noise at its disk-centre level), white and model noise.
    """
    out = {}
    cases = []
    for i, date in enumerate(FULL_DISKS):
        smap = full_disk_map(date)
        original = smap.data[held_out_rows()].astype(np.float32)
        mu = mu_of(smap, held_out_rows())
        box = active_region_box(np.where(np.nan_to_num(mu) >= 0.1, original, np.nan))
        cases.append((f"{date} AR box, rows {box[0].start}-{box[0].stop}", i, original[box], mu[box]))
    cutout = held_out_magnetograms()["HMI 720-s AR 11101 cutout 2010-08-30"]
    cases.append(("AR 11101 cutout", len(FULL_DISKS), cutout, None))
    for name, index, truth, mu in cases:
        out[name] = {}
        for kind in ("white", "model"):
            noisy = truth + added_noise(kind, truth.shape, mu, index, white_fraction, seed=2)
            mean, spread = symmetry_ensemble(net, noisy, sign_symmetric=True, progress=False)
            sigma = spread * np.interp(np.log10(np.abs(mean) + 1), np.log10(np.array(nodes) + 1), factors)
            ok = np.isfinite(mean) & np.isfinite(truth) & np.isfinite(sigma)
            within = np.abs(mean - truth) <= sigma
            strong = ok & (np.abs(truth) > STRONG)
            out[name][f"{kind}_noise"] = {
                "within_1_sigma": round(float(np.mean(within[ok])), 3),
                "within_1_sigma_above_100G": round(float(np.mean(within[strong])), 3),
                "pixels_above_100G": int(strong.sum()),
            }
    return out


def uncertainty_figure(path, checks, nodes, factors):
    """Coverage of the calibrated uncertainty on the coverage rows, by field strength and by radius."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    edges = np.array([1, 3, 10, 20, 50, 100, 200, 500, 1000, 3000])
    for kind, colour in (("white", "C0"), ("model", "C1")):
        error, spread, strength, output = np.concatenate(
            [ensemble_samples(*checks[date][kind]) for date in checks], axis=1
        )
        factor = np.interp(np.log10(output + 1), np.log10(np.array(nodes) + 1), factors)
        centres, raw, calibrated = [], [], []
        for lo, hi in itertools.pairwise(edges):
            sel = (strength >= lo) & (strength < hi)
            if sel.sum() < 20:
                continue
            centres.append(np.sqrt(lo * hi))
            raw.append(np.mean(np.abs(error[sel]) <= spread[sel]))
            calibrated.append(np.mean(np.abs(error[sel]) <= factor[sel] * spread[sel]))
        left.semilogx(centres, raw, "o:", color=colour, label=f"{kind} noise: raw spread of the 8 copies")
        left.semilogx(centres, calibrated, "s-", color=colour, label=f"{kind} noise: calibrated")
        for n, date in enumerate(checks):
            table = radial_coverage(*checks[date][kind], nodes, factors)
            rho = [np.mean([float(v) for v in row["rho"].split("-")]) for row in table]
            right.plot(
                rho, [row["within_1_sigma"] for row in table], "os^"[n] + "-", color=colour, label=f"{kind}, {date}"
            )
    left.set_xlabel("|B| of the 720-s original [G] (inside 0.95 R)")
    right.set_xlabel("distance from disk centre [R]")
    for ax in (left, right):
        ax.axhspan(0.63, 0.73, color="0.85", zorder=0)
        ax.axhline(ONE_SIGMA, color="k", ls="--", lw=0.8)
        ax.set_ylabel("fraction of pixels with |error| < 1 sigma")
        ax.set_ylim(0, 1.3)
        ax.legend(fontsize=7, ncol=2, loc="upper center")
    fig.suptitle("denoise-m2-hmi uncertainty on held-out HMI rows, calibrated on model noise (68 +- 5 % shaded)")
    fig.savefig(path, dpi=70)
    plt.close(fig)


def radial_coverage(truth, rho, mean, spread, nodes, factors):
    """Fraction of pixels within 1 calibrated sigma, by distance from disk centre (the calibration of `calibration`)."""
    sigma = spread * np.interp(np.log10(np.abs(mean) + 1), np.log10(np.array(nodes) + 1), factors)
    error = np.abs(mean - truth)
    out = []
    for lo, hi in itertools.pairwise(RADIAL_EDGES):
        sel = (rho >= lo) & (rho < hi) & np.isfinite(error) & np.isfinite(sigma)
        if sel.sum() < 20:
            continue
        out.append(
            {
                "rho": f"{lo:g}-{hi:g}",
                "pixels": int(sel.sum()),
                "within_1_sigma": round(float(np.mean(error[sel] <= sigma[sel])), 3),
                "rms_error_G": round(float(np.sqrt(np.mean(error[sel] ** 2))), 2),
                "rms_sigma_G": round(float(np.sqrt(np.mean(sigma[sel] ** 2))), 2),
            }
        )
    return out


def cutout_scores(net):
    hmi = held_out_magnetograms()["HMI 720-s AR 11101 cutout 2010-08-30"]
    clean = net.predict_array(hmi)
    quiet = ~ndimage.binary_dilation(np.abs(hmi) > 50, iterations=5)
    flat = np.ones(hmi.shape, dtype=bool)
    return {"noise_input_G": round(level(hmi, quiet), 2), "noise_output_G": round(level(clean, quiet), 2)} | (
        field_scores(hmi, clean, hmi, flat)
    )


def make_figures(results, figure_data, out, name):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    date = "2011-12-17"
    original, noisy, output, gauss, median, quiet, mu = figure_data[date]
    box = strongest_feature_box(np.where(np.nan_to_num(mu) > 0.3, original, np.nan), size=256)
    fig, axes = plt.subplots(2, 4, figsize=(16, 8.4), layout="constrained")
    panels = [
        (noisy, f"720-s + {ADDED_SIGMA:g} G noise (input)"),
        (output, f"{name} output"),
        (gauss, "Gaussian filter, same noise"),
        (median, "median filter"),
        (original, "720-s original"),
        (noisy - output, "removed (input - output)"),
    ]
    for ax, (data, title) in zip(axes.ravel(), panels, strict=False):
        limit = 40 if title.startswith("removed") else 300
        im = ax.imshow(data[box], origin="lower", cmap="gray", vmin=-limit, vmax=limit)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        if ax is axes[0, 3] or ax is axes[1, 0] or ax is axes[1, 1]:
            fig.colorbar(im, ax=ax, shrink=0.8, label="B_LOS [G]")
    ax = axes[1, 2]
    centre = quiet & (mu >= 0.9)
    bins = np.arange(-40, 41, 1)
    for data, label in ((noisy, "input"), (output, "network"), (gauss, "Gaussian"), (original, "720-s original")):
        ax.hist(data[centre], bins=bins, histtype="step", label=f"{label}: {level(data, centre):.1f} G")
    ax.set_xlabel("B_LOS [G] (quiet Sun, mu >= 0.9)")
    ax.set_ylabel("pixels")
    ax.legend(fontsize=8)
    ax = axes[1, 3]
    flux = results["strong_flux_change_percent_all_disks"]
    ax.bar(list(flux), list(flux.values()), color=["C0", "C1", "C2"])
    ax.axhline(0, color="k", lw=0.8)
    ax.set_ylabel("change of unsigned flux, |B| > 100 G [%]")
    ax.set_title("strong-field flux, 3 held-out halves", fontsize=10)
    fig.suptitle(f"{name} on held-out HMI 720-s {date} (northern half) with 45-s-level noise: AI product")
    fig.savefig(out / "denoise_m2_hmi_evaluation.png", dpi=60)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default="denoise-m2-hmi")
    parser.add_argument("--json")
    parser.add_argument(
        "--figures",
        help="folder for denoise_m2_hmi_evaluation.png (with --calibrate: denoise_m2_hmi_uncertainty.png)",
    )
    parser.add_argument("--noise", choices=("white", "model"), default="white", help="added noise (default white)")
    parser.add_argument("--white-fraction", type=float, default=0.7, help="with --noise model: white share")
    parser.add_argument("--radial", action="store_true", help="radial bias and uncertainty coverage")
    parser.add_argument(
        "--radial-only",
        action="store_true",
        help="only the radial scores, white and model noise, with the calibration the package ships",
    )
    parser.add_argument(
        "--calibrate",
        choices=("white", "model"),
        help="with --radial-only: measure the calibration on other held-out rows with this noise and use it",
    )
    parser.add_argument("--threads", type=int, help="with --radial-only: threads of the network (default: all)")
    args = parser.parse_args()
    if args.calibrate and not args.radial_only:
        parser.error("--calibrate needs --radial-only")
    if args.radial_only:
        from sunpy_dlmag.denoise import _SPREAD_CALIBRATION

        net = load_model(args.model, device="cpu", num_threads=args.threads)
        results = {"model": str(args.model), "sha256": net.sha256}
        if net.spec.name in _SPREAD_CALIBRATION:
            results["shipped_calibration"] = _SPREAD_CALIBRATION[net.spec.name]
        if args.calibrate:
            results["calibration"], checks = calibrate_radial(net, args.calibrate, args.white_fraction)
            nodes, factors = results["calibration"]["nodes_G"], results["calibration"]["factors"]
            if args.figures:
                Path(args.figures).mkdir(parents=True, exist_ok=True)
                uncertainty_figure(Path(args.figures) / "denoise_m2_hmi_uncertainty.png", checks, nodes, factors)
        else:
            nodes, factors, checks = *results["shipped_calibration"], None
        results["radial"] = radial_scores(
            net, nodes, factors, ("white", "model"), args.white_fraction, ensembles=checks
        )
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        return
    results = evaluate(
        args.model, figures=args.figures, noise=args.noise, white_fraction=args.white_fraction, radial=args.radial
    )
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
